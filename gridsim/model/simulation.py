"""One run of a scenario: build the organisation, start the arrivals, run the clock, collect.

:func:`run_model` is the whole model behind :func:`gridsim.simulate`; it returns plain arrays
(:class:`RawRun`) and knows nothing of pandas.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import Protocol

import numpy as np

from ..plan import Plan, as_plan, compile_plan
from ..scenario.recording import RecordPlan
from ..scenario.schema import Scenario
from .arrivals import Arrivals
from .case import LEDGER, ON_HOLD, REDIAL
from .clock import Clock
from .discovery import count_duplicates, has_race
from .lifecycle import LATENT, RETRY, Lifecycle
from .org import TIER_INDEX, Organisation, build
from .pools import Meeting, Pool
from .priority import meeting_factory, pool_factory
from .records import Chunk, KpiRecorder, Recorder, RunNames
from .stages import stage_clock
from .trace import Callback, Emitter, Event, EventLog
from .workday import YieldingPatrol, attach_days, day_columns


class ChunkSink(Protocol):
    """Where packed record chunks go as the clock runs (a KPI accumulator, a Parquet writer)."""

    def begin(self, names: RunNames) -> None: ...
    def add(self, chunk: Chunk) -> None: ...
    def end(self) -> None: ...


@dataclass
class RawRun:
    """What a run produced, as arrays and name lists (``issues`` is None when the rows were
    only handed to sinks). At record level ``events``, ``trace`` holds the event log's columns
    (None when streamed) and ``units`` the names of its ``unit`` codes; ``events`` is the
    number of clock events, whatever the level."""

    issues: dict[str, np.ndarray] | None
    load: dict[str, np.ndarray]
    backlog: dict[str, np.ndarray]
    meters: list[tuple[str, str, str, int]]
    categories: list[str]
    leads: list[str]
    grids: list[tuple[str, str, str, str]]
    created: int
    events: int
    horizon: float
    trace: dict[str, np.ndarray] | None = None
    units: list[str] | None = None
    calls: dict[str, float] | None = None
    """The 12345 front end's counters (:data:`~gridsim.model.hotline.COUNTERS`; None without
    a front end)."""
    workers: dict[str, np.ndarray] | None = None
    """Per grid (in ``grids`` order), its grid workers' day over the measured period
    (:data:`~gridsim.model.workday.COLUMNS`)."""
    departments: dict[str, list[int]] | None = None
    """Each district department's KPI counters (:data:`~gridsim.model.appraisal.COUNTERS`),
    keyed ``<district>/<department>`` in district order."""


_PROMPT, _WAITED = attrgetter("prompt"), attrgetter("waited")


class _Sampler:
    """Every ``interval`` hours: load per meter and the number of open cases."""

    def __init__(self, clock: Clock, org: Organisation, life: Lifecycle, arrivals: Arrivals,
                 interval: float, horizon: float):
        self.clock, self.org, self.life, self.interval = clock, org, life, interval
        self.arrivals = arrivals
        self._n = int(horizon // interval) + 1
        m = len(org.meters)
        # time-integrated busy staff and queue of each meter at each sample (row 0: at 0), as
        # Python rows (an array is built once, after the run)
        self._area_busy: list[list[float]] = [[0.0] * m]
        self._area_queue: list[list[float]] = [[0.0] * m]
        # and its cumulative jobs started at once and jobs that waited (gridsim.model.pools.
        # Meter), flat: a list per sample would be one more object per sample for the paused
        # cyclic collector (tests/test_model.py counts them); map(attrgetter) reads cheapest
        self._prompt: list[int] = [0] * m
        self._waited: list[int] = [0] * m
        self._open: list[int] = []
        self.k = 0
        clock.after(interval, self._sample)

    @property
    def busy(self) -> np.ndarray:
        """Staff-hours busy of each meter in each sampled interval, ``[k, meter]``."""
        return np.diff(np.array(self._area_busy, dtype=float), axis=0)

    @property
    def queue(self) -> np.ndarray:
        """Case-hours waiting at each meter in each sampled interval, ``[k, meter]``."""
        return np.diff(np.array(self._area_queue, dtype=float), axis=0)

    @property
    def jobs(self) -> np.ndarray:
        """Jobs each meter's pools took on in each sampled interval, ``[k, meter]``."""
        return self._per_interval(self._prompt) + self.waited

    @property
    def waited(self) -> np.ndarray:
        """Of those, the jobs that had to queue, ``[k, meter]``."""
        return self._per_interval(self._waited)

    def _per_interval(self, flat: list[int]) -> np.ndarray:
        """Per-interval differences ``[k, meter]`` of cumulative counts sampled flat."""
        m = len(self.org.meters)
        counts = np.fromiter(flat, dtype=np.int64, count=len(flat))
        return np.diff(counts.reshape(self.k + 1, m), axis=0)

    @property
    def open(self) -> np.ndarray:
        """Open cases at the end of each sampled interval."""
        return np.array(self._open, dtype=np.int64)

    def on_shift(self) -> np.ndarray:
        """On-shift hours of each meter in each sampled interval, ``[k, meter]``."""
        edges = np.arange(self.k + 1) * self.interval
        out = np.full((self.k, len(self.org.meters)), self.interval)
        by_calendar: dict[int, np.ndarray] = {}
        for i, m in enumerate(self.org.meters):
            if m.calendar is not None:
                key = id(m.calendar)
                if key not in by_calendar:
                    by_calendar[key] = m.calendar.on_hours_between(edges)
                out[:, i] = by_calendar[key]
        return out

    def _sample(self, _ev) -> None:
        now, k = self.clock.now, self.k
        if k >= self._n:
            return
        meters = self.org.meters
        # each meter's areas integrated up to now (the meters themselves carry on unchanged)
        self._area_busy.append([m.area_busy + m.busy * (now - m.last) for m in meters])
        self._area_queue.append([m.area_queue + m.queue * (now - m.last) for m in meters])
        self._prompt.extend(map(_PROMPT, meters))
        self._waited.extend(map(_WAITED, meters))
        self._open.append(len(self.life.live) - self.arrivals.ahead(now))
        self.k += 1
        self.clock.after(self.interval, self._sample)


