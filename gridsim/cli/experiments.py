"""The commands that replicate: compare, replicate, sweep (into a resumable folder) and warmup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ..experiments import Experiment, compare, replicate, study_warmup, sweep
from ..results.outdir import EXPERIMENT as EXPERIMENT_FOLDER
from ..results.outdir import check_out, default_folder
from ..scenario import ScenarioError, load_scenario, parse_override
from .common import (
    Args,
    UsageError,
    command,
    interrupted,
    load,
    out_option,
    overrides,
    run_experiment,
    writing,
)
from .options import (
    DASK,
    EXPERIMENT,
    FILE,
    METHOD,
    POLICIES,
    QUIET,
    SEED,
    SET,
    VARY,
    WORKERS,
    replications,
    use,
)
from .tables import print_experiment


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""

    @command(group, "compare", "compare variants over replications on common random numbers")
    @click.argument("files", nargs=-1, metavar="[FILE]...")
    @use(POLICIES, SET, *EXPERIMENT)
    def compare_(args: Args, console: Console) -> int:
        """Compare variants over replications on common random numbers: several scenario
        files, several --policies of one (or both: every file under every policy). The first
        variant is the reference of the paired differences.

        Example:

        \b
          gridsim compare --policies baseline,whistle,four_tier -n 30 --out results/policies
        """
        scenarios = {}
        for f in args.files or [None]:
            s = load_scenario(f, overrides(args.set))
            scenarios[s.name if s.name not in scenarios else Path(f).stem] = s
        first = next(iter(scenarios.values()))
        for p in args.policies or ():  # validated like any --set
            try:
                first.with_overrides({"policy.name": p})
            except ScenarioError as e:
                raise UsageError(f"--policies {p}: {e.problems[0].message}") from None
        if len(scenarios) * len(args.policies or [None]) < 2:
            raise UsageError("compare needs two or more variants: several files or "
                             "--policies a,b")
        folder = _folder(args, default_folder("compare", list(scenarios)))
        return _experiment(args, console, folder, "comparing", lambda **kw: compare(
            scenarios, args.policies, args.replications, args.seed, **kw))

    @command(group, "replicate", "replications of one scenario with intervals")
    @use(FILE, SET, *EXPERIMENT)
    def replicate_(args: Args, console: Console) -> int:
        """Replications of one scenario: every KPI with its 95% confidence interval;
        --replications auto adds replications until --precision is reached.

        Example:

        \b
          gridsim replicate scenarios/default.yaml -n auto --precision 0.02
        """
        scenario = load(args)
        folder = _folder(args, default_folder("replicate", [scenario.name]))
        return _experiment(args, console, folder, "replicating", lambda **kw: replicate(
            scenario, args.replications, args.seed, **kw))

    @command(group, "sweep", "every combination of the --vary values")
    @use(FILE, SET, VARY, *EXPERIMENT)
    def sweep_(args: Args, console: Console) -> int:
        """Replications of every combination of the --vary values (dotted paths, as --set).

        Example:

        \b
          gridsim sweep --vary streets.staff.enforcement=8,12,16 --vary policy.name=baseline,whistle
        """
        scenario = load(args)
        vary = _vary(scenario, args.vary or [])
        folder = _folder(args, default_folder("sweep", [scenario.name]))
        return _experiment(args, console, folder, "sweeping", lambda **kw: sweep(
            scenario, vary, args.replications, args.seed, **kw))

    @command(group, "warmup", "suggest a warm-up length from replicated runs")
    @use(FILE, SET, replications(5, False, "replications without a warm-up"), METHOD, SEED,
         WORKERS, DASK, QUIET)
    def warmup(args: Args, console: Console) -> int:
        """Suggest a warm-up length: the scenario runs without one, and MSER-5 reads where
        the open cases per day settle.

        Example:

        \b
          gridsim warmup scenarios/default.yaml -n 10 --method welch
        """
        scenario = load(args)
        found = run_experiment(console, lambda progress: study_warmup(
            scenario, args.replications, args.seed, args.method, workers=args.workers,
            client=args.dask, progress=progress), args, "warm-up runs")
        console.print(f"suggested warm-up ({found.method} on open cases per day, "
                      f"{found.replications} replications): {found.days:.0f}d")
        return 0


def _folder(args: Args, default: Path) -> Path:
    """The experiment's folder, refused here (before anything runs) if gridsim may not use it."""
    folder = Path(args.out) if args.out else default
    check_out(folder, EXPERIMENT_FOLDER, out_option(args))
    return folder


def _vary(scenario: Any, items: list[str]) -> dict[str, list[Any]]:
    """``--vary path=v1,v2`` values, each validated on the scenario before anything runs."""
    if not items:
        raise UsageError("sweep needs at least one --vary dotted.path=v1,v2,...")
    vary = {}
    for text in items:
        path, sep, raw = text.partition("=")
        if not sep or not path or not raw:
            raise UsageError(f"--vary {text!r} must look like dotted.path=v1,v2,...")
        vary[path.strip()] = [parse_override(f"x={v}")[1] for v in raw.split(",")]
    for path, values in vary.items():
        for v in values:
            if values.count(v) > 1:
                raise UsageError(f"--vary {path}: the value {v!r} is given twice")
            try:
                scenario.with_overrides({path: v})
            except ScenarioError as e:
                raise UsageError(f"--vary {path}={v}: {e.problems[0]}") from None
    return vary


def _experiment(args: Args, console: Console, folder: Path, what: str, make) -> int:
    """Run ``make(**kw)`` into ``folder``, write it, print it; 1 if a replication failed."""
    kw = {"workers": args.workers, "client": args.dask, "kpi": args.kpi,
          "precision": args.precision, "max_replications": args.max_replications,
          "allow_large": args.allow_large, "out": folder}
    exp: Experiment = run_experiment(console, lambda progress, note: make(
        progress=progress, note=note, **kw), args, what, folder)
    try:
        with writing(exp.folder):
            exp.write(plot=not args.no_plots)
    except KeyboardInterrupt:
        raise interrupted(exp.folder, 0) from None
    if not args.quiet:
        print_experiment(exp, console)
    for f in exp.failures:
        console.print(f"[red]failed:[/] {escape(str(f))}")
    console.print(f"results written to {exp.folder}/", markup=False)
    return 1 if exp.failures else 0
