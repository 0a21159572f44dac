"""Queueing theory the validation scenarios are held against (helpers only, no tests).

- :func:`mmc`: the M/M/c queue from the Erlang C formula (probability of waiting, Wq, W, Lq, L);
- :func:`mmc_of` / :func:`jackson_of`: the analytic values of ``scenarios/validation/mmc.yaml`` and
  ``jackson.yaml``, with λ, μ, c (and the routing probability p) **read from the loaded
  scenario**, so ``--set`` overrides change the expectation as well as the run;
- :func:`erlang_a` / :func:`erlang_a_of`: the M/M/c+M queue (Erlang A: exponential patience)
  from its birth-death chain solved numerically with scipy, and its parameters read from
  ``scenarios/validation/erlang_a.yaml``;
- :func:`t_interval`: a Student-t confidence interval over independent replications or batches;
- :func:`fcfs_start_times`: when each case started work at a FCFS pool of ``c`` staff, rebuilt
  from its arrival and departure times (gridsim records neither the start nor the work itself).

Formulas (a = λ/μ offered load, ρ = a/c < 1), as in Gross & Harris or Hillier & Lieberman:

    Erlang B by recursion   B(0) = 1,  B(k) = a·B(k−1) / (k + a·B(k−1))
    Erlang C                C(c, a) = c·B(c) / (c − a·(1 − B(c)))   = P(an arrival waits)
    Wq = C / (cμ − λ),   W = Wq + 1/μ,   Lq = λ·Wq,   L = λ·W  (Little),   mean busy staff = a
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from gridsim.distributions import Exponential, Fixed
from gridsim.scenario import Scenario


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c with offered load ``a`` (stable recursion)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``a`` (needs a < c)."""
    if not 0 <= a < c:
        raise ValueError(f"M/M/c is unstable: offered load {a:g} >= {c} servers")
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


@dataclass(frozen=True)
class MMc:
    """Steady-state values of an M/M/c queue (times in hours, rates per hour)."""

    lam: float
    mu: float
    c: int

    @property
    def a(self) -> float:
        """Offered load λ/μ = mean number of busy servers."""
        return self.lam / self.mu

    @property
    def rho(self) -> float:
        return self.a / self.c

    @property
    def p_wait(self) -> float:
        return erlang_c(self.c, self.a)

    @property
    def wq(self) -> float:
        return self.p_wait / (self.c * self.mu - self.lam)

    @property
    def w(self) -> float:
        return self.wq + 1 / self.mu

    @property
    def lq(self) -> float:
        return self.lam * self.wq

    @property
    def l(self) -> float:  # noqa: E743 - the textbook name
        return self.lam * self.w

    def __str__(self) -> str:
        return (f"M/M/{self.c} (λ={self.lam:g}, μ={self.mu:g}, ρ={self.rho:.3f}): "
                f"P(wait)={self.p_wait:.5f} Wq={self.wq:.5f} W={self.w:.5f} "
                f"Lq={self.lq:.5f} L={self.l:.5f}")


def mmc(lam: float, mu: float, c: int) -> MMc:
    """The M/M/c queue with arrival rate ``lam``, service rate ``mu`` per server, ``c`` servers."""
    q = MMc(float(lam), float(mu), int(c))
    erlang_c(q.c, q.a)  # fail early when unstable
    return q


# ---------------------------------------------------------------- reading the scenarios
def _require(ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"not a degenerate validation scenario: {what}")


def _require_flat_and_always_on(s: Scenario) -> None:
    """A flat hotline profile and every role on a 24/7 shift (Poisson arrivals, no calendar)."""
    p = s.hotline.profile
    _require(len(set(p.hourly)) == 1 and len(set(p.weekly)) == 1, "a flat hotline profile")
    for role, shift in s.roles.model_dump().items():
        sh = s.calendar.shifts[shift]
        _require(sh.days == "all" and sh.ranges() == [(0.0, 24.0)], f"role {role} works 24/7")


def _zero(dist) -> bool:
    return isinstance(dist, Fixed) and dist.value.hours == 0


