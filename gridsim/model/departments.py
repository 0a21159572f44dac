"""How district departments do a case's work, the mechanisms a policy chooses between
(:meth:`gridsim.policies.Policy.who`): one after another, each forwarded through the district
hotline (where a case may reach the wrong department and bounce back); jointly, all called at
once to one visit (a whistle, and the work a meeting convenes); or the street enforcement team
acting with the department's powers (双向派单).

A called department may not answer (its ``report_rate``): the call lapses, the case waits
(``RETRY``: a tier deadline may move it on) and the street calls again after
``policy.recall_delay``; a department on a joint visit may not do its part (its
``cooperation``): the visit fails and the case goes where the policy's ``failed`` hook sends it.
When the policy's ``unanswered`` hook gives up calling, the case goes where ``failed`` sends it.
Meetings convene departments on their own authority: neither applies there. Each department's
record (:class:`~gridsim.model.appraisal.DeptState`) counts calls, arrivals, joint visits and
the cases it led, and under a policy with appraisal feeds back into its behaviour.

A mixin of :class:`~gridsim.model.lifecycle.Lifecycle`: these methods use its clock, draws,
``emit`` and ``_work``/``_attempted``/``_watch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .appraisal import TICKS, DeptState
from .case import RETRY, Issue
from .streams import Buffered, stream
from .trace import BOUNCED, DEPT_CALLED, DEPT_ONSITE


def _uniform(rng: Any) -> Callable[[int], Any]:
    return lambda n: rng.random(n)


CASE, SOLVED = 1, 2
"""``Issue.appraised`` flags: counted as its departments' case; counted as solved by them."""


