"""Priorities: queue classes in every pool and meeting, and pre-emptive resume where asked.

``categories.<name>.priority`` puts a category's cases in a queue class (a smaller number is
served first, first come first served within a class). With one class in the scenario every pool
keeps its plain FIFO deque (:class:`~gridsim.model.pools.Pool`, unchanged and as fast); with
several, a pool's or meeting's waiting cases sit in a :class:`ClassQueue` instead (a heap of
``(priority, arrival number)``), which the pool reads exactly as it reads the deque.

Non-preemptive by default: a case in service finishes. In the pool kinds named in the scenario's
``preempt`` a :class:`PreemptivePool` lets an arriving case of a more urgent class interrupt the
least urgent case in service (the most recently started of that class); the interrupted case goes
back to the queue at its class and arrival place and later resumes its *remaining* on-shift work
(pre-emptive resume). It is in hand by then: its tier deadline no longer withdraws it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from heapq import heappop, heappush
from typing import Any

from ..plan.calendar import ShiftCalendar
from ..scenario.schema import Scenario
from .clock import Clock
from .pools import Meeting, Meter, Pool, _stage_tier
from .trace import PREEMPTED, QUEUED, STARTED


def several_classes(s: Scenario) -> bool:
    """Whether the scenario's categories fall in more than one queue class, or a supervision
    (督办, ``categories.<c>.supervision``) may boost a case's class while it runs."""
    return len({c.priority for c in s.categories.values()}) > 1 or any(
        c.supervision is not None for c in s.categories.values())


class ClassQueue:
    """Waiting entries ordered by (the case's priority, arrival): a drop-in for the deque a
    :class:`~gridsim.model.pools.Pool` or :class:`~gridsim.model.pools.Meeting` keeps
    (``append``, ``popleft``, truth, ``len``). Entries are tuples led by the case."""

    __slots__ = ("heap", "seq")

    def __init__(self) -> None:
        self.heap: list[tuple[int, int, tuple]] = []
        self.seq = 0

    def append(self, entry: tuple) -> None:
        self.seq += 1
        heappush(self.heap, (entry[0].priority, self.seq, entry))

    def push(self, priority: int, seq: int, entry: tuple) -> None:
        """Put back ``entry`` at a place it already had (class ``priority``, arrival ``seq``)."""
        heappush(self.heap, (priority, seq, entry))

    def popleft(self) -> tuple:
        return heappop(self.heap)[2]

    def __bool__(self) -> bool:
        return bool(self.heap)

    def __len__(self) -> int:
        return len(self.heap)


class _Job:
    """One case in service at a :class:`PreemptivePool`: cancelled by ``live = False``."""

    __slots__ = ("issue", "then", "priority", "seq", "start", "end", "live")

    def __init__(self, issue: Any, then: Callable[[Any], None], seq: int, start: float,
                 end: float):
        self.issue, self.then, self.seq, self.start, self.end = issue, then, seq, start, end
        self.priority = issue.priority
        self.live = True