def _checked(s: Scenario):
    """The single category of a validation scenario, after checking the model reduces to
    Poisson arrivals at pools of exponential servers working 24/7."""
    _require(len(s.districts) == 1 and s.districts[0].count == 1
             and s.districts[0].streets is None, "one district, using the street template")
    t = s.streets
    _require(t.count == 1 and t.communities == 1 and t.grids_per_community == 1
             and not t.overrides, "one street with one community and one grid")
    _require(len(s.categories) == 1, "one category")
    _require(s.policy.name == "baseline", "policy baseline (no tier deadlines)")
    _require(all(_zero(d) for d in (s.hotline.dispatch_delay, s.triage_time, s.verify_time)),
             "zero dispatch delay, triage and verification times")
    _require_flat_and_always_on(s)
    (cat,) = s.categories.values()
    _require(set(cat.rates) == {"hotline"}, "hotline arrivals only")
    _require(cat.tiers.community == 1, "every case starts at the community")
    _require(cat.reopen == 0 and cat.on_spot == 0, "no reopening")
    return cat


def _arrival_rate(s: Scenario, cat) -> float:
    t = s.streets
    per = {"household": t.households_per_grid * t.grids_per_community * t.communities,
           "grid": t.grids_per_community * t.communities, "community": t.communities, "street": 1}
    r = cat.rates["hotline"]
    return r.per_hour * per[r.per]


def _rate_of(work) -> float:
    _require(isinstance(work, Exponential), "exponential work")
    return 1 / work.mean_hours


def mmc_of(s: Scenario) -> MMc:
    """The M/M/c queue that ``scenarios/validation/mmc.yaml`` (with any overrides) reduces to:
    the community pool."""
    cat = _checked(s)
    _require(cat.solve.community == 1, "the community solves every case")
    return mmc(_arrival_rate(s, cat), _rate_of(cat.work.community),
               s.streets.staff.community_per_community)


@dataclass(frozen=True)
class Tandem:
    """Two M/M/c stations in tandem: a share ``p`` of station 1's departures go on to 2."""

    first: MMc
    second: MMc
    p: float

    @property
    def w(self) -> float:
        """Mean time a case spends in the network."""
        return self.first.w + self.p * self.second.w


def jackson_of(s: Scenario) -> Tandem:
    """The Jackson network of ``scenarios/validation/jackson.yaml`` (with any overrides):
    community pool → (not solved, probability p) → street enforcement team."""
    cat = _checked(s)
    _require(cat.street_unit == "enforcement", "station 2 is the enforcement team")
    _require(cat.solve.street == 1, "the street solves every case")
    lam = _arrival_rate(s, cat)
    p = 1 - cat.solve.community
    staff = s.streets.staff
    return Tandem(mmc(lam, _rate_of(cat.work.community), staff.community_per_community),
                  mmc(p * lam, _rate_of(cat.work.street), staff.enforcement), p)


