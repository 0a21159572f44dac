"""How district departments do a case's work, the mechanisms a policy chooses between
(:meth:`gridsim.policies.Policy.who`): one after another, each forwarded through the district
hotline (where a case may reach the wrong department and bounce back); jointly, all called at
once to one visit (a whistle, and the work a meeting convenes); or the street enforcement team
acting with the department's powers (双向派单).

A mixin of :class:`~gridsim.model.lifecycle.Lifecycle`: these methods use its clock, draws,
``emit`` and ``_work``/``_attempted``/``_watch``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .case import Issue
from .trace import BOUNCED, DEPT_CALLED, DEPT_ONSITE


class Departments:
    """The department mechanisms of the lifecycle."""

    clock: Any
    env: Any
    emit: Any
    misroute_prob: float
    _work: Callable[[Issue, int], float]
    _attempted: Callable[[Issue], None]
    _watch: Callable[[Issue], None]

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
        self._call_jointly(issue, self._work(issue, tier), self._attempted)

    # ---------------------------------------------------------------- one after another
    def _in_turn(self, issue: Issue, tier: int) -> None:
        self._called(issue)
        issue.pending = issue.cat.departments[::-1]
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
        issue.cur = district.departments[dept]
        if issue.t_received != issue.t_received:  # the first department has it
            issue.t_received = self.env._now
        if issue.cur.seize(issue, self._dept_seized):
            self._watch(issue)

    def _dept_seized(self, issue: Issue) -> None:
        district = issue.district
        issue.held += 1
        dept = issue.pending[-1]
        travel = district.report[dept]()
        now = self.env._now
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
            self._forward(issue)
        else:
            self._attempted(issue)

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
