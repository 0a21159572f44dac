"""The event log of record level ``events``: one row per state change of a case.

Nothing here runs unless a run records at level ``events``: the tracing classes are subclasses
of :class:`~gridsim.model.lifecycle.Lifecycle`, :class:`~gridsim.model.pools.Pool` and
:class:`~gridsim.model.pools.Meeting` that log a row and then do exactly what their base class
does (same calls, same random draws, same order), so the engine's hot methods carry no check
of their own. :func:`gridsim.model.simulation.run_model` builds the organisation with them only
at level ``events``. Every callback a case schedules is a bound method looked up on the
lifecycle or pool, so the overrides see every transition.

Rows are appended as the clock runs and packed into NumPy column chunks every ``chunk`` rows
(:class:`EventLog`, as :class:`~gridsim.model.records.Recorder` does for case rows), handed to
sinks (a Parquet writer) and kept only when the run keeps its rows in memory.

Event kinds (:data:`EVENTS`; ``tier`` is the tier the row belongs to, ``unit`` the pool or
meeting where one applies):

=============  ====================================================================================
created        the problem arises (``time`` = ``t_created``; backlog cases: their past creation)
discovered     a grid worker finds it on patrol, or it is called in / passed down (``t_discovered``)
reported       uploaded to the street centre (unit: the centre) for triage
entered        the case starts being handled at ``tier`` (a grid worker fixing it on the spot:
               tier ``grid``, unit the grid)
queued         it waits for a staff member of ``unit`` (a pool) or for the next session of a
               meeting (joint consultation, city)
started        a staff member of ``unit`` takes it (for meetings: the session takes it up)
escalated      not solved at ``tier``; sent to the next tier of the policy's ladder
deadline       still waiting at ``tier`` at the tier's deadline; withdrawn and sent to the next tier
unsolved       not solved at ``tier``, which has no tier above: waits ``retry_delay``
overdue        still waiting at the deadline of ``tier``, which has no tier above: waits
               ``retry_delay``
retry          another try at ``tier`` after ``retry_delay``
dept_called    the district tier calls the case's departments (the first is ``t_dept_called``)
bounced        forwarded to the wrong department, which sends it back to be forwarded again
dept_onsite    a called department's crew reaches the site (one after another: one row per
               department, unit the department; jointly: one row when the last one is there).
               ``time`` is the arrival, computed when the crew sets out (the earliest is
               ``t_dept_onsite``)
solved         solved at ``tier`` (the last one of a closed case is ``t_solved``)
reopened       the grid worker's verification fails: reworked at ``tier`` (an ``entered`` row
               follows)
closed         verified and closed (``t_closed``; in a grid without a worker: closed when solved)
=============  ====================================================================================

``tier`` is empty for triage at the street centre and verification by the grid worker (the
``queued``/``started`` rows of those steps), and for rows before a case reaches a tier. Cases
still open at the horizon get no extra row (their state is in the issue table).

Within a case, rows are appended in the order things happen, with non-decreasing ``time``;
``step`` numbers them 0, 1, ... within the case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .lifecycle import GRID, PATROL, Lifecycle
from .pools import Meeting, Pool
from .records import Chunk, ChunkedRows, empty_chunk

EVENTS: tuple[str, ...] = (
    "created", "discovered", "reported", "entered", "queued", "started", "escalated",
    "deadline", "unsolved", "overdue", "retry", "dept_called", "bounced", "dept_onsite",
    "solved", "reopened", "closed",
)
(CREATED, DISCOVERED, REPORTED, ENTERED, QUEUED, STARTED, ESCALATED, DEADLINE, UNSOLVED,
 OVERDUE, RETRY, DEPT_CALLED, BOUNCED, DEPT_ONSITE, SOLVED, REOPENED, CLOSED) = range(len(EVENTS))

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    # grid: the case's grid (its district by RunNames.grids); district_seq: its number within
    # the district; step: the row's number within the case
    ("grid", "i4"), ("district_seq", "i8"), ("step", "i4"), ("time", "f8"), ("event", "i1"),
    ("tier", "i1"), ("unit", "i4"),
)


def empty_events() -> Chunk:
    return empty_chunk(EVENT_COLUMNS)


class EventLog(ChunkedRows):
    """Event rows in chunked columns, packed and handed on as
    :class:`~gridsim.model.records.Recorder` does with case rows.

    ``units``: the names of the traced pools and meetings, by their ``unit`` code.
    """

    COLUMNS = EVENT_COLUMNS

    def __init__(self, chunk: int = 65536, keep: bool = True,
                 sinks: list[Callable[[Chunk], None]] | None = None):
        super().__init__(chunk, keep, sinks)
        self.units: list[str] = []
        self.steps: dict[int, int] = {}  # next step of every live case, by its run-local id

    def unit(self, name: str) -> int:
        """Register a pool or meeting; its ``unit`` code."""
        self.units.append(name)
        return len(self.units) - 1

    def add(self, issue: Any, event: int, tier: int, unit: int, time: float) -> None:
        steps = self.steps
        iid = issue.id
        k = steps.get(iid, 0)
        steps[iid] = k + 1
        self._rows.append((issue.grid.id, issue.seq, k, time, event, tier, unit))
        self.n += 1
        if len(self._rows) >= self.chunk:
            self.flush()


def _stage_tier(issue: Any) -> int:
    """The tier a pool's rows belong to: none for triage (before any tier) and verification
    (solved, waiting for the grid worker)."""
    return issue.tier if issue.t_solved != issue.t_solved else -1


class TracingPool(Pool):
    """A :class:`Pool` that logs ``queued`` and ``started`` rows."""

    __slots__ = ("log", "code")

    def __init__(self, log: EventLog, clock, name: str, capacity: int, calendar, meter):
        super().__init__(clock, name, capacity, calendar, meter)
        self.log = log
        self.code = log.unit(name)

    def serve(self, issue, work, then):
        # logged first: with a free staff member and no work, ``then`` runs inside serve
        self.log.add(issue, STARTED if self.busy < self.capacity else QUEUED,
                     _stage_tier(issue), self.code, self.env._now)
        return Pool.serve(self, issue, work, then)

    def _start(self, issue, work, then):
        self.log.add(issue, STARTED, _stage_tier(issue), self.code, self.env._now)
        Pool._start(self, issue, work, then)


class TracingMeeting(Meeting):
    """A :class:`Meeting` that logs ``queued`` (submitted) and ``started`` (taken up) rows."""

    __slots__ = ("log", "code", "_then")

    def __init__(self, log: EventLog, clock, name: str, every: float, first: float,
                 agenda: int, meter, office, decide):
        self.log = log
        self.code = log.unit(name)
        self._then = decide
        super().__init__(clock, name, every, first, agenda, meter, office, self._take)

    def _take(self, issue) -> None:
        self.log.add(issue, STARTED, issue.tier, self.code, self.env._now)
        self._then(issue)

    def submit(self, issue) -> None:
        self.log.add(issue, QUEUED, issue.tier, self.code, self.env._now)
        Meeting.submit(self, issue)


class TracingLifecycle(Lifecycle):
    """A :class:`Lifecycle` that logs every transition of a case, then makes it as usual."""

    def __init__(self, *args, log: EventLog, **kw):
        super().__init__(*args, **kw)
        self.log = log
        self._cause = ESCALATED  # DEADLINE while a tier's deadline escalates a case
        self._verifying = None  # the case being verified (a reopen re-enters it)
        self._travel = 0.0  # the latest department travel time drawn

    def attach(self, org) -> None:
        super().attach(org)
        for d in org.districts:  # remember each travel time drawn (same draws, same order)
            d.report = {name: self._remembered(draw) for name, draw in d.report.items()}

    def _remembered(self, draw: Callable[[], float]) -> Callable[[], float]:
        def travel() -> float:
            self._travel = value = draw()
            return value

        return travel

    def _backlogged(self, issue) -> None:
        self.log.add(issue, DISCOVERED, -1, -1, issue.t_discovered)
        self.log.add(issue, REPORTED, -1, issue.street.centre.code, issue.t_reported)

    # ------------------------------------------------------------ creation and discovery
    def create(self, cat, source, grid, now):
        issue = super().create(cat, source, grid, now)
        self.log.add(issue, CREATED, -1, -1, now)
        return issue

    def arrive(self, issue, patrol_delay):
        if issue.source != PATROL:
            self.log.add(issue, DISCOVERED, -1, -1, issue.t_created)
        super().arrive(issue, patrol_delay)

    def _found(self, issue):
        now = self.env._now
        self.log.add(issue, DISCOVERED, -1, -1, now)
        if issue.u[1] < issue.cat.on_spot:  # as Lifecycle._found decides: fixed on the spot
            self.log.add(issue, ENTERED, GRID, issue.grid.pool.code, now)
        super()._found(issue)

    def _fixed_on_spot(self, issue):
        self.log.add(issue, SOLVED, GRID, issue.grid.pool.code, self.env._now)
        super()._fixed_on_spot(issue)

    def _upload(self, issue):
        self.log.add(issue, REPORTED, -1, issue.street.centre.code, self.env._now)
        super()._upload(issue)

    # ------------------------------------------------------------ tiers
    def enter(self, issue, tier):
        log, now = self.log, self.env._now
        if self._verifying is issue:
            self._verifying = None
            log.add(issue, REOPENED, tier, -1, now)
        log.add(issue, ENTERED, tier, -1, now)
        super().enter(issue, tier)

    def _deadline(self, watched):
        self._cause = DEADLINE
        try:
            super()._deadline(watched)
        finally:
            self._cause = ESCALATED

    def _escalate(self, issue):
        cause, self._cause = self._cause, ESCALATED
        tier = issue.tier
        if self.next[tier] is None:
            cause = UNSOLVED if cause == ESCALATED else OVERDUE
        self.log.add(issue, cause, tier, -1, self.env._now)
        super()._escalate(issue)

    def _retry(self, issue):
        self.log.add(issue, RETRY, issue.tier, -1, self.env._now)
        super()._retry(issue)

    # ------------------------------------------------------------ departments
    def _district(self, issue):
        self.log.add(issue, DEPT_CALLED, issue.tier, -1, self.env._now)
        super()._district(issue)

    def _forwarded(self, issue):
        bounces = issue.bounces
        super()._forwarded(issue)
        if issue.bounces != bounces:  # sent back: nothing else happened meanwhile
            self.log.add(issue, BOUNCED, issue.tier, -1, self.env._now)

    def _dept_seized(self, issue):
        super()._dept_seized(issue)  # draws the travel time, schedules the work: no row
        self.log.add(issue, DEPT_ONSITE, issue.tier, issue.cur.code,
                     self.env._now + self._travel)

    def _seize_next(self, issue):
        all_held = not issue.pending
        super()._seize_next(issue)
        if all_held:  # the joint work starts when the last crew is on site
            self.log.add(issue, DEPT_ONSITE, issue.tier, -1, issue.arrive_max)

    # ------------------------------------------------------------ solved, verified, closed
    def _solved(self, issue):
        self.log.add(issue, SOLVED, issue.tier, -1, self.env._now)
        super()._solved(issue)

    def _verified(self, issue):
        self._verifying = issue
        try:
            super()._verified(issue)
        finally:
            self._verifying = None

    def _close(self, issue):
        self.log.add(issue, CLOSED, -1, -1, self.env._now)
        self.log.steps.pop(issue.id, None)
        super()._close(issue)
