"""``gridsim.simulate``: one run of a scenario, from validated data to a :class:`Result`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .model.simulation import combine, district_names, run_model, shard_reason
from .results.kpis import compute_kpis
from .results.manifest import make_manifest
from .results.result import Result
from .results.tables import backlog_frame, issues_frame, load_frame
from .scenario import Scenario


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float], None] | None = None, *, shards: int | None = None,
             workers: int | None = None, client: Any = None) -> Result:
    """Run ``scenario`` once. ``seed`` defaults to the scenario's; ``progress(fraction)`` is
    called as simulated time advances (a hundred times per run).

    ``shards``: simulate groups of districts as independent shards in parallel (on ``workers``
    local processes, or on a Dask ``client``); the result is identical to the unsharded run.
    Only scenarios whose districts share no capacity can be sharded (see ``shard_reason``).
    """
    seed = scenario.seed if seed is None else int(seed)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    if shards and shards > 1:
        raw = run_sharded(scenario, seed, shards, workers, client)
    else:
        raw = run_model(scenario, seed, progress)
    report_deadline = scenario.policy.report_deadline.hours
    issues = issues_frame(raw, report_deadline)
    kpis = compute_kpis(issues, scenario.warmup.hours, scenario.horizon.hours, report_deadline)
    load = load_frame(raw, scenario.record.load_interval.hours)
    wall = time.perf_counter() - t0
    manifest = make_manifest(scenario, seed, started, wall, raw.created, raw.events)
    return Result(scenario, seed, issues, kpis, load, backlog_frame(raw), manifest)


class ShardingError(ValueError):
    """The scenario's districts are coupled and cannot run as independent shards."""


def _run_shard(args: tuple[int, dict, int, list[str]]):
    from .scenario.loader import validate_data

    index, data, seed, names = args
    return index, run_model(validate_data(data, "<shard>"), seed, None, set(names))


def run_sharded(scenario: Scenario, seed: int, shards: int, workers: int | None = None,
                client: Any = None):
    """The raw run of ``scenario``, its districts split into ``shards`` contiguous groups."""
    reason = shard_reason(scenario)
    if reason:
        raise ShardingError(f"cannot shard {scenario.name!r}: {reason}")
    from .experiments.executors import Executor

    names = district_names(scenario)
    groups = [list(g) for g in np.array_split(np.array(names, dtype=object), shards) if len(g)]
    data = scenario.to_data()
    with Executor(workers or len(groups), client, fn=_run_shard) as ex:
        raws = dict(ex.run([(i, data, seed, g) for i, g in enumerate(groups)]))
    return combine([raws[i] for i in range(len(groups))], scenario)
