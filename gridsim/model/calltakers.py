"""The 12345 call centre: call-taker seats on shifts, one FIFO queue with patience, and the
consultations (information requests, not problems) that load the same seats. The front end
(:mod:`gridsim.model.hotline`) offers calls to it and is told when one is answered, hung up or
finished."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..plan.calendar import ShiftCalendar
from ..scenario.schema import Scenario
from .case import Issue
from .clock import Clock
from .pools import Meter

if TYPE_CHECKING:
    from .hotline import Desk

class Call:
    """One request on the line: a problem's case or a consultation (``case`` None)."""

    __slots__ = ("case", "t0", "visit", "seat", "t_queued", "counted")

    def __init__(self, case: Issue | None, t0: float, counted: bool):
        self.case, self.t0, self.counted = case, t0, counted
        self.visit = 0
        self.seat: Seat | None = None
        self.t_queued = t0


class Seat:
    """A group of call-takers on one shift."""

    __slots__ = ("staff", "on", "busy", "meter")

    def __init__(self, staff: int, on: bool, meter: Meter):
        self.staff, self.on, self.busy, self.meter = staff, on, 0, meter


class CallTakers:
    """Seats on shifts answering one FIFO queue of calls with patience (M/M/c+G when the talk
    times are exponential and the seats always on)."""

    def __init__(self, clock: Clock, seats: list[tuple[int, ShiftCalendar, Meter]],
                 talk: Callable[[], float], patience: Callable[[], float] | None,
                 answered: Callable[[Call, float], None], talked: Callable[[Call], None],
                 hung_up: Callable[[Call], None], horizon: float):
        self.clock, self.env = clock, clock.env
        self.talk, self.patience = talk, patience
        self.answered, self.talked, self.hung_up = answered, talked, hung_up
        self.queue: deque = deque()
        self.seats = []
        for staff, cal, meter in seats:
            meter.capacity += staff
            on = cal.always or cal.on_hours(0.0, 1e-9) > 0
            seat = Seat(staff, on, meter)
            self.seats.append(seat)
            if not cal.always:
                for s, e in zip(cal.starts, cal.ends, strict=True):
                    if s > horizon:
                        break
                    if s > 0:
                        clock.at(s, self._on, seat)
                    if e > 0:
                        clock.at(e, self._off, seat)
        self.qmeter = self.seats[0].meter

    def offer(self, call: Call) -> None:
        """A call attempt reaches the line now: answered if a seat is free, else queued."""
        for seat in self.seats:
            if seat.on and seat.busy < seat.staff:
                self._start(seat, call)
                return
        now = self.env._now
        call.t_queued = now
        self.queue.append((call, call.visit))
        self.qmeter.update(now, 0, 1)
        if self.patience is not None:
            self.clock.at(now + self.patience(), self._renege, (call, call.visit))

    def _start(self, seat: Seat, call: Call) -> None:
        now = self.env._now
        seat.busy += 1
        seat.meter.update(now, 1, 0)
        call.visit += 1
        call.seat = seat
        self.answered(call, now - call.t_queued)
        self.clock.at(now + self.talk(), self._end, call)

    def _end(self, call: Call) -> None:
        seat = call.seat
        seat.busy -= 1
        seat.meter.update(self.env._now, -1, 0)
        self.talked(call)
        self._pull(seat)

    def _pull(self, seat: Seat) -> None:
        q = self.queue
        while seat.on and seat.busy < seat.staff and q:
            call, visit = q.popleft()
            if call.visit != visit:  # hung up while waiting; already uncounted
                continue
            self.qmeter.update(self.env._now, 0, -1)
            self._start(seat, call)

    def _renege(self, entry: tuple[Call, int]) -> None:
        call, visit = entry
        if call.visit != visit:  # answered meanwhile
            return
        call.visit += 1
        self.qmeter.update(self.env._now, 0, -1)
        self.hung_up(call)

    def _on(self, seat: Seat) -> None:
        seat.on = True
        self._pull(seat)

    def _off(self, seat: Seat) -> None:
        seat.on = False


def weekly_profile(scenario: Scenario, weekday0: int) -> np.ndarray:
    """The hotline's hour-of-week intensity from t = 0 (mean 1), as the hotline's cases use."""
    p = scenario.hotline.profile
    h = np.array(p.hourly) / np.mean(p.hourly)
    w = np.array(p.weekly) / np.mean(p.weekly)
    return np.roll(np.outer(w, h), -weekday0, axis=0).ravel()


class Consultations:
    """Poisson consultation calls of one district on the hotline's hour-of-week profile,
    drawn a week at a time and offered to the district's front end."""

    def __init__(self, clock: Clock, desk: Desk, rate: float, profile: np.ndarray,
                 rng: np.random.Generator, horizon: float):
        self.clock, self.desk, self.rng, self.horizon = clock, desk, rng, horizon
        self.hourly = rate * profile
        self.cum = np.concatenate([[0.0], np.cumsum(self.hourly)])
        self.week = float(self.cum[-1])
        if rate > 0 and horizon > 0:
            clock.at(0.0, self._draw, 0.0)

    def _cumulative(self, t: float) -> float:
        weeks, rest = divmod(t, 168.0)
        h = int(rest)
        return weeks * self.week + float(self.cum[h] + self.hourly[h] * (rest - h))

    def _draw(self, t0: float) -> None:
        t1 = min(t0 + 168.0, self.horizon)
        a, b = self._cumulative(t0), self._cumulative(t1)
        n = int(self.rng.poisson(b - a))
        target = a + np.sort(self.rng.random(n)) * (b - a)
        weeks, rest = np.divmod(target, self.week)
        h = np.minimum(np.searchsorted(self.cum, rest, side="right") - 1, 167)
        with np.errstate(divide="ignore", invalid="ignore"):
            times = weeks * 168.0 + h + (rest - self.cum[h]) / self.hourly[h]
        np.clip(times, t0, np.nextafter(t1, t0), out=times)
        desk = self.desk
        for t in times.tolist():
            self.clock.at(t, desk.ring, Call(None, t, t >= desk.warmup))
        if t1 < self.horizon:
            self.clock.at(t1, self._draw, t1)
