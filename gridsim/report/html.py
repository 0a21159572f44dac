"""Rendering a results folder as one self-contained HTML page.

Two kinds of folder are understood, told apart by the file that describes them:

* an **experiment** (``experiment.json``, written by :meth:`Experiment.write`): KPIs as means
  with confidence intervals per point, paired differences against the reference, the best
  point, bottlenecks and most loaded units, failed replications;
* a **single run** (``manifest.json``, written by :meth:`Result.write`): KPI values, the
  bottleneck and most loaded units.

Everything the page needs is inside it: inline CSS, no scripts, plots as ``data:`` URIs.
Text from the folder is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..policies import TIERS
from ..results.io import atomic_write_text

REPORT_NAME = "report.html"


class ReportError(ValueError):
    """The folder is not a results folder gridsim can report on."""


# ---------------------------------------------------------------------------- KPIs
LABELS = {
    "issues": "Cases counted (created after the warm-up)",
    "resolution_time_mean": "Resolution time, mean",
    "resolution_time_median": "Resolution time, median",
    "resolution_time_p90": "Resolution time, 90th percentile",
    "resolution_time_p95": "Resolution time, 95th percentile",
    "on_time_rate": "Closed on time",
    "resolution_rate": "Resolved by the end",
    "whistles": "Whistles blown",
    "whistles_per_issue": "Whistles per case",
    "escalations_per_issue": "Escalations per case",
    "dept_report_time_mean": "Department report time, mean",
    "dept_report_on_time_rate": "Department reports on time",
    "reroutes_per_issue": "Reroutes per case",
    "reopen_rate": "Reopened after closing",
    "two_way_dispatch_share": "Two-way dispatch share",
    "backlog_end": "Open cases at the end",
    "backlog_end_waiting": "Open cases at the end, waiting",
    "backlog_end_in_progress": "Open cases at the end, in progress",
}
HIGHER_IS_BETTER = ("on_time_rate", "resolution_rate", "dept_report_on_time_rate")
LOWER_IS_BETTER = ("resolution_time", "backlog", "reroutes", "reopen", "escalations",
                   "dept_report_time", "whistles")
PLOT_TITLES = {
    "resolution_time": "Resolution time",
    "tier_shares": "Where cases are solved (share per tier)",
    "load_by_pool": "Load by staff pool",
    "backlog": "Open cases over time",
    "kpi_vs_parameter": "KPI against the varied parameter",
}
LEVEL_TITLES = {
    "pool": "Staff pools",
    "department": "Departments",
    "street": "Streets",
    "community": "Communities",
    "grid": "Grids",
}
BY_TITLES = {"utilisation": "by utilisation", "overdue_end": "by overdue open cases at the end"}
MINUS = "\u2212"
DASH = "\u2014"


def label(metric: str) -> str:
    if metric in LABELS:
        return LABELS[metric]
    if metric.startswith("solved_share_"):
        return f"Solved at {metric.removeprefix('solved_share_')} tier"
    return metric.replace("_", " ").capitalize()


def headline_metrics(available: Iterable[str]) -> list[str]:
    """The KPIs a planner looks at first, in reading order, restricted to ``available``."""
    avail = set(available)
    tiers = [f"solved_share_{t}" for t in TIERS]
    tiers += sorted(m for m in avail if m.startswith("solved_share_") and m not in tiers)
    order = ["issues", "resolution_time_mean", "resolution_time_median", "resolution_time_p90",
             "resolution_time_p95", "on_time_rate", "resolution_rate", *tiers, "whistles",
             "dept_report_time_mean", "dept_report_on_time_rate", "reroutes_per_issue",
             "reopen_rate", "backlog_end"]
    return [m for m in order if m in avail]


def unit_of(metric: str) -> str:
    """The unit of a KPI, as in ``kpis.csv`` (experiments do not store units)."""
    if metric.startswith(("resolution_time", "dept_report_time")):
        return "h"
    if metric.endswith(("_rate", "_share")) or metric.startswith("solved_share_"):
        return "share"
    if metric.endswith("_per_issue"):
        return "per case"
    if metric == "whistles":
        return "count"
    if metric.startswith(("issues", "backlog")):
        return "cases"
    return ""


def direction(metric: str) -> int:
    """-1 when smaller is better, +1 when larger is better, 0 when neither."""
    if metric.startswith(LOWER_IS_BETTER):
        return -1
    if metric in HIGHER_IS_BETTER:
        return 1
    return 0


# ---------------------------------------------------------------------------- numbers
def _nan(v: Any) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def _sign(s: str, v: float, signed: bool) -> str:
    s = s.replace("-", MINUS)
    if signed and v > 0 and not s.startswith("+"):
        s = "+" + s
    return s


def _num(v: float) -> str:
    """About three significant figures, with thousands separators."""
    a = abs(v)
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def _parts(v: float, unit: str, signed: bool = False) -> tuple[str, str]:
    """A number and its unit suffix."""
    if unit == "share":
        return _sign(f"{v * 100:.1f}", v, signed), (" pp" if signed else "%")
    if unit == "h":
        return _sign(_num(v), v, signed), " h"
    if unit in ("cases", "count"):
        s = f"{v:,.0f}" if float(v).is_integer() else _num(v)
        return _sign(s, v, signed), ""
    if unit == "per case":
        return _sign(f"{v:.3f}", v, signed), ""
    return _sign(_num(v), v, signed), (f" {unit}" if unit else "")


def fmt(v: Any, unit: str, signed: bool = False) -> str:
    """``94.5%``, ``20.9 h``, ``3,806``; ``+4.2 pp`` and ``−5.76 h`` when ``signed``."""
    if _nan(v):
        return DASH
    n, suffix = _parts(float(v), unit, signed)
    return n + suffix


def fmt_days(v: Any, signed: bool = False) -> str:
    """Hours as days: ``0.87 d``."""
    if _nan(v):
        return DASH
    return _sign(_num(float(v) / 24), float(v), signed) + " d"


def fmt_interval(low: Any, high: Any, unit: str, signed: bool = False) -> str:
    """``19.8 to 22.0 h``, ``93.1 to 95.9%``, ``−3.1 to +0.4 pp``."""
    if _nan(low) or _nan(high):
        return DASH
    a, suffix = _parts(float(low), unit, signed)
    b, _ = _parts(float(high), unit, signed)
    return f"{a} to {b}{suffix}"


def fmt_pct(v: Any) -> str:
    return DASH if _nan(v) else f"{float(v) * 100:.0f}%"


# ---------------------------------------------------------------------------- HTML pieces
class Html(str):
    """Text that is already HTML (not escaped again)."""


def e(x: Any) -> str:
    """Escape ``x`` unless it is :class:`Html`."""
    if isinstance(x, Html):
        return x
    if x is None:
        return DASH
    return html.escape(str(x))


VOID = ("img", "meta", "br", "hr", "link")


def tag(name: str, body: Any = "", cls: str = "", **attrs: Any) -> Html:
    """``<name class=cls attrs>body</name>``; ``attrs`` with ``_`` become ``-``."""
    a = f' class="{e(cls)}"' if cls else ""
    a += "".join(f' {k.rstrip("_").replace("_", "-")}="{e(v)}"' for k, v in attrs.items())
    if name in VOID:
        return Html(f"<{name}{a}>")
    return Html(f"<{name}{a}>{e(body)}</{name}>")


def join(parts: Iterable[Any], sep: str = "") -> Html:
    return Html(sep.join(e(p) for p in parts))


def table(head: Sequence[Any], rows: Iterable[Sequence[Any]], cls: str = "",
          num_from: int = 1, caption: str | None = None) -> Html:
    """A table in a horizontally scrolling box; columns from ``num_from`` on are numbers."""
    thead = tag("thead", tag("tr", join(tag("th", h, scope="col") for h in head)))
    body = []
    for row in rows:
        cells = [tag("th", row[0], scope="row")]
        cells += [tag("td", c, cls="num" if i >= num_from else "")
                  for i, c in enumerate(row[1:], start=1)]
        body.append(tag("tr", join(cells)))
    cap = tag("caption", caption) if caption else ""
    return tag("div", tag("table", join([cap, thead, tag("tbody", join(body))]), cls=cls),
               cls="scroll")


def facts(items: Sequence[tuple[str, Any]]) -> Html:
    """A two-column key/value list."""
    rows = [tag("tr", join([tag("th", k, scope="row"), tag("td", v)])) for k, v in items
            if v is not None and v != ""]
    return tag("div", tag("table", tag("tbody", join(rows)), cls="facts"), cls="scroll")


def kpi_name(metric: str) -> Html:
    return join([tag("span", label(metric)), tag("code", metric, cls="sub")])


def value_cell(v: Any, unit: str, low: Any = None, high: Any = None,
               level: float | None = None) -> Html:
    parts = [tag("span", fmt(v, unit), cls="v")]
    if unit == "h" and not _nan(v):
        parts.append(tag("span", fmt_days(v), cls="sub"))
    if level is not None:
        ci = fmt_interval(low, high, unit)
        if ci == DASH:
            ci = "no interval (n < 2)" if not _nan(v) else ""
        if ci:
            parts.append(tag("span", f"{level:.0%} CI {ci}", cls="sub ci"))
    return join(parts)


def verdict(metric: str, difference: float, significant: bool) -> Html:
    if not significant:
        return tag("span", "not significant", cls="badge ns")
    sign = 1 if difference > 0 else -1
    d = direction(metric)
    if d == 0:
        return tag("span", "\u25cf significant", cls="badge changed")
    if sign == d:
        return tag("span", "\u25b2 significant \u00b7 better", cls="badge better")
    return tag("span", "\u25bc significant \u00b7 worse", cls="badge worse")


def section(id_: str, title: str, *body: Any) -> Html:
    return tag("section", join([tag("h2", title), *body]), id=id_)


def note(text: Any) -> Html:
    return tag("p", text, cls="note")


# ---------------------------------------------------------------------------- reading
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{path.parent} is not a readable gridsim results folder: "
                          f"cannot read {path.name} ({err})") from None


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def folder_kind(folder: str | Path) -> str:
    """``"experiment"`` or ``"run"``; :class:`ReportError` for anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a gridsim results folder: no such folder")
    if (folder / "experiment.json").is_file():
        return "experiment"
    if (folder / "manifest.json").is_file():
        return "run"
    raise ReportError(f"{folder} is not a gridsim results folder: it holds neither "
                      "experiment.json (written by compare, replicate or sweep) nor "
                      "manifest.json (written by run)")


