"""The discovery race: who reports a problem first, and how often it is reported again.

A pile of rubbish appears at a corner of a grid at 06:10 on a Tuesday. Nobody has reported it
yet: it is *latent*. From then on several competitors race to report it:

- the grid worker's **patrol**: the grid gets ``grid_workers / patrol.interval`` visits per hour
  of patrol shift, the first one a uniform part of a sweep after the problem arises, and each
  visit detects it with the category's probability (``discovery.patrol``; 0 for a problem patrol
  never sees: noise at night, a dispute behind a door);
- **residents**: a hazard of someone calling 12345 while it stays visible
  (``discovery.residents``), times the hotline's hour-of-week profile (few calls at 3 a.m.);
- a **camera**, on the grids that have one (``discovery.cameras``): a constant hazard;
- **units** in the area and **higher levels** (``discovery.units``, ``discovery.above``).

The first report makes the case: its ``source`` and its discovery time (``t_discovered``). The
case is then handed to the lifecycle's entry for that source: found on patrol, the grid worker
fixes it on the spot or uploads it (``Lifecycle._found``); called in, it goes through the 12345
front end (``Lifecycle._hotline_call``); flagged by a camera (the video platform feeds the
street's centre, as in Kaizhou's digital city management) or reported by a unit or from above,
it is uploaded to the street centre at once.

Reports that come after the first one, while the problem stays visible (until it is solved:
the last solve of a closed case, the horizon for one still open), are **duplicates**: the centre
merges them at triage into the case (column ``duplicates``), they are not new cases. Residents,
cameras, units and higher levels keep reporting at their hazards; the grid's own worker does not
(the case is on the grid's ledger). So the number of duplicates is Poisson with mean
``∫ (residents(t) + camera + units + above) dt`` over that span.

Nothing is simulated per resident or per visit: each problem draws, from one stream per
competitor, one standard exponential (residents, camera, units, above: the first report is where
its cumulative hazard reaches it) and two uniforms (patrol: the offset of the first visit and
the number of visits until one detects it, a geometric draw by inversion); the earliest wins.
Every problem makes every draw, whatever the hazards and staff, and the problems themselves
(times, categories, grids) come from a stream of their own: two runs that differ only in patrol
staffing see the same problems and the same residents, and differ only in who wins (common
random numbers). The duplicates' count is the Poisson quantile of a uniform drawn per problem
when it arises, evaluated when the case is recorded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..scenario.schema import Scenario
from ..vocabulary import STATES
from .case import ABOVE, CAMERA, HOTLINE, LATENT, PATROL, UNITS, Issue
from .org import Street
from .streams import stream
from .trace import DISCOVERED
from .variants import pick_grids, unit_rates

if TYPE_CHECKING:
    from .lifecycle import Lifecycle

COMPETITORS = ("residents", "camera", "units", "above")
"""The competitors with a hazard (patrol is the one with visits)."""
SOURCE_OF = (HOTLINE, CAMERA, UNITS, ABOVE)
"""The case source each competitor gives."""
INF = math.inf


class WeekProfile:
    """The cumulative intensity of a unit-rate process shaped by the hotline's hour-of-week
    profile (mean 1 per hour): ``cum(t)`` and its inverse, exact for the piecewise-constant
    profile."""

    def __init__(self, scenario: Scenario, weekday0: int):
        p = scenario.hotline.profile
        h = np.array(p.hourly) / np.mean(p.hourly)
        w = np.array(p.weekly) / np.mean(p.weekly)
        prof = np.roll(np.outer(w, h), -weekday0, axis=0).ravel()  # hour of week from t = 0
        self.flat = bool(np.all(prof == prof[0]))
        self.hourly = prof
        self.cum_week = np.concatenate([[0.0], np.cumsum(prof)])
        self.week = float(self.cum_week[-1])
        self._hourly, self._cum = prof.tolist(), self.cum_week.tolist()

    def cum(self, t: float) -> float:
        """Expected reports of a unit-rate caller in [0, t)."""
        if self.flat:
            return t
        weeks, rest = divmod(t, 168.0)
        h = min(int(rest), 167)
        return weeks * self.week + self._cum[h] + self._hourly[h] * (rest - h)

    def cum_many(self, t: np.ndarray) -> np.ndarray:
        if self.flat:
            return t.copy()
        weeks, rest = np.divmod(t, 168.0)
        h = np.minimum(rest.astype(np.int64), 167)
        return weeks * self.week + self.cum_week[h] + self.hourly[h] * (rest - h)

    def inverse(self, target: np.ndarray) -> np.ndarray:
        """The times at which the cumulative intensity reaches ``target`` (inf stays inf)."""
        if self.flat:
            return target.copy()
        out = np.full(len(target), INF)
        ok = np.isfinite(target)
        weeks, rest = np.divmod(target[ok], self.week)
        h = np.minimum(np.searchsorted(self.cum_week, rest, side="right") - 1, 167)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[ok] = weeks * 168.0 + h + (rest - self.cum_week[h]) / self.hourly[h]
        return out


def has_race(scenario: Scenario) -> bool:
    """Whether any category of ``scenario`` has a discovery race."""
    return any(c.discovery is not None for c in scenario.categories.values())


class RaceStream:
    """The problems of the racing categories arising in one street, and who reports each.

    Plays the part of an :class:`~gridsim.model.arrivals.ArrivalStream` for
    :class:`~gridsim.model.arrivals.DistrictArrivals`: :meth:`window` draws the problems of an
    interval and :meth:`start` creates one of them as a case and schedules its first report.
    """

    race = True

    def __init__(self, life: Lifecycle, street: Street, index: int, scenario: Scenario,
                 seed: int, profile: WeekProfile):
        self.life, self.street, self.profile = life, street, profile
        self.clock = life.clock
        n_grids = len(street.grids)
        hh = street.households_per_grid
        counts = {"household": hh * n_grids, "grid": n_grids,
                  "community": len(street.communities), "street": 1}
        rates, detect = [], []
        hazards = np.zeros((len(COMPETITORS), len(life.cats)))
        self.cats = life.cats
        for i, cat in enumerate(life.cats):
            d = cat.spec.discovery
            if d is None:
                rates.append(0.0)
                detect.append(0.0)
                continue
            rates.append(d.arises.per_hour * counts[d.arises.per])
            detect.append(scenario.patrol.detect_prob if d.patrol is None else d.patrol)
            for k, name in enumerate(COMPETITORS):
                hz = getattr(d, name)
                if hz is not None:
                    hazards[k, i] = hz.per_hour * (hh if hz.per == "household" else 1)
        rates, self.pick = unit_rates(street, life.cats, rates, lambda v: (
            0.0 if (d := v.spec.discovery) is None else d.arises.per_hour * counts[d.arises.per]
            * (1.0 if v.rate_scale is None else v.rate_scale)))
        self.rate = float(sum(rates))
        self.cum = np.cumsum(rates) / self.rate if self.rate > 0 else np.ones(1)
        self.n_cats, self.n_grids = len(rates), n_grids
        self.detect = np.array(detect)
        self.hazards = hazards
        key = street.name
        self.rng = stream(seed, "arises", key)
        self.r_patrol = stream(seed, "race", key, "patrol")
        self.r_comp = [stream(seed, "race", key, name) for name in COMPETITORS]
        self.r_dup = stream(seed, "race", key, "duplicates")
        share = scenario.discovery.cameras.share_of(index)
        self.camera = stream(seed, "cameras", key).random(n_grids) < share
        self.capacity = np.array([g.pool.capacity for g in street.grids], dtype=float)
        self.sweep = scenario.patrol.interval.hours
        self.grid_cal = life.grid_cal
        self._handler = {PATROL: life._found, HOTLINE: self._called, CAMERA: self._reported,
                         UNITS: self._reported, ABOVE: self._reported}
        self._pending: list = []

    def window(self, t0: float, t1: float) -> tuple[np.ndarray, ...]:
        """The problems arising in [t0, t1): times (sorted), category and grid indices, and
        each one's row in this window's race draws (read back by :meth:`start`)."""
        if self.rate <= 0 or t1 <= t0:
            empty = np.empty(0)
            return empty, empty.astype(np.int64), empty.astype(np.int64), empty
        rng = self.rng
        n = int(rng.poisson(self.rate * (t1 - t0)))
        times = t0 + np.sort(rng.random(n)) * (t1 - t0)
        np.clip(times, t0, np.nextafter(t1, t0), out=times)
        u = rng.random((n, 2))
        cats = np.minimum(np.searchsorted(self.cum, u[:, 0], side="right"), self.n_cats - 1)
        grids = np.minimum((u[:, 1] * self.n_grids).astype(np.int64), self.n_grids - 1) \
            if self.pick is None else pick_grids(self.pick, cats, u[:, 1])
        # patrol: hours of patrol time until a visit detects it (inf: never)
        v = self.r_patrol.random((n, 2))
        p = self.detect[cats]
        with np.errstate(divide="ignore", invalid="ignore"):
            visits = np.where(p >= 1, 1.0, 1.0 + np.floor(np.log1p(-v[:, 1]) / np.log1p(-p)))
            visits = np.where(p > 0, visits, INF)
            cap = self.capacity[grids]
            patrol = np.where(cap > 0, (v[:, 0] + visits - 1) * self.sweep / cap, INF)
        # the others: clock time at which each one's cumulative hazard reaches an Exp(1) draw
        first = np.full((len(COMPETITORS), n), INF)
        h = self.hazards[:, cats]
        h[1] *= self.camera[grids]
        e = [r.standard_exponential(n) for r in self.r_comp]
        with np.errstate(divide="ignore"):
            res = h[0] > 0
            first[0, res] = self.profile.inverse(self.profile.cum_many(times[res])
                                                 + e[0][res] / h[0, res])
            for k in range(1, len(COMPETITORS)):
                ok = h[k] > 0
                first[k, ok] = times[ok] + e[k][ok] / h[k, ok]
        winner = np.argmin(first, axis=0)
        t_other = first[winner, np.arange(n)]
        dup_u = self.r_dup.random(n)
        self._pending = [patrol.tolist(), t_other.tolist(), winner.tolist(), dup_u.tolist(),
                         h[0].tolist(), h[1:].sum(axis=0).tolist()]
        return times, cats, grids, np.arange(n, dtype=float)

    def start(self, c: int, g: int, t: float, row: float) -> None:
        """Create problem ``row`` of the window as a case and schedule its first report."""
        k = int(row)
        patrol, t_other, winner, dup_u, h_res, h_const = self._pending
        d = patrol[k]
        t_patrol = INF if d == INF else self.grid_cal.advance(t, d)
        if t_patrol <= t_other[k]:
            source, when = PATROL, t_patrol
        else:
            source, when = SOURCE_OF[winner[k]], t_other[k]
        life = self.life
        issue = life.create(self.cats[c], source, self.street.grids[g], t)
        issue.dup_u = (dup_u[k], h_res[k], h_const[k], self.profile)
        issue.waiting = LATENT
        if source == PATROL and life.patrol_yields is not None:  # patrol pauses for case work
            other = SOURCE_OF[winner[k]]
            life.patrol_yields.start(issue, t, d, (other, self._handler[other]), t_other[k])
            return
        if when < INF:
            self.clock.at(when, self._handler[source], issue)

    def _first_report(self, issue: Issue) -> None:
        now = self.clock.env._now
        issue.waiting = None
        issue.t_discovered = now
        if self.life.emit is not None:
            self.life.emit(DISCOVERED, issue, -1, -1, now)

    def _called(self, issue: Issue) -> None:
        """A resident calls 12345 first: the hotline takes it from here."""
        self._first_report(issue)
        self.life._hotline_call(issue)

    def _reported(self, issue: Issue) -> None:
        """A camera, a unit or a higher level reports it first: uploaded to the centre."""
        self._first_report(issue)
        self.life._upload(issue)


ABANDONED = STATES.index("abandoned")


def count_duplicates(issue: Issue, now: float, state: int) -> None:
    """A listener on the end channel (:attr:`~gridsim.model.trace.Emitter.ended`): count a
    racing case's duplicates as it ends (not for a caller who gave up on the 12345 queue)."""
    if issue.dup_u is not None and state != ABANDONED:
        finish(issue, now)


