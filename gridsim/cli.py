"""The gridsim command: run scenarios, check them, print their schema.

Bad input never produces a traceback: a :class:`ScenarioError` is printed as one message and the
command exits with status 2 before anything is written.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .cli_checks import Parser, check_args, policy_list
from .experiments.arguments import SettingError
from .interrupt import exit_status, terminate_like_interrupt
from .results.outdir import EXPERIMENT, RUN, FolderLock, OutputError, check_file, check_out
from .results.result import Result
from .runner import simulate
from .scenario import Scenario, ScenarioError, load_scenario, parse_override
from .vocabulary import (
    format_days,
    format_interval,
    format_value,
    headline,
    is_missing,
    unit_of,
)

EXIT_BAD_INPUT = 2
CHECKS_CSV_HEADER = "check,kind,source,kpi,"
"""How a ``validate --out`` table gridsim wrote begins (only such a file is overwritten)."""
CALIBRATED_MARK = "# Calibrated by `gridsim calibrate`"
"""The header line of a fitted scenario gridsim wrote (only such a file is overwritten)."""


class UsageError(Exception):
    """A command-line mistake that is not in a scenario file."""


def _overrides(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        try:
            path, value = parse_override(item)
        except ValueError as e:
            raise UsageError(f"--set: {e}") from None
        out[path] = value
    return out


def _load(args: argparse.Namespace) -> Scenario:
    return load_scenario(args.file, _overrides(args.set or []))


def _value(value: float, unit: str) -> str:
    """A KPI value in its unit, with hours also in days: ``20.9 h (0.87 d)``."""
    text = format_value(value, unit)
    if unit == "h" and not is_missing(value):
        text += f" ({format_days(value)})"
    return text


def print_summary(result: Result, console: Console) -> None:
    """The KPI table and the bottleneck, as a planner reads them."""
    k = result.kpis[result.kpis["scope"] == "all"].set_index("metric")
    table = Table(title=f"{result.scenario.name} · policy {result.scenario.policy.name} · "
                        f"seed {result.seed} (warm-up {result.scenario.warmup} excluded)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for metric in headline(k.index):
        table.add_row(metric, _value(k.at[metric, "value"], k.at[metric, "unit"]))
    console.print(table)
    b = result.bottleneck
    console.print(f"bottleneck: [bold]{b['pool']}[/] ({b['kind']}), utilisation "
                  f"{b['utilisation']:.0%}, mean queue {b['queue_mean']:.1f}")
    for line in _urgent_lines(result):
        console.print(line)
    m = result.manifest
    console.print(f"{m['issues_created']:,} cases in {m['wall_time_s']:.1f} s "
                  f"({m['issues_per_second']:,.0f} cases/s)")


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
        cell = {m: _value(k.at[(scope, m), "value"], k.at[(scope, m), "unit"])
                for m in ("resolution_time_median", "resolution_time_p90", "on_time_rate")}
        out.append(f"most urgent: [bold]{name}[/] (priority {prio[name]}), resolution time "
                   f"median {cell['resolution_time_median']}, p90 "
                   f"{cell['resolution_time_p90']}, on time {cell['on_time_rate']}")
    return out


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    overrides = _overrides(args.set or [])
    if args.record:  # validated like --set record.level=... (a misspelt level gets a hint)
        overrides["record.level"] = args.record
    if args.stream:
        overrides["record.stream"] = True
    scenario = load_scenario(args.file, overrides)
    out = Path(args.out) if args.out else Path("results") / scenario.name
    real = check_out(out, RUN, _out_option(args))  # refused before anything runs
    with FolderLock(real):  # a second run into the same folder is refused now, not at the end
        return _run(args, console, scenario, out, real)


def _run(args: argparse.Namespace, console: Console, scenario: Scenario, out: Path,
         real: Path) -> int:
    # streamed rows are spooled beside the results folder, so writing it moves them
    kw: dict[str, Any] = {"seed": args.seed, "spool_dir": real.parent,
                          "allow_large": args.allow_large}
    from .runner import ShardingWarning, shard_count

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShardingWarning)
        shards = shard_count(scenario, args.shards)
    for w in caught:
        print(f"gridsim: note: {w.message}", file=sys.stderr)
    if shards > 1:
        result = simulate(scenario, shards=shards, workers=args.workers, client=args.dask, **kw)
    elif args.quiet:
        result = simulate(scenario, **kw)
    else:
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"simulating {scenario.name} ({scenario.horizon})", total=1.0)
            result = simulate(scenario, progress=lambda f: bar.update(task, completed=f), **kw)
    with _writing(out):
        result.write(out, plot=not args.no_plots)
    if not args.quiet:
        print_summary(result, console)
    console.print(f"results written to {out}/")
    return 0


# ---------------------------------------------------------------------- experiments
def _whole_or_auto(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number or 'auto'") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _values(text: str) -> tuple[str, list[Any]]:
    path, sep, raw = text.partition("=")
    if not sep or not path or not raw:
        raise UsageError(f"--vary {text!r} must look like dotted.path=v1,v2,...")
    return path.strip(), [parse_override(f"x={v}")[1] for v in raw.split(",")]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what was kept and how to resume (the message :func:`main` prints)."""