def _plots(folder: Path) -> Html:
    """Every PNG under ``plots/``, embedded as a data URI."""
    figures = []
    root = folder / "plots"
    for png in sorted(root.rglob("*.png")) if root.is_dir() else []:
        data = png.read_bytes()
        if not data.startswith(b"\x89PNG"):
            continue
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        title = PLOT_TITLES.get(png.stem, png.stem.replace("_", " ").capitalize())
        name = png.relative_to(folder).as_posix()
        figures.append(tag("figure", join([
            tag("img", src=uri, alt=title, loading="lazy"),
            tag("figcaption", join([tag("strong", title), " ", tag("code", name)])),
        ])))
    if not figures:
        return note("No plots in this folder (written with plotting switched off).")
    return join(figures)


def _when(ts: str | None) -> str | None:
    if not ts:
        return None
    try:
        t = dt.datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return t.strftime("%Y-%m-%d %H:%M") + (" UTC" if t.utcoffset() == dt.timedelta(0) else "")


def _duration(seconds: Any) -> str | None:
    if _nan(seconds):
        return None
    s = float(seconds)
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


# ---------------------------------------------------------------------------- scenario
def scenario_facts(sc: dict[str, Any]) -> dict[str, str]:
    """What a planner needs to know of a resolved scenario (as dumped to JSON)."""
    if not sc:
        return {}
    template = sc.get("streets") or {}
    districts = streets = 0
    for d in sc.get("districts") or []:
        copies = int(d.get("count", 1) or 1)
        local = d.get("streets") or template
        districts += copies
        streets += copies * int(local.get("count", template.get("count", 1)) or 0)
    policy = sc.get("policy") or {}
    return {
        "Scenario": sc.get("name", DASH),
        "Description": sc.get("description") or DASH,
        "Policy": policy.get("name", DASH) if isinstance(policy, dict) else str(policy),
        "Horizon": str(sc.get("horizon", DASH)),
        "Warm-up": str(sc.get("warmup", DASH)),
        "Districts": str(districts),
        "Streets": str(streets),
        "Categories": str(len(sc.get("categories") or {})),
        "Departments": str(len(sc.get("departments") or {})),
        "Calendar starts": str((sc.get("calendar") or {}).get("start", DASH)),
    }


