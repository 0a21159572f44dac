"""Evaluating candidate allocations: replications on common random numbers, added adaptively.

Replication ``r`` of every candidate runs with the same seed (``replication_seed(seed, r)``),
so two candidates differ only by their allocation and their difference is paired. A candidate
is replicated until every constraint is decided at the family-wise confidence (or the
replication limit is reached); replications run on the executor in batches (local processes
or a Dask cluster) and, with a results folder, each is stored as it finishes, so a rerun with
the same folder resumes where it stopped. The confirmation runs use seeds no search
replication uses (``replication_seed(seed, CONFIRM_OFFSET + r)``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..experiments.identity import replication_seed
from ..experiments.store import ExperimentMismatch, Store
from ..experiments.tasks import Outcome, Task
from ..parallel.executors import Executor
from ..scenario import Scenario
from .costs import Costs
from .targets import Target, judge, overall
from .variables import Space, Staff, staff_of

CONFIRM_OFFSET = 1_000_000
"""Confirmation replication ``r`` uses the seed of replication ``CONFIRM_OFFSET + r``."""
CONFIRM_POINT = 9999
"""The id (and stored point index) of the confirmation runs' candidate; the search's
candidates are numbered from 0 and stop before it."""

Sample = dict[tuple[int, str], float]
"""One replication's value of every constraint: ``(target index, unit) -> value``."""


@dataclass(eq=False)
class Candidate:
    """One allocation the search has looked at."""

    id: int
    point: tuple[int, ...]
    values: dict[str, Any]
    scenario: Scenario
    staff: Staff
    cost: float
    heads: int
    samples: dict[int, Sample] = field(default_factory=dict)
    """Replication -> constraint values."""
    load: dict[int, dict[str, float]] = field(default_factory=dict)
    """Replication -> utilisation of the pools the variables size."""
    judged: pd.DataFrame | None = None
    status: str = "unevaluated"
    """feasible, infeasible or undecided (at the replications done), or unevaluated."""
    phase: str = ""

    @property
    def replications(self) -> int:
        return len(self.samples)

    def ordered(self, n: int | None = None) -> list[Sample]:
        reps = sorted(self.samples)
        return [self.samples[r] for r in (reps if n is None else reps[:n])]


