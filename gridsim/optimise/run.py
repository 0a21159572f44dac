"""``gridsim.optimise``: checks its arguments, runs the search on an executor (resumable in a
results folder) and returns the :class:`~gridsim.optimise.result.Optimisation`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import runner
from ..arguments import SettingError, check_count, check_fraction, check_seed, check_workers
from ..experiments.outputs import replication_outputs
from ..experiments.store import Store
from ..experiments.tasks import run_task
from ..model.streams import DRAWS_VERSION
from ..parallel.executors import Executor
from ..scenario import Scenario, scenario_hash
from ..scenario.size import check_size
from ..vocabulary import minimise
from .costs import Costs, read_costs
from .evaluate import CONFIRM_POINT, Evaluator
from .result import Optimisation
from .search import Search
from .targets import Target, parse_targets
from .variables import Space, parse_vary

DEFAULT_REPLICATIONS = 5
DEFAULT_MAX_REPLICATIONS = 40
DEFAULT_CONFIRM = 20
DEFAULT_LEVEL = 0.95
METHODS = ("search", "exhaustive")
MAX_EXHAUSTIVE = 500
"""The most allocations ``method="exhaustive"`` evaluates."""


def optimise(scenario: Scenario, vary: Sequence[str] | dict[str, Any],
             targets: Sequence[str | Target] = (), *,
             costs: str | Path | dict[str, Any] | Costs | None = None,
             prices: dict[str, float] | None = None,
             budget: float | None = None, maximise: str | None = None,
             replications: int = DEFAULT_REPLICATIONS,
             max_replications: int = DEFAULT_MAX_REPLICATIONS,
             confirm: int = DEFAULT_CONFIRM, level: float = DEFAULT_LEVEL, seed: int | None = None,
             workers: int | None = None, client: Any = None, out: str | Path | None = None,
             progress: Callable[[int, int], None] | None = None,
             note: Callable[[str], None] | None = None,
             method: str = "search", allow_large: bool = False) -> Optimisation:
    """The cheapest allocation of the ``vary`` head counts (or values) whose ``targets`` are
    met at family-wise confidence ``level``, by simulation optimisation on common random
    numbers (:mod:`gridsim.optimise.search`); with ``budget`` and ``maximise`` (a KPI, as a
    target without a bound: ``"on_time_rate @ street=*"``), the allocation within the budget
    that does best on it.

    ``vary``: ``--vary`` texts (``"streets.staff.enforcement=2..20"``, ``"departments.*.staff"``)
    or a mapping of path to a range text or values (:mod:`gridsim.optimise.variables`).
    ``targets``: ``"on_time_rate>=0.9 @ street=*"`` texts (:mod:`gridsim.optimise.targets`).
    ``costs``: a cost table, its YAML file, or None (every head costs 1); ``prices`` per pool
    kind override its ``per_head`` (:mod:`gridsim.optimise.costs`).
    ``replications``: the first replications of each candidate, added to (in batches) until
    its constraints are decided or ``max_replications`` are done; ``confirm``: replications
    of the chosen allocation on fresh seeds (0: none). With ``out``, every replication is
    stored there and a rerun with the same arguments resumes; the result is the same whatever
    ``workers`` or ``client`` (a Dask client) run it. ``method="exhaustive"`` decides every
    allocation of the ranges instead of searching (small spaces; the search's reference).
    Bad arguments raise :class:`~gridsim.arguments.SettingError` before anything runs.
    """
    if method not in METHODS:
        raise SettingError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    check_count(replications, "replications")
    check_count(max_replications, "max_replications")
    if max_replications < replications:
        raise SettingError(f"max_replications ({max_replications}) is below replications "
                           f"({replications})")
    if max_replications > CONFIRM_POINT:
        raise SettingError(f"max_replications must be below {CONFIRM_POINT}")
    if confirm != 0:
        check_count(confirm, "confirm")
    check_fraction(level, "level", "0.95")
    check_seed(seed)
    check_workers(workers)
    space = parse_vary(scenario, vary)
    goals = parse_targets(list(targets))
    if method == "exhaustive" and space.size > MAX_EXHAUSTIVE:
        raise SettingError(f"method exhaustive: the ranges hold {space.size} allocations (at "
                           f"most {MAX_EXHAUSTIVE}): narrow them or use the search")
    objective = _objective(maximise, budget)
    if objective is None and not goals:
        raise SettingError("optimise needs a --target (or a --budget with --maximise)")
    table = read_costs(costs, prices)
    all_targets = ([objective] if objective else []) + goals
    _check_targets(scenario, space, all_targets)
    check_size(scenario, "kpis", allow_large)
    seed = scenario.seed if seed is None else int(seed)
    fingerprint = {"kind": "optimise", "seed": seed, "draws_version": DRAWS_VERSION,
                   "scenario_sha256": scenario_hash(scenario),
                   "variables": [[v.path, list(v.values)] for v in space.variables],
                   "targets": [str(t) for t in all_targets], "costs": table.model_dump(),
                   "budget": budget, "replications": replications,
                   "max_replications": max_replications, "confirm": confirm, "level": level,
                   "method": method}
    with Executor(workers, client, fn=run_task) as executor:
        store = Store(out, fingerprint) if out is not None else None
        try:
            ev = Evaluator(scenario, space, all_targets, table, seed, level, executor, store,
                           max_replications, progress)
            search = Search(ev, replications, confirm, budget, objective, note)
            outcome = search.exhaustive() if method == "exhaustive" else search.run()
        finally:
            if store:
                store.close()
    confirmed = outcome.confirmation.replications if outcome.confirmation else 0
    pilot = outcome.pilot.replications
    spent = {"pilot": pilot, "search": ev.spent - confirmed - pilot,
             "confirmation": confirmed, "exhaustive": None}
    return Optimisation(scenario, space, all_targets, table, outcome, ev.candidates, seed,
                        level, spent, ev.var_pools, budget, objective,
                        Path(out) if out is not None else None, fingerprint)


def _objective(maximise: str | None, budget: float | None) -> Target | None:
    if (maximise is None) != (budget is None):
        raise SettingError("--budget and --maximise go together: the KPI to raise within the "
                           "budget")
    if maximise is None:
        return None
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not np.isfinite(
            budget) or budget < 0:
        raise SettingError(f"--budget must be a non-negative number, got {budget!r}")
    kpi, _, scope = str(maximise).partition("@")
    kpi = kpi.strip()
    sense = "<=" if minimise(kpi) else ">="  # "maximise" means "make better"
    t = Target.parse(f"{kpi}{sense}0" + (f" @ {scope}" if scope.strip() else ""))
    return Target(t.metric, sense, -np.inf if sense == ">=" else np.inf, t.scope,
                  f"maximise {maximise}")


def _check_targets(scenario: Scenario, space: Space, targets: list[Target]) -> None:
    """Every target names what a run of the scenario reports: tried on a day's run."""
    top = scenario.with_overrides(space.values(space.top))
    hours = min(top.horizon.hours, 24.0)
    short = top.with_overrides({"horizon": f"{hours}h", "warmup": "0h",
                                "record.level": "kpis", "record.stream": False})
    tables = replication_outputs(runner.simulate(short, allow_large=True))
    for t in targets:
        t.check(tables)
