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
        scenario = validate_data(task.scenario, f"<point {task.point}>")
        tables = replication_outputs(simulate(scenario, seed=task.seed))
        return Outcome(task, tables, None, time.perf_counter() - t0)
    except Exception:  # a failing replication is reported, the others go on
        return Outcome(task, None, traceback.format_exc(limit=8), time.perf_counter() - t0)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def execute(tasks: list[Task], workers: int | None = None, client: Any = None,
            fn: Callable[[Task], Outcome] = run_task) -> Iterator[Outcome]:
    """Run ``tasks``, yielding outcomes as they complete.

    ``client``: a ``dask.distributed.Client`` or a scheduler address (``tcp://host:8786``);
    otherwise ``workers`` local processes (default: all cores; 1 runs in this process).
    """
    if not tasks:
        return
    if client is not None:
        yield from _dask(tasks, client, fn)
        return
    workers = workers or default_workers()
    if workers <= 1 or len(tasks) == 1:
        for task in tasks:
            yield fn(task)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                             mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(fn, t) for t in tasks]
        try:
            for f in as_completed(futures):
                yield f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def _dask(tasks: list[Task], client: Any, fn: Callable[[Task], Outcome]) -> Iterator[Outcome]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise RuntimeError('Dask is not installed: pip install "gridsim[dask]"') from None
    own = isinstance(client, str)
    if own:
        client = Client(client)
    try:
        futures = client.map(fn, tasks, pure=False)
        for f in dask_completed(futures):
            yield f.result()
    finally:
        if own:
            client.close()
