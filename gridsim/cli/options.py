"""Every option of the gridsim command, declared once, and the checks of their values.

An option several commands share (``--set``, ``--seed``, ``--workers``, ...) is one
:class:`click.Option` object here that each command attaches with :func:`use`, so its name,
type, help and check cannot drift apart between commands. ``--out`` and ``--replications``
mean a different thing per command (a folder, a file; a count, or ``auto`` too) and are made
by one function each, :func:`out` and :func:`replications`; so is ``--method``
(:func:`method`).

Parsing refuses text that is no value (``--seed abc``); :func:`check_args` then refuses values
that cannot work (``--seed -1``, ``--workers 0``, ``--precision 1.5``, an unknown ``--kpi``) or
would be silently ignored (``--precision`` without ``--replications auto``), with the checks the
Python API makes (:mod:`gridsim.arguments`) under the options' names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..arguments import (
    SettingError,
    check_count,
    check_fraction,
    check_kpi,
    check_policies,
    check_seed,
    check_workers,
)

F = TypeVar("F", bound=Callable[..., Any])
OPTIONS: dict[str, click.Option] = {}
"""Every shared option object by its long name (the ones :func:`out` and :func:`replications`
make included, under ``--out:HELP`` style keys), for the test that each is declared once."""


# ---------------------------------------------------------------------------- value types
class Parsed(click.ParamType):
    """A value read by ``parse`` (``int``, ``float``), refused as argparse did: ``invalid int
    value: 'x'``. ``float`` reads ``nan`` and ``inf``: :func:`check_args` refuses them."""

    def __init__(self, parse: Callable[[str], Any], word: str):
        self.parse, self.name = parse, word

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if not isinstance(value, str):  # a default
            return value
        try:
            return self.parse(value)
        except ValueError:
            self.fail(f"invalid {self.name} value: {value!r}", param, ctx)


class WholeOrAuto(click.ParamType):
    """A whole number of at least 1, or ``auto``."""

    name = "N|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if value == "auto" or isinstance(value, int):
            return value
        try:
            n = int(value)
        except (TypeError, ValueError):
            self.fail("must be a whole number or 'auto'", param, ctx)
        if n < 1:
            self.fail("must be at least 1", param, ctx)
        return n


class PolicyList(click.ParamType):
    """``a,b,c``: policy names, none empty, none twice (which exist is the scenario's check)."""

    name = "a,b,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, list):
            return value
        try:
            return check_policies(str(value).split(","), "--policies")
        except SettingError as e:
            self.fail(str(e).removeprefix("--policies: "), param, ctx)


WHOLE, NUMBER = Parsed(int, "int"), Parsed(float, "float")


# ---------------------------------------------------------------------------- declaring
def _option(*decls: str, key: str | None = None, **kw: Any) -> click.Option:
    opt = click.Option(decls, **kw)
    OPTIONS[key or decls[0]] = opt
    return opt


def use(*options: click.Parameter) -> Callable[[F], F]:
    """Attach these option (and argument) objects, shared, not copies, to a command in this
    order."""
    def decorate(f: F) -> F:
        params = f.__dict__.setdefault("__click_params__", [])
        params.extend(reversed(options))  # click reverses the decorators' list
        return f
    return decorate


def out(help: str) -> click.Option:
    """``--out``: where a command writes (what and its default differ per command)."""
    return _option("--out", key=f"--out:{help}", metavar="PATH", help=help)


def replications(default: int | None, auto: bool, help: str) -> click.Option:
    """``--replications/-n``: how many replications; ``auto`` only where it can be searched."""
    return _option("--replications", "-n", key=f"--replications:{help}", default=default,
                   type=WholeOrAuto() if auto else WHOLE, metavar="N|auto" if auto else "N",
                   show_default=default is not None, help=help)


def vary(metavar: str, help: str) -> click.Option:
    """``--vary``: the values a sweep runs, or the range an optimisation searches."""
    return _option("--vary", key=f"--vary:{metavar}", multiple=True, metavar=metavar, help=help)


def target(metavar: str, help: str) -> click.Option:
    """``--target``: a figure to fit (calibrate) or a bound to meet (optimise)."""
    return _option("--target", key=f"--target:{metavar}", multiple=True, metavar=metavar,
                   help=help)


def max_replications(help: str) -> click.Option:
    """``--max-replications``: the most replications of a point (auto) or a candidate."""
    return _option("--max-replications", key=f"--max-replications:{help}", type=WHOLE,
                   metavar="N", help=help)


def method(choices: list[str], help: str) -> click.Option:
    """``--method``: how a command computes (its choices differ per command; the first is the
    default)."""
    return _option("--method", key=f"--method:{choices[0]}", type=click.Choice(choices),
                   default=choices[0], show_default=True, help=help)


FILE = click.Argument(["file"], required=False, metavar="[FILE]")
"""The scenario YAML of a command that runs the bundled one without it (not validate-scenario,
whose FILE is required)."""
SET = _option("--set", multiple=True, metavar="PATH=VALUE",
              help="override a scenario value, validated like the file, e.g. "
                   "--set policy.name=baseline (repeatable)")
SEED = _option("--seed", type=WHOLE, metavar="N",
               help="random seed; an experiment's base seed (default: the scenario's)")
WORKERS = _option("--workers", "-j", type=WHOLE, metavar="N",
                  help="local processes (default: all cores; calibrate: 1; run: with --shards "
                       "only)")
DASK = _option("--dask", metavar="ADDRESS",
               help="run on a Dask cluster, e.g. tcp://scheduler:8786 (run: with --shards only)")
QUIET = _option("--quiet", "-q", is_flag=True, help="no progress bar or table")
NO_PLOTS = _option("--no-plots", is_flag=True, help="skip the PNG plots")
ALLOW_LARGE = _option("--allow-large", is_flag=True,
                      help="run even when the model's (or a variant's) estimated size (cases, "
                           "memory) is above the limits (see validate-scenario)")
SHARDS = _option("--shards", type=WholeOrAuto(), metavar="N|auto",
                 help="simulate groups of districts in parallel, identical results ('auto': one "
                      "per district); districts that share capacity run unsharded")
RECORD = _option("--record", metavar="LEVEL",
                 help="what to keep of each case: issues (one row per case, issues.parquet; "
                      "the default), events (the case rows plus an event log, one row per state "
                      "change of a case: events.parquet) or kpis (KPIs and per-unit counts only, "
                      "bounded memory); same as --set record.level=LEVEL")
STREAM = _option("--stream", is_flag=True,
                 help="write the case rows to issues.parquet (and the event log to "
                      "events.parquet) chunk by chunk instead of keeping them in memory; same "
                      "as --set record.stream=true")
PRECISION = _option("--precision", type=NUMBER, metavar="X",
                    help="with --replications auto: target relative CI half-width "
                         "(default 0.05)")
KPI = _option("--kpi", default="resolution_time_mean", show_default=True, metavar="NAME",
              help="KPI for --replications auto and for choosing the best variant")
MAX_REPLICATIONS = max_replications("with --replications auto: the most replications per "
                                    "variant (default 200)")
POLICIES = _option("--policies", type=PolicyList(), metavar="A,B,...",
                   help="comma-separated policies, e.g. baseline,whistle,four_tier")
VARY = vary("PATH=V1,V2,...", "a parameter and its values (repeatable)")
METHOD = method(["mser5", "welch"], "MSER-5 on the mean of the replications, or on its Welch "
                                    "moving average (smoother)")
DECOMPOSE_METHOD = method(["auto", "factorial", "shapley", "sequential"],
                          "factorial: every coalition (auto: up to 5 mechanisms); shapley: "
                          "sampled orderings; sequential: along --order")
OPTIMISE_METHOD = method(["search", "exhaustive"],
                         "search: queueing start, greedy and descent; exhaustive: decide every "
                         "allocation of the ranges (small spaces; at most 500)")
GROUP = _option("--group", multiple=True, metavar="NAME=PATH,...",
                help="switch these dotted paths (and everything below them) or policy "
                     "mechanisms together as one mechanism (repeatable)")
PERMUTATIONS = _option("--permutations", type=WHOLE, metavar="N",
                       help="with --method shapley: orderings sampled (default: one per "
                            "mechanism)")
ORDER = _option("--order", metavar="M1,M2,...",
                help="the order of the mechanisms for --method sequential")
CHECK = _option("--check", multiple=True, metavar="ID",
                help="run only this check (or every check under this prefix); repeatable")
REPORT = _option("--report", metavar="FILE.html",
                 help="also write a self-contained HTML page here")
FAST = _option("--fast", is_flag=True, help="fewer replications (the test form)")
KNOCKOUTS = _option("--knockouts", is_flag=True,
                    help="also run each check with the mechanism it is evidence for switched "
                         "off (its knockout); exit 1 if one still passes")
METRICS = _option("--metrics", metavar="FILE",
                  help="the published-metrics table (default: the bundled one)")
TARGET = target("KPI=VALUE", "e.g. whistle_range_share=0.6 or "
                             "resolution_time_mean[lead=street]=30 (repeatable)")
PARAM = _option("--param", multiple=True, metavar="PATH=LOW:HIGH",
                help="a free parameter and its bounds; * matches every key at a level, e.g. "
                     "categories.*.solve.community=0.2:0.9 (repeatable)")
MAXITER = _option("--maxiter", type=WHOLE, default=40, show_default=True, metavar="N",
                  help="the most iterations of the optimiser")

OPT_VARY = vary("PATH=LOW..HIGH",
                "a decision variable: a head count (or any value) and its range, LOW..HIGH, "
                "LOW..HIGH:STEP or V1,V2,...; PATH alone: 1 to twice its value; * makes one "
                "variable per key, e.g. 'departments.*.staff', "
                "'streets.overrides.*.staff.enforcement=4..16' (repeatable)")
OPT_TARGET = target("'KPI>=X [@ SCOPE]'",
                    "a target that must hold at --level confidence, e.g. 'on_time_rate>=0.9', "
                    "'on_time_rate>=0.85 @ street=*' (every street), "
                    "'wait_share<=0.2 @ pool=*/enforcement' (repeatable)")
COSTS = _option("--costs", metavar="FILE.yaml",
                help="cost per head by pool kind (per_head:, per_added:, default:, unit:); "
                     "default: every head costs 1")
COST = _option("--cost", multiple=True, metavar="KIND=PRICE",
               help="cost per head of one pool kind, e.g. department=1.2 (repeatable)")
BUDGET = _option("--budget", type=NUMBER, metavar="X",
                 help="with --maximise: spend at most this (in the costs' unit)")
MAXIMISE = _option("--maximise", metavar="'KPI [@ SCOPE]'",
                   help="with --budget: the KPI to make best within it (the worst unit's for "
                        "a unit scope)")
OPT_MAX_REPLICATIONS = max_replications("the most replications of one candidate before its "
                                        "targets are called undecided (default 40)")
CONFIRM = _option("--confirm", type=WHOLE, metavar="N",
                  help="replications of the chosen allocation on fresh seeds (default 20; 0: "
                       "none)")
LEVEL = _option("--level", type=NUMBER, metavar="X",
                help="family-wise confidence of the targets (default 0.95)")

EXPERIMENT = (replications(10, True, "replications per variant, or 'auto' (see --precision)"),
              PRECISION, KPI, MAX_REPLICATIONS, SEED, WORKERS, DASK,
              out("results folder (default: a folder under results/ named after the scenario "
                  "and the command); rerun with the same folder to resume"),
              ALLOW_LARGE, NO_PLOTS, QUIET)
"""The options of compare, replicate and sweep."""


# ---------------------------------------------------------------------------- checks
def check_args(command: str, given: dict[str, Any]) -> None:
    """Refuse values that cannot work or would be ignored, naming the option."""
    get = given.get
    check_seed(get("seed"), "--seed")
    for name in ("out", "metrics", "dask"):
        if isinstance(get(name), str) and not get(name).strip():
            raise SettingError(f"--{name} is empty: give a path" + (
                " (or leave the option out for the default)" if name == "out" else ""))
    check_workers(get("workers"), "--workers")
    for name in ("max_replications", "maxiter", "permutations"):
        if get(name) is not None:
            check_count(get(name), "--" + name.replace("_", "-"))
    if isinstance(get("replications"), int):
        check_count(get("replications"), "--replications")
    if get("kpi") is not None:
        check_kpi(get("kpi"), "--kpi")
    auto = get("replications") == "auto" or command == "optimise"
    for name in ("precision", "max_replications"):
        if get(name) is not None and not auto:
            raise SettingError(f"--{name.replace('_', '-')} applies only with "
                               "--replications auto")
    if get("level") is not None:
        check_fraction(get("level"), "--level", "0.95")
    if get("confirm") is not None and get("confirm") < 0:
        raise SettingError(f"--confirm must be 0 or more, got {get('confirm')}")
    if get("precision") is not None:
        check_fraction(get("precision"), "--precision", "0.05 for ±5 %")
    if command == "run" and get("shards") is None:
        for name in ("workers", "dask"):
            if get(name) is not None:
                raise SettingError(f"--{name} applies only with --shards (a single run uses "
                                   "one process)")