class Evaluator:
    """Makes candidates, replicates them and decides their constraints."""

    def __init__(self, base: Scenario, space: Space, targets: list[Target], costs: Costs,
                 seed: int, level: float, executor: Executor, store: Store | None,
                 max_replications: int,
                 progress: Callable[[int, int], None] | None = None):
        self.base, self.space, self.targets, self.costs = base, space, targets, costs
        self.seed, self.level, self.executor, self.store = seed, level, executor, store
        self.max_replications = max_replications
        self.progress = progress
        self.by_point: dict[tuple[int, ...], Candidate] = {}
        self.candidates: list[Candidate] = []
        self.spent = 0
        self.base_staff = staff_of(base)
        self.var_pools = self._sized_pools()
        self.pools: set[str] = set().union(*self.var_pools)
        self._done = store.done() if store is not None else set()

    # ------------------------------------------------------------------ candidates
    def _sized_pools(self) -> list[set[str]]:
        """Per variable, the pools it sizes: those whose head count differs between the
        bottom and the top of its range (the other variables at the scenario's values)."""
        out = []
        base = self.space.base()
        for i, v in enumerate(self.space.variables):
            lo, hi = list(base), list(base)
            lo[i], hi[i] = 0, len(v.values) - 1
            a, b = self.staff_at(tuple(lo)), self.staff_at(tuple(hi))
            out.append({n for n in set(a.pools) | set(b.pools)
                        if a.pools.get(n, ("", 0))[1] != b.pools.get(n, ("", 0))[1]})
        return out

    def scenario_at(self, point: tuple[int, ...]) -> Scenario:
        return self.base.with_overrides(self.space.values(point))

    def staff_at(self, point: tuple[int, ...]) -> Staff:
        return staff_of(self.scenario_at(point))

    def candidate(self, point: tuple[int, ...], phase: str = "") -> Candidate:
        """The candidate at ``point`` (made and priced the first time it is asked for)."""
        if point in self.by_point:
            return self.by_point[point]
        scenario = self.scenario_at(point)
        staff = staff_of(scenario)
        cost = self.costs.of(staff, self.base_staff, self.pools)
        c = Candidate(len(self.candidates), point, self.space.values(point), scenario, staff,
                      cost, staff.heads(self.pools), phase=phase)
        self.by_point[point] = c
        self.candidates.append(c)
        return c

    def cost_at(self, point: tuple[int, ...]) -> float:
        return self.candidate(point).cost if point in self.by_point else self.costs.of(
            self.staff_at(point), self.base_staff, self.pools)

    # ------------------------------------------------------------------ replications
    def replicate(self, cands: list[Candidate], n: int, confirm: bool = False) -> None:
        """Run replications until each of ``cands`` has ``n`` (all in one batch of tasks)."""
        tasks = []
        for c in cands:
            data = None
            point = c.id
            for r in range(n):
                if r in c.samples:
                    continue
                seed = replication_seed(self.seed, (CONFIRM_OFFSET if confirm else 0) + r)
                if (point, r) in self._done:
                    self._resume(c, point, r)
                    continue
                data = data or c.scenario.to_data()
                tasks.append(Task(point, r, seed, data))
        by_id = {c.id: c for c in cands}
        total = self.spent + len(tasks)
        failures = []
        for outcome in self.executor.run(tasks):
            c = by_id[outcome.task.point]
            if outcome.error is not None:
                failures.append(outcome)
                continue
            self._keep(c, outcome.task.replication, outcome.tables)
            if self.store is not None:
                self.store.save(outcome.task.point, outcome.task.replication, outcome.tables,
                                self._info(c, outcome))
            self.spent += 1
            if self.progress:
                self.progress(self.spent, total)
        if failures:
            raise ReplicationFailed(failures[0])

    def _info(self, c: Candidate, outcome: Outcome) -> dict[str, Any]:
        return {"candidate": c.id, "values": c.values, "key": _key(c.values),
                "replication": outcome.task.replication, "seed": outcome.task.seed,
                "wall_time_s": round(outcome.wall_time, 3)}

    def _resume(self, c: Candidate, point: int, r: int) -> None:
        info = self.store.info(point, r)
        if info.get("key") != _key(c.values):
            raise ExperimentMismatch(
                f"{self.store.folder}: stored candidate {point} is {info.get('values')}, but "
                f"this search reached {c.values} there (gridsim changed how it searches?); "
                "use another --out folder")
        self._keep(c, r, self.store.load(point, r))

    def _keep(self, c: Candidate, r: int, tables: dict[str, pd.DataFrame]) -> None:
        sample: Sample = {}
        for k, t in enumerate(self.targets):
            for unit, value in t.values(tables).items():
                sample[(k, unit)] = value
        c.samples[r] = sample
        u = tables["units"]
        pools = u[(u["level"] == "pool") & u["unit"].astype(str).isin(self.pools)]
        c.load[r] = dict(zip(pools["unit"].astype(str), pools["utilisation"].astype(float),
                             strict=True))

    # ------------------------------------------------------------------ decisions
    def judge(self, c: Candidate) -> str:
        c.judged = judge(self.targets, c.ordered(), self.level)
        c.status = overall(c.judged)
        return c.status

    def decide(self, c: Candidate, n0: int) -> str:
        """Replicate ``c`` until its constraints are decided (feasible or infeasible) at the
        confidence, or ``max_replications`` are done (then it stays undecided)."""
        n = max(n0, c.replications)
        while True:
            self.replicate([c], n)
            status = self.judge(c)
            if status != "undecided" or n >= self.max_replications:
                return status
            n = min(self.max_replications, more(n))

    def utilisation(self, c: Candidate) -> dict[str, float]:
        """Mean utilisation of each sized pool over ``c``'s replications."""
        frame = pd.DataFrame(list(c.load.values()))
        return frame.mean().to_dict() if not frame.empty else {}


def more(n: int) -> int:
    """How many replications an undecided candidate gets next: half as many again (at least
    two more). A rule of ``n`` alone, never of the number of workers, so the search (and its
    result) is the same on one process, many, or a Dask cluster."""
    return n + max(2, (n + 1) // 2)


class ReplicationFailed(RuntimeError):
    """A replication raised: the search cannot go on without it."""

    def __init__(self, outcome: Outcome):
        last = outcome.error.strip().splitlines()[-1] if outcome.error else "error"
        super().__init__(f"replication {outcome.task.replication} of candidate "
                         f"{outcome.task.point} (seed {outcome.task.seed}) failed: {last}")
        self.outcome = outcome


def _key(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]
