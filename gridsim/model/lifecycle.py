"""The life of one case, from the moment a problem arises in a grid to its closure.

    arises in a grid ─▶ found on patrol (delay set by patrol coverage) / called in to 12345
      ─▶ trifle fixed on the spot by the grid worker ───────────────────────────────▶ closed
      ─▶ uploaded to the street centre, triaged and dispatched (policy: first tier)
      ─▶ handled at its tier: community · street (enforcement / office) · district departments
         (report on site, then work; jointly or one after another) · joint consultation · city
      ─▶ not solved, or still waiting at the tier's deadline: escalated (policy: next tier)
      ─▶ solved ─▶ verified by the grid worker ─▶ closed, or reopened and reworked
         (a grid without a worker: closed when solved, unverified)

Each arrow is a callback on a SimPy event: a case is a plain slotted object that moves between
pools, never a generator process. The policy is asked at the decision points named in
:mod:`gridsim.policies.base`; everything else is here.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from ..policies import TIERS, Policy
from ..scenario.distributions import Fixed
from ..scenario.expand import deadline_shift
from ..scenario.schema import Scenario
from .calendar import Calendars
from .clock import Clock
from .org import TIER_INDEX, District, Grid, Organisation
from .pools import Meeting, Pool
from .records import Recorder
from .streams import Buffered, stream

GRID, COMMUNITY, STREET, DISTRICT, JOINT, CITY = range(6)
SOURCES = ("patrol", "hotline", "above", "units")
PATROL, HOTLINE, ABOVE, UNITS = range(4)
NAN = float("nan")
LATENT, RETRY = "latent", "retry"
"""Markers for cases waiting outside any queue: not yet found, or waiting for another try."""


def _draws(dist, rng):
    """A callable giving the next draw of ``dist`` from ``rng`` (a constant needs no draws)."""
    if isinstance(dist, Fixed):
        value = dist.value.hours
        return lambda: value
    return Buffered(lambda n: dist.sample(rng, n))


def _uniform(rng, width: int = 0):
    """``n -> n uniform draws`` (rows of ``width`` when given) from ``rng``."""
    return (lambda n: rng.random((n, width))) if width else (lambda n: rng.random(n))


class Issue:
    """One case. Times are clock hours; tiers and codes are small ints (see ``records``)."""

    __slots__ = ("id", "cat", "source", "grid", "start_tier", "t_created", "t_discovered",
                 "t_reported", "enter", "leave", "t_called", "t_onsite", "n_depts", "t_solved",
                 "solved_tier", "escalations", "bounces", "reopens", "whistles", "two_way",
                 "deadline", "tier", "visit", "waiting", "held", "work", "u", "tried",
                 "pending", "holding", "arrive_max", "cur", "seq", "street", "district", "due",
                 "watched")

    def __init__(self, iid: int, cat: Any, source: int, grid: Grid, now: float):
        self.id, self.cat, self.source, self.grid = iid, cat, source, grid
        self.street = street = grid.street
        self.district = street.district
        self.t_created = now
        self.t_discovered = self.t_reported = self.t_called = self.t_onsite = self.t_solved = \
            self.deadline = NAN
        self.enter = [NAN, NAN, NAN, NAN, NAN, NAN]
        self.leave = [NAN, NAN, NAN, NAN, NAN, NAN]
        self.n_depts = self.escalations = self.bounces = self.reopens = self.whistles = \
            self.two_way = self.visit = self.held = self.tried = self.watched = 0
        self.solved_tier = self.tier = -1
        self.waiting: Any = None
        self.due: float | None = None
        # pending, holding, arrive_max and cur are set when departments are called


class CategoryRuntime:
    """A category's parameters in the shape the hot path wants (tuples, per-district samplers)."""

    def __init__(self, index: int, name: str, spec, scenario: Scenario, calendars: Calendars):
        self.index, self.name, self.spec = index, name, spec
        self.lead = 1 if spec.lead == "department" else 0
        shares = spec.tiers.as_tuple()
        self.tier_cum = []
        total = 0.0
        for p in shares:
            total += p
            self.tier_cum.append(total)
        self.tier_cum[-1] = 1.0 + 1e-12
        self.on_spot = spec.on_spot
        self.solve = (1.0, spec.solve.community, spec.solve.street, spec.solve.district,
                      spec.solve.joint, spec.solve.city)
        self.reopen = spec.reopen
        self.departments = list(spec.departments)
        self.street_unit = spec.street_unit
        self.deadline = spec.deadline
        self.deadline_at = calendars.later(spec.deadline, deadline_shift(scenario, name))
        self.due_at: list[Callable[[float], float] | None] = []  # per tier, set by Lifecycle
        self.dists = [getattr(spec.work, t) for t in TIERS]


