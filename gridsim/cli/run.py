"""The commands on one scenario or one results folder: run, validate-scenario, report, schema."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..report import ReportError, write_report
from ..results.outdir import RUN, FolderLock, check_out, default_folder
from ..runner import ShardingWarning, simulate
from ..scenario import Scenario, load_scenario
from ..scenario.size import estimate, over_limits
from .common import Args, UsageError, command, load, note, out_option, overrides, writing
from .options import (
    ALLOW_LARGE,
    DASK,
    FILE,
    NO_PLOTS,
    QUIET,
    RECORD,
    SEED,
    SET,
    SHARDS,
    STREAM,
    WORKERS,
    out,
    use,
)
from .tables import print_summary


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""

    @command(group, "run", "simulate a scenario once and write its results")
    @use(FILE, SET, SEED, out("results folder (default: results/<scenario name>)"), SHARDS,
         WORKERS, DASK, RECORD, STREAM, ALLOW_LARGE, NO_PLOTS, QUIET)
    def run(args: Args, console: Console) -> int:
        """Simulate a scenario once and write its results (cases, KPIs, load, plots) into a
        folder; FILE is a scenario YAML (default: the bundled one). The folder is replaced only
        if an earlier run wrote it.

        Example:

        \b
          gridsim run scenarios/default.yaml --set horizon=90d --seed 7 --out results/q1
        """
        return _run(args, console)

    @command(group, "validate-scenario", "check a scenario file and report problems")
    @click.argument("file")
    @use(SET)
    def validate_scenario(args: Args, console: Console) -> int:
        """Check a scenario file (with any --set values) and report every problem with its
        line, or the size of the model it describes.

        Example:

        \b
          gridsim validate-scenario scenarios/default.yaml --set streets.count=12
        """
        return _validate(args, console)

    @command(group, "report", "write a self-contained HTML report of a results folder")
    @click.argument("results")
    def report(args: Args, console: Console) -> int:
        """Write a self-contained HTML report (report.html) into RESULTS, a folder written by
        run, compare, replicate or sweep.

        Example:

        \b
          gridsim report results/default
        """
        try:
            with writing(Path(args.results)):
                path = write_report(args.results)
        except ReportError as e:
            raise UsageError(str(e)) from None
        console.print(f"report written to {path}", markup=False)
        return 0

    @command(group, "schema", "print the JSON Schema of scenario files")
    def schema(args: Args, console: Console) -> int:
        """Print the JSON Schema of scenario files (for editors and validators).

        Example:

        \b
          gridsim schema > scenario.schema.json
        """
        sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")
        return 0


def _run(args: Args, console: Console) -> int:
    extra: dict[str, Any] = {}
    if args.record:  # validated like --set record.level=... (a misspelt level gets a hint)
        extra["record.level"] = args.record
    if args.stream:
        extra["record.stream"] = True
    scenario = load_scenario(args.file, {**overrides(args.set), **extra})
    folder = Path(args.out) if args.out else default_folder("run", [scenario.name])
    real = check_out(folder, RUN, out_option(args))  # refused before anything runs
    with FolderLock(real):  # a second run into the same folder is refused now, not at the end
        with _notes():
            result = _simulate(args, console, scenario, real)
        with writing(folder):
            result.write(folder, plot=not args.no_plots)
    if not args.quiet:
        print_summary(result, console)
    console.print(f"results written to {folder}/", markup=False)
    return 0


def _simulate(args: Args, console: Console, scenario: Scenario, real: Path):
    # streamed rows are spooled beside the results folder, so writing it moves them
    kw: dict[str, Any] = {"seed": args.seed, "spool_dir": real.parent,
                          "allow_large": args.allow_large, "shards": args.shards,
                          "workers": args.workers, "client": args.dask}
    if args.quiet:
        return simulate(scenario, **kw)
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(f"simulating {scenario.name} ({scenario.horizon})", total=1.0)
        return simulate(scenario, progress=lambda f: bar.update(task, completed=f), **kw)


@contextmanager
def _notes() -> Iterator[None]:
    """A :class:`ShardingWarning` (the run goes unsharded, and why) as a note on stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", ShardingWarning)
        shown = warnings.showwarning

        def show(message, category, *rest, **kw) -> None:
            if issubclass(category, ShardingWarning):
                note(f"note: {message}")
            else:
                shown(message, category, *rest, **kw)

        warnings.showwarning = show
        yield


def _validate(args: Args, console: Console) -> int:
    scenario = load(args)

    def say(text: str) -> None:
        console.print(text, markup=False, highlight=False)

    say(f"{args.file}: valid scenario '{scenario.name}' ({len(scenario.districts)} district "
        f"entries, {len(scenario.categories)} categories, policy {scenario.policy.name})")
    est = estimate(scenario)
    for line in est.lines():
        say(f"  {line}")
    over, hard = over_limits(est)
    if over:
        say(f"  above the limit of {' and '.join(over)}: "
            + ("too large to simulate, even with --allow-large" if hard else
               "run, compare, replicate and sweep need --allow-large"))
    return 0