def scenario_table(per_point: dict[str, dict[str, str]]) -> Html:
    """One column per point; a fact shared by every point spans the columns."""
    labels = list(per_point)
    if len(labels) == 1:
        return facts(list(per_point[labels[0]].items()))
    keys = list(dict.fromkeys(k for f in per_point.values() for k in f))
    head = tag("thead", tag("tr", join([tag("th", "", scope="col"),
                                        *(tag("th", lb, scope="col") for lb in labels)])))
    rows = []
    for k in keys:
        values = [per_point[lb].get(k, DASH) for lb in labels]
        if len(set(values)) == 1:
            cells = [tag("td", values[0], colspan=len(labels))]
        else:
            cells = [tag("td", v, cls="diff") for v in values]
        rows.append(tag("tr", join([tag("th", k, scope="row"), *cells])))
    return tag("div", tag("table", join([head, tag("tbody", join(rows))]), cls="facts wide"),
               cls="scroll")


# ---------------------------------------------------------------------------- single run
def _run_report(folder: Path) -> tuple[str, Html]:
    manifest = _read_json(folder / "manifest.json")
    if not isinstance(manifest, dict):
        raise ReportError(f"{folder}: manifest.json does not describe a run")
    summary_path = folder / "summary.json"
    summary = _read_json(summary_path) if summary_path.is_file() else {}
    sc = manifest.get("scenario") or {}
    name = sc.get("name") or manifest.get("scenario_name") or folder.name
    policy = (sc.get("policy") or {}).get("name") or summary.get("policy")

    kpis = _read_csv(folder / "kpis.csv")
    if kpis is None and summary.get("kpis"):
        kpis = pd.DataFrame({"metric": list(summary["kpis"]), "scope": "all",
                             "value": list(summary["kpis"].values())})
    if kpis is None:
        kpis = pd.DataFrame(columns=["metric", "scope", "value", "unit"])
    if "unit" not in kpis:
        kpis["unit"] = kpis["metric"].map(unit_of)
    kpis["unit"] = kpis["unit"].fillna("").astype(str)
    overall = kpis[kpis["scope"] == "all"].drop_duplicates("metric").set_index("metric")

    # --- scenario
    f = scenario_facts(sc)
    f.pop("Scenario", None)
    overrides = manifest.get("overrides") or {}
    run_facts = [
        ("Scenario", name), *f.items(),
        ("Scenario file", manifest.get("scenario_file")),
        ("Overrides", ", ".join(f"{k}={v}" for k, v in overrides.items()) or None),
        ("Seed", manifest.get("seed", summary.get("seed"))),
        ("Cases created", f"{manifest['issues_created']:,}"
         if isinstance(manifest.get("issues_created"), int) else None),
        ("Run started", _when(manifest.get("started"))),
        ("Wall time", _duration(manifest.get("wall_time_s"))),
        ("gridsim version", manifest.get("gridsim_version")),
        ("Scenario SHA-256", (manifest.get("scenario_sha256") or "")[:16] or None),
    ]
    parts = [section("scenario", "Scenario", facts(run_facts))]

    # --- KPIs
    rows = []
    for m in headline_metrics(overall.index):
        unit = overall.at[m, "unit"] or unit_of(m)
        rows.append([kpi_name(m), value_cell(overall.at[m, "value"], unit)])
    kpi_html = (table(["KPI", "Value"], rows, cls="kpis") if rows
                else note("No KPIs found (kpis.csv is missing)."))
    parts.append(section("kpis", "Key performance indicators", note(
        "Cases created during the warm-up are left out of every KPI except the open cases "
        "at the end. Shares are percentages; times are hours, with days beneath."),
        kpi_html, _all_kpis_run(kpis)))

    # --- bottleneck and most loaded
    pools = _read_csv(folder / "pools.csv")
    b = summary.get("bottleneck") or {}
    if not b.get("pool") and pools is not None and not pools.empty:
        top = pools.sort_values("utilisation", ascending=False).iloc[0]
        b = {"pool": top["pool"], "kind": top["kind"], "utilisation": top["utilisation"],
             "queue_mean": top.get("queue_mean")}
    if b.get("pool"):
        bott = table(["Run", "Pool", "Kind", "Utilisation", "Mean queue"],
                     [[name, b["pool"], b.get("kind"), fmt_pct(b.get("utilisation")),
                       fmt(b.get("queue_mean"), "")]], cls="bottlenecks", num_from=3)
        parts.append(section("bottleneck", "Bottleneck", note(
            "The staff pool with the highest utilisation after the warm-up."), bott))
    parts.append(section("loaded", "Most loaded units", *_most_loaded_run(folder, pools)))
    parts.append(section("plots", "Plots", _plots(folder)))

    title = f"Simulation run: {name}" + (f" ({policy})" if policy else "")
    return title, join(parts)