class PreemptivePool(Pool):
    """A :class:`~gridsim.model.pools.Pool` with pre-emptive resume priority.

    Queue entries are ``(issue, visit, work, then, seq)``: ``work`` is what is left to do and
    ``seq`` the case's arrival number here (kept when it is interrupted). Seized staff
    (``work < 0``) are never interrupted.
    """

    __slots__ = ("jobs",)

    def __init__(self, clock: Clock, name: str, capacity: int,
                 calendar: ShiftCalendar, meter: Meter, emitter: Any = None):
        super().__init__(clock, name, capacity, calendar, meter, emitter)
        self.queue: ClassQueue = ClassQueue()  # type: ignore[assignment]
        self.jobs: list[_Job] = []

    def serve(self, issue: Any, work: float, then: Callable[[Any], None]) -> bool:
        """As :meth:`Pool.serve`; with no one free, a less urgent case in service yields."""
        now = self.env._now
        q = self.queue
        q.seq += 1
        seq = q.seq
        if self.busy >= self.capacity and work > 0:  # instant and seizing cases wait their turn
            victim = self._victim(issue.priority)
            if victim is not None:
                self._interrupt(victim, now)
        if self.emit is not None:
            self.emit(STARTED if self.busy < self.capacity else QUEUED, issue, _stage_tier(issue),
                      self.code, now)
        if self.busy >= self.capacity:
            issue.waiting = self
            q.push(issue.priority, seq, (issue, issue.visit, work, then, seq))
            m = self.meter
            m.update(now, 0, 1)
            m.waited += 1
            return True
        issue.waiting = None
        if self.site and issue.t_on_site != issue.t_on_site:
            issue.t_on_site = now
        if work == 0.0:  # instant: no event, no load
            then(issue)
            return False
        self.busy += 1
        self.meter.update(now, 1, 0)
        self.meter.prompt += 1
        self._begin(issue, work, then, seq, now)
        return False

    def _victim(self, priority: int) -> _Job | None:
        """The least urgent case in service, less urgent than ``priority`` (latest started)."""
        best = None
        for job in self.jobs:
            if job.priority > priority and (best is None or (job.priority, job.start) >
                                            (best.priority, best.start)):
                best = job
        return best

    def _interrupt(self, job: _Job, now: float) -> None:
        """``job`` stops: its staff member is free, its remaining work waits in the queue."""
        job.live = False
        self.jobs.remove(job)
        cal = self.calendar
        left = job.end - now if cal.always else cal.on_hours(now, job.end)
        if self.tally is not None:  # the rest of its span is not worked now
            self.tally.work(job.end, now)
        issue = job.issue
        issue.waiting = None  # in hand: not withdrawn at the tier's deadline
        self.queue.push(job.priority, job.seq, (issue, issue.visit, max(left, 0.0), job.then,
                                                job.seq))
        self.busy -= 1
        self.meter.update(now, -1, 1)
        if self.emit is not None:
            self.emit(PREEMPTED, issue, _stage_tier(issue), self.code, now)

    def _begin(self, issue: Any, work: float, then: Callable[[Any], None], seq: int,
               now: float) -> None:
        if work < 0:  # seized: held until release(), never interrupted
            then(issue)
            return
        cal = self.calendar
        job = _Job(issue, then, seq, now, now + work if cal.always else cal.advance(now, work))
        if self.tally is not None:
            self.tally.work(now, job.end)
        self.jobs.append(job)
        self.clock.at(job.end, self._done, job)

    def _done(self, job: _Job) -> None:
        if not job.live:  # interrupted; it finishes from its resumed job
            return
        self.jobs.remove(job)
        self.release()
        job.then(job.issue)

    def release(self) -> None:
        """Free one staff member: the most urgent valid waiting case gets them."""
        q = self.queue
        now = self.env._now
        while q:
            issue, visit, work, then, seq = q.popleft()
            if issue.visit != visit:  # escalated away while waiting; already uncounted
                continue
            self.meter.update(now, 0, -1)
            issue.waiting = None
            if self.site and issue.t_on_site != issue.t_on_site:
                issue.t_on_site = now
            if self.emit is not None:
                self.emit(STARTED, issue, _stage_tier(issue), self.code, now)
            self._begin(issue, work, then, seq, now)
            return
        self.busy -= 1
        self.meter.update(now, -1, 0)


def pool_factory(s: Scenario, emitter: Any = None) -> Callable[..., Pool]:
    """What makes the scenario's pools (called as :class:`Pool` is): plain FIFO pools when all
    categories share one class; class queues otherwise, pre-emptive in the kinds of
    ``preempt`` (read from each pool's meter)."""
    if not several_classes(s):
        return partial(Pool, emitter=emitter)
    preempt = set(s.preempt)

    def make(clock: Clock, name: str, capacity: int, calendar: ShiftCalendar,
             meter: Meter) -> Pool:
        if meter.kind in preempt:
            return PreemptivePool(clock, name, capacity, calendar, meter, emitter)
        pool = Pool(clock, name, capacity, calendar, meter, emitter)
        pool.queue = ClassQueue()  # type: ignore[assignment]
        return pool

    return make


def meeting_factory(s: Scenario, emitter: Any = None) -> Callable[..., Meeting]:
    """What makes the scenario's meetings: agendas take the most urgent waiting cases first
    when the categories fall in several classes."""
    if not several_classes(s):
        return partial(Meeting, emitter=emitter)

    def make(*args: Any, **kwargs: Any) -> Meeting:
        meeting = Meeting(*args, emitter=emitter, **kwargs)
        meeting.queue = ClassQueue()  # type: ignore[assignment]
        return meeting

    return make
