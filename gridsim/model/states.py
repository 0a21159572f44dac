"""A case's administrative states: extension (延期), suspension (挂账), filing rejection
(不予立案) and supervision of overdue cases (督办).

    uploaded, deadline set ─▶ triaged at the street centre
      ─▶ not filed (rejection: out of scope / invalid) ─────────────────────────▶ rejected (ends)
      ─▶ suspended (at_triage) ─▶ on the suspended ledger ─▶ resumed ─▶ dispatched as usual
      ─▶ dispatched ─▶ a tier fails ─▶ suspended (on_failure) ─▶ resumed ─▶ tried there again
    ask_before the deadline, still open and unsolved ─▶ extension asked, granted with prob
      ─▶ the deadline moves length later (at most limit times; a refusal ends the asking)
    at the (extended) deadline, still open and unsolved ─▶ supervised (the policy's choice:
      a priority boost, an escalation, nothing) ─▶ again every ``every`` while open, up to limit

A mixin of :class:`~gridsim.model.lifecycle.Lifecycle`, like :mod:`gridsim.model.loops`. A
category with none of ``extension``, ``suspension``, ``rejection``, ``supervision`` has no
runtime here (``CategoryRuntime.states`` is None): its cases make no event, draw nothing and
carry no state object (``Issue.st`` stays None), so scenarios without them are unchanged. Each
decision draws from its own stream (``extension``, ``suspension``, ``rejection``).

The per-case counters live in a :class:`CaseStates` made when the case's deadline is first set;
the record columns ``extensions``, ``deadline_extended``, ``suspensions``, ``suspended_hours``,
``supervisions`` and ``rejected`` read it (:func:`state_row`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from heapq import _siftdown  # type: ignore[attr-defined]
from math import ceil
from typing import Any

from ..policies.base import BOOST, COMMUNITY, ESCALATE
from ..scenario.expand import deadline_shift
from ..vocabulary import STATES
from .case import LEDGER, Issue
from .pools import Meeting, Pool
from .priority import ClassQueue
from .streams import Buffered, stream
from .trace import ESCALATED, EXTENDED, REJECTED, RESUMED, SUPERVISED, SUSPENDED, UNSOLVED

NAN = float("nan")
TICK = 0.25
"""Deadline timers (an extension's asking, a supervision) act at the first quarter hour at or
after their time: the timers of a district due in one quarter hour share one clock event (a
clock event per case would add a fifth to a run's events)."""
REJECTED_STATE = STATES.index("rejected")
"""The ``state`` code of a case the street centre refused to file."""


class CaseStates:
    """One case's extensions, suspensions, supervisions and rejection (made when the first
    of them happens: a case without one has none, and its record reads the defaults)."""

    __slots__ = ("extensions", "deadline2", "suspensions", "suspended_h", "t_suspended",
                 "supervisions", "rejected")

    def __init__(self, deadline: float):
        self.extensions = self.suspensions = self.supervisions = 0
        self.deadline2 = deadline
        self.suspended_h = 0.0
        self.t_suspended = NAN
        self.rejected = -1

    def row(self, now: float) -> tuple:
        """The record columns, as the case stands at ``now``."""
        h = self.suspended_h
        t = self.t_suspended
        if t == t:  # suspended now: the time so far counts
            h += now - t
        return (self.extensions, self.deadline2, self.suspensions, h, self.supervisions,
                self.rejected)


def state_row(issue: Any, now: float) -> tuple:
    """The state columns of ``issue``'s record row (a case without states: none happened)."""
    st = issue.st
    if st is None:
        return (0, issue.deadline, 0, 0.0, 0, -1)
    return st.row(now)


class StatesRuntime:
    """A category's state settings in the shape the engine reads (None where off)."""

    def __init__(self, name: str, spec: Any, plan: Any):
        ext, sus, rej, sup = spec.extension, spec.suspension, spec.rejection, spec.supervision
        self.ext_p = ext.prob if ext is not None else 0.0
        self.ext_limit = ext.limit if ext is not None else 0
        self.ext_before = ext.ask_before.hours if ext is not None else 0.0
        self.ext_later: Callable[[float], float] | None = None
        if ext is not None:
            self.ext_later = plan.calendars.later(ext.length,
                                                  deadline_shift(plan.scenario, name))
        self.sus_triage = sus.at_triage if sus is not None else 0.0
        self.sus_failure = sus.on_failure if sus is not None else 0.0
        self.sus_limit = sus.limit if sus is not None else 0
        self.resume_after = sus.resume.after.hours if sus is not None and sus.resume.after \
            else None
        self.resume_every = sus.resume.every.hours if sus is not None and sus.resume.every \
            else None
        probs = rej.as_tuple() if rej is not None else ()
        self.rej_cum: list[float] = []
        total = 0.0
        for p in probs:
            total += p
            self.rej_cum.append(total)
        self.rej_total = total
        self.supervise = sup is not None
        self.sup_every = sup.every.hours if sup is not None and sup.every else None
        self.sup_limit = sup.limit if sup is not None else 0


def states_runtime(name: str, spec: Any, plan: Any) -> StatesRuntime | None:
    """The category's :class:`StatesRuntime`, or None when it sets none of the four states."""
    if (spec.extension is None and spec.suspension is None and spec.rejection is None
            and spec.supervision is None):
        return None
    return StatesRuntime(name, spec, plan)


def _uniform(rng):
    return lambda n: rng.random(n)


MAX_SCAN = 64
"""Longest queue in which a boosted case is moved up at once (finding its entry is a scan); in a
longer one it keeps its place there, and its boost counts from its next queue on."""


def raise_in_queue(queue: Any, issue: Any, priority: int) -> bool:
    """Move ``issue``'s live entry in a :class:`~gridsim.model.priority.ClassQueue` to class
    ``priority`` (smaller: sooner), keeping its arrival number. Returns whether it was moved
    (not in a queue longer than :data:`MAX_SCAN`)."""
    if not isinstance(queue, ClassQueue) or len(queue.heap) > MAX_SCAN:
        return False
    heap = queue.heap
    visit = issue.visit
    for i, (_p, seq, entry) in enumerate(heap):
        if entry[0] is issue and entry[1] == visit:
            heap[i] = (priority, seq, entry)
            _siftdown(heap, 0, i)  # a smaller key only moves towards the root
            return True
    return False


class States:
    """The case states of the lifecycle (extension, suspension, rejection, supervision)."""

    clock: Any
    env: Any
    emit: Any
    seed: int
    state: Any
    live: dict[int, Issue]
    ended: Any
    policy: Any
    _dispatch: Callable[[Issue, Any], int]
    _failed: Callable[[Issue, int, Any], int | None]
    enter: Callable[[Issue, int], None]
    _move_on: Callable[..., None]

    def _attach_states(self, district: Any) -> None:
        """The district's streams of the state decisions (drawn only where a category sets
        the state)."""
        key = district.name
        district.extension = Buffered(_uniform(stream(self.seed, "extension", key)))
        district.suspension = Buffered(_uniform(stream(self.seed, "suspension", key)))
        district.rejection = Buffered(_uniform(stream(self.seed, "rejection", key)))
        district.state_timers = {}  # deadline timers by tick (see _arm)

    # ---------------------------------------------------------------- deadline timers
    def _states_start(self, issue: Issue) -> None:
        """``issue``'s deadline has just been set: its first timer, the extension's asking
        ``ask_before`` the deadline, or its supervision at the deadline."""
        rt = issue.cat.states
        if rt.ext_limit:
            self._arm(issue, issue.deadline - rt.ext_before, self._ask)
        elif rt.supervise:
            self._arm(issue, issue.deadline, self._supervise)

    def _arm(self, issue: Issue, t: float, then: Callable[[Issue], None]) -> None:
        """Call ``then(issue)`` at the first tick (:data:`TICK`) at or after ``t``: the
        district's timers due in one tick share one clock event."""
        now = self.env._now
        k = ceil((t if t > now else now) / TICK)
        timers = issue.district.state_timers
        due = timers.get(k)
        if due is None:
            due = timers[k] = []
            self.clock.at(k * TICK, self._tick, (issue.district, k))
        due.append((issue, then))

    @staticmethod
    def _tick(at: tuple[Any, int]) -> None:
        district, k = at
        for issue, then in district.state_timers.pop(k):
            then(issue)

    def _handling(self, issue: Issue) -> bool:
        """Still open, unsolved and not suspended (a closed case has left ``live``)."""
        return self.live.get(issue.id) is issue and issue.waiting is not LEDGER \
            and issue.t_solved != issue.t_solved

    def _ask(self, issue: Issue) -> None:
        """延期: the handler asks for more time, ``ask_before`` the current deadline."""
        if self.live.get(issue.id) is not issue:
            return
        rt = issue.cat.states
        st = issue.st
        if self._handling(issue) and issue.district.extension() < rt.ext_p:
            if st is None:
                st = issue.st = CaseStates(issue.deadline)
            st.extensions += 1
            st.deadline2 = rt.ext_later(st.deadline2)
            if self.emit is not None:
                self.emit(EXTENDED, issue, issue.tier, -1, self.env._now)
            if st.extensions < rt.ext_limit:
                self._arm(issue, st.deadline2 - rt.ext_before, self._ask)
                return
        if rt.supervise:
            self._arm(issue, issue.deadline if st is None else st.deadline2, self._supervise)

    def _supervise(self, issue: Issue) -> None:
        """督办 at the (extended) deadline, and again every ``every`` while open."""
        if self.live.get(issue.id) is not issue:
            return
        rt = issue.cat.states
        st = issue.st
        if self._handling(issue):
            if st is None:
                st = issue.st = CaseStates(issue.deadline)
            self._supervised(issue, st)
        if rt.sup_every is not None and (0 if st is None else st.supervisions) < rt.sup_limit:
            self._arm(issue, self.env._now + rt.sup_every, self._supervise)

    # ---------------------------------------------------------------- supervision (督办)
    def _supervised(self, issue: Issue, st: CaseStates) -> None:
        """``issue`` is open and unsolved at its deadline: supervised, and the policy chooses
        what that does."""
        tier = issue.tier
        st.supervisions += 1
        if self.emit is not None:
            self.emit(SUPERVISED, issue, tier, -1, self.env._now)
        action = self.policy.supervise(issue, tier, self.state)
        w = issue.waiting
        if action == ESCALATE and tier >= COMMUNITY and issue.held == 0 \
                and isinstance(w, Pool | Meeting):
            nxt = self._failed(issue, tier, self.state)
            if nxt is not None:
                w.withdraw(issue)
                self._move_on(issue, nxt, ESCALATED, UNSOLVED)
                return
        if action in (BOOST, ESCALATE):  # a case in hand or at the top: boosted
            new = max(0, issue.priority - self.policy.supervision.boost)
            if new < issue.priority:
                issue.priority = new
                if isinstance(w, Pool | Meeting):
                    raise_in_queue(w.queue, issue, new)

    # ---------------------------------------------------------------- triage: rejection, suspension
    def _at_triage(self, issue: Issue) -> bool:
        """At its first triage: is ``issue`` refused (不予立案, it ends) or suspended (挂账)?"""
        rt = issue.cat.states
        if rt.rej_total:
            u = issue.district.rejection()
            if u < rt.rej_total:
                self._reject(issue, self._case_states(issue), bisect_right(rt.rej_cum, u))
                return True
        if rt.sus_triage and (issue.st is None or issue.st.suspensions < rt.sus_limit) \
                and issue.district.suspension() < rt.sus_triage:
            self._suspend(issue, self._case_states(issue), -1)
            return True
        return False

    @staticmethod
    def _case_states(issue: Issue) -> CaseStates:
        st = issue.st
        if st is None:
            st = issue.st = CaseStates(issue.deadline)
        return st

    def _reject(self, issue: Issue, st: CaseStates, reason: int) -> None:
        now = self.env._now
        st.rejected = reason
        issue.deadline = st.deadline2 = NAN  # not filed: never due
        if self.emit is not None:
            self.emit(REJECTED, issue, -1, -1, now)
        del self.live[issue.id]
        self.ended(issue, now, REJECTED_STATE)

    # ---------------------------------------------------------------- suspension (挂账)
    def _suspend_on_failure(self, issue: Issue) -> bool:
        """``issue``'s tier could not solve it: is it suspended instead of moving on?"""
        rt = issue.cat.states
        if not rt.sus_failure:
            return False
        st = self._case_states(issue)
        if st.suspensions >= rt.sus_limit or issue.district.suspension() >= rt.sus_failure:
            return False
        issue.leave[issue.tier] = self.env._now
        self._suspend(issue, st, issue.tier)
        return True

    def _suspend(self, issue: Issue, st: CaseStates, tier: int) -> None:
        now = self.env._now
        rt = issue.cat.states
        st.suspensions += 1
        st.t_suspended = now
        issue.waiting = LEDGER
        issue.visit += 1  # a tier's deadline no longer applies
        if self.emit is not None:
            self.emit(SUSPENDED, issue, tier, -1, now)
        if rt.resume_after is not None:
            at = now + rt.resume_after
        else:
            every = rt.resume_every
            at = (now // every + 1) * every  # the next review of the ledger
        self.clock.at(at, self._resume, issue)

    def _resume(self, issue: Issue) -> None:
        now = self.env._now
        st = issue.st
        st.suspended_h += now - st.t_suspended
        st.t_suspended = NAN
        issue.waiting = None
        tier = issue.tier
        if self.emit is not None:
            self.emit(RESUMED, issue, tier, -1, now)
        if tier < 0:  # suspended at triage: dispatched now
            self.enter(issue, self._dispatch(issue, self.state))
        else:
            self.enter(issue, tier)
