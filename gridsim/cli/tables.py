"""What the commands print: a run's KPIs, an experiment's points, the published checks.

Every KPI is shown with its label from the catalogue (:mod:`gridsim.vocabulary`) and its column
name beneath, its value written by :func:`~gridsim.vocabulary.format_kpi`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..experiments import Experiment
from ..results.ranking import rank_units
from ..results.result import Result
from ..results.stationarity import growing_lines
from ..vocabulary import format_interval, format_kpi, format_percent, headline, label, unit_of


def kpi_cell(metric: str) -> str:
    """The KPI's label and, dimmed beneath, its column name."""
    return f"{escape(label(metric))}\n[dim]{escape(metric)}[/]"


def print_summary(result: Result, console: Console) -> None:
    """The KPI table and the bottleneck, as a planner reads them."""
    k = result.kpis[result.kpis["scope"] == "all"].set_index("metric")
    table = Table(title=f"{result.scenario.name} · policy {result.scenario.policy.name} · "
                        f"seed {result.seed} (warm-up {result.scenario.warmup} excluded)")
    table.add_column("KPI")
    table.add_column("name", style="dim")
    table.add_column("value", justify="right")
    for metric in headline(k.index):
        table.add_row(escape(label(metric)), escape(metric),
                      format_kpi(k.at[metric, "value"], unit_of(metric)))
    console.print(table)
    _print_appraisal(result, console)
    for line in stationarity_lines(result.stationarity()):
        console.print(line)
    b = result.bottleneck
    console.print(f"bottleneck: [bold]{escape(str(b['pool']))}[/] ({b['kind']}), utilisation "
                  f"{b['utilisation']:.0%}, mean queue {b['queue_mean']:.1f}")
    day = _workers_line(result)
    if day:
        console.print(day)
    for line in _urgent_lines(result):
        console.print(line)
    weakest = weakest_units(result)
    if weakest is not None:
        console.print(weakest)
    m = result.manifest
    console.print(f"{m['issues_created']:,} cases in {m['wall_time_s']:.1f} s "
                  f"({m['issues_per_second']:,.0f} cases/s)")


def stationarity_lines(table: pd.DataFrame, where: str = "") -> list[str]:
    """The growing pools of a stationarity table, one line each, or that all pools are
    stationary (or were not tested: no load samples after the warm-up)."""
    if table.empty:
        return [f"stationarity{where}: not tested (no load samples after the warm-up)"]
    lines = growing_lines(table)
    if not lines:
        return [f"stationarity{where}: all pools stationary (no queue grows through the run; "
                "stationarity.csv)"]
    return [f"[yellow]growing queue{where}:[/] {escape(line)}" for line in lines]


def _workers_line(result: Result) -> str | None:
    """The grid workers' day in one line: how their shift splits between patrol and cases,
    and what one worker did on average over the measured period (``workers.csv`` per grid)."""
    try:
        w = result.workers()
    except ValueError:
        return None
    n, on = int(w["workers"].sum()), float(w["on_shift_hours"].sum())
    if n == 0 or on <= 0:
        return None
    patrol = float(w["patrol_hours"].sum())
    return (f"grid workers' day: [bold]{patrol / on:.0%}[/] patrol, {1 - patrol / on:.0%} cases; "
            f"per worker {patrol / n:,.0f} h patrol, {w['found'].sum() / n:,.1f} found on patrol, "
            f"{w['fixed_on_spot'].sum() / n:,.1f} fixed on the spot, "
            f"{w['verified'].sum() / n:,.1f} verified (workers.csv)")


def _print_appraisal(result: Result, console: Console) -> None:
    """The departments' appraisal table (over the districts), when the street called any."""
    table = result.appraisal()
    table = table[~table["department"].str.contains("/") & (table["dept_calls"] > 0)]
    if table.empty:
        return
    out = Table(title="department appraisal (报到率 · 配合度 · 解决率)")
    out.add_column("department", no_wrap=True)
    metrics = [m for m in table.columns if m != "department"]
    heads = ("calls", "report rate", "report time", "on time", "cooperation", "resolution")
    for head in heads:  # kpis.csv: dept_calls, report_rate, dept_report_time_mean, ...
        out.add_column(head, justify="right", no_wrap=True)

    def cell(m: str, v: float) -> str:
        return f"{v:.1f} h" if unit_of(m) == "h" and v == v else format_kpi(v, unit_of(m))

    for _, row in table.iterrows():
        out.add_row(escape(str(row["department"])), *(cell(m, row[m]) for m in metrics))
    console.print(out)


