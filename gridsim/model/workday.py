"""A grid worker's day (网格员的一天): patrol, fixes on the spot, verifications.

"每日巡、经常访、及时记、随手做、实时报" (patrol daily, visit often, record at once, fix on the spot
what can be fixed, report in real time): a grid worker is on shift from 08:30 to 17:30 and is
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

Metering only: the patrol model (:class:`~gridsim.scenario.schema.Patrol`) still sweeps at the
pool's full head count, so a busy worker's grid is not patrolled more slowly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..plan.calendar import ShiftCalendar

COLUMNS = ("workers", "on_shift_hours", "case_hours", "found", "fixed", "verified")
"""The per-grid counters of :class:`WorkerDay`, as the raw run carries them."""


class WorkerDay:
    """The counters of one grid's grid workers over the measured period ``[start, end]``."""

    __slots__ = ("cum", "start", "c0", "c1", "case_hours", "found", "fixed", "verified")

    def __init__(self, calendar: ShiftCalendar, start: float, end: float):
        self.cum = (lambda t: t) if calendar.always else calendar._cum_at
        self.start = start
        self.c0, self.c1 = self.cum(start), self.cum(end)
        self.case_hours = 0.0
        self.found = self.fixed = self.verified = 0

    def work(self, s: float, e: float) -> None:
        """A job occupies on-shift span [s, e] (e < s: the span [e, s] is given back)."""
        sign = 1.0
        if e < s:
            s, e, sign = e, s, -1.0
        lo, hi = self.cum(s), self.cum(e)
        if lo < self.c0:
            lo = self.c0
        if hi > self.c1:
            hi = self.c1
        if hi > lo:
            self.case_hours += sign * (hi - lo)

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


def attach_days(grids: Sequence, start: float, end: float) -> list[WorkerDay]:
    """Give every grid's worker pool a :class:`WorkerDay` (``pool.tally``), in grid order."""
    days = []
    for g in grids:
        day = WorkerDay(g.pool.calendar, start, end)
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
