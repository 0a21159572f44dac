"""Where cases come from: Poisson arrivals per street and source, with a weekly profile.

Each street has one arrival stream per source (patrol finds, 12345 hotline calls, cases handed
down from above, cases collected from units). Its rate is the sum over categories of the
category's rate times the number of households, grids or communities it is counted per. The
hotline's rate follows an hour-of-day × day-of-week profile (a non-homogeneous Poisson process,
sampled exactly by inverting its cumulative intensity: one event per call, no rejected draws).
Each arrival draws its category and grid from the stream, so arrivals are identical
under every policy.

Patrol finds are created when the problem *arises*; a grid worker notices it after a delay set
by patrol coverage: each worker sweeps the grid once per ``patrol.interval`` of patrol time and
notices the problem with ``patrol.detect_prob`` per sweep.
"""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from ..scenario.schema import Scenario
from .clock import Clock
from .lifecycle import PATROL, SOURCES, Lifecycle
from .org import Street
from .streams import Buffered, stream


class ArrivalStream:
    """Cases of one source arising in one street."""

    def __init__(self, clock: Clock, life: Lifecycle, street: Street, source: int,
                 scenario: Scenario, seed: int, weekday0: int):
        self.clock, self.env = clock, clock.env
        self.life, self.street, self.source = life, street, source
        name = SOURCES[source]
        n_grids = len(street.grids)
        n_comm = len(street.communities)
        counts = {"household": street.households_per_grid * n_grids, "grid": n_grids,
                  "community": n_comm, "street": 1}
        rates = []
        for cat in life.cats:
            r = cat.spec.rates.get(name)
            rates.append(r.per_hour * counts[r.per] if r is not None else 0.0)
        self.rate = float(sum(rates))
        rng = stream(seed, "arrivals", street.name, name)
        self.cum = (np.cumsum(rates) / self.rate).tolist() if self.rate > 0 else []
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
            self.week = float(self.rate * profile.sum())
            self.cum_week = np.concatenate([[0.0], np.cumsum(self.rate * profile)]).tolist()
            self.hourly = (self.rate * profile).tolist()
        self.draw = Buffered(lambda n: rng.random((n, 4)))
        self.n_grids = n_grids
        self.workers = street.grids[0].pool.capacity if n_grids else 0
        patrol = scenario.patrol
        self.sweep = patrol.interval.hours
        r_patrol = stream(seed, "patrol", street.name, name)
        self.patrol = Buffered(lambda n: np.column_stack(
            [r_patrol.random(n), r_patrol.geometric(patrol.detect_prob, n)]))
        if self.rate > 0:
            self._next()

    def _next(self) -> None:
        u = self.draw()
        e = -math.log1p(-u[0])  # a unit-rate exponential
        now = self.env._now
        if self.profile is None:
            self.clock.at(now + e / self.rate, self._arrive, u)
        else:
            self.clock.at(self._inverse(self._cumulative(now) + e), self._arrive, u)

    def _cumulative(self, t: float) -> float:
        """Expected arrivals in [0, t) under the weekly profile."""
        weeks, rest = divmod(t, 168.0)
        h = int(rest)
        return weeks * self.week + self.cum_week[h] + self.hourly[h] * (rest - h)

    def _inverse(self, target: float) -> float:
        """The time at which the expected number of arrivals reaches ``target``."""
        weeks, rest = divmod(target, self.week)
        h = min(bisect_right(self.cum_week, rest) - 1, 167)
        return weeks * 168.0 + h + (rest - self.cum_week[h]) / self.hourly[h]

    def _arrive(self, u: list[float]) -> None:
        env = self.env
        cum = self.cum
        cat = self.life.cats[min(bisect_right(cum, u[2]), len(cum) - 1) if len(cum) > 1 else 0]
        n = self.n_grids
        grid = self.street.grids[min(int(u[3] * n), n - 1) if n > 1 else 0]
        issue = self.life.create(cat, self.source, grid, env._now)
        delay = None
        if self.source == PATROL and grid.pool.capacity > 0:
            v, g = self.patrol()
            delay = (v + g - 1) * self.sweep / grid.pool.capacity
        self.life.arrive(issue, delay)
        self._next()
