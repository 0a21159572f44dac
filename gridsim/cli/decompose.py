"""The decompose command: which mechanism buys what of a KPI's difference between two
scenarios, or two policies of one."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ..experiments import Decomposition, decompose
from ..report.decompose import GENERATOR, write_decomposition
from ..results.outdir import check_file
from ..scenario import load_scenario
from ..vocabulary import format_percent, format_value, label
from .common import Args, UsageError, command, overrides, run_experiment, writing
from .options import (
    ALLOW_LARGE,
    DASK,
    DECOMPOSE_METHOD,
    GROUP,
    KPI,
    ORDER,
    PERMUTATIONS,
    POLICIES,
    QUIET,
    REPORT,
    SEED,
    SET,
    WORKERS,
    out,
    replications,
    use,
)

CSV_HEADER = "mechanism,contribution,low,high,share,"
"""How a ``decompose --out`` table gridsim wrote begins (only such a file is overwritten)."""


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""

    @command(group, "decompose", "which mechanism buys what of a KPI's difference")
    @click.argument("files", nargs=-1, metavar="A.yaml [B.yaml]")
    @use(POLICIES, SET, KPI, replications(10, False, "replications of every coalition"),
         DECOMPOSE_METHOD, GROUP, PERMUTATIONS, ORDER, SEED, WORKERS, DASK,
         out("also write the decomposition table as CSV here"), REPORT, ALLOW_LARGE, QUIET)
    def decompose_(args: Args, console: Console) -> int:
        """Share a KPI's difference between scenario A and B (or two --policies of A) among
        the mechanisms that differ between them: each switched alone and in combination on
        common random numbers, Shapley values with 95% intervals over replications.

        Example:

        \b
          gridsim decompose scenarios/default.yaml --policies baseline,whistle -n 5 \\
              --report decompose.html
        """
        files = list(args.files or ())
        if len(files) > 2 or (len(files) == 2) == bool(args.policies):
            raise UsageError("decompose needs two files A.yaml B.yaml, or one file (or none: "
                             "the bundled scenario) and --policies A,B")
        for path, marker, option in ((args.out, CSV_HEADER, "--out"),
                                     (args.report, GENERATOR, "--report")):
            if path:  # refused before anything runs
                check_file(path, option, marker)
        a = load_scenario(files[0] if files else None, overrides(args.set))
        b = load_scenario(files[1], overrides(args.set)) if len(files) == 2 else None
        d: Decomposition = run_experiment(console, lambda progress: decompose(
            a, b, args.kpi, args.replications, args.seed, policies=args.policies,
            groups=_groups(args.group or []), method=args.method,
            permutations=args.permutations, order=_order(args.order), workers=args.workers,
            client=args.dask, allow_large=args.allow_large, progress=progress), args,
            "decomposing")
        _print(d, console)
        if args.out:
            with writing(Path(args.out)):
                d.write_csv(args.out)
            console.print(f"table written to {args.out}", markup=False)
        if args.report:
            with writing(Path(args.report)):
                write_decomposition(d, args.report)
            console.print(f"page written to {args.report}", markup=False)
        return 1 if d.experiment.failures else 0


def _groups(items: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for text in items:
        name, sep, paths = text.partition("=")
        pats = [p.strip() for p in paths.split(",") if p.strip()]
        if not sep or not name.strip() or not pats:
            raise UsageError(f"--group {text!r} must look like NAME=dotted.path,...")
        if name.strip() in out:
            raise UsageError(f"--group {name.strip()} is given twice")
        out[name.strip()] = pats
    return out


def _order(text: str | None) -> list[str] | None:
    return None if text is None else [n.strip() for n in text.split(",")]


def _print(d: Decomposition, console: Console) -> None:
    fmt = lambda v: format_value(v, d.unit, signed=True)  # noqa: E731
    table = Table(title=f"{label(d.kpi)}: {d.a} {format_value(d.a_mean, d.unit)} → {d.b} "
                        f"{format_value(d.b_mean, d.unit)} ({d.method}, {d.total.n} "
                        "replications)")
    for col in ("mechanism", "contribution", f"{d.level:.0%} interval", "share",
                "alone on A"):
        table.add_column(col)
    for r in d.table.itertuples():
        table.add_row(r.mechanism, fmt(r.contribution), f"{fmt(r.low)} to {fmt(r.high)}",
                      format_percent(r.share), fmt(r.alone))
    table.add_row("total", fmt(d.total.mean), f"{fmt(d.total.low)} to {fmt(d.total.high)}",
                  "100%", "")
    console.print(table)
    for n in d.notes:
        console.print(f"note: {n}", markup=False)