def _all_kpis_run(kpis: pd.DataFrame) -> Html:
    if kpis.empty:
        return Html("")
    df = pd.DataFrame({
        "scope": kpis["scope"], "metric": kpis["metric"],
        "value": [fmt(v, u) for v, u in zip(kpis["value"], kpis["unit"], strict=True)],
    })
    return tag("details", join([
        tag("summary", f"All KPIs, every scope ({len(df)} rows)"),
        Html(tag("div", Html(df.to_html(index=False, classes="all-kpis", border=0,
                                        na_rep=DASH)), cls="scroll")),
    ]))


def _most_loaded_run(folder: Path, pools: pd.DataFrame | None,
                     n: int = 5) -> list[Html]:
    out: list[Html] = []
    if pools is not None and not pools.empty:
        top = pools.sort_values("utilisation", ascending=False).head(n)
        rows = [[str(i), p["pool"], p["kind"], p.get("capacity", DASH),
                 fmt_pct(p["utilisation"]), fmt(p.get("queue_mean"), ""),
                 fmt(p.get("queue_max"), "")]
                for i, (_, p) in enumerate(top.iterrows(), start=1)]
        out += [tag("h3", "Staff pools by utilisation"),
                table(["#", "Pool", "Kind", "Staff", "Utilisation", "Mean queue", "Max queue"],
                      rows, cls="loaded", num_from=3)]
    units = _read_csv(folder / "units.csv")
    if units is None or units.empty:
        return out or [note("No unit tables in this folder.")]
    for level in ("department", "street", "community", "grid"):
        top = units[units["level"] == level].sort_values(
            ["overdue_end", "open_end", "cases"], ascending=False).head(n)
        if top.empty:
            continue
        rows = [[str(i), r.unit, f"{int(r.cases):,}", f"{int(r.open_end):,}",
                 f"{int(r.overdue_end):,}"]
                for i, r in enumerate(top.itertuples(), start=1)]
        out += [tag("h3", f"{LEVEL_TITLES[level]} {BY_TITLES['overdue_end']}"),
                table(["#", "Unit", "Cases", "Open at end", "Overdue at end"], rows,
                      cls="loaded", num_from=2)]
    return out


