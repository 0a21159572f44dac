"""The ``gridsim`` command: run scenarios, check them, print their schema.

Bad input never produces a traceback: a :class:`ScenarioError` is printed as one message and the
command exits with status 2 before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__
from .results.result import Result
from .runner import simulate
from .scenario import Scenario, ScenarioError, load_scenario, parse_override

EXIT_BAD_INPUT = 2
HEADLINE = ("issues", "resolution_time_mean", "resolution_time_median", "resolution_time_p90",
            "resolution_time_p95", "on_time_rate", "resolution_rate", "solved_share_grid",
            "solved_share_community", "solved_share_street", "solved_share_district",
            "solved_share_joint", "solved_share_city", "whistles", "dept_report_time_mean",
            "dept_report_on_time_rate", "reroutes_per_issue", "reopen_rate", "backlog_end")


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


def _fmt(metric: str, value: float, unit: str) -> str:
    if value != value:
        return "–"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "h":
        return f"{value:,.1f} h ({value / 24:,.2f} d)"
    if unit in ("cases", "count"):
        return f"{value:,.0f}"
    return f"{value:,.3f}"


def print_summary(result: Result, console: Console) -> None:
    """The KPI table and the bottleneck, as a planner reads them."""
    k = result.kpis[result.kpis["scope"] == "all"].set_index("metric")
    table = Table(title=f"{result.scenario.name} · policy {result.scenario.policy.name} · "
                        f"seed {result.seed} (warm-up {result.scenario.warmup} excluded)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for metric in HEADLINE:
        if metric in k.index:
            table.add_row(metric, _fmt(metric, k.at[metric, "value"], k.at[metric, "unit"]))
    console.print(table)
    b = result.bottleneck
    console.print(f"bottleneck: [bold]{b['pool']}[/] ({b['kind']}), utilisation "
                  f"{b['utilisation']:.0%}, mean queue {b['queue_mean']:.1f}")
    m = result.manifest
    console.print(f"{m['issues_created']:,} issues in {m['wall_time_s']:.1f} s "
                  f"({m['issues_per_second']:,.0f} issues/s)")


def cmd_run(args: argparse.Namespace, console: Console) -> int:
    scenario = _load(args)
    out = Path(args.out) if args.out else Path("results") / scenario.name
    if args.quiet:
        result = simulate(scenario, seed=args.seed)
    else:
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
                   TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task(f"simulating {scenario.name} ({scenario.horizon})", total=1.0)
            result = simulate(scenario, seed=args.seed,
                              progress=lambda f: bar.update(task, completed=f))
    result.write(out, plot=not args.no_plots)
    if not args.quiet:
        print_summary(result, console)
    console.print(f"results written to {out}/")
    return 0


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    scenario = _load(args)
    console.print(f"{args.file}: valid scenario '{scenario.name}' "
                  f"({len(scenario.districts)} district entries, "
                  f"{len(scenario.categories)} categories, policy {scenario.policy.name})")
    return 0


def cmd_schema(args: argparse.Namespace, console: Console) -> int:
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gridsim", description=__doc__.splitlines()[0])
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
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate-scenario", help="check a scenario file and report problems")
    scenario_args(val, optional=False)
    val.set_defaults(func=cmd_validate)

    sch = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    sch.set_defaults(func=cmd_schema)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridsim`` console script."""
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return args.func(args, console)
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as e:
        print(f"gridsim: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("gridsim: interrupted; nothing written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