# ---------------------------------------------------------------- Erlang A (M/M/c+M)
@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M: ``p_abandon`` (share of arrivals who hang up in the queue),
    ``wait_answered`` (mean queue wait of those answered), ``p_wait`` (arrivals who wait)."""

    lam: float
    mu: float
    c: int
    theta: float
    p_abandon: float
    wait_answered: float
    p_wait: float


def erlang_a(lam: float, mu: float, c: int, theta: float, tail: float = 1e-13) -> ErlangA:
    """M/M/c+M with arrival rate ``lam``, service rate ``mu``, ``c`` servers and patience rate
    ``theta`` (0: infinite patience, M/M/c).

    The number in system N is a birth-death chain (birth ``lam``, death ``min(n, c)·mu +
    max(n − c, 0)·theta``), truncated where its tail is below ``tail`` and solved as
    ``π Q = 0, Σπ = 1`` with scipy. An arrival (PASTA: it sees π) that finds ``n ≥ c`` stands
    at position ``k = n − c + 1`` of the FIFO queue; from position j the next event comes at
    rate ``c·mu + j·theta`` and is the caller's own hang-up with probability
    ``theta / (c·mu + j·theta)``, so ``P(answered | k) = Π_j (c·mu + (j−1)θ)/(c·mu + jθ)`` and,
    the stage times being independent of which event ends them, ``E[W | answered, k] =
    Σ_{j≤k} 1/(c·mu + jθ)``. (Check: P(abandon) = θ·E[(N − c)+]/λ, asserted below.)
    """
    if theta <= 0 and lam >= c * mu:
        raise ValueError(f"M/M/c is unstable without abandonment: λ={lam:g} >= cμ={c * mu:g}")
    n = c + 50
    while True:  # grow the truncation until the tail is negligible
        death = np.minimum(np.arange(n + 1), c) * mu + np.maximum(np.arange(n + 1) - c, 0) * theta
        q = np.zeros((n + 1, n + 1))
        q[np.arange(n), np.arange(1, n + 1)] = lam
        q[np.arange(1, n + 1), np.arange(n)] = death[1:]
        q -= np.diag(q.sum(axis=1))
        a = q.T.copy()
        a[-1] = 1.0
        b = np.zeros(n + 1)
        b[-1] = 1.0
        pi = linalg.solve(a, b)
        if pi[-1] < tail or n > 200_000:
            break
        n *= 2
    k = np.arange(n + 1) - c + 1  # position in queue of an arrival finding n
    j = np.arange(1, max(int(k.max()), 1) + 1)
    stage = c * mu + j * theta
    served = np.concatenate([[1.0], np.cumprod((c * mu + (j - 1) * theta) / stage)])
    waited = np.concatenate([[0.0], np.cumsum(1 / stage)])
    kk = np.maximum(k, 0)
    p_served = float(np.sum(pi * served[kk]))
    wait = float(np.sum(pi * served[kk] * waited[kk])) / p_served
    p_abandon = 1 - p_served
    if theta > 0:
        lq = float(np.sum(pi * np.maximum(np.arange(n + 1) - c, 0)))
        assert math.isclose(p_abandon, theta * lq / lam, rel_tol=1e-6, abs_tol=1e-12)
    return ErlangA(lam, mu, c, theta, p_abandon, wait, float(np.sum(pi[c:])))


def erlang_a_of(s: Scenario) -> ErlangA:
    """The M/M/c+M queue that ``scenarios/validation/erlang_a.yaml`` (with any overrides)
    reduces to: the 12345 call-takers."""
    cat = _checked(s)
    fe = s.hotline.front_end
    _require(fe is not None and len(fe.seats) == 1, "a front end with one group of seats")
    sh = s.calendar.shifts[fe.seats[0].shift]
    _require(sh.days == "all" and sh.ranges() == [(0.0, 24.0)], "seats on 24/7")
    _require(fe.redial.prob == 0 and fe.consultations is None, "no redials, no consultations")
    _require(fe.patience is None or isinstance(fe.patience, Exponential),
             "exponential patience (or none)")
    theta = 0.0 if fe.patience is None else 1 / fe.patience.mean_hours
    return erlang_a(_arrival_rate(s, cat), _rate_of(fe.talk_time), fe.seats[0].staff, theta)


# ---------------------------------------------------------------- statistics of the runs
@dataclass(frozen=True)
class Interval:
    mean: float
    half: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half

    @property
    def high(self) -> float:
        return self.mean + self.half

    def __contains__(self, x: float) -> bool:
        return self.low <= x <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.5f} ± {self.half:.5f} (n={self.n})"


def t_interval(values: Sequence[float], level: float = 0.99) -> Interval:
    """Two-sided Student-t interval for the mean of independent, roughly normal values
    (replication means, or batch means of batches much longer than the correlation time)."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("need at least two values for a confidence interval")
    half = stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n)
    return Interval(float(x.mean()), float(half), n)


def fcfs_start_times(enter: np.ndarray, leave: np.ndarray, c: int) -> np.ndarray:
    """Start of work of each case at a FCFS pool of ``c`` identical staff.

    Cases are taken in order of arrival ``enter``; each starts when it arrives or when the
    earliest-freed staff member becomes free, whichever is later, and frees them at ``leave``.
    The input must hold *every* case that used the pool (from an empty start), ordered or not;
    a case still at work at the end has ``leave = inf`` or NaN and blocks its server.
    """
    order = np.argsort(enter, kind="stable")
    free = [0.0] * c
    start = np.empty(len(enter))
    for i in order:
        f = heapq.heappop(free)
        e = enter[i]
        start[i] = e if e > f else f
        out = leave[i]
        heapq.heappush(free, math.inf if out != out else out)
    return start


# ---------------------------------------------------------------- priority classes
@dataclass(frozen=True)
class PriorityMMc:
    """An M/M/c queue fed by several classes with one service rate ``mu``, served by class
    (``lams`` in priority order, most urgent first), first come first served within a class."""

    lams: tuple[float, ...]
    mu: float
    c: int

    @property
    def fcfs(self) -> MMc:
        """The same queue served first come first served (all classes together)."""
        return mmc(sum(self.lams), self.mu, self.c)

    @property
    def w0(self) -> float:
        """Cobham's mean residual work seen by an arrival: P(wait) · 1/(cμ)."""
        return self.fcfs.p_wait / (self.c * self.mu)

    def cobham_wq(self) -> list[float]:
        """Non-preemptive mean wait of each class: W0 / ((1 − σ_{k−1})(1 − σ_k)), where σ_k is
        the load of classes 1..k, Σ λ_i / (cμ)."""
        out, below = [], 0.0
        for lam in self.lams:
            above = below + lam / (self.c * self.mu)
            out.append(self.w0 / ((1 - below) * (1 - above)))
            below = above
        return out

    def preemptive_top(self) -> MMc:
        """With pre-emptive resume and one service rate the most urgent class never sees the
        others: an M/M/c queue at its own rate alone."""
        return mmc(self.lams[0], self.mu, self.c)


