"""The commands on published figures: validate (the model against them) and calibrate."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, TextColumn

from ..report.validation import GENERATOR, validation_report
from ..results.io import atomic_write_text
from ..results.outdir import check_file
from ..validation import Param, Target, calibrate, load_checks, run_checks, select
from ..validation.calibrate import BadParam, UnknownTarget, check_param, default_fit_path
from ..validation.run import failures, survivors
from .common import Args, UsageError, command, load, writing
from .options import (
    CHECK,
    DASK,
    FAST,
    FILE,
    KNOCKOUTS,
    MAXITER,
    METRICS,
    PARAM,
    QUIET,
    REPORT,
    SEED,
    SET,
    TARGET,
    WORKERS,
    out,
    replications,
    use,
)
from .tables import print_checks

CHECKS_CSV_HEADER = "check,kind,source,kpi,"
"""How a ``validate --out`` table gridsim wrote begins (only such a file is overwritten)."""
CALIBRATED_MARK = "# Calibrated by `gridsim calibrate`"
"""The header line of a fitted scenario gridsim wrote (only such a file is overwritten)."""
BUNDLED = "the bundled scenario"


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""

    @command(group, "validate", "check the model against published figures")
    @use(CHECK, FAST, KNOCKOUTS, replications(None, False, "replications for every check"),
         METRICS, SEED, WORKERS, DASK, out("also write the table as CSV here"), REPORT, QUIET)
    def validate(args: Args, console: Console) -> int:
        """Check the model against the figures cities published: each check runs its
        scenario and compares the simulated mean and 95% CI with the published figure.
        Exit status 1 if a figure is missed (known failures aside). With --knockouts each
        out-of-sample and structural check is run again under its knockout (the mechanism it
        is evidence for switched off); exit status 1 also if one still passes there.
        --report writes a page for sceptics: every check with its quote, source, kind,
        interval, knockout result and plot.

        Example:

        \b
          gridsim validate --check zhangwan --fast --out checks.csv
          gridsim validate --knockouts --fast
          gridsim validate --fast --knockouts --report validation.html
        """
        checks = load_checks(args.metrics)
        if args.out:  # refused before the checks run
            check_file(args.out, "--out", CHECKS_CSV_HEADER)
        if args.report:
            check_file(args.report, "--report", GENERATOR)
        try:
            chosen = select(checks, args.check)
        except KeyError as e:
            raise UsageError(e.args[0]) from None
        with Progress(TextColumn("{task.description}"), console=console, transient=True,
                      disable=args.quiet) as bar:
            task = bar.add_task("validating")
            table = run_checks(chosen, fast=args.fast, replications=args.replications,
                               seed=args.seed, workers=args.workers, client=args.dask,
                               progress=lambda cid: bar.update(task, description=f"check {cid}"),
                               knockouts=args.knockouts)
        print_checks(table, console)
        if args.out:
            check_file(args.out, "--out", CHECKS_CSV_HEADER)
            with writing(Path(args.out)):
                atomic_write_text(args.out, table.to_csv(index=False))
        if args.report:
            with writing(Path(args.report)):
                path = validation_report(table, chosen, args.report, _settings(args),
                                         args.metrics)
            console.print(f"validation report written to {path}", markup=False, soft_wrap=True)
        return 1 if len(failures(table)) or len(survivors(table)) else 0

    @command(group, "calibrate", "fit free parameters to published targets")
    @use(FILE, SET, TARGET, PARAM, replications(5, False, "replications per evaluation (common "
                                                    "random numbers)"),
         MAXITER, SEED, WORKERS, out("fitted scenario YAML (default: FILE.calibrated.yaml)"),
         QUIET)
    def calibrate_(args: Args, console: Console) -> int:
        """Fit free parameters (--param, within bounds) so the simulated KPIs meet the
        targets (--target), by Powell's method on common random numbers, and write the fitted
        scenario with a header saying what was fitted to what.

        Example:

        \b
          gridsim calibrate scenarios/default.yaml --target whistle_range_share=0.6 \\
            --param categories.*.solve.community=0.2:0.9 -n 3 --out fitted.yaml
        """
        return _calibrate(args, console)


def _settings(args: Args) -> dict[str, str | None]:
    """How the checks were run, for the report."""
    reps = (f"{args.replications} for every check" if args.replications
            else "each check's fast_replications" if args.fast else "each check's replications")
    return {"Command": "gridsim validate" + (" --fast" if args.fast else "")
            + (" --knockouts" if args.knockouts else ""),
            "Checks": ", ".join(args.check) if args.check else "all",
            "Replications": reps, "Seed": str(args.seed) if args.seed is not None else
            "each scenario's own"}


def _calibrate(args: Args, console: Console) -> int:
    scenario = load(args)
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
        try:
            check_param(scenario, p)
        except BadParam as e:
            raise UsageError(f"--param {e}") from None
    fit_path = Path(args.out) if args.out else default_fit_path(args.file)
    check_file(fit_path, "--out", CALIBRATED_MARK, protect=args.file)
    with Progress(TextColumn("{task.description}"), console=console, transient=True,
                  disable=args.quiet) as bar:
        task = bar.add_task("calibrating")
        try:
            fit = calibrate(scenario, targets, params, replications=args.replications,
                            seed=args.seed, maxiter=args.maxiter,
                            workers=1 if args.workers is None else args.workers,
                            progress=lambda n, loss: bar.update(
                                task, description=f"evaluation {n}: objective {loss:.4g}"))
        except UnknownTarget as e:
            raise UsageError(f"--target: {e}") from None
    console.print(fit.header(args.file or BUNDLED), markup=False, highlight=False)
    original = Path(args.file).read_text(encoding="utf-8") if args.file else ""
    check_file(fit_path, "--out", CALIBRATED_MARK, protect=args.file)
    with writing(fit_path):
        fit.write(fit_path, args.file or BUNDLED, original)
    console.print(f"fitted scenario written to {fit_path}", markup=False)
    return 0
