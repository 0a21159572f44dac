"""A grid worker's day (网格员的一天): patrol, fixes on the spot, verifications.

"每日巡、经常访、及时记、随手做、实时报" (patrol daily, visit often, record at once, fix on the spot
what can be fixed, report in real time; seed 002, the duties of resident patrols, which
domain.md takes as the grid worker's): a grid worker is on shift from 08:30 to 17:30 and is
never idle. At 10:05 she finds a broken manhole cover on her round, fixes it in twenty minutes
and walks on; at 14:00 the street centre asks her to check that a pile of rubbish the sanitation
crew cleared is gone, which takes a quarter of an hour. The rest of her shift is patrol.

So the staff-hours of a grid's worker pool on shift split into **case work** (fixes on the spot
and verifications, the jobs its :class:`~gridsim.model.pools.Pool` serves) and **patrol** (the
rest). A :class:`WorkerDay` per grid keeps, over the measured period [warm-up, horizon]:

- ``case_hours``: on-shift hours of the pool's jobs within the period, exactly. A job of ``w``
  hours of effort started at ``s`` occupies the on-shift span [s, advance(s, w)]; its part
  inside the period is counted when it starts (the pool tells :meth:`WorkerDay.work`), so a job
  still running at the horizon counts up to the horizon, and a pre-empted job gives back the
  part it does not work;
- ``found``: cases the grid's patrol found first (source ``patrol``, at their discovery);
- ``fixed``: cases fixed on the spot (when the fix is done);
- ``verified``: verifications done (each ends in a closure or a reopen);
- ``on_shift_hours``: the pool's staff-hours on shift in the period (workers x on-shift hours);

and ``patrol_hours = on_shift_hours - case_hours``. These are counters kept while the clock
runs, whatever the record level; per grid, so shards concatenate them in grid order.

**Patrol yields to cases** (``patrol.yields_to_cases: true``; off by default, when the patrol
sweeps at the pool's full head count whatever its case work). Time a worker spends fixing on
the spot and verifying is time not patrolling, so a problem that needs ``d`` hours of the grid's
patrol (at its full head count ``c``: ``c * d`` worker-hours of patrol, see
:mod:`gridsim.model.discovery`) is found when the grid has had that much patrol since it arose:
:class:`YieldingPatrol` notes the pool's case work when the problem arises, looks again after
``d`` on-shift hours, and, if the pool worked ``W`` worker-hours on cases meanwhile, looks again
``W / c`` on-shift hours later, until no case work came in between. In the discovery race
(:mod:`gridsim.model.discovery`) a patrol pushed past the first other report loses the race to
it. No random draw is added or moved (common random numbers hold), and with no case work in
between a find happens exactly when it would without the option.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..plan.calendar import ShiftCalendar

if TYPE_CHECKING:
    from .lifecycle import Lifecycle

COLUMNS = ("workers", "on_shift_hours", "case_hours", "found", "fixed", "verified")
"""The per-grid counters of :class:`WorkerDay`, as the raw run carries them."""


class WorkerDay:
    """The counters of one grid's grid workers over the measured period ``[start, end]``."""

    __slots__ = ("cum", "start", "c0", "c1", "case_hours", "found", "fixed", "verified",
                 "track", "worked", "ends")

    def __init__(self, calendar: ShiftCalendar, start: float, end: float, track: bool = False):
        self.cum = (lambda t: t) if calendar.always else calendar._cum_at
        self.start = start
        self.c0, self.c1 = self.cum(start), self.cum(end)
        self.case_hours = 0.0
        self.found = self.fixed = self.verified = 0
        # track (patrol yields to cases): on-shift hours of every job started, whole, and the
        # ends of those that may still run, for worked_until
        self.track = track
        self.worked = 0.0
        self.ends: list[float] = []

    def work(self, s: float, e: float) -> None:
        """A job occupies on-shift span [s, e] (e < s: the span [e, s] is given back)."""
        sign = 1.0
        if e < s:
            s, e, sign = e, s, -1.0
        lo, hi = self.cum(s), self.cum(e)
        if self.track:
            self.worked += sign * (hi - lo)
            if sign > 0:
                self.ends.append(e)
            elif e in self.ends:
                self.ends.remove(e)
        if lo < self.c0:
            lo = self.c0
        if hi > self.c1:
            hi = self.c1
        if hi > lo:
            self.case_hours += sign * (hi - lo)

    def worked_until(self, now: float) -> float:
        """On-shift worker-hours of case work from the start of the run to ``now`` (with
        ``track``)."""
        w = self.worked
        ends = self.ends
        if ends:
            keep = [e for e in ends if e > now]
            if keep:
                c = self.cum(now)
                w -= sum(self.cum(e) - c for e in keep)
            self.ends = keep
        return w

    def found_at(self, now: float) -> None:
        """The patrol found a case at ``now``."""
        if now >= self.start:
            self.found += 1

    def fixed_at(self, now: float) -> None:
        """A case was fixed on the spot at ``now``."""
        if now >= self.start:
            self.fixed += 1

    def verified_at(self, now: float) -> None:
        """A verification was done at ``now``."""
        if now >= self.start:
            self.verified += 1


