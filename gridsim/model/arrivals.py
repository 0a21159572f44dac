"""Where cases come from: Poisson arrivals per street and source, with a weekly profile.

Each street has one arrival stream per source (patrol finds, 12345 hotline calls, cases handed
down from above, cases collected from units). Its rate is the sum over categories of the
category's rate times the number of households, grids or communities it is counted per. The
hotline's rate follows an hour-of-day × day-of-week profile (a non-homogeneous Poisson process).
Each arrival draws its category and grid from the stream, so arrivals are identical under every
policy.

Patrol finds are created when the problem *arises*; a grid worker notices it after a delay set
by patrol coverage: each worker sweeps the grid once per ``patrol.interval`` of patrol time and
notices the problem with ``patrol.detect_prob`` per sweep.

Arrivals do not depend on anything the organisation does, so they are drawn a day at a time
(:class:`Arrivals`): at the start of each day every stream draws its number of cases (Poisson,
with the day's expected count), their times (ordered uniforms mapped through the inverse of the
cumulative intensity: exact for a non-homogeneous Poisson process), categories, grids and patrol
delays in a few vectorised calls. The day's cases of a district are then created in time order,
each with one clock call for its first step (found on patrol, uploaded after the hotline's
dispatch delay, or uploaded at once): no clock event at the moment a problem arises, and no
Python-level draw per arrival.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from ..scenario.schema import Scenario
from ..vocabulary import SOURCES
from .clock import Clock
from .discovery import RaceStream, WeekProfile, has_race
from .lifecycle import PATROL, Lifecycle
from .org import Organisation, Street
from .streams import stream
from .variants import pick_grids, unit_rates

DAY, WEEK = 24.0, 168.0
BATCH = 1000
"""Arrivals are drawn a day at a time, or for as long (up to a week) as this many cases take."""


class ArrivalStream:
    """Cases of one source arising in one street: :meth:`window` draws those of an interval."""

    race = False

    def __init__(self, life: Lifecycle, street: Street, source: int, scenario: Scenario,
                 seed: int, weekday0: int):
        self.street, self.source = street, source
        name = SOURCES[source]
        n_grids = len(street.grids)
        counts = {"household": street.households_per_grid * n_grids, "grid": n_grids,
                  "community": len(street.communities), "street": 1}
        rates = []
        for cat in life.cats:
            r = cat.spec.rates.get(name)
            rates.append(r.per_hour * counts[r.per] if r is not None else 0.0)
        rates, self.pick = unit_rates(street, life.cats, rates, lambda v: (
            0.0 if (r := (v.rates or {}).get(name, v.spec.rates.get(name))) is None
            else r.per_hour * counts[r.per] * (1.0 if v.rate_scale is None else v.rate_scale)))
        self.rate = float(sum(rates))
        self.rng = stream(seed, "arrivals", street.name, name)
        self.cum = np.cumsum(rates) / self.rate if self.rate > 0 else np.ones(1)
        self.n_cats = len(rates)
        profile = None
        if name == "hotline":
            p = scenario.hotline.profile
            h = np.array(p.hourly) / np.mean(p.hourly)
            w = np.array(p.weekly) / np.mean(p.weekly)
            profile = np.outer(w, h)  # [weekday, hour], mean 1
            profile = np.roll(profile, -weekday0, axis=0).ravel()  # index = hour of week from t=0
            if np.all(profile == profile[0]):
                profile = None  # flat: a homogeneous Poisson process
        self.profile = profile
        if profile is not None:
            # cumulative intensity over the week, to invert it: hour-of-week k starts at cum[k]
            self.hourly = self.rate * profile
            self.cum_week = np.concatenate([[0.0], np.cumsum(self.hourly)])
            self.week = float(self.cum_week[-1])
        self.n_grids = n_grids
        self.capacity = np.array([g.pool.capacity for g in street.grids], dtype=float)
        self.patrol = source == PATROL
        patrol = scenario.patrol
        self.sweep = patrol.interval.hours
        self.detect = patrol.detect_prob
        self.r_patrol = stream(seed, "patrol", street.name, name)

    def cumulative(self, t: float) -> float:
        """Expected arrivals in [0, t)."""
        if self.profile is None:
            return self.rate * t
        weeks, rest = divmod(t, 168.0)
        h = int(rest)
        return weeks * self.week + float(self.cum_week[h] + self.hourly[h] * (rest - h))

    def _inverse(self, target: np.ndarray) -> np.ndarray:
        """The times at which the expected number of arrivals reaches ``target``."""
        if self.profile is None:
            return target / self.rate
        weeks, rest = np.divmod(target, self.week)
        h = np.minimum(np.searchsorted(self.cum_week, rest, side="right") - 1, 167)
        return weeks * 168.0 + h + (rest - self.cum_week[h]) / self.hourly[h]

    def window(self, t0: float, t1: float) -> tuple[np.ndarray, ...]:
        """The cases arising in [t0, t1): times (sorted), category and grid indices, and patrol
        delays in hours of patrol time (NaN: never found, or not a patrol find)."""
        if self.rate <= 0 or t1 <= t0:
            empty = np.empty(0)
            return empty, empty.astype(np.int64), empty.astype(np.int64), empty
        a, b = self.cumulative(t0), self.cumulative(t1)
        rng = self.rng
        n = int(rng.poisson(b - a))
        times = self._inverse(a + np.sort(rng.random(n)) * (b - a))
        np.clip(times, t0, np.nextafter(t1, t0), out=times)  # rounding at the edges
        u = rng.random((n, 2))
        cats = np.minimum(np.searchsorted(self.cum, u[:, 0], side="right"), self.n_cats - 1)
        grids = np.minimum((u[:, 1] * self.n_grids).astype(np.int64), self.n_grids - 1) \
            if self.pick is None else pick_grids(self.pick, cats, u[:, 1])
        delay = np.full(n, np.nan)
        if self.patrol:
            v = self.r_patrol.random(n)
            g = self.r_patrol.geometric(self.detect, n)
            cap = self.capacity[grids]
            with np.errstate(divide="ignore"):
                delay = np.where(cap > 0, (v + g - 1) * self.sweep / cap, np.nan)
        return times, cats, grids, delay


class Arrivals:
    """The arrivals of every district (see :class:`DistrictArrivals`)."""

    def __init__(self, clock: Clock, life: Lifecycle, org: Organisation, scenario: Scenario,
                 seed: int, horizon: float):
        weekday0 = scenario.calendar.start.weekday()
        profile = WeekProfile(scenario, weekday0) if has_race(scenario) else None
        self.districts = [
            DistrictArrivals(clock, life, [
                ArrivalStream(life, street, source, scenario, seed, weekday0)
                for street in d.streets for source in range(len(SOURCES))] + ([
                RaceStream(life, street, k, scenario, seed, profile)
                for k, street in enumerate(d.streets)] if profile else []), horizon)
            for d in org.districts]

    def ahead(self, now: float) -> int:
        """Cases created that arise after ``now``."""
        return sum(d.ahead(now) for d in self.districts)


class DistrictArrivals:
    """One district's arrival streams, drawn a window at a time until ``horizon``.

    The window is a day, or longer (up to a week) when a day would bring fewer than
    :data:`BATCH` cases, so that small scenarios do not pay the vectorised calls for a handful
    of cases. It depends on the district alone, so a district's arrivals are the same whether
    it runs alone (a shard) or with others. Cases are created when their window is drawn, so
    until it arises a case exists ahead of time (it is in ``Lifecycle.live`` and has done
    nothing); :meth:`ahead` counts those, for the number of open cases at a moment.
    """

    def __init__(self, clock: Clock, life: Lifecycle, streams: list[ArrivalStream],
                 horizon: float):
        self.clock, self.life, self.streams, self.horizon = clock, life, streams, horizon
        rate = sum(s.rate for s in streams)
        self.window = min(max(DAY, BATCH / rate), WEEK) if rate > 0 else WEEK
        self._times: list[float] = []  # creation times of the current window's cases, sorted
        if horizon > 0 and rate > 0:
            clock.at(0.0, self._draw, 0.0)

    def ahead(self, now: float) -> int:
        """Cases created that arise after ``now``."""
        return len(self._times) - bisect_right(self._times, now)

    def _draw(self, t0: float) -> None:
        """Create the cases arising in [t0, t0 + window), in time order."""
        t1 = min(t0 + self.window, self.horizon)
        streams = self.streams
        draws = [s.window(t0, t1) for s in streams]
        stream_of = np.repeat(np.arange(len(streams)), [len(d[0]) for d in draws])
        time, cat, grid, delay = (np.concatenate(column) for column in zip(*draws, strict=True))
        order = np.argsort(time, kind="stable")
        stream_of, time, cat, grid, delay = (a[order].tolist()
                                             for a in (stream_of, time, cat, grid, delay))
        life, cats = self.life, self.life.cats
        for k, t, c, g, d in zip(stream_of, time, cat, grid, delay, strict=True):
            s = streams[k]
            if s.race:  # the discovery race (gridsim.model.discovery): d is its row
                s.start(c, g, t, d)
                continue
            life.arrive(life.create(cats[c], s.source, s.street.grids[g], t),
                        None if d != d else d)  # NaN: never found
        self._times = time
        if t1 < self.horizon:
            self.clock.at(t1, self._draw, t1)