WEAKEST_LEVELS = ("street", "department", "city_department")
"""The levels whose weakest units ``gridsim run`` prints."""


def weakest_units(result: Result, kpi: str = "on_time_rate", n: int = 3) -> Table | None:
    """The ``n`` weakest streets, departments and city departments on ``kpi`` (worst first,
    :meth:`~gridsim.results.result.Result.ranking`), with their resolution time p90, overdue
    cases at the end and utilisation; None without a unit to rank."""
    if result.accumulator is None:
        return None
    units = result.units()
    table = Table(title=f"weakest units by {label(kpi).lower()} (worst first; all units in "
                        "units.csv)")
    for col in ("level", "unit", label(kpi), "resolution p90", "overdue at end",
                "utilisation", "cases"):
        table.add_column(escape(col), justify="left" if col in ("level", "unit") else "right")
    rows = 0
    for level in WEAKEST_LEVELS:
        if not (units["level"] == level).any():
            continue
        for r in rank_units(units, kpi, level, n).itertuples():
            table.add_row(level, escape(str(r.unit)), format_kpi(getattr(r, kpi), unit_of(kpi)),
                          format_kpi(r.resolution_time_p90, "h"),
                          f"{int(r.overdue_end):,}", format_percent(r.utilisation),
                          f"{int(r.cases):,}")
            rows += 1
    return table if rows else None


def _urgent_lines(result: Result) -> list[str]:
    """With several priority classes, the resolution time of each most urgent category (the
    per-category KPIs hold them; the table above mixes all classes)."""
    prio = {n: c.priority for n, c in result.scenario.categories.items()}
    if len(set(prio.values())) < 2:
        return []
    k = result.kpis.set_index(["scope", "metric"])
    out = []
    for name in (n for n, p in prio.items() if p == min(prio.values())):
        scope = f"category={name}"
        if (scope, "resolution_time_median") not in k.index:
            continue
        cell = {m: format_kpi(k.at[(scope, m), "value"], unit_of(m))
                for m in ("resolution_time_median", "resolution_time_p90", "on_time_rate")}
        out.append(f"most urgent: [bold]{escape(name)}[/] (priority {prio[name]}), resolution "
                   f"time median {cell['resolution_time_median']}, p90 "
                   f"{cell['resolution_time_p90']}, on time {cell['on_time_rate']}")
    return out


def _point_cell(s: pd.DataFrame, d: pd.DataFrame, metric: str, point: str) -> str:
    unit = unit_of(metric)
    r = s.loc[(metric, point)]
    cell = f"{format_kpi(r['mean'], unit)} [{format_interval(r['low'], r['high'], unit)}]"
    if len(d) and (metric, point) in d.index:
        x = d.loc[(metric, point)]
        cell += f"\nΔ {format_kpi(x['difference'], unit, signed=True)}" \
                f"{' *' if x['significant'] else ''}"
    return escape(cell)


def print_experiment(exp: Experiment, console: Console) -> None:
    """Every headline KPI per point (mean and 95% CI) and paired differences."""
    s = exp.summary
    s = s[s["scope"] == "all"].set_index(["metric", "point"])
    d = exp.differences
    d = d[d["scope"] == "all"].set_index(["metric", "point"]) if len(d) else d
    title = (f"{exp.kind}: {len(exp.points)} point(s) × {exp.replications} replications "
             f"(mean [95% CI]; Δ vs {exp.labels[0]}, Bonferroni-adjusted, * significant)")
    table = Table(title=escape(title))
    table.add_column("KPI")
    for point in exp.labels:
        table.add_column(escape(point), justify="right")
    for metric in headline(s.index.get_level_values("metric")):
        if (metric, exp.labels[0]) in s.index:
            table.add_row(kpi_cell(metric), *(_point_cell(s, d, metric, p) for p in exp.labels))
    console.print(table)
    if len(exp.points) > 1:
        console.print(f"best on {exp.kpi_name}: {escape(str(exp.best()))}")
    if exp.precision is not None and exp.precision_reached:
        console.print(f"replications needed for ±{exp.precision:.0%} on {exp.kpi_name}: "
                      f"{exp.replications}")
    elif exp.precision is not None:
        console.print(f"[yellow]precision not reached:[/] ±{exp.precision:.0%} on "
                      f"{exp.kpi_name} asked, ±{exp.precision_achieved:.1%} after "
                      f"{exp.replications} replications (--max-replications)")
    for _, b in exp.bottlenecks().iterrows():
        console.print(escape(f"bottleneck of {b['point']}: {b['unit']} ({b['kind']}), "
                             f"utilisation {b['utilisation']:.0%} ± {b['utilisation_hw']:.0%}"))
    for line in experiment_stationarity_lines(exp):
        console.print(line)
    top = exp.most_loaded(1)
    top = top[~top["level"].isin(["pool", "district"]) & (top["overdue_end"] > 0)]
    for point, g in top.groupby("point", observed=True, sort=False):
        units = ", ".join(f"{r.level} {r.unit} ({r.overdue_end:.1f})" for r in g.itertuples())
        console.print(escape(f"most overdue cases at the end in {point}: {units}"))


