"""``gridsim.simulate``: one run of a scenario, from validated data to a :class:`Result`.

How the cases are recorded (``scenario.record``):

- level ``issues``: every case row is kept in memory and becomes ``result.issues``; the KPIs
  are computed from the rows (one chunk for the :class:`~gridsim.results.kpis.KpiAccumulator`);
- level ``issues`` with ``stream``: the rows are written to Parquet chunk by chunk
  (:mod:`gridsim.results.stream`) and the KPIs computed by reading the file back a row group
  at a time; ``result.issues`` reads the file when first used;
- level ``kpis``: every chunk goes into the accumulator and is dropped; no issue table;
- level ``events``: as ``issues`` (in memory or streamed), plus the event log, one row per state
  change of a case (:mod:`gridsim.model.trace`): ``result.events`` and ``events.parquet``,
  in memory or streamed chunk by chunk alongside the case rows.

Memory then holds one chunk of rows, the values exact quantiles need (about a dozen bytes per
closed case), the open cases and the load samples, however long the run.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .arguments import check_seed, check_workers
from .model.records import RunNames
from .model.simulation import RawRun, combine, run_model, shard_reason
from .model.trace import Event
from .parallel.executors import Executor, default_workers
from .plan import Plan, as_plan, compile_plan
from .results.appraisal import with_dept_kpis
from .results.hotline import with_call_kpis
from .results.io import Scratch
from .results.kpis import KpiAccumulator
from .results.manifest import make_manifest
from .results.result import Result
from .results.stream import EventFiles, EventWriter, IssueFiles, IssueWriter, accumulate_files
from .results.tables import backlog_frame, events_frame, issues_frame, load_frame, workers_frame
from .scenario import Scenario
from .scenario.loader import validate_data
from .scenario.recording import RecordPlan
from .scenario.size import check_size


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float], None] | None = None, *,
             shards: int | Literal["auto"] | None = None,
             workers: int | None = None, client: Any = None, record: str | None = None,
             spool_dir: str | Path | None = None, allow_large: bool = False,
             on_event: Callable[[Event], None] | None = None,
             plan: Plan | None = None) -> Result:
    """Run ``scenario`` once. ``seed`` defaults to the scenario's; ``progress(fraction)`` is
    called as simulated time advances (a hundred times per run; in a sharded run, as each shard
    finishes).

    ``shards``: simulate groups of districts as independent shards in parallel (on ``workers``
    local processes, by default one per core and at most one per shard, or on a Dask
    ``client``); the result is identical to the unsharded run.
    ``"auto"``: one shard per district (the fastest split on one machine: per-case cost grows
    with the number of cases live in one process). Only scenarios whose districts share no
    capacity can be sharded (see ``shard_reason``); for any other scenario a
    :class:`ShardingWarning` says why and the run is unsharded.

    ``record``: ``"issues"``, ``"events"`` or ``"kpis"``, overriding
    ``scenario.record.level`` (``kpis`` ignores ``record.stream``). ``spool_dir``: where a
    streamed run creates the scratch folder of its Parquet files (``spool_dir/.gridsim-tmp/
    HOST-PID-XXXX``, see :mod:`gridsim.results.io`; default: the system's temporary folder);
    the folder belongs to the result and is removed with it (or, if the process is killed, by
    the next gridsim run that uses ``spool_dir``);
    :meth:`Result.write` moves the files out of it. With Dask workers on other machines it must
    be a folder they share.

    Before anything is built, the model's size is estimated (:mod:`gridsim.scenario.size`): above
    the limits a :class:`~gridsim.scenario.size.ScenarioTooLarge` says why, unless
    ``allow_large``.

    ``on_event(event)``: your own listener, called in this process with every transition of
    every case as it happens (a :class:`gridsim.model.trace.Event`: time, kind, district,
    district_seq, category, tier, unit and the live case); whatever the record level. It needs
    an unsharded run.

    ``plan``: the scenario's compiled plan (:func:`gridsim.plan.compile_plan`), if the caller
    has it already (replications of one scenario share it; a run changes nothing in it).
    """
    if plan is not None and plan.scenario is not scenario:
        raise ValueError("plan was compiled from another scenario (plan.scenario is not "
                         "scenario)")
    if on_event is not None and shards not in (None, 1):
        raise ValueError("on_event sees the run in this process: it needs an unsharded run "
                         f"(shards=None, not {shards!r})")
    seed = scenario.seed if seed is None else check_seed(seed)
    check_workers(workers)
    rec = RecordPlan.of(scenario.record, record)
    check_size(scenario, rec.level, allow_large)
    plan = compile_plan(scenario) if plan is None else plan
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    spool = None
    if rec.stream:
        parent = Path(tempfile.gettempdir() if spool_dir is None else spool_dir)
        parent.mkdir(parents=True, exist_ok=True)
        spool = Scratch(parent)  # removed with the result, or by a later run if we are killed
    try:
        n_shards = shard_count(plan, shards)
        sharded = n_shards > 1
        if sharded:
            raw, acc, paths = run_sharded(plan, seed, n_shards, workers, client, rec,
                                          spool and spool.path, progress)
        else:
            raw, acc, paths = _run(scenario, seed, progress, None, rec, spool and spool.path,
                                   on_event=on_event, plan=plan)
        report_deadline = scenario.policy.report_deadline.hours
        issues = events = None
        if acc is None:  # rows in memory: the KPIs from them, as one chunk
            issues = issues_frame(raw, report_deadline, scenario.horizon.hours)
            if raw.trace is not None:
                events = events_frame(raw)
                raw.trace = None
            acc = _accumulator(scenario, RunNames(raw.categories, raw.leads, raw.grids))
            acc.add(raw.issues)
            raw.issues = None
        kpis = with_dept_kpis(with_call_kpis(acc.kpis(), raw.calls), raw.departments)
        load = load_frame(raw, scenario.record.load_interval.hours)
        files = event_files = None
        if rec.stream:
            layout = "parts" if sharded else "file"
            files = IssueFiles(paths["issues"], layout, raw.categories, plan.district_names,
                               [g[0] for g in raw.grids])
            if rec.events:
                event_files = EventFiles(paths["events"], layout, plan.district_names,
                                         raw.units or [])
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    wall = time.perf_counter() - t0
    manifest = make_manifest(scenario, seed, started, wall, raw.created, raw.events, plan=plan)
    record_info = {"level": rec.level, "stream": rec.stream}
    manifest["shards"] = n_shards
    manifest["record"] = {
        **record_info, "chunk": rec.chunk,
        "issues_file": "issues.parquet" if rec.rows else None,
        "issues_layout": None if not rec.rows else (
            "folder of part files, one per shard (rows in closing order, issue_id empty)"
            if files is not None and files.layout == "parts" else
            "file (rows in closing order, issue_id empty)" if files is not None else
            "file (rows in issue_id order)"),
        "events_file": "events.parquet" if rec.events else None,
        "events_layout": None if not rec.events else (
            "folder of part files, one per shard (rows in logging order, issue_id empty)"
            if files is not None and files.layout == "parts" else
            "file (rows in logging order, issue_id empty)" if files is not None else
            "file (rows in time, district, district_seq, step order)"),
    }
    result = Result(scenario, seed, issues, kpis, load, backlog_frame(raw), manifest,
                    accumulator=acc, issue_files=files, spool=spool, record=record_info,
                    events=events, event_files=event_files, workers=workers_frame(raw))
    return result


def _accumulator(scenario: Scenario, names: RunNames | None = None) -> KpiAccumulator:
    return KpiAccumulator(scenario.warmup.hours, scenario.horizon.hours,
                          scenario.policy.report_deadline.hours, names)


def _run(scenario: Scenario, seed: int, progress: Callable[[float], None] | None,
         districts: set[str] | None, rec: RecordPlan, spool: Path | None,
         part: int | None = None, on_event: Callable[[Event], None] | None = None,
         plan: Plan | None = None) -> tuple[RawRun, KpiAccumulator | None, Paths]:
    """One run (or shard) recorded as ``rec`` says, from ``plan`` (compiled by the model if
    None): the raw run, its KPI accumulator (None when the rows were kept: the caller counts
    them once numbered) and the streamed files (``issues`` and ``events``)."""
    if rec.kpis_only:
        acc = _accumulator(scenario)
        raw = run_model(scenario, seed, progress, districts, record=rec, sinks=[acc],
                        on_event=on_event, plan=plan)
        return raw, acc, {"issues": [], "events": []}
    if spool is not None:  # rec.stream
        path = spool / ("issues.parquet" if part is None else f"part-{part:03d}.parquet")
        writer = IssueWriter(path, scenario.policy.report_deadline.hours,
                             scenario.horizon.hours)
        trace_sinks, paths = [], {"issues": [path], "events": []}
        if rec.events:  # the event log's parts go in a folder of their own, named as the issues'
            folder = spool / "events" if part is not None else spool
            folder.mkdir(exist_ok=True)
            event_path = folder / ("events.parquet" if part is None else path.name)
            trace_sinks.append(EventWriter(event_path))
            paths["events"].append(event_path)
        raw = run_model(scenario, seed, progress, districts, record=rec, sinks=[writer],
                        trace_sinks=trace_sinks, on_event=on_event, plan=plan)
        acc = accumulate_files([path], _accumulator(scenario, writer.names))
        return raw, acc, paths
    raw = run_model(scenario, seed, progress, districts, record=rec, on_event=on_event, plan=plan)
    return raw, None, {"issues": [], "events": []}


Paths = dict[str, list[Path]]


class ShardingError(ValueError):
    """The scenario's districts are coupled and cannot run as independent shards."""


class ShardingWarning(UserWarning):
    """Shards were asked for, but the scenario runs unsharded (the message says why)."""


def shard_count(scenario: Scenario | Plan, shards: int | Literal["auto"] | None) -> int:
    """How many shards a run asking for ``shards`` uses: ``"auto"`` is one per district;
    1 (with a :class:`ShardingWarning` naming the reason) when the districts share capacity."""
    if shards is None:
        return 1
    plan = as_plan(scenario)
    n_districts = len(plan.districts)
    if shards == "auto":
        shards = n_districts
    elif not isinstance(shards, int) or isinstance(shards, bool) or shards < 1:
        raise ValueError(f"shards must be a positive whole number or 'auto', got {shards!r}")
    if shards <= 1 or n_districts < 2:
        return 1
    reason = shard_reason(plan)
    if reason:
        warnings.warn(f"{plan.scenario.name!r} runs unsharded: {reason}", ShardingWarning,
                      stacklevel=3)
        return 1
    return min(shards, n_districts)


def _run_shard(args: tuple[int, dict, int, list[str], RecordPlan, str | None]):
    index, data, seed, names, rec, spool = args
    scenario = validate_data(data, "<shard>")
    raw, acc, paths = _run(scenario, seed, None, set(names), rec,
                           Path(spool) if spool else None, index)
    return index, (raw, acc, paths)


def run_sharded(source: Scenario | Plan, seed: int, shards: int, workers: int | None = None,
                client: Any = None, record: RecordPlan | None = None, spool: Path | None = None,
                progress: Callable[[float], None] | None = None,
                ) -> tuple[RawRun, KpiAccumulator | None, Paths]:
    """The raw run of a scenario (or its plan), its districts split into ``shards``
    contiguous groups.

    ``record``: how the shards record (default: the case rows in memory). When they keep their
    rows (and event logs) in memory, the shards send them back to be numbered together;
    otherwise each shard sends only its KPI accumulator (and writes its part files into
    ``spool``), merged here in district order. ``progress(fraction)`` is called as the shards
    finish.
    """
    plan = as_plan(source)
    scenario = plan.scenario
    rec = record or RecordPlan("issues", False, scenario.record.chunk)
    reason = shard_reason(plan)
    if reason:
        raise ShardingError(f"cannot shard {scenario.name!r}: {reason}")
    names = plan.district_names
    groups = [list(g) for g in np.array_split(np.array(names, dtype=object), shards) if len(g)]
    data = scenario.to_data()
    tasks = [(i, data, seed, g, rec, str(spool) if spool else None)
             for i, g in enumerate(groups)]
    with Executor(workers or min(len(groups), default_workers()), client,
                  fn=_run_shard) as ex:
        outs = {}
        for index, out in ex.run(tasks):  # as the shards finish
            outs[index] = out
            if progress is not None:
                progress(len(outs) / len(tasks))
    parts = [outs[i] for i in range(len(groups))]
    raw = combine([p[0] for p in parts], plan)
    if parts[0][1] is None:
        return raw, None, {"issues": [], "events": []}
    acc = _accumulator(scenario)
    for _, part_acc, _ in parts:
        acc.merge(part_acc)
    return raw, acc, {kind: [path for p in parts for path in p[2][kind]]
                      for kind in ("issues", "events")}