# ---------------------------------------------------------------------------- experiment
KIND_TITLES = {"compare": "Comparison", "sweep": "Parameter sweep",
               "replicate": "Replications"}


def _experiment_report(folder: Path) -> tuple[str, Html]:
    meta = _read_json(folder / "experiment.json")
    if not isinstance(meta, dict):
        raise ReportError(f"{folder}: experiment.json does not describe an experiment")
    summary = _read_csv(folder / "summary.csv")
    if "kind" not in meta or summary is None:
        raise ReportError(f"{folder} holds an experiment that has not been written yet "
                          "(experiment.json has no results or summary.csv is missing); "
                          "finish it with Experiment.write() or rerun the command")
    kind = str(meta.get("kind"))
    points = meta.get("points") or []
    labels = [str(p.get("label")) for p in points] or [str(x) for x in
                                                        summary["point"].unique()]
    summary["point"] = summary["point"].astype(str)
    level = float(meta.get("level") or 0.95)
    reps = meta.get("replications")
    scenarios = meta.get("scenarios") or {}
    names = list(dict.fromkeys(str(p.get("scenario")) for p in points if p.get("scenario")))
    kpi = meta.get("kpi")

    # --- scenario and design
    per_point = {lb: scenario_facts(scenarios.get(lb) or {}) for lb in labels}
    per_point = {lb: f for lb, f in per_point.items() if f}
    seeds = [str(s) for s in meta.get("seeds") or []]
    seeds_text = ", ".join(seeds[:5]) + (f", \u2026 ({len(seeds)} in all)"
                                         if len(seeds) > 5 else "")
    info = _reps_info(folder)
    when = (_when(meta.get("finished") or meta.get("written") or meta.get("started"))
            or _mtime(folder / "experiment.json"))
    run_facts = [
        ("Kind", KIND_TITLES.get(kind, kind)),
        ("Points", f"{len(labels)}"),
        ("Replications per point", str(reps) if reps is not None else None),
        ("Precision target", f"\u00b1{meta['precision']:.0%} relative half-width on {kpi}"
         if isinstance(meta.get("precision"), int | float) else None),
        ("Base seed", meta.get("seed")),
        ("Replication seeds", seeds_text or None),
        ("Confidence level", f"{level:.0%}"),
        ("Written", when),
        ("Compute time", _duration(info) if info else None),
        ("gridsim version", meta.get("gridsim_version")),
    ]
    design_rows = [[p.get("label"), p.get("scenario"), p.get("policy"),
                    ", ".join(f"{k}={v}" for k, v in (p.get("params") or {}).items()) or DASH]
                   for p in points]
    parts = [section("scenario", "Scenario and design", facts(run_facts),
                     tag("h3", "Points"),
                     table(["Point", "Scenario", "Policy", "Parameters"], design_rows,
                           cls="design", num_from=99),
                     tag("h3", "Scenario of each point" if len(per_point) > 1 else "Scenario")
                     if per_point else "",
                     scenario_table(per_point) if per_point else "")]

    # --- failures first, so they are not missed
    failures = meta.get("failures") or []
    if failures:
        parts.append(section("failures", f"Failed replications ({len(failures)})",
                             _failures(failures)))

    # --- KPIs
    overall = summary[summary["scope"] == "all"]
    cell = {(r.point, r.metric): r for r in overall.itertuples(index=False)}
    best = meta.get("best") or {}
    heads: list[Any] = ["KPI"]
    for lb in labels:
        mark = [tag("span", "\u2605 best", cls="badge better")] if (
            len(labels) > 1 and best.get("clear") and best.get("point") == lb) else []
        ref = [tag("span", "reference", cls="badge ns")] if (
            len(labels) > 1 and lb == labels[0] and kind != "replicate") else []
        heads.append(join([tag("span", lb), " ", *ref, *mark]))
    rows = []
    for m in headline_metrics(overall["metric"]):
        row: list[Any] = [kpi_name(m)]
        for lb in labels:
            r = cell.get((lb, m))
            row.append(DASH if r is None else value_cell(r.mean, unit_of(m), r.low, r.high,
                                                         level))
        rows.append(row)
    ns = sorted({int(n) for n in overall["n"].dropna()}) if "n" in overall else []
    n_text = (f"{ns[0]} replications" if len(ns) == 1
              else f"{ns[0]}\u2013{ns[-1]} replications" if ns else "the replications")
    parts.append(section("kpis", "Key performance indicators", note(
        f"Mean over {n_text} per point, with the {level:.0%} confidence interval (Student t). "
        "Shares are percentages; times are hours, with days beneath. Cases created during "
        "the warm-up are left out of every KPI except the open cases at the end."),
        table(heads, rows, cls="kpis wide"), _all_kpis_experiment(summary, labels)))

    # --- comparison
    if len(labels) > 1:
        parts.append(section("comparison", "Comparison",
                             *_comparison(folder, meta, labels, level)))

    # --- bottlenecks and most loaded
    bott = meta.get("bottlenecks") or []
    if bott:
        rows = [[b.get("point"), b.get("unit"), b.get("kind"),
                 fmt_pct(b.get("utilisation")),
                 DASH if _nan(b.get("utilisation_hw")) else
                 f"\u00b1{float(b['utilisation_hw']) * 100:.0f} pp"] for b in bott]
        parts.append(section("bottleneck", "Bottleneck of each point", note(
            "The staff pool with the highest mean utilisation after the warm-up, with the "
            f"half-width of its {level:.0%} interval."),
            table(["Point", "Pool", "Kind", "Utilisation", "\u00b1"], rows,
                  cls="bottlenecks", num_from=3)))
    parts.append(section("loaded", "Most loaded units",
                         *_most_loaded_experiment(folder, labels, level)))
    parts.append(section("plots", "Plots", _plots(folder)))

    what = KIND_TITLES.get(kind, kind.capitalize())
    scen = ", ".join(names) if names else folder.name
    if kind == "sweep":
        keys = list(dict.fromkeys(k for p in points for k in (p.get("params") or {})))
        title = f"{what} of {', '.join(keys)}: {scen}" if keys else f"{what}: {scen}"
    elif kind == "compare":
        title = f"{what} of {len(labels)} variants: {scen}"
    else:
        title = f"{what}: {scen}"
    return title, join(parts)