def finish(issue: Issue, now: float) -> None:
    """Count the duplicates of a racing case as it is recorded at ``now``: reports between
    its first report and its solution (or ``now`` if it is not solved)."""
    t0 = issue.t_discovered
    if t0 != t0:  # never reported
        return
    t1 = issue.t_solved
    if t1 != t1:
        t1 = now
    u, h_res, h_const, profile = issue.dup_u
    mean = h_const * (t1 - t0)
    if h_res > 0:
        mean += h_res * (profile.cum(t1) - profile.cum(t0))
    issue.duplicates = poisson_quantile(u, mean)


def poisson_quantile(u: float, mean: float) -> int:
    """The smallest ``k`` with ``P(N <= k) > u`` for ``N ~ Poisson(mean)`` (inversion; it
    agrees with ``scipy.stats.poisson.ppf``, without loading scipy into every run)."""
    if mean <= 0:
        return 0
    if mean > 30:  # e^-mean and the sum from 0 would be slow: invert from the mode outwards
        return _quantile_from_mode(u, mean)
    p = math.exp(-mean)
    total, k = p, 0
    while u >= total and k < 1000:
        k += 1
        p *= mean / k
        total += p
    return k


def _quantile_from_mode(u: float, mean: float) -> int:
    m = int(mean)
    pm = math.exp(m * math.log(mean) - mean - math.lgamma(m + 1))  # P(N = m), in log space
    cdf, p, j = pm, pm, m  # P(N <= m): the terms below the mode until they are negligible
    while j > 0:
        p *= j / mean
        j -= 1
        cdf += p
        if p < 1e-17 * cdf:
            break
    k, p = m, pm
    if u < cdf:  # down from the mode
        while k > 0:
            below = cdf - p
            if u >= below:
                return k
            cdf = below
            p *= k / mean
            k -= 1
        return 0
    while u >= cdf:  # up from the mode
        k += 1
        p *= mean / k
        cdf += p
    return k
