"""One event stream: every state change of a case is emitted once, and sinks subscribe.

The lifecycle and the pools say each transition once, ``emit(kind, case, tier, unit, time)``,
at the point where it happens (desmod's tracing: components call a function handed out by a
manager). What listens decides what is kept: the event log of record level ``events``
(:class:`EventLog`), a researcher's own callback (:class:`Callback`, ``simulate(...,
on_event=...)``). With no listener, :attr:`Emitter.emit` is None and each emitting point costs
one attribute test.

A case's end is the stream's second channel, :attr:`Emitter.ended` (``ended(case, time,
state)``: closed, abandoned by its caller, not filed, or still open when the run ends), so
that a sink needing one row per case is not called at every transition. The case rows
(:class:`~gridsim.model.records.Recorder`, whose chunks feed the KPI accumulator and the
Parquet writer) subscribe there; it always has that listener.

Rows are appended as the clock runs and packed into NumPy column chunks every ``chunk`` rows
(:class:`EventLog`, as :class:`~gridsim.model.records.Recorder` does for case rows), handed to
sinks (a Parquet writer) and kept only when the run keeps its rows in memory.

Event kinds (:data:`EVENTS`; ``tier`` is the tier the row belongs to, ``unit`` the pool or
meeting where one applies):

==============  ===================================================================================
created         the problem arises (``time`` = ``t_created``; backlog cases: their past creation)
discovered      a grid worker finds it on patrol, or it is called in / passed down
                (``t_discovered``)
uploaded        passed to the street centre (unit: the centre) for triage
entered         the case starts being handled at ``tier`` (a grid worker fixing it on the spot:
                tier ``grid``, unit the grid)
queued          it waits for a staff member of ``unit`` (a pool) or for the next session of a
                meeting (joint consultation, city)
started         a staff member of ``unit`` takes it (for meetings: the session takes it up)
escalated       not solved at ``tier``; sent to the next tier of the policy's ladder
deadline        still waiting at ``tier`` at the tier's deadline; withdrawn and sent to the next
                tier
unsolved        not solved at ``tier``, which has no tier above: waits ``retry_delay``
overdue         still waiting at the deadline of ``tier``, which has no tier above: waits
                ``retry_delay``
retry           another try at ``tier`` after ``retry_delay``
dept_called     the district tier calls the case's departments (the first is ``t_dept_called``)
bounced         forwarded to the wrong department, which sends it back to be forwarded again
dept_onsite     a called department's crew reaches the site (one after another: one row per
                department, unit the department; jointly: one row when the last one is there).
                ``time`` is the arrival, computed when the crew sets out (the earliest is
                ``t_dept_onsite``)
solved          solved at ``tier`` (the last one of a closed case is ``t_solved``)
reopened        the grid worker's verification fails: reworked at ``tier`` (an ``entered`` row
                follows), or with ``reopen_at: centre`` triaged and dispatched again by the
                street centre (its ``queued``/``started`` rows, then ``entered``)
closed          verified and closed (``t_closed``; in a grid without a worker: closed when solved)
back_to_centre  after a service at ``tier``, sent back to the street centre to be triaged and
                dispatched again (counts ``back_to_centre``); the centre's
                ``queued``/``started`` rows and an ``entered`` row follow
preempted       a more urgent case takes its staff member of ``unit`` (a pool with pre-emption):
                back in the queue, it resumes its remaining work at its next ``started`` row
called          the resident's call (or a redial) reaches the 12345 queue (hotline front end only)
answered        a call-taker answers it
hung_up         the caller's patience ran out in the queue (a redial may follow)
gave_up         the caller hangs up for good: the case ends, state ``abandoned``
settled_on_call the call-taker settles the case on the call (``solved`` at no tier and
                ``closed`` follow)
dispatched      the hotline sends the work order to a street, district or city department
                (``unit``: the city department's pool)
returned        the receiving unit returns it (退单) after its review; it is dispatched again
extended        its deadline is extended (延期; ``deadline_extended`` is the last one)
suspended       put on the suspended ledger (挂账) at triage (no tier) or when ``tier`` failed
resumed         taken up again after a suspension: dispatched, or tried again at ``tier``
rejected        not filed at triage (不予立案): the case ends, state ``rejected``
supervised      still open and unsolved at its (extended) deadline: supervised (督办); the
                policy's boost or escalation (an ``escalated`` row) follows
explained       not solved at ``tier``; closed with an explanation (``closed`` follows; resident)
called_back     the 12345 callback to the resident after ``closed`` (resident.callback); a
                dissatisfied resident's case may be ``reopened`` at its tier (``entered``
                follows, and a later ``closed`` and ``called_back``)
==============  ===================================================================================

``tier`` is empty for triage at the street centre and verification by the grid worker (the
``queued``/``started`` rows of those steps), and for rows before a case reaches a tier. Cases
still open at the horizon get no extra row (their state is in the issue table).

Within a case, rows are appended in the order things happen, with non-decreasing ``time``;
``step`` numbers them 0, 1, ... within the case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..policies import TIERS
from .records import Chunk, ChunkedRows, empty_chunk

EVENTS: tuple[str, ...] = (
    "created", "discovered", "uploaded", "entered", "queued", "started", "escalated",
    "deadline", "unsolved", "overdue", "retry", "dept_called", "bounced", "dept_onsite",
    "solved", "reopened", "closed", "preempted",
    "called", "answered", "hung_up", "gave_up", "settled_on_call", "dispatched", "returned",
    "back_to_centre",
    "extended", "suspended", "resumed", "rejected", "supervised",
    "explained", "called_back",
)
(CREATED, DISCOVERED, UPLOADED, ENTERED, QUEUED, STARTED, ESCALATED, DEADLINE, UNSOLVED,
 OVERDUE, RETRY, DEPT_CALLED, BOUNCED, DEPT_ONSITE, SOLVED, REOPENED, CLOSED, PREEMPTED,
 CALLED, ANSWERED, HUNG_UP, GAVE_UP, SETTLED_ON_CALL, DISPATCHED, RETURNED,
 BACK_TO_CENTRE, EXTENDED, SUSPENDED, RESUMED, REJECTED, SUPERVISED, EXPLAINED,
 CALLED_BACK) = range(len(EVENTS))

ENDS = (CLOSED, GAVE_UP, REJECTED, CALLED_BACK)
"""Event kinds that may be a case's last row."""

EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    # grid: the case's grid (its district by RunNames.grids); district_seq: its number within
    # the district; step: the row's number within the case
    ("grid", "i4"), ("district_seq", "i8"), ("step", "i4"), ("time", "f8"), ("event", "i1"),
    ("tier", "i1"), ("unit", "i4"),
)

Listener = Callable[[int, Any, int, int, float], None]
"""``listener(kind, case, tier, unit, time)``: ``kind`` indexes :data:`EVENTS`, ``tier``
:data:`~gridsim.policies.TIERS` (-1: none), ``unit`` :attr:`Emitter.units` (-1: none)."""


Ender = Callable[[Any, float, int], None]
"""``ender(case, time, state)``: ``case`` ended at ``time`` in ``state`` (a
:data:`~gridsim.vocabulary.STATES` code: closed, open or waiting at the end, abandoned,
rejected)."""


class Emitter:
    """Hands out the ``emit`` and ``ended`` functions of a run and the codes of its units.

    Subscribe every listener before the model is built: pools and the lifecycle read
    :attr:`emit` and :attr:`ended` once, when they are made.
    """

    def __init__(self) -> None:
        self.units: list[str] = []
        self._listeners: list[Listener] = []
        self._enders: list[Ender] = []

    def unit(self, name: str) -> int:
        """Register a pool or meeting; its ``unit`` code."""
        self.units.append(name)
        return len(self.units) - 1

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` at every transition."""
        self._listeners.append(listener)

    def subscribe_ends(self, ender: Ender) -> None:
        """Call ``ender`` once per case, when it ends (or the run does)."""
        self._enders.append(ender)

    @property
    def ended(self) -> Ender:
        """The function to call when a case ends."""
        return _all(self._enders)

    @property
    def emit(self) -> Listener | None:
        """The function to call at each transition, or None when nothing listens."""
        return _all(self._listeners) if self._listeners else None


def _all(listeners: list[Callable[..., None]]) -> Callable[..., None]:
    """One function calling each of ``listeners`` in turn (the listener itself when there is
    one: no loop on the hot path)."""
    fns = tuple(listeners)
    if len(fns) == 1:
        return fns[0]

    def all_of(*args: Any) -> None:
        for fn in fns:
            fn(*args)

    return all_of


def empty_events() -> Chunk:
    return empty_chunk(EVENT_COLUMNS)


class EventLog(ChunkedRows):
    """Event rows in chunked columns, packed and handed on as
    :class:`~gridsim.model.records.Recorder` does with case rows (a :data:`Listener`)."""

    COLUMNS = EVENT_COLUMNS

    def __init__(self, chunk: int = 65536, keep: bool = True,
                 sinks: list[Callable[[Chunk], None]] | None = None):
        super().__init__(chunk, keep, sinks)
        self.steps: dict[int, int] = {}  # next step of every live case, by its run-local id

    def __call__(self, kind: int, issue: Any, tier: int, unit: int, time: float) -> None:
        steps = self.steps
        iid = issue.id
        k = steps.get(iid, 0)
        if kind in ENDS and not issue.awaiting:  # awaiting: a callback (or a reopen) follows
            steps.pop(iid, None)
        else:
            steps[iid] = k + 1
        self._pack(self._buf, self._room(), issue.grid.id, issue.seq, k, time, kind, tier, unit)


class Event(NamedTuple):
    """One transition as a user's callback receives it (names, not codes). ``case`` is the
    live case object: read it (``case.cat.name``, ``case.escalations``...), never change it."""

    time: float
    kind: str
    district: str
    district_seq: int
    category: str
    tier: str | None
    unit: str | None
    case: Any


class Callback:
    """A :data:`Listener` that calls ``fn(Event)`` (``simulate(..., on_event=fn)``)."""

    def __init__(self, fn: Callable[[Event], None], units: list[str]):
        self.fn, self.units = fn, units

    def __call__(self, kind: int, issue: Any, tier: int, unit: int, time: float) -> None:
        self.fn(Event(time, EVENTS[kind], issue.district.name, issue.seq, issue.cat.name,
                      TIERS[tier] if tier >= 0 else None,
                      self.units[unit] if unit >= 0 else None, issue))