def attach_days(grids: Sequence, start: float, end: float,
                track: bool = False) -> list[WorkerDay]:
    """Give every grid's worker pool a :class:`WorkerDay` (``pool.tally``), in grid order
    (``track``: also for :class:`YieldingPatrol`)."""
    days = []
    for g in grids:
        day = WorkerDay(g.pool.calendar, start, end, track)
        g.pool.tally = day
        days.append(day)
    return days


def day_columns(grids: Sequence, days: list[WorkerDay], start: float,
                end: float) -> dict[str, np.ndarray]:
    """The counters of ``days`` as per-grid arrays (:data:`COLUMNS`)."""
    return {
        "workers": np.array([g.pool.capacity for g in grids], dtype=np.int64),
        "on_shift_hours": np.array([g.pool.capacity * g.pool.calendar.on_hours(start, end)
                                    for g in grids], dtype=float),
        "case_hours": np.array([d.case_hours for d in days], dtype=float),
        "found": np.array([d.found for d in days], dtype=np.int64),
        "fixed": np.array([d.fixed for d in days], dtype=np.int64),
        "verified": np.array([d.verified for d in days], dtype=np.int64),
    }


class YieldingPatrol:
    """Patrol finds that wait for the patrol time the grid's case work took (see the module
    docstring); ``Lifecycle.patrol_yields`` when ``patrol.yields_to_cases``."""

    def __init__(self, life: Lifecycle):
        self.life, self.clock, self.cal = life, life.clock, life.grid_cal

    def start(self, issue: Any, t: float, delay: float,
              other: tuple[int, Callable[[Any], None]] | None = None,
              t_other: float = math.inf) -> None:
        """``issue`` arises at ``t`` and needs ``delay`` hours of its grid's full patrol; the
        first other report (its source and handler) would come at ``t_other``."""
        self.clock.at(t, self._arisen, (issue, delay, other, t_other))

    def _arisen(self, job: tuple) -> None:
        issue, delay, other, t_other = job
        now = self.clock.env._now
        worked = issue.grid.pool.tally.worked_until(now)
        self._next(issue, worked, self.cal.advance(now, delay), other, t_other)

    def _next(self, issue: Any, worked: float, when: float,
              other: tuple[int, Callable[[Any], None]] | None, t_other: float) -> None:
        if when > t_other:  # the patrol comes too late: the other report wins the race
            source, handler = other  # type: ignore[misc]
            issue.source = source
            self.clock.at(t_other, handler, issue)
            return
        self.clock.at(when, self._look, (issue, worked, other, t_other))

    def _look(self, job: tuple) -> None:
        issue, worked, other, t_other = job
        now = self.clock.env._now
        pool = issue.grid.pool
        w = pool.tally.worked_until(now)
        if w <= worked:  # no case work since the last look: the patrol finds it now
            self.life._found(issue)
            return
        self._next(issue, w, self.cal.advance(now, (w - worked) / pool.capacity), other,
                   t_other)
