"""The 12345 front end: a call centre, a dispatcher, and the units that may return its orders.

    a resident calls ─▶ queue (FIFO) ─▶ a call-taker answers ─▶ talk ─▶ settled on the call
         │ patience runs out: hangs up ─▶ calls again after a delay (redial) or gives up
         ▼                                             └─▶ a work order ─▶ dispatched after
    consultations (information requests, not problems)     dispatch_time to the street centre,
    load the same call-takers and are settled on the       the case's district department or a
    call                                                   city department (utility); the unit
                                                           reviews it and may return it (退单):
                                                           the dispatcher sends it again

Semantics (each district has its own front end, so districts stay independent shards):

- **Seats**: groups of call-takers, each on a shift of ``calendar.shifts``; a group answers only
  while on shift, and a call in progress at the end of a shift is finished. One FIFO queue.
- **Patience**: each call attempt that has to wait draws a patience; if it is still waiting
  then, the caller hangs up (``hung_up``). With ``redial.prob`` they call again after
  ``redial.delay`` (a new attempt at the back of the queue, with a fresh patience); otherwise
  they give up: a consultation is lost, a problem's case ends in state ``abandoned`` (recorded
  at once, never uploaded: ``t_uploaded`` empty, ``t_closed`` the moment they gave up). Every
  case is thus closed, abandoned or open.
- **On the call**: consultations are settled on the call; a problem call is settled there with
  ``settled_on_call`` (per category ``settled_by_category``): the case closes when the call
  ends, solved at no tier. Otherwise it becomes a **work order**.
- **Dispatch**: after ``dispatch_time`` the dispatcher picks the receiving kind with the
  category's ``routing`` shares: ``street`` (uploaded to the street centre, the path without a
  front end), ``district_department`` (the case enters the district tier at once, handled by
  its departments as the policy says) or ``city_department`` (the city department owning the
  category works it at the district tier; unsolved, it climbs the policy's ladder).
- **Returns** (退单): a receiver of kind ``k`` returns the order with probability
  ``policy.return_rate(k, return_rate.k)``, independently at each dispatch, after
  ``review_time`` (a delay, no staff); it is dispatched again (a fresh choice of receiver).
  The baseline's misrouting between district departments (:mod:`gridsim.model.departments`,
  ``bounces``) is another loop, inside the district tier, and is unchanged.

Random decisions each have a stream of their own, keyed by district: a scenario without a
front end draws exactly what it drew before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plan.calendar import Calendars
from ..policies.base import DISTRICT
from ..scenario.schema import Scenario
from ..vocabulary import RECEIVERS
from .calltakers import Call, CallTakers, Consultations, weekly_profile
from .case import ON_HOLD, REDIAL, Issue
from .pools import Meter, Pool
from .streams import Buffered, Draw, stream
from .trace import (
    ANSWERED,
    CALLED,
    DISPATCHED,
    ENTERED,
    GAVE_UP,
    HUNG_UP,
    RETURNED,
    SETTLED_ON_CALL,
    SOLVED,
    UPLOADED,
)

STREET, DISTRICT_DEPT, CITY_DEPT = range(len(RECEIVERS))
ABANDONED = 3
"""The ``state`` code of a case whose caller gave up (``vocabulary.STATES``)."""
COUNTERS = ("requests", "answered", "settled", "gave_up", "attempts", "hung_up", "wait_sum",
            "orders", "returned", "returns", *(f"to_{k}" for k in RECEIVERS))
"""The front end's counts of requests made after the warm-up (``RawRun.calls``)."""


def draws(dist: Any, rng: np.random.Generator) -> Callable[[], float]:
    """The next draw of ``dist`` in hours, from ``rng`` in batches."""
    return Buffered(lambda n: dist.sample(rng, n))


def _uniforms(rng: np.random.Generator) -> Draw:
    """The next uniform draw from ``rng``, drawn in batches."""
    return Buffered(lambda n: rng.random(n))