def _load_backlog(plan: Plan, life: Lifecycle, org: Organisation) -> None:
    if not plan.backlog:
        return
    by_name = {d.name: d for d in org.districts}
    cats = {c.name: c for c in life.cats}
    for case in plan.backlog:
        if case.district not in by_name:  # another shard's
            continue
        street = by_name[case.district].streets[case.street]
        grid = street.communities[case.community].grids[case.grid]
        life.backlog(cats[case.category], grid, case.age_hours, TIER_INDEX[case.tier])


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector during a run, and collect the run's own
    cycles when it is over.

    Cases, events and records are freed by reference counting: the model makes no reference
    cycles per case (tests/test_model.py checks this). The collector would still rescan every
    live case and buffered row each time enough objects have been allocated, which cost a third
    of the run time on large scenarios. The model itself is one big cycle (pools and the
    lifecycle hold the clock, whose pending calls hold them), so a finished run is collected
    here: left to chance, it stayed in memory through the next run in the same process (a
    shard worker, a replication) and slowed it by up to half. Everything the run allocated is
    in the youngest generation (the collector was paused), so collecting that one suffices.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
        gc.collect(0)


def run_model(scenario: Scenario, seed: int | None = None,
              progress: Callable[[float], None] | None = None,
              districts: set[str] | None = None, *, record: RecordPlan | None = None,
              sinks: Sequence[ChunkSink] = (), trace_sinks: Sequence[ChunkSink] = (),
              on_event: Callable[[Event], None] | None = None,
              plan: Plan | None = None) -> RawRun:
    """Simulate ``scenario`` once with ``seed`` (default: the scenario's own), built from its
    ``plan`` (compiled here if not given: :func:`gridsim.plan.compile_plan`); with
    ``districts``, only those (a shard: see :func:`shard_reason`; its cases are not numbered
    until :func:`combine` numbers them).

    ``record`` says what is recorded (default: the case rows, kept in memory). Every chunk of
    ``record.chunk`` case rows goes to each of ``sinks`` as it is packed; with
    ``record.keep_rows`` the rows are also kept and returned in ``RawRun.issues``.

    ``record.events`` (record level ``events``): also log every state change of every case
    (:mod:`gridsim.model.trace`); its chunks go to ``trace_sinks`` and, with
    ``record.keep_rows``, are returned in ``RawRun.trace``.

    ``on_event(event)``: called with every transition of every case as it happens
    (:class:`~gridsim.model.trace.Event`). With neither, nothing listens and no event is made.

    ``record.kpis_only`` (record level ``kpis``): the rows carry only the columns the KPI
    accumulator reads (:data:`~gridsim.model.records.KPI_COLUMNS`).
    """
    record = record or RecordPlan("issues", False, scenario.record.chunk)
    plan = plan or compile_plan(scenario)
    with _no_cyclic_gc():
        raw = _run_model(plan, seed, progress, districts, record, sinks, trace_sinks, on_event)
    return raw if districts is not None else number_issues(raw, plan)