def priority_of(s: Scenario) -> PriorityMMc:
    """The priority M/M/c queue of ``scenarios/validation/priority.yaml`` (with any overrides):
    the community pool, each category a class in the order of its ``priority``."""
    cats = sorted(s.categories.values(), key=lambda cat: cat.priority)
    for name, cat in s.categories.items():  # each class alone must be the M/M/c of mmc_of
        mmc_of(s.model_copy(update={"categories": {name: cat}}))
    mus = {_rate_of(cat.work.community) for cat in cats}
    _require(len(mus) == 1, "one service rate for all classes")
    _require(len({cat.priority for cat in cats}) == len(cats), "one category per priority")
    return PriorityMMc(tuple(_arrival_rate(s, cat) for cat in cats), mus.pop(),
                       s.streets.staff.community_per_community)


# ---------------------------------------------------------------- Jackson network with feedback
@dataclass(frozen=True)
class FeedbackNetwork:
    """An open Jackson network of M/M/c stations (``stations``, in order: centre, community,
    street) with external arrivals ``gamma`` at the first and routing matrix ``routing``
    (``routing[i][j]``: probability that a case leaving station i goes to j; the rest leave)."""

    gamma: float
    routing: tuple[tuple[float, ...], ...]
    stations: tuple[MMc, ...]

    @property
    def w(self) -> float:
        """Mean time a case spends in the network, from Little's law: L / γ = Σ λ_i W_i / γ."""
        return sum(q.lam * q.w for q in self.stations) / self.gamma


def traffic_rates(gamma: Sequence[float], routing: Sequence[Sequence[float]]) -> np.ndarray:
    """The traffic equations λ = γ + Pᵀ λ solved for the total arrival rate at each station."""
    p = np.asarray(routing, dtype=float)
    return np.linalg.solve(np.eye(len(p)) - p.T, np.asarray(gamma, dtype=float))


def jackson_feedback_of(s: Scenario) -> FeedbackNetwork:
    """The network of ``scenarios/validation/jackson_feedback.yaml`` (with any overrides):
    station 1 the street centre (triage), 2 the community, 3 the street enforcement team; the
    centre sends a case to 2 or 3 by the category's tier shares, and after a service at 2 or 3
    it goes back to 1 with the tier's ``back_to_centre`` probability, else it is solved."""
    t = s.streets
    _require(len(s.districts) == 1 and s.districts[0].count == 1
             and s.districts[0].streets is None and t.count == 1 and t.communities == 1
             and t.grids_per_community == 1 and not t.overrides,
             "one district, one street, one community, one grid")
    _require(len(s.categories) == 1 and s.policy.name == "baseline", "one category, baseline")
    _require(_zero(s.hotline.dispatch_delay) and _zero(s.verify_time),
             "zero dispatch delay and verification time")
    _require_flat_and_always_on(s)
    (cat,) = s.categories.values()
    _require(set(cat.rates) == {"hotline"} and cat.lead == "street", "street-led hotline cases")
    _require(cat.street_unit == "enforcement", "station 3 is the enforcement team")
    tiers = cat.tiers
    _require(tiers.community + tiers.street == 1, "cases start at the community or the street")
    _require(cat.solve.community == 1 and cat.solve.street == 1, "every visit not sent back "
             "solves the case")
    _require(cat.reopen == 0 and cat.on_spot == 0, "no reopening")
    back = cat.back_to_centre
    routing = ((0.0, tiers.community, tiers.street), (back.community, 0.0, 0.0),
               (back.street, 0.0, 0.0))
    gamma = _arrival_rate(s, cat)
    lam = traffic_rates((gamma, 0.0, 0.0), routing)
    staff = t.staff
    stations = (mmc(lam[0], _rate_of(s.triage_time), staff.centre),
                mmc(lam[1], _rate_of(cat.work.community), staff.community_per_community),
                mmc(lam[2], _rate_of(cat.work.street), staff.enforcement))
    return FeedbackNetwork(gamma, routing, stations)