def _mtime(path: Path) -> str | None:
    try:
        t = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    except OSError:
        return None
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _reps_info(folder: Path) -> float:
    """Total wall time of the stored replications (seconds)."""
    total = 0.0
    for info in (folder / "reps").glob("*/info.json"):
        try:
            total += float(json.loads(info.read_text(encoding="utf-8")).get("wall_time_s") or 0)
        except (OSError, ValueError, TypeError):
            continue
    return total


def _failures(failures: list[dict]) -> Html:
    rows = []
    for f in failures:
        err = str(f.get("error") or "").strip()
        last = err.splitlines()[-1] if err else "error"
        detail = tag("details", join([tag("summary", last), tag("pre", err)])) if err else last
        rows.append([f.get("point"), str(f.get("replication", DASH)), str(f.get("seed", DASH)),
                     detail])
    return join([tag("div", note(
        "These replications raised an error and are missing from every table below; rerun "
        "their seeds with gridsim run --seed to investigate."), cls="warning"),
        table(["Point", "Replication", "Seed", "Error"], rows, cls="failures", num_from=99)])


def _all_kpis_experiment(summary: pd.DataFrame, labels: list[str]) -> Html:
    if summary.empty:
        return Html("")
    s = summary.copy()
    s["text"] = [fmt(v, unit_of(m)) for v, m in zip(s["mean"], s["metric"], strict=True)]
    wide = s.pivot_table(index=["scope", "metric"], columns="point", values="text",
                         aggfunc="first", sort=False)
    wide = wide.reindex(columns=[lb for lb in labels if lb in wide.columns]).reset_index()
    wide.columns.name = None
    return tag("details", join([
        tag("summary", f"All KPIs, every scope: means ({len(wide)} rows)"),
        tag("div", Html(wide.to_html(index=False, classes="all-kpis", border=0,
                                     na_rep=DASH)), cls="scroll"),
    ]))


def _comparison(folder: Path, meta: dict, labels: list[str], level: float) -> list[Html]:
    out: list[Html] = []
    best = meta.get("best")
    kpi = meta.get("kpi")
    if best and best.get("text"):
        better = "smaller" if meta.get("minimise", direction(kpi or "") < 0) else "larger"
        out.append(tag("div", join([
            tag("p", join([tag("strong", "Best: "), best["text"]]), cls="best"),
            note(f"Chosen on {label(kpi or '')} ({kpi}; {better} is better) by multiple "
                 "comparisons with the best on paired replications."),
        ]), cls="callout " + ("clear" if best.get("clear") else "unclear")))
    diffs = _read_csv(folder / "differences.csv")
    if diffs is None or diffs.empty:
        out.append(note("No paired differences in this folder."))
        return out
    diffs = diffs[diffs["scope"] == "all"].copy()
    diffs["point"] = diffs["point"].astype(str)
    ref = str(diffs["reference"].iloc[0]) if len(diffs) else labels[0]
    others = [lb for lb in labels if lb != ref and lb in set(diffs["point"])]
    cell = {(r.point, r.metric): r for r in diffs.itertuples(index=False)}
    per = sorted({float(x) for x in diffs["level"].dropna()})
    per_text = (f"{per[0]:.1%}".replace(".0%", "%") if len(per) == 1 else "adjusted")
    metrics = [m for m in headline_metrics(diffs["metric"]) if m != "issues"]
    rows = []
    for m in metrics:
        row: list[Any] = [kpi_name(m)]
        unit = unit_of(m)
        for lb in others:
            r = cell.get((lb, m))
            if r is None:
                row.append(DASH)
                continue
            parts = [tag("span", fmt(r.difference, unit, signed=True), cls="v")]
            if unit == "h":
                parts.append(tag("span", fmt_days(r.difference, signed=True), cls="sub"))
            parts.append(tag("span", fmt_interval(r.low, r.high, unit, signed=True),
                             cls="sub ci"))
            parts.append(tag("span", verdict(m, r.difference, bool(r.significant)),
                             cls="sub"))
            row.append(join(parts))
        rows.append(row)
    heads = ["KPI", *(join([tag("span", lb), tag("span", f"minus {ref}", cls="sub")])
                      for lb in others)]
    out.append(tag("h3", f"Paired differences against the reference, {ref}"))
    out.append(note(
        f"Each point minus {ref} on the same random numbers (replication by replication), "
        f"with the interval at {per_text} per comparison (Bonferroni), so all comparisons "
        f"hold together at {level:.0%}. Shares differ in percentage points (pp). A "
        "difference is significant when its interval excludes zero; better or worse follows "
        "the direction in which the KPI improves."))
    out.append(table(heads, rows, cls="differences wide"))
    return out


