"""The resident's side: a case closed with an explanation, the handler's first contact with the
caller (响应), and the 12345 callback (回访) after closure, which may reopen the case.

    failed attempt at a tier ─▶ closed with an explanation (resident.explanation, per tier)
                                 solved_in_fact = 0, no verification
    a 12345 work order closes ─▶ response recorded: contacted within resident.response.limit?
      ─▶ callback after callback.delay ─▶ not reached: recorded as closed
                                       ─▶ reached: satisfied (a logistic probability) ─▶ recorded
                                       ─▶ dissatisfied ─▶ reopened (callback.reopen, at most
                                          max_reopens): handled again at the tier that closed
                                          it, closed again, called back again

A mixin of :class:`~gridsim.model.lifecycle.Lifecycle`. A closed case waiting for its
callback is no longer open (it leaves ``live`` for ``awaiting``) and is recorded once, when its
last callback is over, with its last closure as ``t_closed``; a case still waiting when the
clock stops is recorded then, closed (:func:`~gridsim.model.simulation.run_model`). So every
case ends once. Callbacks apply to cases from the hotline handled at a tier (work orders), not
to those settled on the call. Every decision has a stream of its own (``explanation``,
``response``, ``callback_delay``, ``callback_reach``, ``satisfied``, ``callback_reopen``), and
without ``resident`` nothing here runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..plan import Plan
from ..scenario.expand import deadline_shift
from .case import HOTLINE, Issue
from .hotline import draws
from .streams import Buffered, Draw, stream
from .trace import CALLED_BACK, CLOSED, EXPLAINED, REOPENED

NAN = float("nan")


def _uniforms(rng: Any) -> Draw:
    return Buffered(lambda n: rng.random(n))


class ResidentSide:
    """The lifecycle's resident side (explanations, response, callbacks)."""

    clock: Any
    env: Any
    emit: Any
    seed: int
    live: dict
    ended: Any
    enter: Callable[[Issue, int], None]

    def _resident_init(self, plan: Plan) -> None:
        """Read ``resident`` (None: off, and every hook below is skipped)."""
        s = plan.scenario
        res = self.resident = s.resident
        self.explain: list[tuple[float, ...]] | None = None
        self.awaiting: dict[int, Issue] = {}
        if res is None:
            return
        explain = [res.explanation_by_category.get(name, res.explanation).as_tuple()
                   for name in s.categories]
        if any(any(t) for t in explain):
            self.explain = explain
        self.response = res.response
        if res.response is not None:
            cal = plan.calendars
            self.contact_shift = [cal.shifts[deadline_shift(s, name)] for name in s.categories]
            self.response_by = [cal.later(res.response.limit, deadline_shift(s, name))
                                for name in s.categories]
        self.callback = cb = res.callback
        if cb is not None:
            m = cb.satisfaction
            self.sat = (math.log(m.base / (1 - m.base)), m.unsolved, m.late, m.lateness,
                        m.no_response, m.per_reopen)

    def _resident_streams(self, d: Any) -> None:
        """District ``d``'s streams of the resident's side."""
        seed, key, res = self.seed, d.name, self.resident
        d.explanation = _uniforms(stream(seed, "explanation", key))
        if res.response is not None:
            d.contact = draws(res.response.contact_time, stream(seed, "response", key))
        if res.callback is not None:
            d.callback_delay = draws(res.callback.delay, stream(seed, "callback_delay", key))
            d.callback_reach = _uniforms(stream(seed, "callback_reach", key))
            d.satisfied = _uniforms(stream(seed, "satisfied", key))
            d.callback_reopen = _uniforms(stream(seed, "callback_reopen", key))

    # ---------------------------------------------------------------- closed with an explanation
    def _explained(self, issue: Issue) -> bool:
        """After a failed attempt: is ``issue`` closed with an explanation? If so, close it."""
        tier = issue.tier
        p = self.explain[issue.cat.index][tier]
        if not p or issue.district.explanation() >= p:
            return False
        now = self.env._now
        issue.solved_in_fact = 0
        issue.leave[tier] = now
        issue.visit += 1
        if self.emit is not None:
            self.emit(EXPLAINED, issue, tier, -1, now)
        self._close(issue)
        return True

    # ---------------------------------------------------------------- response and callback
    def _closing(self, issue: Issue) -> bool:
        """``issue`` closes now: record the response of a 12345 work order and, with callbacks,
        keep it for its callback. True when the lifecycle must not record it yet."""
        now = self.env._now
        work_order = issue.source == HOTLINE and issue.tier >= 1
        if work_order and self.response is not None and issue.t_contacted != issue.t_contacted:
            i = issue.cat.index
            received = issue.t_uploaded
            contact = self.contact_shift[i].advance(received, issue.district.contact())
            issue.t_contacted = t = min(contact, now)
            issue.response = 1 if t <= self.response_by[i](received) + 1e-9 else 0
        if not work_order or self.callback is None:
            return False
        issue.awaiting = True
        issue.closed_at = now
        if self.emit is not None:
            self.emit(CLOSED, issue, -1, -1, now)
        del self.live[issue.id]
        self.awaiting[issue.id] = issue
        self.clock.after(issue.district.callback_delay(), self._call_back, issue)
        return True

    def satisfaction_prob(self, issue: Issue) -> float:
        """The probability that the reached resident of ``issue`` says they are satisfied."""
        base, unsolved, late, lateness, no_response, per_reopen = self.sat
        x = base + per_reopen * issue.reopens
        if not issue.solved_in_fact:
            x += unsolved
        if issue.response == 0:
            x += no_response
        deadline, received, closed = issue.deadline, issue.t_uploaded, issue.closed_at
        if closed > deadline:
            x += late
            if deadline > received:
                x += lateness * ((closed - received) / (deadline - received) - 1)
        return 1 / (1 + math.exp(-x))

    def _call_back(self, issue: Issue) -> None:
        district, cb = issue.district, self.callback
        issue.callbacks += 1
        reopen = False
        if district.callback_reach() < cb.reach:
            ok = district.satisfied() < self.satisfaction_prob(issue)
            issue.satisfied = 1 if ok else 0
            reopen = (not ok and issue.callback_reopens < cb.max_reopens
                      and district.callback_reopen() < cb.reopen)
        issue.awaiting = reopen
        now = self.env._now
        if self.emit is not None:
            self.emit(CALLED_BACK, issue, -1, -1, now)
        del self.awaiting[issue.id]
        if not reopen:
            self._record_closed(issue)
            return
        issue.callback_reopens += 1
        issue.reopens += 1
        issue.solved_in_fact = 1
        issue.solved_tier = -1
        issue.t_solved = issue.closed_at = issue.t_verified = NAN  # handled again
        issue.awaiting = False
        self.live[issue.id] = issue
        if self.emit is not None:
            self.emit(REOPENED, issue, issue.tier, -1, now)
        self.enter(issue, issue.tier)

    def _record_closed(self, issue: Issue) -> None:
        """Record ``issue`` as closed at its last closure."""
        self.ended(issue, issue.closed_at, 0)

    def record_awaiting(self) -> None:
        """At the end of the run: record the closed cases still waiting for their callback."""
        for issue in self.awaiting.values():
            self._record_closed(issue)
        self.awaiting.clear()