@contextmanager
def _writing(out: Path) -> Iterator[None]:
    """An OSError while writing ``out`` (disk full, gone read-only) as one line, exit 2."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno not in _WRITE_ERRORS:
            raise  # not about the files (a network error, say)
        where = f" ({e.filename})" if e.filename else ""
        raise OutputError(f"cannot write {out}: {e.strerror or e}{where}") from None


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


def _run_experiment(console: Console, make, args, total_hint: str, out: Path | None = None):
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} replications"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    seen = [0]
    with Progress(*columns, console=console, transient=True, disable=args.quiet) as bar:
        task = bar.add_task(total_hint, total=None)

        def progress(done: int, total: int) -> None:
            seen[0] = total
            bar.update(task, completed=done, total=total)

        def note(text: str) -> None:
            print(f"gridsim: {text}", file=sys.stderr)

        if out is None:
            return make(progress)
        try:
            with _writing(out):
                return make(progress, note)
        except KeyboardInterrupt:
            raise _interrupted(out, seen[0]) from None


def _interrupted(out: Path, total: int) -> Interrupted:
    """What an interrupted experiment kept in ``out`` and how to resume it."""
    reps = out / "reps"
    kept = sum(1 for d in reps.glob("p*_r*") if d.is_dir()) if reps.is_dir() else 0
    if not kept:
        return Interrupted("interrupted before any replication finished; run the same command "
                           "again to start")
    of = f" of {total}" if total else ""
    return Interrupted(f"interrupted; {kept}{of} finished replications are kept in {out}: "
                       "run the same command again to resume")


def _exec_kw(args) -> dict[str, Any]:
    return {"workers": args.workers, "client": args.dask, "kpi": args.kpi,
            "precision": args.precision, "max_replications": args.max_replications,
            "allow_large": args.allow_large}


def _out(args, default: str) -> Path:
    """The experiment's folder, refused here (before anything runs) if gridsim may not use it."""
    out = Path(args.out) if args.out else Path("results") / default
    check_out(out, EXPERIMENT, _out_option(args))
    return out


def _out_option(args) -> str:
    """How a message names the output folder: the option, or where the default came from."""
    if args.out:
        return "--out"
    files = getattr(args, "files", None) or [getattr(args, "file", None)]
    return f"the default results folder of {files[0] or 'the bundled scenario'} (no --out):"


def _finish(exp, args, console: Console) -> int:
    try:
        with _writing(exp.folder):
            exp.write(plot=not args.no_plots)
    except KeyboardInterrupt:
        raise _interrupted(exp.folder, 0) from None
    if not args.quiet:
        print_experiment(exp, console)
    for f in exp.failures:
        console.print(f"[red]failed:[/] {f}")
    console.print(f"results written to {exp.folder}/")
    return 1 if exp.failures else 0