def _run_model(plan: Plan, seed: int | None,
               progress: Callable[[float], None] | None, districts: set[str] | None,
               record: RecordPlan, sinks: Sequence[ChunkSink],
               trace_sinks: Sequence[ChunkSink],
               on_event: Callable[[Event], None] | None = None) -> RawRun:
    scenario = plan.scenario
    seed = scenario.seed if seed is None else seed
    horizon = scenario.horizon.hours
    clock = Clock()
    keep = record.keep_rows
    recorder = (KpiRecorder if record.kpis_only else Recorder)(record.chunk, keep=keep)
    recorder.stages = stage_clock(plan)
    emitter = Emitter()
    if has_race(scenario):  # first: the duplicates are part of the case's row
        emitter.subscribe_ends(count_duplicates)
    emitter.subscribe_ends(recorder.write)
    log = EventLog(record.chunk, keep=keep) if record.events else None
    if log is not None:
        emitter.subscribe(log)
    if on_event is not None:
        emitter.subscribe(Callback(on_event, emitter.units))
    life = Lifecycle(clock, plan, emitter.ended, seed, emitter.emit)
    life.pool_cls = pool_factory(plan.scenario, emitter)
    org = build(clock, plan, life.decide_at_meeting, life.decide_at_meeting, districts,
                pool_cls=life.pool_cls, meeting_cls=meeting_factory(plan.scenario, emitter),
                district_hook=life.build_front_end)
    life.attach(org)
    yields = scenario.patrol.yields_to_cases
    days = attach_days(org.grids, scenario.warmup.hours, horizon, track=yields)
    if yields:
        life.patrol_yields = YieldingPatrol(life)
    grids = [(g.name, g.community.name, g.community.street.name, g.community.street.district.name)
             for g in org.grids]
    names = RunNames([c.name for c in life.cats], [c.spec.lead for c in life.cats], grids,
                     emitter.units if log is not None else [])
    for sink in sinks:
        sink.begin(names)
        recorder.sinks.append(sink.add)
    for sink in trace_sinks if log is not None else ():
        sink.begin(names)
        log.sinks.append(sink.add)
    _load_backlog(plan, life, org)
    arrivals = Arrivals(clock, life, org, scenario, seed, horizon)
    sampler = _Sampler(clock, org, life, arrivals, scenario.record.load_interval.hours,
                       horizon)

    steps = 100 if progress else 1
    for i in range(1, steps + 1):
        clock.run(horizon * i / steps)
        if progress:
            progress(i / steps)

    if sampler.k < int(horizon // sampler.interval + 1e-9):
        sampler._sample(None)  # the sample due exactly at the horizon
    life.record_awaiting()  # closed, waiting for the resident's callback (gridsim.model.resident)
    for issue in life.live.values():
        w = issue.waiting
        waiting = isinstance(w, Pool | Meeting) or w in (LATENT, RETRY, ON_HOLD, REDIAL,
                                                          LEDGER)
        life.ended(issue, horizon, 2 if waiting else 1)
    recorder.flush()
    for sink in sinks:
        sink.end()
    if log is not None:
        log.flush()
        for sink in trace_sinks:
            sink.end()
    k = sampler.k
    meters = [(m.name, m.kind, m.unit, m.capacity) for m in org.meters]
    n_m = len(meters)
    times = np.repeat(np.arange(k) * sampler.interval, n_m)  # start of each interval
    load = {
        "time": times,
        "meter": np.tile(np.arange(n_m), k),
        "busy": sampler.busy.ravel(),
        "queue": sampler.queue.ravel(),
        "on_shift": sampler.on_shift().ravel(),
        "jobs": sampler.jobs.ravel(),
        "waited": sampler.waited.ravel(),
    }
    return RawRun(
        issues=recorder.columns() if keep else None, load=load,
        backlog={"time": np.arange(1, k + 1) * sampler.interval, "open": sampler.open[:k]},
        meters=meters, categories=names.categories, leads=names.leads, grids=grids,
        created=life.next_id, events=next(clock.env._eid), horizon=horizon,
        trace=log.columns() if log is not None and keep else None,
        units=names.units if log is not None else None, calls=life.call_counts(),
        workers=day_columns(org.grids, days, scenario.warmup.hours, horizon),
        departments=life.dept_counts())


def district_names(source: Scenario | Plan) -> list[str]:
    """Every district of the scenario (or plan), in order (copies named ``name-k``)."""
    return as_plan(source).district_names


def number_issues(raw: RawRun, source: Scenario | Plan) -> RawRun:
    """Number cases 0.. (``issue_id``) by creation time, then district (in scenario order),
    then their number within it (``district_seq``), and put the rows in that order.

    Cases are numbered within their district while the clock runs; this gives the same ids
    whether the districts ran together or as separate shards.
    """
    c = raw.issues
    if c is None:
        return raw
    order_of = {name: i for i, name in enumerate(district_names(source))}
    grid_district = np.array([order_of[g[3]] for g in raw.grids], dtype=np.int64)
    if len(c["district_seq"]):
        district = grid_district[c["grid"]]
        order = np.lexsort((c["district_seq"], district, c["t_created"]))
        c = {name: col[order] for name, col in c.items()}
    c["issue_id"] = np.arange(len(c["district_seq"]), dtype=np.int64)
    raw.issues = c
    if raw.trace is not None:
        raw.trace = _number_events(raw.trace, c, grid_district)
    return raw


EVENT_ORDER = ("time", "district", "district_seq", "step")
"""How in-memory event logs are ordered: time, then district in scenario order, then the case's
number within it, then the row's number within the case."""


def _number_events(tr: dict[str, np.ndarray], issues: dict[str, np.ndarray],
                   grid_district: np.ndarray) -> dict[str, np.ndarray]:
    """The event rows in :data:`EVENT_ORDER`, each with its case's ``issue_id``."""
    case_district = grid_district[issues["grid"]]
    counts = np.bincount(case_district, minlength=int(grid_district.max(initial=-1)) + 1)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    ids = np.empty(len(case_district), dtype=np.int64)  # by (district, district_seq)
    ids[first[case_district] + issues["district_seq"]] = issues["issue_id"]
    district = grid_district[tr["grid"]]
    order = np.lexsort((tr["step"], tr["district_seq"], district, tr["time"]))
    out = {name: col[order] for name, col in tr.items()}
    out["issue_id"] = ids[first[district[order]] + out["district_seq"]]
    return out


def shard_reason(source: Scenario | Plan) -> str | None:
    """Why the districts of a scenario (or plan) cannot run as independent shards (None if
    they can)."""
    plan = as_plan(source)
    if len(plan.districts) < 2:
        return "the scenario has one district"
    scenario = plan.scenario
    fe = scenario.hotline.front_end is not None
    shared = [n for n, d in scenario.city_departments.items() if not d.per_district]
    if fe and shared:
        return (f"the districts share city department '{shared[0]}' (a staff pool); set "
                f"city_departments.{shared[0]}.per_district: true to give each district its "
                f"own crew")
    if not scenario.city.per_district:
        return ("the districts share the city coordination meeting's agenda (a capacity-limited "
                "tier); set city.per_district: true to give each district its own session")
    return None


def _time_major(parts: list[dict[str, np.ndarray]], n_times: int) -> dict[str, np.ndarray]:
    """Shards' load samples (each time-major over its own meters, at the same ``n_times``
    sampling times) as one time-major table over all meters, as an unsharded run gives it."""
    return {name: np.concatenate([p[name].reshape(n_times, -1) for p in parts], axis=1).ravel()
            if n_times else np.concatenate([p[name] for p in parts]) for name in parts[0]}


def combine(raws: list[RawRun], source: Scenario | Plan) -> RawRun:
    """One run from shards that each simulated some districts (in district order).

    Shards that kept no rows (``issues`` None) give a run without rows; their KPIs come from
    the accumulators the caller merges.
    """
    issues, load_parts, grids, meters = [], [], [], []
    traces: list[dict[str, np.ndarray]] = []
    units: list[str] = []
    for raw in raws:
        if raw.issues is not None:
            part = dict(raw.issues)
            part["grid"] = part["grid"] + len(grids)
            issues.append(part)
        if raw.trace is not None:
            part = dict(raw.trace)
            part["grid"] = part["grid"] + len(grids)
            part["unit"] = np.where(part["unit"] >= 0, part["unit"] + len(units), -1).astype(
                part["unit"].dtype)
            traces.append(part)
        units += raw.units or []
        load = dict(raw.load)
        load["meter"] = load["meter"] + len(meters)
        load_parts.append(load)
        grids += raw.grids
        meters += raw.meters
    cols = ({name: np.concatenate([p[name] for p in issues]) for name in issues[0]}
            if len(issues) == len(raws) else None)
    load = _time_major(load_parts, len(raws[0].backlog["time"]))
    first = raws[0]
    raw = RawRun(issues=cols, load=load,
                 backlog={"time": first.backlog["time"],
                          "open": np.sum([r.backlog["open"] for r in raws], axis=0)},
                 meters=meters, categories=first.categories, leads=first.leads, grids=grids,
                 created=sum(r.created for r in raws), events=sum(r.events for r in raws),
                 horizon=first.horizon,
                 trace=({name: np.concatenate([p[name] for p in traces]) for name in traces[0]}
                        if traces and len(traces) == len(raws) else None),
                 units=units if first.units is not None else None,
                 calls=None if first.calls is None else
                 {k: sum(r.calls[k] for r in raws) for k in first.calls},
                 workers=None if first.workers is None else
                 {k: np.concatenate([r.workers[k] for r in raws]) for k in first.workers},
                 departments={k: v for r in raws for k, v in (r.departments or {}).items()})
    return number_issues(raw, source)
