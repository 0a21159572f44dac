"""One replication as a task: a resolved scenario and a seed, simulated wherever an
:class:`~gridsim.parallel.executors.Executor` runs it, kept as its replication tables.

Every replication of a point carries the same scenario data (only the seed differs): each
worker keeps the validated scenario and its compiled plan for the last :data:`PLAN_CACHE_SIZE`
distinct scenario datas, so the replications it runs of one scenario validate and compile it
once. A run changes nothing in a plan that another run reads (the policy's ``attach`` sets the
same draw columns each time, the calendars memoise pure deadline functions), so the results are
those of a fresh plan, bit for bit.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .. import runner
from ..plan import Plan, compile_plan
from ..scenario import Scenario
from ..scenario.loader import validate_data
from .outputs import replication_outputs


@dataclass(frozen=True)
class Task:
    """One replication of one point: the resolved scenario (as JSON data) and its seed."""

    point: int
    replication: int
    seed: int
    scenario: dict[str, Any]


@dataclass
class Outcome:
    task: Task
    tables: dict[str, Any] | None
    error: str | None = None
    wall_time: float = 0.0


PLAN_CACHE_SIZE = 8
"""Distinct scenarios whose validated scenario and plan a worker keeps (least recently used
dropped): a sweep's or an optimiser's points are submitted replication by replication, so a
worker sees a few scenarios at a time; memory stays that of a few plans."""


@dataclass(frozen=True)
class _Keyed:
    """Scenario data that hashes and compares as its canonical JSON text (the cache's key);
    ``source`` names it in a validation error and takes no part in the key."""

    key: str
    data: dict[str, Any] = field(compare=False, hash=False)
    source: str = field(compare=False, hash=False)

    @classmethod
    def of(cls, data: dict[str, Any], source: str) -> _Keyed:
        return cls(json.dumps(data, sort_keys=True, separators=(",", ":")), data, source)


@lru_cache(maxsize=PLAN_CACHE_SIZE)
def _prepared(keyed: _Keyed) -> tuple[Scenario, Plan]:
    """The validated scenario of ``keyed`` and its compiled plan (a failure is not kept)."""
    scenario = validate_data(keyed.data, keyed.source)
    return scenario, compile_plan(scenario)


def prepared(data: dict[str, Any], source: str = "<data>") -> tuple[Scenario, Plan]:
    """The validated scenario of ``data`` and its compiled plan, from this process's cache of
    the last :data:`PLAN_CACHE_SIZE` distinct scenario datas (``_prepared.cache_info()`` says
    how it does)."""
    return _prepared(_Keyed.of(data, source))


def run_task(task: Task) -> Outcome:
    """Simulate one task and keep its replication tables (runs in a worker)."""
    t0 = time.perf_counter()
    try:
        # the tables kept need no issue rows: record KPIs only (bounded memory)
        data = {**task.scenario, "record": {**task.scenario.get("record", {}),
                                            "level": "kpis", "stream": False}}
        scenario, plan = prepared(data, f"<point {task.point}>")
        # run_points checked the point's size before any task was made
        tables = replication_outputs(runner.simulate(scenario, seed=task.seed, allow_large=True,
                                                     plan=plan))
        return Outcome(task, tables, None, time.perf_counter() - t0)
    except Exception:  # a failing replication is reported, the others go on
        return Outcome(task, None, traceback.format_exc(limit=8), time.perf_counter() - t0)