def print_experiment(exp, console: Console) -> None:
    """Every headline KPI per point (mean and 95% CI) and paired differences."""
    s = exp.summary
    s = s[s["scope"] == "all"].set_index(["metric", "point"])
    d = exp.differences
    d = d[d["scope"] == "all"].set_index(["metric", "point"]) if len(d) else d
    title = (f"{exp.kind}: {len(exp.points)} point(s) × {exp.replications} replications "
             f"(mean [95% CI]; Δ vs {exp.labels[0]}, Bonferroni-adjusted, * significant)")
    table = Table(title=title)
    table.add_column("KPI")
    for label in exp.labels:
        table.add_column(label, justify="right")
    for metric in headline(s.index.get_level_values("metric")):
        if (metric, exp.labels[0]) not in s.index:
            continue
        row = [metric]
        unit = unit_of(metric)
        for label in exp.labels:
            r = s.loc[(metric, label)]
            cell = f"{format_value(r['mean'], unit)} [{format_interval(r['low'], r['high'], unit)}]"
            if len(d) and (metric, label) in d.index:
                x = d.loc[(metric, label)]
                cell += f"\nΔ {format_value(x['difference'], unit, signed=True)}" \
                        f"{' *' if x['significant'] else ''}"
            row.append(cell)
        table.add_row(*row)
    console.print(table)
    if len(exp.points) > 1:
        console.print(f"best on {exp.kpi_name}: {exp.best()}")
    if exp.precision is not None and exp.precision_reached:
        console.print(f"replications needed for ±{exp.precision:.0%} on {exp.kpi_name}: "
                      f"{exp.replications}")
    elif exp.precision is not None:
        console.print(f"[yellow]precision not reached:[/] ±{exp.precision:.0%} on "
                      f"{exp.kpi_name} asked, ±{exp.precision_achieved:.1%} after "
                      f"{exp.replications} replications (--max-replications)")
    for _, b in exp.bottlenecks().iterrows():
        console.print(f"bottleneck of {b['point']}: {b['unit']} ({b['kind']}), utilisation "
                      f"{b['utilisation']:.0%} ± {b['utilisation_hw']:.0%}")
    top = exp.most_loaded(1)
    top = top[(top["level"] != "pool") & (top["overdue_end"] > 0)]
    for label, g in top.groupby("point", observed=True, sort=False):
        units = ", ".join(f"{r.level} {r.unit} ({r.overdue_end:.1f})" for r in g.itertuples())
        console.print(f"most overdue cases at the end in {label}: {units}")


def cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from .experiments import compare

    overrides = _overrides(args.set or [])
    scenarios = {}
    for f in args.files or [None]:
        s = load_scenario(f, overrides)
        name = s.name if s.name not in scenarios else Path(f).stem
        scenarios[name] = s
    policies = args.policies
    if policies:
        first = next(iter(scenarios.values()))
        for p in policies:  # validated like any --set
            try:
                first.with_overrides({"policy.name": p})
            except ScenarioError as e:
                raise UsageError(f"--policies {p}: {e.problems[0].message}") from None
    if len(scenarios) * len(policies or [None]) < 2:
        raise UsageError("compare needs two or more variants: several files or --policies a,b")
    out = _out(args, "compare-" + "-".join(scenarios))
    exp = _run_experiment(console, lambda progress, note: compare(
        scenarios, policies, args.replications, args.seed, out=out, progress=progress,
        note=note, **_exec_kw(args)), args, "comparing", out)
    return _finish(exp, args, console)


def cmd_replicate(args: argparse.Namespace, console: Console) -> int:
    from .experiments import replicate

    scenario = _load(args)
    out = _out(args, f"{scenario.name}-replications")
    exp = _run_experiment(console, lambda progress, note: replicate(
        scenario, args.replications, args.seed, out=out, progress=progress, note=note,
        **_exec_kw(args)), args, "replicating", out)
    return _finish(exp, args, console)


def cmd_sweep(args: argparse.Namespace, console: Console) -> int:
    from .experiments import sweep

    scenario = _load(args)
    if not args.vary:
        raise UsageError("sweep needs at least one --vary dotted.path=v1,v2,...")
    vary = dict(_values(v) for v in args.vary)
    for path, values in vary.items():  # every value validated before anything runs
        for v in values:
            if values.count(v) > 1:
                raise UsageError(f"--vary {path}: the value {v!r} is given twice")
            try:
                scenario.with_overrides({path: v})
            except ScenarioError as e:
                raise UsageError(f"--vary {path}={v}: {e.problems[0]}") from None
    out = _out(args, f"{scenario.name}-sweep")
    exp = _run_experiment(console, lambda progress, note: sweep(
        scenario, vary, args.replications, args.seed, out=out, progress=progress, note=note,
        **_exec_kw(args)), args, "sweeping", out)
    return _finish(exp, args, console)