class Desk:
    """One district's front end: its call-takers, random streams and counters."""

    def __init__(self, life: Any, district: Any, scenario: Scenario, calendars: Calendars,
                 seed: int, meter: Callable[..., Meter]):
        fe = scenario.hotline.front_end
        key = district.name
        self.life, self.clock = life, life.clock
        self.warmup = scenario.warmup.hours
        horizon = scenario.horizon.hours
        self.counts = dict.fromkeys(COUNTERS, 0.0)
        seats = []
        for k, spec in enumerate(fe.seats):
            cal = calendars.shifts[spec.shift]
            seats.append((spec.staff, cal, meter(f"{key}/12345/seats{k}", "call_taker", key,
                                                 cal)))
        patience = None if fe.patience is None else draws(
            fe.patience, stream(seed, "hotline_patience", key))
        self.takers = CallTakers(life.clock, seats, draws(fe.talk_time, stream(
            seed, "hotline_talk", key)), patience, self._answered, self._talked,
            self._hung_up, horizon)
        self.redial_prob = fe.redial.prob
        self.redial_u = _uniforms(stream(seed, "hotline_redial", key))
        self.redial_delay = draws(fe.redial.delay, stream(seed, "hotline_redial_delay", key))
        self.settle_u = _uniforms(stream(seed, "hotline_settle", key))
        self.route_u = _uniforms(stream(seed, "hotline_route", key))
        self.return_u = _uniforms(stream(seed, "hotline_return", key))
        self.dispatch_time = draws(fe.dispatch_time or scenario.hotline.dispatch_delay,
                                   stream(seed, "hotline_dispatch", key))
        self.review_time = draws(fe.review_time, stream(seed, "hotline_review", key))
        policy = life.policy
        rates = fe.return_rate.as_tuple()
        self.return_p = [policy.return_rate(k, rates[i]) for i, k in enumerate(RECEIVERS)]
        self.settle = [fe.settled_by_category.get(c.name, fe.settled_on_call) for c in life.cats]
        self.route_cum = [np.cumsum(fe.routing_by_category.get(c.name, fe.routing).as_tuple())
                          .tolist() for c in life.cats]
        if fe.consultations is not None:
            spec = fe.consultations
            count = {"household": sum(s.households_per_grid * len(s.grids)
                                      for s in district.streets),
                     "grid": sum(len(s.grids) for s in district.streets),
                     "community": sum(len(s.communities) for s in district.streets),
                     "street": len(district.streets)}[spec.per]
            rate = spec.value / spec.every.hours * count
            Consultations(life.clock, self, rate,
                          weekly_profile(scenario, scenario.calendar.start.weekday()),
                          stream(seed, "hotline_consultations", key), horizon)

    # ---------------------------------------------------------------- the call
    def ring(self, call: Call) -> None:
        """A call attempt (first call or redial) reaches the queue."""
        if call.counted:
            self.counts["attempts"] += 1
            if call.visit == 0:
                self.counts["requests"] += 1
        case = call.case
        if case is not None:
            case.waiting = ON_HOLD
            self.life._emit(CALLED, case, -1)
        self.takers.offer(call)

    def _answered(self, call: Call, wait: float) -> None:
        if call.counted:
            self.counts["answered"] += 1
            self.counts["wait_sum"] += wait
        if call.case is not None:
            call.case.waiting = None
            self.life._emit(ANSWERED, call.case, -1)

    def _hung_up(self, call: Call) -> None:
        c = self.counts
        if call.counted:
            c["hung_up"] += 1
        case = call.case
        if case is not None:
            self.life._emit(HUNG_UP, case, -1)
        if self.redial_u() < self.redial_prob:
            if case is not None:
                case.waiting = REDIAL
            self.clock.after(self.redial_delay(), self.ring, call)
            return
        if call.counted:
            c["gave_up"] += 1
        if case is not None:
            self.life._gave_up(case)

    def _talked(self, call: Call) -> None:
        case = call.case
        if case is None or self.settle_u() < self.settle[case.cat.index]:
            if call.counted:
                self.counts["settled"] += 1
            if case is not None:
                self.life._settled_on_call(case)
            return
        if call.counted:
            self.counts["orders"] += 1
        case.call = call.counted  # the flag, not the call: no reference cycle per case
        self.clock.after(self.dispatch_time(), self._dispatch, case)

    # ---------------------------------------------------------------- the work order
    def _dispatch(self, case: Issue) -> None:
        u = self.route_u()
        cum = self.route_cum[case.cat.index]
        to = STREET if u < cum[0] else DISTRICT_DEPT if u < cum[1] else CITY_DEPT
        case.dispatched_to = to
        life = self.life
        unit = life.city_unit(case).code if to == CITY_DEPT else -1
        life._emit(DISPATCHED, case, unit)
        if self.return_u() < self.return_p[to]:
            if case.call:
                self.counts["returned"] += case.returns == 0
                self.counts["returns"] += 1
            case.returns += 1
            self.clock.after(self.review_time(), self._returned, case)
            return
        if case.call:
            self.counts[f"to_{RECEIVERS[to]}"] += 1
        life._receive(case, to)

    def _returned(self, case: Issue) -> None:
        self.life._emit(RETURNED, case, -1)
        self.clock.after(self.dispatch_time(), self._dispatch, case)


