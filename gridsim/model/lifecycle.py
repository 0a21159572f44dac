"""The life of one case, from the moment a problem arises in a grid to its closure.

    arises in a grid ─▶ found on patrol (delay set by patrol coverage) / called in to 12345
      ─▶ trifle fixed on the spot by the grid worker ───────────────────────────────▶ closed
      ─▶ uploaded to the street centre, triaged and dispatched (policy: dispatch)
      ─▶ handled at its tier by whoever the policy names (policy: who): community · street team
         · departments in turn or jointly · the street with a department's powers · a meeting
      ─▶ not solved (policy: failed), or still waiting at the tier's deadline (policy: overdue):
         on to another tier, or retried at the same one later
      ─▶ solved ─▶ verified by the grid worker ─▶ closed, or reopened and reworked
         (a grid without a worker: closed when solved, unverified)
      ─▶ after any service: back to the street centre for re-dispatch (gridsim.model.loops)

Each arrow is a callback on a SimPy event: a case is a plain slotted object that moves between
pools, never a generator process. The policy is asked at the decision points named in
:mod:`gridsim.policies.base` and the lifecycle does what it answers; it never looks at which
policy runs. Each transition is emitted once (:mod:`gridsim.model.trace`) when anything listens.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import repeat

import numpy as np

from ..distributions import Fixed
from ..plan import Plan
from ..policies import TIERS, State
from ..policies.base import (
    ASSISTED,
    COMMUNITY_STAFF,
    GRID,
    IN_TURN,
    JOINT,
    JOINTLY,
    MEETING,
    STREET_POWERS,
    STREET_TEAM,
)
from .case import ABOVE, HOTLINE, LATENT, PATROL, RETRY, SOURCES, UNITS, CategoryRuntime, Issue
from .clock import Clock
from .departments import Departments
from .hotline import FrontEnd
from .loops import Loops
from .org import Grid, Organisation
from .pools import Meeting, Pool
from .resident import ResidentSide
from .states import States, states_runtime
from .streams import Buffered, named_columns, stream
from .trace import (
    CLOSED,
    CREATED,
    DEADLINE,
    DISCOVERED,
    ENTERED,
    ESCALATED,
    OVERDUE,
    REOPENED,
    SOLVED,
    UNSOLVED,
    UPLOADED,
    Ender,
    Listener,
)
from .trace import RETRY as RETRIED
from .variants import attach_variants
from .workday import YieldingPatrol

CASE_DRAWS = ("start_tier", "on_spot", *(f"solve_{t}" for t in TIERS[1:]), "reopen")
"""The uniform draws every case gets when it is created, by name: its starting tier, whether it
is fixed on the spot, the first solve attempt at each tier and whether its first verification
fails (a policy adds its own). Drawn per case, not when the decision comes, so that the same case
gets the same draw under every policy (common random numbers)."""
START, ON_SPOT = CASE_DRAWS.index("start_tier"), CASE_DRAWS.index("on_spot")
SOLVE = CASE_DRAWS.index("solve_community") - 1  # u[SOLVE + tier]: first attempt at ``tier``
REOPEN = CASE_DRAWS.index("reopen")
VERIFIED = 1 << 16  # in ``Issue.tried``: verified once (later verifications draw as they come)

__all__ = ["ABOVE", "CASE_DRAWS", "HOTLINE", "LATENT", "PATROL", "RETRY", "SOURCES", "UNITS",
           "CategoryRuntime", "Issue", "Lifecycle"]


def _draws(dist, rng):
    """A callable giving the next draw of ``dist`` from ``rng`` (a constant needs no draws)."""
    if isinstance(dist, Fixed):  # a C-level callable: no Python frame per draw
        return repeat(dist.value.hours).__next__
    return Buffered(lambda n: dist.sample(rng, n))


def _uniform(rng):
    """``n -> n uniform draws`` from ``rng``."""
    return lambda n: rng.random(n)


class Lifecycle(FrontEnd, Departments, Loops, States, ResidentSide):
    """Moves cases through the organisation; owns the per-district random streams, one per
    random decision (:func:`~gridsim.model.streams.named_columns` for the draws every case
    gets when it is created, the same under every policy; one stream each for those drawn
    when they happen: another solve attempt, a reopen, a misroute, more work, a return to the
    centre and its re-dispatch, a repeated visit's work: :mod:`gridsim.model.loops`).

    ``emit``: the run's :attr:`~gridsim.model.trace.Emitter.emit` (None: nothing listens);
    ``ended``: its :attr:`~gridsim.model.trace.Emitter.ended` (the case rows listen).
    """

    def __init__(self, clock: Clock, plan: Plan, ended: Ender, seed: int,
                 emit: Listener | None = None):
        scenario, policy, calendars = plan.scenario, plan.policy, plan.calendars
        self.clock, self.env, self.s, self.policy = clock, clock.env, scenario, policy
        self.cal, self.ended = calendars, ended
        self.seed = seed
        self.emit = emit
        self.state = State(clock.env)
        self.cats = [CategoryRuntime(i, n, c, plan)
                     for i, (n, c) in enumerate(scenario.categories.items())]
        for cat in self.cats:
            cat.states = states_runtime(cat.name, cat.spec, plan)
        self.org: Organisation | None = None
        self.live: dict[int, Issue] = {}
        self.desks, self.city, self.city_shared = {}, {}, {}  # the 12345 front end's units
        self.next_id = 0
        self.retry_at = plan.retry_at
        self.misroute_prob = policy.misroute_prob
        self.grid_cal = calendars.shifts[scenario.roles.grid_worker]
        self.patrol_yields: YieldingPatrol | None = None  # when patrol.yields_to_cases
        self.draw_names = (*CASE_DRAWS, *policy.case_draws)
        policy.attach({name: i for i, name in enumerate(self.draw_names)})
        self._dispatch, self._who = policy.dispatch, policy.who
        self._failed, self._overdue = policy.failed, policy.overdue
        self._work_at = {COMMUNITY_STAFF: self._community, STREET_TEAM: self._street,
                         IN_TURN: self._in_turn, JOINTLY: self._jointly,
                         STREET_POWERS: self._street_powers, MEETING: self._meeting,
                         ASSISTED: self._assisted}
        self._setup_departments(plan)  # department behaviour and appraisal (departments.py)
        self._resident_init(plan)  # gridsim.model.resident (resident: None: off)

    # ---------------------------------------------------------------- per-district streams
    def attach(self, org: Organisation) -> None:
        """Create the random streams of every district once the organisation exists."""
        self.org = org
        attach_variants(self.cats, org)
        s, seed = self.s, self.seed
        for d in org.districts:
            key = d.name
            d.work = [Buffered(self._work_draw(stream(seed, "work", key, c.name), c))
                      for c in self.cats]
            d.u = Buffered(named_columns(seed, self.draw_names, key))
            # decisions drawn when they happen, each from its own stream
            d.retry_solve = Buffered(_uniform(stream(seed, "retry_solve", key)))
            d.reopen = Buffered(_uniform(stream(seed, "reopen", key)))
            d.misroute = Buffered(_uniform(stream(seed, "misroute", key)))
            d.more_work = Buffered(_uniform(stream(seed, "more_work", key)))
            d.back_to_centre = Buffered(_uniform(stream(seed, "back_to_centre", key)))
            d.redispatch = Buffered(_uniform(stream(seed, "redispatch", key)))
            self._attach_states(d)  # extension, suspension, rejection (gridsim.model.states)
            d.rework = [None] * len(self.cats)  # per category, made when first needed
            d.triage = _draws(s.triage_time, stream(seed, "triage", key))
            d.verify = _draws(s.verify_time, stream(seed, "verify", key))
            d.dispatch = _draws(s.hotline.dispatch_delay, stream(seed, "dispatch", key))
            r_report = stream(seed, "report", key)
            d.report = {name: _draws(self.policy.report_time(name) or dist, r_report)
                        for name, dist in d.report_time.items()}
            fwd, bounce = self.policy.forward_delay, self.policy.bounce_delay
            d.forward = _draws(fwd, stream(seed, "forward", key)) if fwd else None
            d.bounce = _draws(bounce, stream(seed, "bounce", key)) if bounce else None
            self._attach_departments(d, seed)
            if self.resident is not None:
                self._resident_streams(d)

    @staticmethod
    def _work_draw(rng, cat: CategoryRuntime):
        return lambda n: np.column_stack([d.sample(rng, n) for d in cat.dists])

    # ---------------------------------------------------------------- creation and discovery
    def create(self, cat: CategoryRuntime, source: int, grid: Grid, now: float) -> Issue:
        """A new case with all its own draws (the same under every policy: CRN); it carries
        its community's variant of ``cat`` if the community has one."""
        variants = grid.community.cats
        if variants is not None:
            cat = variants[cat.index]
        issue = Issue(self.next_id, cat, source, grid, now)
        self.next_id += 1
        district = issue.district
        issue.seq = district.created  # recorded; the final id is given after the run
        district.created += 1
        issue.work = district.work[cat.index]()
        if cat.work_scale is not None:  # the unit's work-time scale, on the same draws
            issue.work = [w * k for w, k in zip(issue.work, cat.work_scale, strict=True)]
        u = issue.u = district.u()
        issue.start_tier = 1 + bisect_right(cat.tier_cum, u[START])
        self.live[issue.id] = issue
        if self.emit is not None:
            self.emit(CREATED, issue, -1, -1, now)
        return issue

    def backlog(self, cat: CategoryRuntime, grid: Grid, age: float, tier: int) -> Issue:
        """A case of the initial backlog: it arose ``age`` hours before the start, was
        reported then, and is at ``tier`` now (its deadline counts from the start)."""
        issue = self.create(cat, ABOVE, grid, -age)
        issue.t_discovered = issue.t_uploaded = -age
        issue.deadline = cat.deadline_at(0.0)
        if cat.states is not None:
            self._states_start(issue)
        if self.emit is not None:
            self.emit(DISCOVERED, issue, -1, -1, -age)
            self.emit(UPLOADED, issue, -1, issue.street.centre.code, -age)
        self.enter(issue, tier)
        return issue

    def arrive(self, issue: Issue, patrol_delay: float | None) -> None:
        """Schedule the first step of a case that arises at ``issue.t_created`` (now or later):
        found after ``patrol_delay`` hours of patrol time (None: never), dispatched by the
        hotline, or uploaded at once."""
        src = issue.source
        t = issue.t_created
        if src == PATROL:
            issue.waiting = LATENT
            if patrol_delay is not None:
                if self.patrol_yields is not None:  # patrol pauses for case work
                    self.patrol_yields.start(issue, t, patrol_delay)
                    return
                self.clock.at(self.grid_cal.advance(t, patrol_delay), self._found, issue)
            return
        issue.t_discovered = t
        if self.emit is not None:
            self.emit(DISCOVERED, issue, -1, -1, t)
        if src == HOTLINE:
            self._hotline_call(issue)
        else:
            self.clock.at(t, self._upload, issue)

    def _hotline_call(self, issue: Issue) -> None:
        """A resident calls 12345 about ``issue`` at ``issue.t_discovered``: the front end takes
        the call (:mod:`gridsim.model.hotline`), or without one the platform dispatches it to
        the street centre after its dispatch delay."""
        if self.desks:
            self._call_in(issue)
            return
        self.clock.at(issue.t_discovered + issue.district.dispatch(), self._upload, issue)

    def _found(self, issue: Issue) -> None:
        now = self.env._now
        issue.waiting = None
        issue.t_discovered = now
        emit = self.emit
        if emit is not None:
            emit(DISCOVERED, issue, -1, -1, now)
        day = issue.grid.pool.tally  # the grid worker's day (gridsim.model.workday)
        if day is not None:
            day.found_at(now)
        if issue.u[ON_SPOT] < issue.cat.on_spot:
            issue.tier = GRID
            issue.enter[GRID] = now
            pool = issue.grid.pool
            if emit is not None:
                emit(ENTERED, issue, GRID, pool.code, now)
            pool.serve(issue, issue.work[GRID], self._fixed_on_spot)
        else:
            self._upload(issue)

    def _fixed_on_spot(self, issue: Issue) -> None:
        now = self.env._now
        if self.emit is not None:
            self.emit(SOLVED, issue, GRID, issue.grid.pool.code, now)
        day = issue.grid.pool.tally
        if day is not None:
            day.fixed_at(now)
        issue.t_uploaded = now
        issue.deadline = issue.cat.deadline_at(issue.t_discovered)
        issue.leave[GRID] = issue.t_solved = now
        issue.solved_tier = GRID
        self._close(issue)

    def _upload(self, issue: Issue) -> None:
        now = self.env._now
        street = issue.street
        if self.emit is not None:
            self.emit(UPLOADED, issue, -1, street.centre.code, now)
        issue.t_uploaded = now
        issue.deadline = issue.cat.deadline_at(now)
        if issue.cat.states is not None:
            self._states_start(issue)
        street.centre.serve(issue, street.district.triage(), self._triaged)

    def _triaged(self, issue: Issue) -> None:
        if issue.cat.states is not None and self._at_triage(issue):
            return  # not filed, or suspended (gridsim.model.states)
        self.enter(issue, self._dispatch(issue, self.state))

    # ---------------------------------------------------------------- tiers
    def enter(self, issue: Issue, tier: int) -> None:
        """Start handling ``issue`` at ``tier``, by whoever the policy says does the work."""
        now = self.env._now
        if self.emit is not None:
            self.emit(ENTERED, issue, tier, -1, now)
        issue.tier = tier
        issue.visit += 1
        if issue.enter[tier] != issue.enter[tier]:  # first time here (NaN)
            issue.enter[tier] = now
            if issue.t_filed != issue.t_filed:  # its first tier: filed (gridsim.model.stages)
                issue.t_filed = now
        due_at = issue.cat.due_at[tier]
        issue.due = None if due_at is None else due_at(now)
        who = self._who(issue, tier, self.state)
        if who != IN_TURN and issue.t_received != issue.t_received:  # the unit has it
            issue.t_received = now  # (in turn: when forwarded to the first department)
        self._work_at[who](issue, tier)

    def _community(self, issue: Issue, tier: int) -> None:
        if issue.grid.community.pool.serve(issue, self._work(issue, tier), self._attempted):
            self._watch(issue)

    def _street(self, issue: Issue, tier: int) -> None:
        street = issue.street
        pool = street.enforcement if issue.cat.street_unit == "enforcement" else street.office
        if pool.serve(issue, self._work(issue, tier), self._attempted):
            self._watch(issue)

    def _meeting(self, issue: Issue, tier: int) -> None:
        district = issue.district
        (district.joint if tier == JOINT else district.city).submit(issue)
        self._watch(issue)

    def _watch(self, issue: Issue) -> None:
        """``issue`` waits in a queue at its tier: escalate it if it still waits at the tier's
        deadline. Only waiting cases get a deadline event (one per visit), not every entry."""
        due = issue.due
        if due is not None and issue.watched != issue.visit and issue.held == 0:
            now = self.env._now
            if due > now:
                issue.watched = issue.visit
                self.clock.at(due, self._deadline, (issue, issue.visit))

    def _work(self, issue: Issue, tier: int) -> float:
        bit = 1 << (tier + 8)
        if issue.tried & bit:  # a repeated visit: a fresh draw
            return self._rework(issue, tier)
        issue.tried |= bit
        return issue.work[tier]

    def _solve_draw(self, issue: Issue, tier: int) -> bool:
        bit = 1 << tier
        if issue.tried & bit:
            u = issue.district.retry_solve()
        else:
            issue.tried |= bit
            u = issue.u[SOLVE + tier]
        return u < issue.cat.solve[tier]

    def _attempted(self, issue: Issue) -> None:
        if issue.cat.back[issue.tier] and self._sent_back(issue):  # most are never sent back
            return
        if self._solve_draw(issue, issue.tier):
            self._solved(issue)
        else:
            self._escalate(issue)

    def _deadline(self, watched: tuple[Issue, int]) -> None:
        issue, visit = watched
        w = issue.waiting
        if issue.visit == visit and issue.held == 0 and (isinstance(w, Pool | Meeting)
                                                         or w is RETRY):
            if w is RETRY:  # a call the departments did not answer (departments.py)
                issue.waiting = None
            else:
                w.withdraw(issue)
            self._move_on(issue, self._overdue(issue, issue.tier, self.state), DEADLINE,
                          OVERDUE)

    def _escalate(self, issue: Issue) -> None:
        if self.explain is not None and self._explained(issue):  # closed with an explanation
            return
        if issue.cat.states is not None and self._suspend_on_failure(issue):
            return
        self._move_on(issue, self._failed(issue, issue.tier, self.state), ESCALATED, UNSOLVED)

    def _move_on(self, issue: Issue, nxt: int | None, moved: int, stays: int) -> None:
        """``issue`` leaves its tier for ``nxt`` (event ``moved``), or (None) stays and is
        tried there again after the policy's retry delay (event ``stays``)."""
        tier = issue.tier
        now = self.env._now
        if self.emit is not None:
            self.emit(moved if nxt is not None else stays, issue, tier, -1, now)
        issue.leave[tier] = now
        if nxt is not None:
            issue.escalations += 1
            self.enter(issue, nxt)
        else:
            issue.waiting = RETRY
            issue.visit += 1
            self.clock.at(self.retry_at(now), self._retry, issue)

    def _retry(self, issue: Issue) -> None:
        if self.emit is not None:
            self.emit(RETRIED, issue, issue.tier, -1, self.env._now)
        issue.waiting = None
        self.enter(issue, issue.tier)

    # ---------------------------------------------------------------- meetings
    def decide_at_meeting(self, issue: Issue) -> None:
        """The joint consultation or city meeting takes the case up."""
        tier = issue.tier
        if issue.cat.back[tier] and self._sent_back(issue):
            return
        if self._solve_draw(issue, tier):
            self._call_jointly(issue, self._work(issue, tier), self._solved)
        else:
            self._escalate(issue)

    # ---------------------------------------------------------------- solved, verified, closed
    def _solved(self, issue: Issue) -> None:
        now = self.env._now
        if self.emit is not None:
            self.emit(SOLVED, issue, issue.tier, -1, now)
        issue.t_solved = now
        issue.solved_tier = issue.tier
        issue.leave[issue.tier] = now
        issue.visit += 1  # the tier's deadline no longer applies while it waits to be verified
        pool = issue.grid.pool
        if pool.capacity:
            pool.serve(issue, issue.district.verify(), self._verified)
        else:  # a grid without a worker: nobody verifies, the case closes as solved
            self._close(issue)

    def _verified(self, issue: Issue) -> None:
        day = issue.grid.pool.tally
        if day is not None:
            day.verified_at(self.env._now)
        if issue.tried & VERIFIED:
            u = issue.district.reopen()
        else:
            issue.tried |= VERIFIED
            u = issue.u[REOPEN]
        if u < issue.cat.reopen:
            issue.reopens += 1
            issue.solved_tier = -1
            issue.t_solved = float("nan")
            if self.emit is not None:
                self.emit(REOPENED, issue, issue.tier, -1, self.env._now)
            if issue.cat.reopen_at_centre:
                self._to_centre(issue)
            else:
                self.enter(issue, issue.tier)
        else:
            issue.t_verified = self.env._now
            self._close(issue)

    def _close(self, issue: Issue) -> None:
        if self.resident is not None and self._closing(issue):  # kept for its callback
            return
        if self.emit is not None:
            self.emit(CLOSED, issue, -1, -1, self.env._now)
        del self.live[issue.id]
        self.ended(issue, self.env._now, 0)