class Departments:
    """The department mechanisms of the lifecycle."""

    clock: Any
    env: Any
    emit: Any
    misroute_prob: float
    _work: Callable[[Issue, int], float]
    _attempted: Callable[[Issue], None]
    _watch: Callable[[Issue], None]
    _escalate: Callable[[Issue], None]
    state: Any

    # ---------------------------------------------------------------- department records
    def _setup_departments(self, plan: Any) -> None:
        """Read the departments' behaviour and the policy's appraisal (once per run)."""
        self.dept_specs = {p.name: p.departments for p in plan.districts}
        self.dept_warmup = plan.scenario.warmup.hours
        self.report_deadline = plan.policy.common.report_deadline.hours + 1e-9
        self.recall_delay = plan.policy.common.recall_delay.hours
        self.appraisal = plan.policy.appraisal
        self._unanswered = plan.policy.unanswered

    def _attach_departments(self, d: Any, seed: int) -> None:
        """Give district ``d`` its departments' records and the streams of their decisions."""
        d.dept = {name: DeptState(name, spec.report_rate, spec.cooperation)
                  for name, spec in self.dept_specs[d.name].items()}
        d.answer = Buffered(_uniform(stream(seed, "report_rate", d.name)))
        d.cooperate = Buffered(_uniform(stream(seed, "cooperation", d.name)))

    def dept_counts(self) -> dict[str, list[int]]:
        """The KPI counters of every department, keyed ``<district>/<department>``."""
        return {f"{d.name}/{name}": list(ds.k)
                for d in self.org.districts for name, ds in d.dept.items()}

    def _answers(self, issue: Issue, ds: DeptState) -> bool:
        """The department ``ds`` is called to ``issue``: does it answer?"""
        ok = ds.report_rate >= 1.0 or issue.district.answer() < ds.report_rate
        ds.n_calls += 1
        if issue.t_created >= self.dept_warmup:
            ds.k[0] += 1
            if ok:
                ds.k[1] += 1
        if ok:
            ds.n_answered += 1
        if self.appraisal is not None:
            ds.refresh(self.appraisal)
        return ok

    def _reported(self, issue: Issue, ds: DeptState, arrive: float) -> None:
        """The department ``ds``, called at ``issue.dept_call``, is on site at ``arrive``."""
        if issue.t_created >= self.dept_warmup:
            t = arrive - issue.dept_call
            k = ds.k
            k[2] += 1
            k[3] += round(t * TICKS)
            if t <= self.report_deadline:
                k[4] += 1

    def _lapse(self, issue: Issue, again: Callable[[Issue], None]) -> None:
        """A call went unanswered: the case waits; the street calls again (``again``) after the
        recall delay unless the tier's deadline moves it on first."""
        issue.dept_visit = -1
        visit, n = issue.lapses
        n = n + 1 if visit == issue.visit else 1
        issue.lapses = (issue.visit, n)
        if self._unanswered(issue, issue.tier, n, self.state):  # the policy gives up calling
            self._escalate(issue)
            return
        issue.waiting = RETRY
        self.clock.after(self.recall_delay, self._recall, (issue, issue.visit, again))
        self._watch(issue)

    def _recall(self, arg: tuple[Issue, int, Callable[[Issue], None]]) -> None:
        issue, visit, again = arg
        if issue.visit == visit and issue.waiting is RETRY:
            issue.waiting = None
            again(issue)

    def _led(self, issue: Issue) -> None:
        """The departments' visit (in turn or jointly, leading it) is over: count the case as
        theirs, then try to solve it; if solved here, credit them."""
        depts = issue.district.dept
        counted = issue.t_created >= self.dept_warmup
        flags = issue.appraised
        if not flags & CASE:
            issue.appraised = flags = flags | CASE
            for name in issue.cat.departments:
                ds = depts[name]
                ds.n_cases += 1
                if counted:
                    ds.k[7] += 1
        issue.dept_visit = -1
        tier, now = issue.tier, self.env._now
        self._attempted(issue)
        if issue.solved_tier == tier and issue.t_solved == now and not flags & SOLVED:
            issue.appraised |= SOLVED
            for name in issue.cat.departments:
                ds = depts[name]
                ds.n_solved += 1
                if counted:
                    ds.k[8] += 1
        if self.appraisal is not None:
            for name in issue.cat.departments:
                depts[name].refresh(self.appraisal)

    def _cooperated(self, issue: Issue) -> bool:
        """Each department on the joint visit does its part, or not: did all?"""
        district = issue.district
        counted = issue.t_created >= self.dept_warmup
        ok = True
        for dept in issue.cat.departments:
            ds = district.dept[dept]
            done = ds.cooperation >= 1.0 or district.cooperate() < ds.cooperation
            ds.n_joint += 1
            if counted:
                ds.k[5] += 1
            if done:
                ds.n_cooperated += 1
                if counted:
                    ds.k[6] += 1
            else:
                ok = False
            if self.appraisal is not None:
                ds.refresh(self.appraisal)
        return ok

    def _all_answer(self, issue: Issue) -> bool:
        """The street whistles to all the case's departments: do all answer? (Each counts its
        own call; those that answered are not held while the others are called again.)"""
        depts = issue.district.dept
        ok = True
        for name in issue.cat.departments:
            if not self._answers(issue, depts[name]):
                ok = False
        return ok

    def _called(self, issue: Issue) -> None:
        """The tier calls the case's departments (the first call is ``t_dept_called``)."""
        now = self.env._now
        if self.emit is not None:
            self.emit(DEPT_CALLED, issue, issue.tier, -1, now)
        if issue.t_called != issue.t_called:
            issue.t_called = now

    def _street_powers(self, issue: Issue, tier: int) -> None:
        self._called(issue)
        issue.two_way = 1  # 双向派单: the department dispatches the field work down
        if issue.street.enforcement.serve(issue, self._work(issue, tier), self._attempted):
            self._watch(issue)

    def _jointly(self, issue: Issue, tier: int) -> None:
        self._called(issue)
        issue.whistles += 1
        if not self._all_answer(issue):
            self._lapse(issue, self._rewhistle)
            return
        issue.dept_call, issue.dept_visit = self.env._now, issue.visit
        self._call_jointly(issue, self._work(issue, tier), self._whistled_done)

    def _rewhistle(self, issue: Issue) -> None:
        self._jointly(issue, issue.tier)

    def _whistled_done(self, issue: Issue) -> None:
        """A whistled joint visit is over: it failed if a department did not do its part."""
        if self._cooperated(issue):
            self._led(issue)
        else:
            issue.dept_visit = -1
            self._escalate(issue)

    # ---------------------------------------------------------------- the street leads, assisted
    def _assisted(self, issue: Issue, tier: int) -> None:
        """The street's own team leads a joint visit; the case's departments are called to
        assist (a street-led case under the lead split)."""
        self._called(issue)
        issue.whistles += 1
        if not self._all_answer(issue):
            self._lapse(issue, self._reassist)
            return
        now = self.env._now
        issue.dept_call, issue.dept_visit = now, issue.visit
        street = issue.street
        pool = street.enforcement if issue.cat.street_unit == "enforcement" else street.office
        issue.pending = sorted(issue.cat.departments, reverse=True)
        issue.holding = [(None, pool)]
        issue.arrive_max = now
        issue.cur = (self._work(issue, tier), self._assisted_done)
        if pool.seize(issue, self._lead_seized):
            self._watch(issue)

    def _reassist(self, issue: Issue) -> None:
        self._assisted(issue, issue.tier)

    def _lead_seized(self, issue: Issue) -> None:
        issue.held += 1
        issue.n_depts -= 1  # the street team is no department (``_seize_next`` counts holding)
        self._seize_next(issue)

    def _assisted_done(self, issue: Issue) -> None:
        issue.dept_visit = -1
        if self._cooperated(issue):
            self._attempted(issue)  # the street's case: not the departments' resolution
        else:
            self._escalate(issue)

    # ---------------------------------------------------------------- one after another
    def _in_turn(self, issue: Issue, tier: int) -> None:
        self._called(issue)
        issue.pending = issue.cat.departments[::-1]
        issue.dept_call, issue.dept_visit = self.env._now, issue.visit
        self._forward(issue)

    def _reforward(self, issue: Issue) -> None:
        issue.dept_call, issue.dept_visit = self.env._now, issue.visit
        self._forward(issue)

    def _forward(self, issue: Issue) -> None:
        district = issue.district
        delay = district.forward() if district.forward else 0.0
        self.clock.after(delay, self._forwarded, issue)

    def _forwarded(self, issue: Issue) -> None:
        district = issue.district
        if district.bounce and district.misroute() < self.misroute_prob:
            issue.bounces += 1
            self.clock.after(district.bounce(), self._forward, issue)
            if self.emit is not None:
                self.emit(BOUNCED, issue, issue.tier, -1, self.env._now)
            return
        dept = issue.pending[-1]
        if not self._answers(issue, district.dept[dept]):
            self._lapse(issue, self._reforward)
            return
        issue.cur = district.departments[dept]
        if issue.t_received != issue.t_received:  # the first department has it
            issue.t_received = self.env._now
        if issue.cur.seize(issue, self._dept_seized):
            self._watch(issue)

    def _dept_seized(self, issue: Issue) -> None:
        district = issue.district
        issue.held += 1
        dept = issue.pending[-1]
        ds = district.dept[dept]
        travel = district.report[dept]()
        if ds.travel != 1.0:
            travel *= ds.travel
        now = self.env._now
        self._reported(issue, ds, now + travel)
        if issue.t_onsite != issue.t_onsite:
            issue.t_onsite = now + travel
            if issue.t_on_site != issue.t_on_site:
                issue.t_on_site = issue.t_onsite
        issue.n_depts += 1
        pool = issue.cur
        work = self._work(issue, issue.tier) if issue.n_depts == 1 else \
            issue.cat.dists[issue.tier].mean_hours * (0.5 + district.more_work())
        end = pool.calendar.advance(now + travel, work)
        self.clock.at(end, self._dept_done, issue)
        if self.emit is not None:
            self.emit(DEPT_ONSITE, issue, issue.tier, pool.code, now + travel)

    def _dept_done(self, issue: Issue) -> None:
        issue.held -= 1
        issue.cur.release()
        issue.pending.pop()
        if issue.pending:
            issue.dept_call = self.env._now
            self._forward(issue)
        else:
            self._led(issue)

    # ---------------------------------------------------------------- jointly, in one visit
    def _call_jointly(self, issue: Issue, work: float, then: Callable[[Issue], None]) -> None:
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
            if issue.t_on_site != issue.t_on_site:
                issue.t_on_site = issue.arrive_max
        issue.n_depts += len(issue.holding)
        self.clock.at(issue.arrive_max, self._joint_work, issue)
        if self.emit is not None:  # the joint work starts when the last crew is on site
            self.emit(DEPT_ONSITE, issue, issue.tier, -1, issue.arrive_max)

    def _joint_seized(self, issue: Issue) -> None:
        district = issue.district
        issue.held += 1
        dept, _ = issue.holding[-1]
        travel = district.report[dept]()
        if issue.dept_visit == issue.visit:  # called by the street (not convened by a meeting)
            ds = district.dept[dept]
            if ds.travel != 1.0:
                travel *= ds.travel
            arrive = self.env._now + travel
            self._reported(issue, ds, arrive)
        else:
            arrive = self.env._now + travel
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
