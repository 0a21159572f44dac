"""The optimise command: the cheapest staffing that meets the targets."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..optimise import Optimisation, optimise
from ..optimise.run import DEFAULT_CONFIRM, DEFAULT_LEVEL, DEFAULT_MAX_REPLICATIONS
from ..results.outdir import EXPERIMENT as EXPERIMENT_FOLDER
from ..results.outdir import check_out, default_folder
from ..vocabulary import format_value, unit_of
from .common import (
    Args,
    UsageError,
    command,
    interrupted,
    load,
    out_option,
    run_experiment,
    writing,
)
from .options import (
    ALLOW_LARGE,
    BUDGET,
    CONFIRM,
    COST,
    COSTS,
    DASK,
    LEVEL,
    MAXIMISE,
    NO_PLOTS,
    OPT_TARGET,
    OPT_VARY,
    OPTIMISE_METHOD,
    QUIET,
    SEED,
    SET,
    WORKERS,
    out,
    replications,
    use,
)
from .options import FILE as FILE_ARG
from .options import OPT_MAX_REPLICATIONS as MAX_REPS


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""

    @command(group, "optimise", "the cheapest staffing that meets the targets")
    @use(FILE_ARG, SET, OPT_VARY, OPT_TARGET, COSTS, COST, BUDGET, MAXIMISE,
         replications(5, False, "first replications of every candidate (more are added until "
                                "its targets are decided)"),
         MAX_REPS, CONFIRM, LEVEL, OPTIMISE_METHOD, SEED, WORKERS, DASK,
         out("results folder (default: results/optimise-NAME); rerun with the same folder to "
             "resume"), ALLOW_LARGE, NO_PLOTS, QUIET)
    def optimise_(args: Args, console: Console) -> int:
        """The cheapest head counts (and values) of the --vary variables that meet every
        --target at the --level confidence: a queueing start from a pilot run, greedy
        marginal allocation and descent on common random numbers with replications added until
        each target is decided, then a confirmation on fresh seeds. Writes optimum.yaml (the
        chosen scenario, runnable), the candidates and the frontier; exit 1 when no allocation
        in the ranges meets the targets.

        Example:

        \b
          gridsim optimise scenarios/default.yaml --vary streets.staff.enforcement=4..16 \\
              --vary 'departments.*.staff' --target 'on_time_rate>=0.9 @ street=*'
        """
        scenario = load(args)
        if not args.vary:
            raise UsageError("optimise needs at least one --vary PATH=LOW..HIGH")
        folder = Path(args.out) if args.out else default_folder("optimise", [scenario.name])
        check_out(folder, EXPERIMENT_FOLDER, out_option(args))
        prices = _prices(args.cost or [])
        kw = dict(costs=args.costs, prices=prices, budget=args.budget,
                  maximise=args.maximise, replications=args.replications,
                  max_replications=args.max_replications or DEFAULT_MAX_REPLICATIONS,
                  confirm=DEFAULT_CONFIRM if args.confirm is None else args.confirm,
                  level=args.level if args.level is not None else DEFAULT_LEVEL,
                  seed=args.seed, workers=args.workers, client=args.dask, method=args.method,
                  allow_large=args.allow_large, out=folder)
        opt: Optimisation = run_experiment(console, lambda progress, note: optimise(
            scenario, list(args.vary), list(args.target or []),
            progress=progress, note=None if args.quiet else _say(console), **kw),
            args, "optimising", folder)
        try:
            with writing(folder):
                opt.write(folder, plot=not args.no_plots)
        except KeyboardInterrupt:
            raise interrupted(folder, 0) from None
        if not args.quiet:
            print_optimisation(opt, console)
        console.print(f"results written to {folder}/ (the chosen scenario: "
                      f"{folder / 'optimum.yaml'})", markup=False)
        return 0 if opt.feasible else 1


def _say(console: Console):
    def say(text: str) -> None:
        console.print(f"[dim]{escape(text)}[/]")
    return say


def _prices(items: list[str]) -> dict[str, float]:
    out = {}
    for text in items:
        kind, sep, raw = text.partition("=")
        try:
            price = float(raw)
        except ValueError:
            price = float("nan")
        if not sep or not kind.strip() or not price >= 0:
            raise UsageError(f"--cost {text!r} must look like KIND=PRICE with PRICE >= 0, e.g. "
                             "enforcement=1.2")
        out[kind.strip()] = price
    return out


def print_optimisation(opt: Optimisation, console: Console) -> None:
    """The chosen allocation against the scenario's, the targets on fresh seeds, and what the
    search spent."""
    s = opt.summary()
    ch = s["chosen"]
    title = ("chosen allocation" if opt.feasible else
             "no allocation in the ranges meets the targets; the best found")
    table = Table(title=f"{title}: cost {ch['cost']:g} {s['cost_unit']}")
    for col in ("variable", "scenario", "chosen", "range"):
        table.add_column(col)
    for v in s["variables"]:
        table.add_row(v["path"], str(v["base"]), str(ch["values"][v["path"]]),
                      f"{v['low']}..{v['high']}")
    console.print(table)
    conf = opt.confirmation
    if not conf.empty:
        t = Table(title=f"targets on {s['confirmation']['replications']} fresh seeds "
                        f"(family-wise {opt.level:.0%})")
        for col in ("target", "unit", "mean", "interval", "status"):
            t.add_column(col)
        for r in conf.itertuples():
            unit = unit_of(r.target.split("<=")[0].split(">=")[0])
            t.add_row(r.target, str(r.unit), format_value(r.mean, unit),
                      f"{format_value(r.low, unit)} to {format_value(r.high, unit)}", r.status)
        console.print(t)
    b = opt.binding
    for r in b.itertuples():
        console.print(f"binds: {r.variable}={r.value} misses {r.target} at {r.unit} "
                      f"({r.mean:.4g}, {r.status})", markup=False)
    rep = s["replications"]
    console.print(f"{s['evaluations']} allocations evaluated; replications: pilot "
                  f"{rep['pilot']}, search {rep['search']}, confirmation {rep['confirmation']}",
                  markup=False)
    for n in s["notes"]:
        console.print(f"note: {n}", markup=False)