def _most_loaded_experiment(folder: Path, labels: list[str], level: float) -> list[Html]:
    ml = _read_csv(folder / "most_loaded.csv")
    if ml is None or ml.empty:
        return [note("No unit tables in this folder.")]
    ml["point"] = ml["point"].astype(str)
    out = [note("The top units of each level, averaged over replications: staff pools by "
                "utilisation, the other levels by cases still open past their deadline at "
                f"the end (\u00b1 the half-width of the {level:.0%} interval).")]
    order = [lv for lv in LEVEL_TITLES if lv in set(ml["level"])]
    order += sorted(set(ml["level"]) - set(order))
    points = [lb for lb in labels if lb in set(ml["point"])]
    for lv in order:
        g = ml[ml["level"] == lv]
        by = str(g["by"].iloc[0]) if "by" in g else "utilisation"
        ranks = sorted({int(r) for r in g["rank"]})
        cell = {(r["point"], int(r["rank"])): r for _, r in g.iterrows()}
        rows = []
        for rank in ranks:
            row: list[Any] = [str(rank)]
            for lb in points:
                r = cell.get((lb, rank))
                if r is None:
                    row.append(DASH)
                    continue
                v, hw = r.get(by), r.get(f"{by}_hw")
                if by == "utilisation":
                    val = fmt_pct(v) + ("" if _nan(hw) else f" \u00b1{float(hw) * 100:.0f} pp")
                else:
                    val = (DASH if _nan(v) else f"{float(v):,.1f} overdue") + (
                        "" if _nan(hw) else f" \u00b1{float(hw):,.1f}")
                row.append(join([tag("span", r["unit"], cls="unit"),
                                 tag("span", val, cls="sub")]))
            rows.append(row)
        title = f"{LEVEL_TITLES.get(lv, lv.capitalize())} {BY_TITLES.get(by, 'by ' + by)}"
        out += [tag("h3", title), table(["#", *points], rows, cls="loaded wide", num_from=99)]
    return out