def experiment_stationarity_lines(exp: Experiment) -> list[str]:
    """The non-stationary pools of each point (growing in at least half of its replications,
    :meth:`~gridsim.experiments.experiment.Experiment.non_stationary`), one line each, or
    that every point is stationary."""
    st = exp.stationarity()
    if st.empty:
        return ["stationarity: not tested (no replication kept the test)"]
    bad = exp.non_stationary()
    if bad.empty:
        return ["stationarity: every point stationary (no pool's queue grows in half of the "
                "replications or more; stationarity.csv)"]
    return [f"[yellow]non-stationary {escape(str(r.point))}:[/] {escape(str(r.unit))} "
            f"({r.kind}) queue grows in {r.flagged}/{r.replications} replications, "
            f"{r.slope_per_day:+.2f} cases/day" for r in bad.itertuples()]


def print_checks(table: pd.DataFrame, console: Console) -> None:
    """The published figures against the simulated ones, and how many passed; with a
    knockout column (``validate --knockouts``) also each check under its knockout."""
    knock = "knockout_passed" in table
    out = Table(title="published figures vs simulated (mean and 95% CI)")
    out.add_column("check", no_wrap=True)
    cols = ["kind", "KPI", "published", "simulated [95% CI]", "tolerance", ""]
    cols += ["under its knockout [95% CI]", "knockout"] if knock else []  # overrides: CSV
    for col in cols:
        out.add_column(col, justify="right" if col == "published" else "left")
    for r in table.itertuples():
        pub: Any = r.published if isinstance(r.published, str) else f"{r.published:.4g}"
        cells = [escape(r.check), r.kind, escape(r.kpi), escape(str(pub)),
                 f"{r.simulated:.4g} [{r.low:.4g}, {r.high:.4g}] n={r.n}",
                 escape(str(r.tolerance)), _verdict(r.passed, r.known_failure)]
        if knock:
            cells += _knockout_cells(r)
        out.add_row(*cells)
    console.print(out)
    passed = int(table["passed"].sum())
    known = int((~table["passed"] & table["known_failure"].astype(bool)).sum())
    failed = len(table) - passed - known
    fits = int(table["kind"].isin(["fit", "identity"]).sum())
    console.print(f"{passed} passed, {failed} failed, {known} known failures; {fits} of the "
                  "checks are figures the scenarios were fitted to or identities of the code "
                  "(consistency, not evidence)")
    if knock:
        ran = table["knockout_passed"].notna()
        bites = int((ran & ~table["knockout_passed"].fillna(False).astype(bool)).sum())
        console.print(f"knockouts: {bites} of {int(ran.sum())} checks fail under their "
                      f"knockout, {int(ran.sum()) - bites} still pass (no evidence for their "
                      "mechanism)")
        for r in table[table["knockout_passed"].fillna(False).astype(bool)].itertuples():
            console.print(f"still passes under its knockout {r.check}: {r.knockout}",
                          markup=False, highlight=False)
    for r in table[~table["passed"] & table["known_failure"].astype(bool)].itertuples():
        console.print(f"known failure {r.check}: {r.known_failure}", markup=False,
                      highlight=False)


def _knockout_cells(r: Any) -> list[str]:
    """The knockout result of one row: the simulated value under it, and its verdict (a check
    that fails there is what a knockout should show)."""
    if r.knockout_passed is None or r.knockout_passed != r.knockout_passed:
        return ["", "[dim]none[/]"]
    verdict = "[red]still passes[/]" if r.knockout_passed else "[green]fails (bites)[/]"
    return [f"{r.knockout_simulated:.4g} [{r.knockout_low:.4g}, {r.knockout_high:.4g}]",
            verdict]


def _verdict(passed: bool, known_failure: str) -> str:
    if passed:
        return "[green]pass[/]"
    return "[yellow]known failure[/]" if known_failure else "[red]FAIL[/]"
