"""Staff pools and meeting tiers: who does the work, and how their load is measured.

A :class:`Pool` is a group of interchangeable staff on one shift: a street's enforcement team,
a community's staff, a department's field crew. A case asks for one of them (``serve`` for a job
of known effort, ``seize``/``release`` when the case holds them across several steps, as in a
joint visit). Waiting cases form a FIFO queue (by priority class, then FIFO, when the scenario
has several: :mod:`gridsim.model.priority`). A job's end is a call scheduled on the
:class:`~gridsim.model.clock.Clock`: no process per case, no event object per job.

A :class:`Meeting` is a tier that does not serve continuously: the district joint consultation
(联席会议) meets weekly and the city monthly, each deciding up to ``agenda`` cases per meeting.

A :class:`Meter` integrates busy staff and queue length over time for one pool or a group of
pools (all grid workers of a street), so load per hour costs two multiplications per change. It
also counts the ``jobs`` its pools took on and how many of them ``waited`` in the queue, so the
probability of waiting is ``waited / jobs`` and, by Little's law, the mean wait in queue is the
queue's case-hours over ``jobs``. A job is a request that takes a staff member: every
``serve``/``seize`` except instant work (0 hours) that finds someone free, which takes no one
("no event, no load"); an instant job that has to queue waits for a staff member like any other
and is counted. A job withdrawn from the queue (the case escalated away while waiting) counts
with the wait it had; a pre-empted job that queues again is not counted again (its second wait
is in the queue's case-hours). Meetings count nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ..plan.calendar import ShiftCalendar
from .clock import Clock
from .trace import QUEUED, STARTED

SITE_KINDS = ("community", "enforcement", "office", "city_department")
"""Pool kinds whose staff starting a case's work is someone on site (the end of the arrival
stage, ``t_on_site``: :mod:`gridsim.model.stages`); a department crew is on site when it
arrives, after it is seized (:mod:`gridsim.model.departments`)."""


class Meter:
    """Time-integrated busy servers and queue length of the pools that share it, and the
    number of jobs they took on (:attr:`jobs`): ``prompt`` ones started at once, and those that
    ``waited`` in the queue (one counter per job, whichever way it goes)."""

    __slots__ = ("name", "kind", "unit", "capacity", "calendar", "busy", "queue", "area_busy",
                 "area_queue", "last", "prompt", "waited")

    def __init__(self, name: str, kind: str, unit: str, calendar: ShiftCalendar | None):
        self.name, self.kind, self.unit, self.calendar = name, kind, unit, calendar
        self.capacity = 0
        self.busy = self.queue = 0
        self.prompt = self.waited = 0
        self.area_busy = self.area_queue = self.last = 0.0

    @property
    def jobs(self) -> int:
        """Jobs taken on so far: started at once or after waiting."""
        return self.prompt + self.waited

    def update(self, now: float, dbusy: float, dqueue: int) -> None:
        dt = now - self.last
        if dt:
            self.area_busy += self.busy * dt
            self.area_queue += self.queue * dt
            self.last = now
        self.busy += dbusy
        self.queue += dqueue


class Pool:
    """``capacity`` interchangeable staff on one shift, serving cases first come first served."""

    __slots__ = ("clock", "env", "capacity", "busy", "queue", "calendar", "meter", "name", "emit",
                 "code", "tally", "site")

    def __init__(self, clock: Clock, name: str, capacity: int,
                 calendar: ShiftCalendar, meter: Meter, emitter: Any = None):
        self.clock, self.env = clock, clock.env
        self.name, self.capacity, self.calendar = name, capacity, calendar
        self.meter = meter
        # emitter: a gridsim.model.trace.Emitter; emit(kind, case, tier, unit, time) or None
        self.code = emitter.unit(name) if emitter is not None else -1
        self.emit = emitter.emit if emitter is not None else None
        meter.capacity += capacity
        self.busy = 0
        self.queue: deque = deque()
        # tally: told of every job's on-shift span (started, ends); a grid's worker day
        # (gridsim.model.workday.WorkerDay) or None
        self.tally: Any = None
        self.site = meter.kind in SITE_KINDS  # starting work here is being on site

    def serve(self, issue: Any, work: float, then: Callable[[Any], None]) -> bool:
        """Do ``work`` hours of on-shift effort on ``issue``, then call ``then(issue)``.

        Returns True when ``issue`` has to wait in the queue (no one is free).
        """
        if self.emit is not None:  # first: with a free staff member and no work, then runs here
            self.emit(STARTED if self.busy < self.capacity else QUEUED, issue, _stage_tier(issue),
                      self.code, self.env._now)
        if self.busy < self.capacity:
            if self.site and issue.t_on_site != issue.t_on_site:
                issue.t_on_site = self.env._now
            if work == 0.0:  # instant: no event, no load
                issue.waiting = None
                then(issue)
                return False
            self.busy += 1
            now = self.env._now
            m = self.meter  # Meter.update(now, 1, 0), inlined on the hot path
            dt = now - m.last
            if dt:
                m.area_busy += m.busy * dt
                m.area_queue += m.queue * dt
                m.last = now
            m.busy += 1
            m.prompt += 1
            issue.waiting = None
            if work < 0:  # seized
                then(issue)
                return False
            cal = self.calendar
            end = now + work if cal.always else cal.advance(now, work)
            if self.tally is not None:
                self.tally.work(now, end)
            self.clock.at(end, self._finish, (issue, then))
            return False
        else:
            issue.waiting = self
            self.queue.append((issue, issue.visit, work, then))
            m = self.meter
            m.update(self.env._now, 0, 1)
            m.waited += 1
            return True

    def seize(self, issue: Any, then: Callable[[Any], None]) -> bool:
        """Give one staff member to ``issue`` (now or when one is free); ``release`` returns it.
        Returns True when ``issue`` has to wait for them."""
        return self.serve(issue, -1.0, then)

    def _start(self, issue: Any, work: float, then: Callable[[Any], None]) -> None:
        issue.waiting = None
        if self.site and issue.t_on_site != issue.t_on_site:
            issue.t_on_site = self.env._now
        if self.emit is not None:
            self.emit(STARTED, issue, _stage_tier(issue), self.code, self.env._now)
        if work < 0:
            then(issue)
            return
        now = self.env._now
        cal = self.calendar
        end = now + work if cal.always else cal.advance(now, work)
        if self.tally is not None:
            self.tally.work(now, end)
        self.clock.at(end, self._finish, (issue, then))

    def _finish(self, job: tuple[Any, Callable[[Any], None]]) -> None:
        issue, then = job
        self.release()
        then(issue)

    def release(self) -> None:
        """Free one staff member: the next valid waiting case gets them."""
        q = self.queue
        now = self.env._now
        m = self.meter  # Meter.update inlined: the busy or the queue count drops by one
        dt = now - m.last
        if dt:
            m.area_busy += m.busy * dt
            m.area_queue += m.queue * dt
            m.last = now
        while q:
            issue, visit, work, then = q.popleft()
            if issue.visit != visit:  # escalated away while waiting; already uncounted
                continue
            m.queue -= 1
            self._start(issue, work, then)
            return
        self.busy -= 1
        m.busy -= 1

    def withdraw(self, issue: Any) -> None:
        """``issue`` leaves the queue (its entry is skipped later)."""
        issue.waiting = None
        self.meter.update(self.env._now, 0, -1)


class Meeting:
    """A tier that meets every ``every`` hours and decides up to ``agenda`` waiting cases."""

    __slots__ = ("clock", "env", "name", "agenda", "every", "queue", "meter", "decide", "next_at",
                 "_calendar", "emit", "code")

    def __init__(self, clock: Clock, name: str, every: float, first: float,
                 agenda: int, meter: Meter, office: ShiftCalendar,
                 decide: Callable[[Any], None], emitter: Any = None):
        self.clock, self.env = clock, clock.env
        self.code = emitter.unit(name) if emitter is not None else -1
        self.emit = emitter.emit if emitter is not None else None
        self.name, self.agenda, self.every = name, agenda, every
        self.queue: deque = deque()
        self.meter = meter
        meter.capacity += 1
        self.decide = decide
        self._calendar = office
        self.next_at = first
        self._schedule()

    def _schedule(self) -> None:
        at = self._calendar.advance(self.next_at, 1e-9)  # move to a working moment
        self.clock.at(max(at, self.env._now), self._meet)
        self.next_at += self.every

    def submit(self, issue: Any) -> None:
        if self.emit is not None:
            self.emit(QUEUED, issue, issue.tier, self.code, self.env._now)
        issue.waiting = self
        self.queue.append((issue, issue.visit))
        self.meter.update(self.env._now, 0, 1)

    def withdraw(self, issue: Any) -> None:
        issue.waiting = None
        self.meter.update(self.env._now, 0, -1)

    def _meet(self, _arg: None) -> None:
        taken = []
        q = self.queue
        while q and len(taken) < self.agenda:
            issue, visit = q.popleft()
            if issue.visit == visit:
                issue.waiting = None
                taken.append(issue)
        meter = self.meter
        meter.update(self.env._now, len(taken) / self.agenda - meter.busy, -len(taken))
        emit = self.emit
        for issue in taken:
            if emit is not None:
                emit(STARTED, issue, issue.tier, self.code, self.env._now)
            self.decide(issue)
        self._schedule()


def _stage_tier(issue: Any) -> int:
    """The tier a pool's event rows belong to: none for triage (before any tier) and
    verification (solved, waiting for the grid worker)."""
    return issue.tier if issue.t_solved != issue.t_solved else -1