# ---------------------------------------------------------------------------- page
CSS = """
:root{--fg:#1f2933;--muted:#5f6b7a;--line:#dde3ea;--soft:#f4f6f9;--accent:#2f6690;
--good:#17693f;--bad:#b3261e;--warn:#9a5b00}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 18px 56px}
header{border-bottom:3px solid var(--accent);padding-bottom:12px}
.kicker{margin:0;color:var(--accent);font-size:.78rem;font-weight:600;letter-spacing:.08em;
text-transform:uppercase}
h1{font-size:1.75rem;line-height:1.25;margin:.25em 0 .2em}
h2{font-size:1.3rem;margin:2.2em 0 .6em;padding-bottom:.25em;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.6em 0 .4em}
p{margin:.5em 0}
.lead{font-size:1.05rem;color:var(--muted);margin:.3em 0 0}
.note{color:var(--muted);font-size:.88rem;max-width:75ch}
nav{margin:14px 0 0;font-size:.9rem}
nav a{display:inline-block;margin:0 .9em .3em 0;color:var(--accent);text-decoration:none}
nav a:hover{text-decoration:underline}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.6em 0 1em;max-width:100%}
table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;color:var(--muted);padding:.3em 0}
th,td{padding:.45em .75em;border-bottom:1px solid var(--line);text-align:left;
vertical-align:top}
thead th{background:var(--soft);font-weight:600;border-bottom:2px solid var(--line)}
tbody th{font-weight:500}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.wide tbody th,table.wide thead th:first-child{position:sticky;left:0;background:#fff;
z-index:1}
table.wide thead th:first-child{background:var(--soft)}
table.wide thead th{overflow-wrap:anywhere;min-width:7em}
table.kpis tbody tr:nth-child(even) th,table.kpis tbody tr:nth-child(even) td{background:#fafbfc}
table.facts th{color:var(--muted);font-weight:500;white-space:nowrap;width:1%}
table.facts td.diff{background:#fffbea}
.v{font-weight:600}
.sub{display:block;color:var(--muted);font-size:.8rem;font-weight:400}
.ci{white-space:nowrap}
.unit{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.78rem;
color:var(--muted)}
pre{white-space:pre-wrap;font-size:.78rem;background:var(--soft);padding:.6em;border-radius:4px}
.callout{border-left:5px solid var(--accent);background:#edf3f9;padding:.7em 1em;
border-radius:4px;margin:.8em 0 1.2em}
.callout.clear{border-color:var(--good);background:#eaf6ef}
.callout.unclear{border-color:var(--warn);background:#fdf5e7}
.callout .best{font-size:1.05rem;margin:0 0 .2em}
.warning{border-left:5px solid var(--bad);background:#fdeceb;padding:.4em 1em;border-radius:4px}
.badge{display:inline-block;padding:.05em .55em;border-radius:999px;font-size:.74rem;
font-weight:600;white-space:nowrap;margin-top:.15em}
.badge.better{background:#dff3e7;color:var(--good)}
.badge.worse{background:#fbe4e2;color:var(--bad)}
.badge.changed{background:#e3edf7;color:var(--accent)}
.badge.ns{background:var(--soft);color:var(--muted);font-weight:500}
details{margin:.4em 0 1em}
summary{cursor:pointer;color:var(--accent);font-size:.92rem}
figure{margin:1em 0 2em}
figure img{display:block;max-width:100%;height:auto;border:1px solid var(--line);
border-radius:4px}
figcaption{font-size:.88rem;margin-top:.3em}
footer{margin-top:3em;padding-top:.8em;border-top:1px solid var(--line);color:var(--muted);
font-size:.8rem}
@media (max-width:640px){
body{font-size:15px}
main{padding:16px 10px 40px}
h1{font-size:1.35rem}
th,td{padding:.35em .5em}
table{font-size:.85rem}
table.wide tbody th{min-width:7.5em;max-width:10em}
table.wide tbody th code{display:none}
td.num,.ci{white-space:normal}
}
@media print{nav{display:none}.scroll{overflow:visible}details{display:block}}
"""

NAV = (("scenario", "Scenario"), ("failures", "Failures"), ("kpis", "KPIs"),
       ("comparison", "Comparison"), ("bottleneck", "Bottleneck"),
       ("loaded", "Most loaded"), ("plots", "Plots"))


def render_report(results_dir: str | Path) -> str:
    """The report of ``results_dir`` as an HTML string (see :func:`write_report`)."""
    folder = Path(results_dir)
    kind = folder_kind(folder)
    try:
        if kind == "experiment":
            title, body = _experiment_report(folder)
            kicker = "gridsim experiment report"
        else:
            title, body = _run_report(folder)
            kicker = "gridsim run report"
    except (KeyError, IndexError, TypeError, ValueError) as err:
        if isinstance(err, ReportError):
            raise
        # a table or field without what gridsim writes there: damaged, or not gridsim's
        raise ReportError(f"{folder} is not a readable gridsim results folder: "
                          f"{type(err).__name__} {err}") from None
    lead = _lead(folder, kind)
    nav = join(tag("a", text, href=f"#{id_}") for id_, text in NAV
               if f'id="{id_}"' in body)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    footer = tag("footer", join([
        f"Written by gridsim {__version__} on {now} from ", tag("code", str(folder.resolve())),
        ". Figures are simulation estimates of an assumed scenario, not measurements.",
    ]))
    page = join([
        Html("<!DOCTYPE html>\n"),
        tag("html", join([
            tag("head", join([
                Html('<meta charset="utf-8">'),
                Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
                Html(f'<meta name="generator" content="gridsim {e(__version__)}">'),
                tag("title", title),
                tag("style", Html(CSS)),
            ], "\n")),
            tag("body", tag("main", join([
                tag("header", join([tag("p", kicker, cls="kicker"), tag("h1", title),
                                    tag("p", lead, cls="lead") if lead else "",
                                    tag("nav", nav, aria_label="Contents")])),
                body, footer,
            ], "\n"))),
        ], "\n"), lang="en"),
    ])
    return page + "\n"


def _lead(folder: Path, kind: str) -> str:
    """The scenario description, for under the title."""
    try:
        if kind == "experiment":
            meta = json.loads((folder / "experiment.json").read_text(encoding="utf-8"))
            scs = list((meta.get("scenarios") or {}).values())
            sc = scs[0] if scs else {}
        else:
            sc = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get(
                "scenario") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    return str(sc.get("description") or "")


def write_report(results_dir: str | Path) -> Path:
    """Write ``report.html`` into ``results_dir`` (atomically) and return its path.

    ``results_dir`` is a folder written by ``gridsim run`` (``manifest.json``) or by an
    experiment (``experiment.json``); anything else raises :class:`ReportError`.
    """
    folder = Path(results_dir)
    text = render_report(folder)
    path = folder / REPORT_NAME
    atomic_write_text(path, text)
    return path