class Lifecycle:
    """Moves cases through the organisation; owns the per-district random streams."""

    def __init__(self, clock: Clock, scenario: Scenario, policy: Policy,
                 calendars: Calendars, recorder: Recorder, seed: int):
        self.clock, self.env, self.s, self.policy = clock, clock.env, scenario, policy
        self.cal, self.rec = calendars, recorder
        self.seed = seed
        self.cats = [CategoryRuntime(i, n, c, scenario, calendars)
                     for i, (n, c) in enumerate(scenario.categories.items())]
        self.org: Organisation | None = None
        self.live: dict[int, Issue] = {}
        self.next_id = 0
        common = scenario.policy
        self.two_way = common.two_way_dispatch
        self.report_deadline = common.report_deadline.hours
        for cat in self.cats:  # each tier's deadline counts on the shift of who works there
            cat.due_at = [None if (d := policy.tier_deadline(t)) is None else calendars.later(
                d, deadline_shift(scenario, cat.name, t, policy.deadline_shift)) for t in TIERS]
        self.retry_at = calendars.later(policy.retry_delay)
        self.joint_mode = policy.joint_departments
        self.misroute = policy.misroute_prob
        self.grid_cal = calendars.shifts[scenario.roles.grid_worker]
        # the policy's routing, tabulated once: first[lead][start tier] and next[tier]
        self.first = [[TIER_INDEX[policy.first_tier(t, lead)] for t in TIERS]
                      for lead in ("street", "department")]
        self.next = [None if (n := policy.next_tier(t)) is None else TIER_INDEX[n]
                     for t in TIERS]

    # ---------------------------------------------------------------- per-district streams
    def attach(self, org: Organisation) -> None:
        """Create the random streams of every district once the organisation exists."""
        self.org = org
        s, seed = self.s, self.seed
        for d in org.districts:
            key = d.name
            d.work = [Buffered(self._work_draw(stream(seed, "work", key, c.name), c))
                      for c in self.cats]
            d.u = Buffered(_uniform(stream(seed, "draws", key), 8))
            d.rework = Buffered(_uniform(stream(seed, "rework", key)))
            d.triage = _draws(s.triage_time, stream(seed, "triage", key))
            d.verify = _draws(s.verify_time, stream(seed, "verify", key))
            d.dispatch = _draws(s.hotline.dispatch_delay, stream(seed, "dispatch", key))
            r_report = stream(seed, "report", key)
            d.report = {name: _draws(self.policy.report_time(name) or dist, r_report)
                        for name, dist in d.report_time.items()}
            fwd, bounce = self.policy.forward_delay, self.policy.bounce_delay
            r_route = stream(seed, "routing", key)
            d.forward = _draws(fwd, r_route) if fwd else None
            d.bounce = _draws(bounce, r_route) if bounce else None

    @staticmethod
    def _work_draw(rng, cat: CategoryRuntime):
        import numpy as np

        return lambda n: np.column_stack([d.sample(rng, n) for d in cat.dists])

    # ---------------------------------------------------------------- creation and discovery
    def create(self, cat: CategoryRuntime, source: int, grid: Grid, now: float) -> Issue:
        """A new case with all its own draws (the same under every policy: CRN)."""
        issue = Issue(self.next_id, cat, source, grid, now)
        self.next_id += 1
        district = issue.district
        issue.seq = district.created  # recorded; the final id is given after the run
        district.created += 1
        issue.work = district.work[cat.index]()
        u = issue.u = district.u()
        issue.start_tier = 1 + bisect_right(cat.tier_cum, u[0])
        self.live[issue.id] = issue
        return issue

    def backlog(self, cat: CategoryRuntime, grid: Grid, age: float, tier: int) -> Issue:
        """A case of the initial backlog: it arose ``age`` hours before the start, was
        reported then, and is at ``tier`` now (its deadline counts from the start)."""
        issue = self.create(cat, ABOVE, grid, -age)
        issue.t_discovered = issue.t_reported = -age
        issue.deadline = cat.deadline_at(0.0)
        self._backlogged(issue)
        self.enter(issue, tier)
        return issue

    def _backlogged(self, issue: Issue) -> None:
        """Called once a backlog case is reported, before it enters its tier (for tracing)."""

    def arrive(self, issue: Issue, patrol_delay: float | None) -> None:
        """Schedule the first step of a case that arises at ``issue.t_created`` (now or later):
        found after ``patrol_delay`` hours of patrol time (None: never), dispatched by the
        hotline, or uploaded at once."""
        src = issue.source
        t = issue.t_created
        if src == PATROL:
            issue.waiting = LATENT
            if patrol_delay is not None:
                self.clock.at(self.grid_cal.advance(t, patrol_delay), self._found, issue)
            return
        issue.t_discovered = t
        if src == HOTLINE:
            t += issue.district.dispatch()
        self.clock.at(t, self._upload, issue)

    def _found(self, issue: Issue) -> None:
        issue.waiting = None
        issue.t_discovered = self.env._now
        if issue.u[1] < issue.cat.on_spot:
            issue.tier = GRID
            issue.enter[GRID] = self.env._now
            issue.grid.pool.serve(issue, issue.work[GRID], self._fixed_on_spot)
        else:
            self._upload(issue)

    def _fixed_on_spot(self, issue: Issue) -> None:
        now = self.env._now
        issue.t_reported = now
        issue.deadline = issue.cat.deadline_at(issue.t_discovered)
        issue.leave[GRID] = issue.t_solved = now
        issue.solved_tier = GRID
        self._close(issue)

    def _upload(self, issue: Issue) -> None:
        now = self.env._now
        issue.t_reported = now
        issue.deadline = issue.cat.deadline_at(now)
        street = issue.street
        street.centre.serve(issue, street.district.triage(), self._triaged)

    def _triaged(self, issue: Issue) -> None:
        self.enter(issue, self.first[issue.cat.lead][issue.start_tier])

    # ---------------------------------------------------------------- tiers
    def enter(self, issue: Issue, tier: int) -> None:
        """Start handling ``issue`` at ``tier``."""
        now = self.env._now
        issue.tier = tier
        issue.visit += 1
        if issue.enter[tier] != issue.enter[tier]:  # first time here (NaN)
            issue.enter[tier] = now
        due_at = issue.cat.due_at[tier]
        issue.due = None if due_at is None else due_at(now)
        if tier == COMMUNITY:
            if issue.grid.community.pool.serve(issue, self._work(issue, tier), self._attempted):
                self._watch(issue)
        elif tier == STREET:
            street = issue.street
            pool = street.enforcement if issue.cat.street_unit == "enforcement" else street.office
            if pool.serve(issue, self._work(issue, tier), self._attempted):
                self._watch(issue)
        elif tier == DISTRICT:
            self._district(issue)
        elif tier == JOINT:
            issue.district.joint.submit(issue)
            self._watch(issue)
        else:
            issue.district.city.submit(issue)
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
        if issue.tried & bit:
            dist = issue.cat.dists[tier]
            district = issue.district
            return dist.mean_hours * (0.5 + district.rework())
        issue.tried |= bit
        return issue.work[tier]

    def _solve_draw(self, issue: Issue, tier: int) -> bool:
        bit = 1 << tier
        if issue.tried & bit:
            u = issue.district.rework()
        else:
            issue.tried |= bit
            u = issue.u[2 + tier - 1]
        return u < issue.cat.solve[tier]

    def _attempted(self, issue: Issue) -> None:
        if self._solve_draw(issue, issue.tier):
            self._solved(issue)
        else:
            self._escalate(issue)

    def _deadline(self, watched: tuple[Issue, int]) -> None:
        issue, visit = watched
        w = issue.waiting
        if issue.visit == visit and issue.held == 0 and isinstance(w, Pool | Meeting):
            w.withdraw(issue)
            self._escalate(issue)

    def _escalate(self, issue: Issue) -> None:
        tier = issue.tier
        issue.leave[tier] = self.env._now
        nxt = self.next[tier]
        if nxt is not None:
            issue.escalations += 1
            self.enter(issue, nxt)
        else:
            issue.waiting = RETRY
            issue.visit += 1
            self.clock.at(self.retry_at(self.env._now), self._retry, issue)

    def _retry(self, issue: Issue) -> None:
        issue.waiting = None
        self.enter(issue, issue.tier)

    # ---------------------------------------------------------------- departments
    def _district(self, issue: Issue) -> None:
        district = issue.district
        if issue.t_called != issue.t_called:
            issue.t_called = self.env._now
        if issue.cat.lead and self.two_way and issue.u[7] < self.two_way:
            issue.two_way = 1  # 双向派单: the department dispatches the field work down
            street = issue.street
            if street.enforcement.serve(issue, self._work(issue, DISTRICT), self._attempted):
                self._watch(issue)
        elif self.joint_mode:
            issue.whistles += 1
            self._call_jointly(issue, district, self._work(issue, DISTRICT), self._attempted)
        else:
            issue.pending = issue.cat.departments[::-1]
            self._forward(issue)

    # one after another, through the district hotline (baseline)
    def _forward(self, issue: Issue) -> None:
        district = issue.district
        delay = district.forward() if district.forward else 0.0
        self.clock.after(delay, self._forwarded, issue)

    def _forwarded(self, issue: Issue) -> None:
        district = issue.district
        if district.bounce and district.rework() < self.misroute:
            issue.bounces += 1
            self.clock.after(district.bounce(), self._forward, issue)
            return
        dept = issue.pending[-1]
        issue.cur = district.departments[dept]
        if issue.cur.seize(issue, self._dept_seized):
            self._watch(issue)

    def _dept_seized(self, issue: Issue) -> None:
        district = issue.district
        issue.held += 1
        dept = issue.pending[-1]
        travel = district.report[dept]()
        if issue.t_onsite != issue.t_onsite:
            issue.t_onsite = self.env._now + travel
        issue.n_depts += 1
        pool = issue.cur
        work = self._work(issue, DISTRICT) if issue.n_depts == 1 else \
            issue.cat.dists[DISTRICT].mean_hours * (0.5 + district.rework())
        end = pool.calendar.advance(self.env._now + travel, work)
        self.clock.at(end, self._dept_done, issue)

    def _dept_done(self, issue: Issue) -> None:
        issue.held -= 1
        issue.cur.release()
        issue.pending.pop()
        if issue.pending:
            self._forward(issue)
        else:
            self._attempted(issue)

    # jointly, in one visit (whistle, joint consultation, city)
    def _call_jointly(self, issue: Issue, district: District, work: float, then) -> None:
        issue.pending = sorted(issue.cat.departments, reverse=True)
        issue.holding = []
        issue.arrive_max = self.env._now
        issue.cur = (work, then)
        self._seize_next(issue)

    def _seize_next(self, issue: Issue) -> None:
        district = issue.district
        if issue.pending:
            dept = issue.pending.pop()
            pool = district.departments[dept]
            issue.holding.append((dept, pool))
            if pool.seize(issue, self._joint_seized):
                self._watch(issue)
            return
        if issue.t_onsite != issue.t_onsite:
            issue.t_onsite = issue.arrive_max
        issue.n_depts += len(issue.holding)
        self.clock.at(issue.arrive_max, self._joint_work, issue)

    def _joint_seized(self, issue: Issue) -> None:
        district = issue.district
        issue.held += 1
        dept, _ = issue.holding[-1]
        arrive = self.env._now + district.report[dept]()
        if arrive > issue.arrive_max:
            issue.arrive_max = arrive
        self._seize_next(issue)

    def _joint_work(self, issue: Issue) -> None:
        work, _then = issue.cur
        lead_pool = issue.holding[0][1]
        end = lead_pool.calendar.advance(self.env._now, work)
        self.clock.at(end, self._joint_done, issue)

    def _joint_done(self, issue: Issue) -> None:
        for _, pool in issue.holding:
            pool.release()
        issue.held = 0
        issue.holding = []
        _, then = issue.cur
        issue.cur = None
        then(issue)

    # ---------------------------------------------------------------- meetings
    def decide_at_meeting(self, issue: Issue) -> None:
        """The joint consultation or city meeting takes the case up."""
        tier = issue.tier
        if self._solve_draw(issue, tier):
            district = issue.district
            self._call_jointly(issue, district, self._work(issue, tier), self._solved)
        else:
            self._escalate(issue)

    # ---------------------------------------------------------------- solved, verified, closed
    def _solved(self, issue: Issue) -> None:
        now = self.env._now
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
        district = issue.district
        if district.rework() < issue.cat.reopen:
            issue.reopens += 1
            issue.solved_tier = -1
            issue.t_solved = float("nan")
            self.enter(issue, issue.tier)
        else:
            self._close(issue)

    def _close(self, issue: Issue) -> None:
        del self.live[issue.id]
        self.rec.write(issue, self.env._now, 0)