def cmd_warmup(args: argparse.Namespace, console: Console) -> int:
    from .experiments import replicate, suggest_warmup

    scenario = _load(args).model_copy()
    if args.replications < 1:
        raise UsageError(f"--replications must be at least 1 (got {args.replications})")
    scenario = scenario.with_overrides({"warmup": "0d"})
    exp = _run_experiment(console, lambda progress: replicate(
        scenario, args.replications, args.seed, workers=args.workers, client=args.dask,
        progress=progress), args, "warm-up runs")
    daily = exp.tables["daily"].drop_duplicates(["replication", "day"])
    series = daily.pivot(index="replication", columns="day", values="open").to_numpy()
    hours = suggest_warmup(series, 24.0, args.method)
    console.print(f"suggested warm-up ({args.method} on open cases per day, "
                  f"{exp.replications} replications): {hours / 24:.0f}d")
    return 0


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    from .report import ReportError, write_report

    try:
        with _writing(Path(args.results)):
            path = write_report(args.results)
    except ReportError as e:
        raise UsageError(str(e)) from None
    console.print(f"report written to {path}")
    return 0


def cmd_check_published(args: argparse.Namespace, console: Console) -> int:
    from .validation import load_checks, run_checks, select

    checks = load_checks(args.metrics)
    if args.out:  # refused before the checks run
        check_file(args.out, "--out", CHECKS_CSV_HEADER)
    try:
        chosen = select(checks, args.check)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    with Progress(TextColumn("{task.description}"), console=console, transient=True,
                  disable=args.quiet) as bar:
        task = bar.add_task("validating")
        table = run_checks(chosen, fast=args.fast, replications=args.replications,
                           seed=args.seed, workers=args.workers, client=args.dask,
                           progress=lambda cid: bar.update(task, description=f"check {cid}"))
    out = Table(title="published figures vs simulated (mean and 95% CI)")
    out.add_column("check", no_wrap=True)
    for col in ("kind", "KPI", "published", "simulated [95% CI]", "tolerance", ""):
        out.add_column(col, justify="right" if col in ("published",) else "left")
    for r in table.itertuples():
        pub = r.published if isinstance(r.published, str) else f"{r.published:.4g}"
        out.add_row(r.check, r.kind, escape(r.kpi), pub,
                    f"{r.simulated:.4g} [{r.low:.4g}, {r.high:.4g}] n={r.n}", r.tolerance,
                    "[green]pass[/]" if r.passed else "[red]FAIL[/]")
    console.print(out)
    failed = int((~table["passed"]).sum())
    fits = int((table["kind"] == "fit").sum())
    console.print(f"{len(table) - failed} passed, {failed} failed; {fits} of the checks are "
                  "figures the scenarios were fitted to (consistency, not evidence)")
    if args.out:
        from .results.io import atomic_write_text

        check_file(args.out, "--out", CHECKS_CSV_HEADER)
        with _writing(Path(args.out)):
            atomic_write_text(args.out, table.to_csv(index=False))
    return 1 if failed else 0


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from .validation import Param, Target, calibrate
    from .validation.calibrate import UnknownTarget

    scenario = _load(args)
    try:
        targets = [Target.parse(t) for t in args.target or []]
    except ValueError as e:
        raise UsageError(f"--target: {e}") from None
    try:
        params = [Param.parse(p) for p in args.param or []]
    except ValueError as e:
        raise UsageError(f"--param: {e}") from None
    if not targets or not params:
        raise UsageError("calibrate needs at least one --target KPI=VALUE and one "
                         "--param dotted.path=LOW:HIGH")
    for p in params:  # a bad path or value fails here, before any run
        _check_param(scenario, p)
    out = Path(args.out) if args.out else Path(args.file or "default.yaml").with_name(
        Path(args.file or "default.yaml").stem + ".calibrated.yaml")
    check_file(out, "--out", CALIBRATED_MARK, protect=args.file)
    with Progress(TextColumn("{task.description}"), console=console, transient=True,
                  disable=args.quiet) as bar:
        task = bar.add_task("calibrating")
        try:
            fit = calibrate(scenario, targets, params, replications=args.replications,
                            seed=args.seed, maxiter=args.maxiter, workers=args.workers,
                            progress=lambda n, loss: bar.update(
                                task, description=f"evaluation {n}: objective {loss:.4g}"))
        except UnknownTarget as e:
            raise UsageError(f"--target: {e}") from None
    console.print(fit.header(args.file or "the bundled scenario"), markup=False,
                  highlight=False)
    original = Path(args.file).read_text(encoding="utf-8") if args.file else ""
    check_file(out, "--out", CALIBRATED_MARK, protect=args.file)
    with _writing(out):
        fit.write(out, args.file or "the bundled scenario", original)
    console.print(f"fitted scenario written to {out}")
    return 0


def _expand(scenario: Scenario, path: str) -> list[str]:
    from .validation.calibrate import expand_path

    return expand_path(scenario.model_dump(mode="json"), path)


