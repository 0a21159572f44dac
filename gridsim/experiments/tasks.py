"""One replication as a task: a resolved scenario and a seed, simulated wherever an
:class:`~gridsim.parallel.executors.Executor` runs it, kept as its replication tables."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from .. import runner
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


def run_task(task: Task) -> Outcome:
    """Simulate one task and keep its replication tables (runs in a worker)."""
    t0 = time.perf_counter()
    try:
        # the tables kept need no issue rows: record KPIs only (bounded memory)
        data = {**task.scenario, "record": {**task.scenario.get("record", {}),
                                            "level": "kpis", "stream": False}}
        scenario = validate_data(data, f"<point {task.point}>")
        # run_points checked the point's size before any task was made
        tables = replication_outputs(runner.simulate(scenario, seed=task.seed, allow_large=True))
        return Outcome(task, tables, None, time.perf_counter() - t0)
    except Exception:  # a failing replication is reported, the others go on
        return Outcome(task, None, traceback.format_exc(limit=8), time.perf_counter() - t0)
