"""Where replications run: in this process, on local worker processes, or on a Dask cluster.

A task's result depends only on its scenario and seed, never on where or in which order it runs,
so every executor gives bit-identical results.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any


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
    import time

    from ..runner import simulate
    from ..scenario.loader import validate_data
    from .outputs import replication_outputs

    t0 = time.perf_counter()
    try:
        # the tables kept need no issue rows: record KPIs only (bounded memory)
        data = {**task.scenario, "record": {**task.scenario.get("record", {}),
                                            "level": "kpis", "stream": False}}
        scenario = validate_data(data, f"<point {task.point}>")
        # run_points checked the point's size before any task was made
        tables = replication_outputs(simulate(scenario, seed=task.seed, allow_large=True))
        return Outcome(task, tables, None, time.perf_counter() - t0)
    except Exception:  # a failing replication is reported, the others go on
        return Outcome(task, None, traceback.format_exc(limit=8), time.perf_counter() - t0)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


class Executor:
    """Runs tasks in this process, on local worker processes or on a Dask cluster.

    ``client``: a ``dask.distributed.Client`` or a scheduler address (``tcp://host:8786``);
    otherwise ``workers`` local processes (default: all cores; 1 runs in this process). Use it
    as a context manager: the worker processes (or the client it connected) live until the
    ``with`` block ends, so repeated batches (``replications="auto"``) reuse them. Local workers
    are forked from a server that has already imported gridsim, so they start in milliseconds.
    """

    def __init__(self, workers: int | None = None, client: Any = None,
                 fn: Callable[[Task], Outcome] = run_task):
        self.workers = workers or default_workers()
        self.client = client
        self.fn = fn
        self._pool: ProcessPoolExecutor | None = None
        self._own_client = False

    def __enter__(self) -> Executor:
        if isinstance(self.client, str):
            try:
                from dask.distributed import Client
            except ImportError:  # pragma: no cover - depends on the install
                raise RuntimeError('Dask is not installed: pip install "gridsim[dask]"') from None
            self.client = Client(self.client)
            self._own_client = True
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._own_client:
            self.client.close()

    def run(self, tasks: list[Task]) -> Iterator[Outcome]:
        """Run ``tasks``, yielding outcomes as they complete (in any order)."""
        if not tasks:
            return
        if self.client is not None:
            from dask.distributed import as_completed as dask_completed

            for f in dask_completed(self.client.map(self.fn, tasks, pure=False)):
                yield f.result()
            return
        if self.workers <= 1:
            for task in tasks:
                yield self.fn(task)
            return
        if self._pool is None:
            ctx = get_context("forkserver")
            ctx.set_forkserver_preload(["gridsim.experiments.executors", "gridsim.runner"])
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        futures = [self._pool.submit(self.fn, t) for t in tasks]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def execute(tasks: list[Task], workers: int | None = None, client: Any = None,
            fn: Callable[[Task], Outcome] = run_task) -> Iterator[Outcome]:
    """Run ``tasks`` once with a throw-away :class:`Executor`."""
    with Executor(workers, client, fn) as ex:
        yield from ex.run(tasks)
