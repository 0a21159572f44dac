"""Where tasks run: in this process, on local worker processes, or on a Dask cluster.

The replications of an experiment (:mod:`gridsim.experiments.tasks`) and the shards of one run
(:mod:`gridsim.runner`) run here. A task's result depends only on its inputs, never on where or
in which order it runs, so every executor gives bit-identical results. Local workers never
outlive the command (:mod:`~gridsim.parallel.lifeline`); an interrupted command stops them at
once, keeping what had finished.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

from ..arguments import SettingError, check_workers
from .lifeline import Lifeline, worker_init

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a Dask scheduler to answer before giving up with one clear line."""
PRELOAD = ["gridsim"]
"""Modules the forkserver imports once (the package imports every layer, the runner and the
experiments' tasks among them), so workers forked from it start in milliseconds."""


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

    def __init__(self, workers: int | None = None, client: Any = None, *,
                 fn: Callable[[Any], Any]):
        self.workers = check_workers(workers) or default_workers()
        self.client = client
        self.fn = fn
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: Lifeline | None = None
        self._own_client = False

    def __enter__(self) -> Executor:
        if isinstance(self.client, str):
            self.client = connect(self.client)
            self._own_client = True
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._pool is not None:
            if exc_type is not None:  # interrupted or failed: stop the workers now
                self._lifeline.cut()
            self._pool.shutdown(cancel_futures=True)
            self._lifeline.cut()
            self._pool = self._lifeline = None
        if self._own_client:
            self.client.close()

    def _start_pool(self) -> ProcessPoolExecutor:
        """Workers forked from a preloaded forkserver, each holding the lifeline."""
        ctx = get_context("forkserver")
        # the kernel may tie the forkserver to the thread that starts it: only the main one
        # lives as long as the command
        main = threading.current_thread() is threading.main_thread()
        ctx.set_forkserver_preload(["gridsim.parallel.forkserver_guard"] * main + PRELOAD)
        self._lifeline = Lifeline(ctx)
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                   initializer=worker_init, initargs=(self._lifeline.reader,))

    def run(self, tasks: list[Any]) -> Iterator[Any]:
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
            self._pool = self._start_pool()
        # on an exception the pending tasks are dropped by __exit__ (cancelling them here, while
        # the pool's own thread may fail them, races it into InvalidStateError)
        for f in as_completed([self._pool.submit(self.fn, t) for t in tasks]):
            yield f.result()


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``, or a
    :class:`SettingError` in one line within ``timeout`` seconds (bad address, nobody there,
    not a Dask scheduler)."""
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise SettingError('--dask needs Dask: pip install "gridsim[dask]"') from None
    try:
        return Client(address, timeout=timeout)
    except Exception as e:  # noqa: BLE001 - whatever went wrong, the user gets one line
        why = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise SettingError(f"dask: no Dask scheduler reachable at {address!r}: {why}") from None


def execute(tasks: list[Any], fn: Callable[[Any], Any], workers: int | None = None,
            client: Any = None) -> Iterator[Any]:
    """Run ``fn`` on ``tasks`` once with a throw-away :class:`Executor`."""
    with Executor(workers, client, fn=fn) as ex:
        yield from ex.run(tasks)