def _check_param(scenario: Scenario, p) -> None:
    """Refuse a ``--param`` whose path or range the scenario does not accept, trying both
    bounds and a value between them as the optimiser will."""
    from .validation.calibrate import param_value

    data = scenario.model_dump(mode="json")
    try:
        paths = _expand(scenario, p.path)
    except KeyError as e:
        raise UsageError(f"--param {p.path}: {e.args[0]}") from None
    between = p.low + (p.high - p.low) * 0.381966  # an interior point, as Powell's first try
    for value in (p.low, p.high, between):
        try:
            scenario.with_overrides({path: param_value(data, path, value) for path in paths})
        except ScenarioError as e:
            more = f" (and {len(e.problems) - 1} more)" if len(e.problems) > 1 else ""
            raise UsageError(f"--param {p.path}={p.low:g}:{p.high:g}: at {value:g}, "
                             f"{e.problems[0]}{more}") from None


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from .scenario.size import estimate, over_limits

    scenario = _load(args)
    console.print(f"{args.file}: valid scenario '{scenario.name}' "
                  f"({len(scenario.districts)} district entries, "
                  f"{len(scenario.categories)} categories, policy {scenario.policy.name})",
                  markup=False, highlight=False)
    est = estimate(scenario)
    for line in est.lines():
        console.print(f"  {line}", markup=False, highlight=False)
    over, hard = over_limits(est)
    if over:
        console.print(f"  above the limit of {' and '.join(over)}: "
                      + ("too large to simulate, even with --allow-large" if hard else
                         "run, compare, replicate and sweep need --allow-large"),
                      markup=False, highlight=False)
    return 0


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="gridsim", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"gridsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def scenario_args(sp: argparse.ArgumentParser, optional: bool) -> None:
        if optional:
            sp.add_argument("file", nargs="?", help="scenario YAML (default: the bundled one)")
        else:
            sp.add_argument("file", help="scenario YAML")
        sp.add_argument("--set", action="append", metavar="PATH=VALUE",
                        help="override a scenario value, e.g. --set policy.name=baseline "
                             "(repeatable)")

    run = sub.add_parser("run", help="simulate a scenario once and write its results")
    scenario_args(run, optional=True)
    run.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    run.add_argument("--out", help="results folder (default: results/<scenario name>)")
    run.add_argument("--shards", type=_whole_or_auto, metavar="N|auto",
                     help="simulate groups of districts in parallel, identical results ('auto': "
                          "one per district); districts that share capacity run unsharded")
    run.add_argument("--workers", "-j", type=int,
                     help="local processes for --shards (default: all cores)")
    run.add_argument("--dask", metavar="ADDRESS", help="run the shards on a Dask cluster")
    run.add_argument("--record", metavar="LEVEL",
                     help="what to keep of each case: issues (one row per case, "
                          "issues.parquet; the default), events (the case rows plus an event "
                          "log, one row per state change of a case: events.parquet) or kpis "
                          "(KPIs and per-unit counts only, bounded memory); same as --set "
                          "record.level=LEVEL")
    run.add_argument("--stream", action="store_true",
                     help="write the case rows to issues.parquet (and the event log to "
                          "events.parquet) chunk by chunk instead of keeping them in memory; "
                          "same as --set record.stream=true")
    run.add_argument("--allow-large", action="store_true",
                     help="run even when the model's estimated size (cases, memory) is above "
                          "the limits (see validate-scenario)")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate-scenario", help="check a scenario file and report problems")
    scenario_args(val, optional=False)
    val.set_defaults(func=cmd_validate)

    def experiment_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--replications", "-n", type=_whole_or_auto, default=10,
                        help="replications per variant, or 'auto' (see --precision)")
        sp.add_argument("--precision", type=float, default=None,
                        help="with --replications auto: target relative CI half-width "
                             "(default 0.05)")
        sp.add_argument("--kpi", default="resolution_time_mean",
                        help="KPI for --replications auto and for choosing the best variant")
        sp.add_argument("--max-replications", type=int, default=None,
                        help="with --replications auto: the most replications per variant "
                             "(default 200)")
        sp.add_argument("--seed", type=int, help="base seed (default: the scenario's)")
        sp.add_argument("--workers", "-j", type=int, help="local processes (default: all cores)")
        sp.add_argument("--dask", metavar="ADDRESS",
                        help="run on a Dask cluster (tcp://scheduler:8786)")
        sp.add_argument("--out", help="results folder; rerun with the same folder to resume")
        sp.add_argument("--allow-large", action="store_true",
                        help="run even when a variant's estimated size is above the limits")
        sp.add_argument("--no-plots", action="store_true")
        sp.add_argument("--quiet", "-q", action="store_true")

    cmp = sub.add_parser("compare", help="compare variants over replications on common "
                                         "random numbers")
    cmp.add_argument("files", nargs="*", help="scenario YAML file(s) (default: the bundled one)")
    cmp.add_argument("--policies", type=policy_list,
                     help="comma-separated policies, e.g. baseline,whistle,four_tier")
    cmp.add_argument("--set", action="append", metavar="PATH=VALUE")
    experiment_args(cmp)
    cmp.set_defaults(func=cmd_compare)

    rep = sub.add_parser("replicate", help="replications of one scenario with intervals")
    scenario_args(rep, optional=True)
    experiment_args(rep)
    rep.set_defaults(func=cmd_replicate)

    swp = sub.add_parser("sweep", help="every combination of the --vary values")
    scenario_args(swp, optional=True)
    swp.add_argument("--vary", action="append", metavar="PATH=V1,V2,...",
                     help="a parameter and its values (repeatable)")
    experiment_args(swp)
    swp.set_defaults(func=cmd_sweep)

    wu = sub.add_parser("warmup", help="suggest a warm-up length from replicated runs")
    scenario_args(wu, optional=True)
    wu.add_argument("--replications", "-n", type=int, default=5)
    wu.add_argument("--method", choices=["mser5", "welch"], default="mser5")
    wu.add_argument("--seed", type=int)
    wu.add_argument("--workers", "-j", type=int)
    wu.add_argument("--dask", metavar="ADDRESS")
    wu.add_argument("--quiet", "-q", action="store_true")
    wu.set_defaults(func=cmd_warmup)

    rpt = sub.add_parser("report", help="write a self-contained HTML report of a results folder")
    rpt.add_argument("results", help="a folder written by run, compare, replicate or sweep")
    rpt.set_defaults(func=cmd_report)

    vp = sub.add_parser("validate", help="check the model against published figures")
    vp.add_argument("--check", action="append", metavar="ID",
                    help="run only this check (or every check under this prefix); repeatable")
    vp.add_argument("--fast", action="store_true", help="fewer replications (the test form)")
    vp.add_argument("--replications", "-n", type=int, help="replications for every check")
    vp.add_argument("--metrics", help="metrics table (default: the bundled one)")
    vp.add_argument("--seed", type=int)
    vp.add_argument("--workers", "-j", type=int)
    vp.add_argument("--dask", metavar="ADDRESS")
    vp.add_argument("--out", help="also write the table as CSV here")
    vp.add_argument("--quiet", "-q", action="store_true")
    vp.set_defaults(func=cmd_check_published)

    cal = sub.add_parser("calibrate", help="fit free parameters to published targets")
    scenario_args(cal, optional=True)
    cal.add_argument("--target", action="append", metavar="KPI=VALUE",
                     help="e.g. whistle_range_share=0.6 or resolution_time_mean[lead=street]=30")
    cal.add_argument("--param", action="append", metavar="PATH=LOW:HIGH",
                     help="a free parameter and its bounds; * matches every key at a level, "
                          "e.g. categories.*.solve.community=0.2:0.9")
    cal.add_argument("--replications", "-n", type=int, default=5,
                     help="replications per evaluation (common random numbers)")
    cal.add_argument("--maxiter", type=int, default=40)
    cal.add_argument("--seed", type=int)
    cal.add_argument("--workers", "-j", type=int, default=1)
    cal.add_argument("--out", help="fitted scenario YAML (default: FILE.calibrated.yaml)")
    cal.add_argument("--quiet", "-q", action="store_true")
    cal.set_defaults(func=cmd_calibrate)

    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.set_defaults(func=cmd_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridsim`` console script."""
    args = build_parser().parse_args(argv)
    # piped into a file or a CI log, tables get room rather than the 80 columns of a dumb terminal
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    console = Console(width=150 if wide else None)
    restore = terminate_like_interrupt()  # timeout, Slurm and docker stop send SIGTERM
    try:
        check_args(args)
        return args.func(args, console)
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, OutputError, SettingError) as e:
        print(f"gridsim: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as e:  # an Interrupted says what was kept
        print(f"gridsim: {e or 'interrupted; nothing written'}", file=sys.stderr)
        return exit_status(e)
    finally:
        restore()


if __name__ == "__main__":
    sys.exit(main())
