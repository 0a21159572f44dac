"""``gridsim.simulate``: one run of a scenario, from validated data to a :class:`Result`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from .model.simulation import run_model
from .results.kpis import compute_kpis
from .results.manifest import make_manifest
from .results.result import Result
from .results.tables import backlog_frame, issues_frame, load_frame
from .scenario import Scenario


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float], None] | None = None) -> Result:
    """Run ``scenario`` once. ``seed`` defaults to the scenario's; ``progress(fraction)`` is
    called as simulated time advances (a hundred times per run)."""
    seed = scenario.seed if seed is None else int(seed)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    raw = run_model(scenario, seed, progress)
    report_deadline = scenario.policy.report_deadline.hours
    issues = issues_frame(raw, report_deadline)
    kpis = compute_kpis(issues, scenario.warmup.hours, scenario.horizon.hours, report_deadline)
    load = load_frame(raw, scenario.record.load_interval.hours)
    wall = time.perf_counter() - t0
    manifest = make_manifest(scenario, seed, started, wall, raw.created, raw.events)
    return Result(scenario, seed, issues, kpis, load, backlog_frame(raw), manifest)