class FrontEnd:
    """The lifecycle's side of the 12345 front end (a mixin of
    :class:`~gridsim.model.lifecycle.Lifecycle`, as :class:`~.departments.Departments` is)."""

    clock: Any
    env: Any
    emit: Any
    s: Scenario
    policy: Any
    state: Any
    cats: list
    live: dict
    ended: Any
    seed: int
    cal: Calendars
    city: dict[tuple[str, str], Pool]
    city_shared: dict[str, Pool]
    desks: dict[str, Desk]
    pool_cls: Callable[..., Pool] = Pool
    """Makes the city departments' pools (the run sets one that has its event emitter)."""
    enter: Callable[[Issue, int], None]
    _upload: Callable[[Issue], None]
    _attempted: Callable[[Issue], None]
    _watch: Callable[[Issue], None]
    _close: Callable[[Issue], None]
    _states_start: Callable[[Issue], None]

    def build_front_end(self, d: Any, meter: Callable[..., Meter]) -> None:
        """Build district ``d``'s desk and city department crews (when the scenario has a
        front end); ``meter(name, kind, unit, calendar)`` makes a listed meter (see
        :func:`gridsim.model.org.build`)."""
        s = self.s
        if s.hotline.front_end is None:
            return
        d.city_work = {}
        for name, spec in s.city_departments.items():
            cal = self.cal.shifts[spec.shift]
            pool = self.city_shared.get(name)
            if pool is None:
                unit = f"{d.name}/city_{name}" if spec.per_district else f"city/{name}"
                pool = self.pool_cls(self.clock, unit, spec.staff, cal, meter(
                    unit, "city_department", d.name if spec.per_district else "city", cal))
                if not spec.per_district:
                    self.city_shared[name] = pool
            for c in self.cats:
                if c.name in spec.categories:
                    d.city_work[c.index] = draws(spec.work or c.dists[DISTRICT],
                                                 stream(self.seed, "city_work", d.name, c.name))
                    self.city[(d.name, c.name)] = pool
        self.desks[d.name] = Desk(self, d, s, self.cal, self.seed, meter)

    def _call_in(self, issue: Issue) -> None:
        desk = self.desks[issue.district.name]
        t = issue.t_discovered
        self.clock.at(t, desk.ring, Call(issue, t, t >= desk.warmup))

    def _emit(self, kind: int, issue: Issue, unit: int) -> None:
        if self.emit is not None:
            self.emit(kind, issue, -1, unit, self.env._now)

    def city_unit(self, issue: Issue) -> Pool:
        """The city department that owns ``issue``'s category (for its district)."""
        return self.city[(issue.district.name, issue.cat.name)]

    def _gave_up(self, issue: Issue) -> None:
        """The caller gave up: the case ends here, never reported (state ``abandoned``)."""
        issue.waiting = None
        self._emit(GAVE_UP, issue, -1)
        del self.live[issue.id]
        self.ended(issue, self.env._now, ABANDONED)

    def _settled_on_call(self, issue: Issue) -> None:
        now = self.env._now
        issue.t_uploaded = issue.t_solved = now
        issue.deadline = issue.cat.deadline_at(now)
        self._emit(SETTLED_ON_CALL, issue, -1)
        self._emit(SOLVED, issue, -1)  # at no tier
        self._close(issue)

    def _receive(self, issue: Issue, to: int) -> None:
        """The receiving unit keeps the work order."""
        if to == STREET:
            self._upload(issue)
            return
        now = self.env._now
        issue.t_uploaded = now
        issue.deadline = issue.cat.deadline_at(now)
        if issue.cat.states is not None:
            self._states_start(issue)  # gridsim.model.states
        if to == DISTRICT_DEPT:
            self._emit(UPLOADED, issue, -1)
            self.enter(issue, self.policy.received(issue, self.state))
            return
        pool = self.city_unit(issue)
        self._emit(UPLOADED, issue, pool.code)
        if self.emit is not None:
            self.emit(ENTERED, issue, DISTRICT, pool.code, now)
        issue.tier = DISTRICT
        issue.visit += 1
        if issue.enter[DISTRICT] != issue.enter[DISTRICT]:
            issue.enter[DISTRICT] = now
        if issue.t_filed != issue.t_filed:  # filed and received at once (model.stages)
            issue.t_filed = now
        if issue.t_received != issue.t_received:
            issue.t_received = now
        due_at = issue.cat.due_at[DISTRICT]
        issue.due = None if due_at is None else due_at(now)
        work = issue.district.city_work[issue.cat.index]()
        if pool.serve(issue, work, self._attempted):
            self._watch(issue)

    def call_counts(self) -> dict[str, float] | None:
        """The front end's counters summed over districts (None without a front end)."""
        if not self.desks:
            return None
        out = dict.fromkeys(COUNTERS, 0.0)
        for desk in self.desks.values():
            for k, v in desk.counts.items():
                out[k] += v
        return out
