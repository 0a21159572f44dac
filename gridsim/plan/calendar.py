"""Working calendars: when a pool is on shift, and how working time maps to clock time.

A street office works 08:30-12:00 and 13:30-17:30 on working days; a water department's repair
crew works around the clock. Staff effort is measured in working time: a 3-hour job started at
16:30 on a Friday ends at 10:30 on Monday (or later if Monday is a public holiday). The calendar
turns that into clock hours with two bisections over precomputed on-shift intervals.
Deadlines in working days (``5wd``) count working days of the scenario calendar (weekends,
holidays and 调休: the statutory 工作日); in working hours (``6wh``), on-shift hours of the shift
the deadline names.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Callable

import numpy as np

from ..scenario.calendar import WEEKDAYS, CalendarSpec, Shift
from ..scenario.checks import CALENDAR_DAYS_AFTER
from ..units import Duration


class Days:
    """Which days of the run are working days (weekends, holidays and 调休 applied)."""

    def __init__(self, spec: CalendarSpec, n_days: int):
        holidays = spec.holiday_dates()
        extra = set(spec.extra_workdays)
        weekend = {WEEKDAYS.index(d) for d in spec.weekend}
        self.n_days = n_days
        self.weekday = [(spec.start + dt.timedelta(days=d)).weekday() for d in range(n_days)]
        self.holiday = [(spec.start + dt.timedelta(days=d)) in holidays for d in range(n_days)]
        self.working = []
        for d in range(n_days):
            date = spec.start + dt.timedelta(days=d)
            self.working.append(date in extra or (self.weekday[d] not in weekend
                                                  and date not in holidays))
        self.cum = [0]
        for w in self.working:
            self.cum.append(self.cum[-1] + w)

    def add_working_days(self, t: float, n: float) -> float:
        """``t`` plus ``n`` working days (same clock time on the n-th working day after)."""
        day = int(t // 24)
        if day >= self.n_days:
            return t + n * 24 * 7 / 5
        target = self.cum[day + 1] + n
        e = bisect_left(self.cum, target) - 1
        if e >= self.n_days:
            return t + n * 24 * 7 / 5
        return t + 24 * (e - day) if e > day else t

    def offsets(self, n: float) -> list[float]:
        """Hours that :meth:`add_working_days` adds to a time on each day, for ``n`` working
        days: the same arithmetic, done once per day instead of once per case."""
        return [self.add_working_days(24.0 * d, n) - 24.0 * d for d in range(self.n_days)]


class ShiftCalendar:
    """On-shift intervals of one shift over the run, with working time <-> clock time."""

    def __init__(self, shift: Shift, days: Days):
        starts: list[float] = []
        ends: list[float] = []
        ranges = shift.ranges()
        for d in range(days.n_days):
            if shift.days == "all":
                on = True
            elif shift.days == "workdays":
                on = days.working[d]
            else:
                on = WEEKDAYS[days.weekday[d]] in shift.days and not days.holiday[d]
            if not on:
                continue
            for a, b in ranges:
                s, e = 24 * d + a, 24 * d + b
                if ends and abs(ends[-1] - s) < 1e-9:
                    ends[-1] = e
                else:
                    starts.append(s)
                    ends.append(e)
        self.always = len(starts) == 1 and starts[0] == 0 and ends[0] >= 24 * days.n_days
        self.starts, self.ends = starts, ends
        self.cum: list[float] = []
        self.cum_end: list[float] = []
        total = 0.0
        for s, e in zip(starts, ends, strict=True):
            self.cum.append(total)
            total += e - s
            self.cum_end.append(total)

    def advance(self, t: float, work: float) -> float:
        """Clock time at which ``work`` hours of on-shift time started at ``t`` are done."""
        if self.always or work <= 0:
            return t + work
        ends = self.ends
        i = bisect_right(ends, t)
        if i >= len(ends):
            return t + work
        s = self.starts[i]
        if t < s:  # off shift: the work starts with the next stretch
            t = s
        end = t + work
        if end <= ends[i]:  # done within this stretch (most jobs)
            return end
        target = self.cum[i] + (t - s) + work
        j = bisect_left(self.cum_end, target, i)
        if j >= len(ends):
            return ends[-1] + (target - self.cum_end[-1])
        return self.starts[j] + (target - self.cum[j])

    def on_hours(self, t0: float, t1: float) -> float:
        """On-shift hours within [t0, t1)."""
        if self.always:
            return t1 - t0
        return self._cum_at(t1) - self._cum_at(t0)

    def on_hours_between(self, times: np.ndarray) -> np.ndarray:
        """On-shift hours in each interval between consecutive ``times`` (vectorised)."""
        times = np.asarray(times, dtype=float)
        if self.always:
            return np.diff(times)
        if not self.ends:
            return np.zeros(len(times) - 1)
        starts, ends = np.asarray(self.starts), np.asarray(self.ends)
        i = np.searchsorted(ends, times, side="right")
        inside = i < len(ends)
        j = np.minimum(i, len(ends) - 1)
        cum = np.where(inside, np.asarray(self.cum)[j] + np.maximum(times - starts[j], 0.0),
                       self.cum_end[-1])
        return np.diff(cum)

    def _cum_at(self, t: float) -> float:
        i = bisect_right(self.ends, t)
        if i >= len(self.ends):
            return self.cum_end[-1] if self.ends else 0.0
        s = self.starts[i]
        return self.cum[i] + (t - s if t > s else 0.0)


class Calendars:
    """All shifts of a scenario plus working-day arithmetic for deadlines."""

    def __init__(self, spec: CalendarSpec, horizon_hours: float):
        n_days = int(horizon_hours // 24) + CALENDAR_DAYS_AFTER
        self.days = Days(spec, n_days)
        self.shifts = {name: ShiftCalendar(s, self.days) for name, s in spec.shifts.items()}
        self._later: dict[tuple[float, str, str | None], Callable[[float], float]] = {}

    def after(self, t: float, d: Duration, shift: str | None = None) -> float:
        """Clock time ``d`` after ``t``: working days follow the calendar's working days,
        working hours the on-shift hours of ``shift``."""
        return self.later(d, shift)(t)

    def later(self, d: Duration, shift: str | None = None) -> Callable[[float], float]:
        """``t -> after(t, d, shift)``, built once per duration for the hot path (working days
        are a lookup of the day's offset, clock time an addition). ``shift`` names the shift
        working hours (``wh``) count on; every working-time duration names one, so nothing
        depends on what the scenario calls its shifts."""
        if d.unit == "wh" and shift is None:
            raise ValueError(f"{d} is working hours: name the shift they count on")
        key = (d.value, d.unit, shift if d.unit == "wh" else "")
        fn = self._later.get(key)
        if fn is None:
            if d.unit == "wd":
                fn = _working_days(self.days, d.value)
            elif d.unit == "wh":
                advance, work = self.shifts[shift].advance, d.value
                fn = lambda t: advance(t, work)  # noqa: E731
            else:
                hours = d.hours
                fn = lambda t: t + hours  # noqa: E731
            self._later[key] = fn
        return fn


def _working_days(days: Days, n: float) -> Callable[[float], float]:
    offsets = days.offsets(n)
    last = days.n_days - 1
    beyond = n * 24 * 7 / 5  # past the calendar: five working days a week, as add_working_days

    def after(t: float) -> float:
        day = int(t // 24)
        if day > last:
            return t + beyond
        return t + offsets[day if day > 0 else 0]

    return after
