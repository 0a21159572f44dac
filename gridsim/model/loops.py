"""Routing after service: a case sent back to the street centre for re-dispatch, a reopened
case reworked at the centre instead of its tier, and a fresh work draw for every repeated visit.

    served at a tier ─▶ back to the street centre (categories.<c>.back_to_centre, per tier)
      ─▶ triaged again ─▶ the centre assesses anew where it belongs (a fresh draw from the
         category's tier shares) ─▶ the policy dispatches it ─▶ entered at that tier
    verification fails ─▶ reworked at the tier that solved it, or (reopen_at: centre) triaged
      and dispatched again as above

A mixin of :class:`~gridsim.model.lifecycle.Lifecycle`: these methods use its clock, streams,
``emit``, the policy's dispatch decision and ``enter``. Every decision here has a stream of its
own (``back_to_centre``, ``redispatch``, ``rework``): a scenario that sets no probability draws
nothing from them, and its results are unchanged.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from .case import Issue
from .streams import Buffered, stream
from .trace import BACK_TO_CENTRE


class Loops:
    """The loops after service of the lifecycle."""

    clock: Any
    env: Any
    emit: Any
    seed: int
    state: Any
    _dispatch: Callable[[Issue, Any], int]
    enter: Callable[[Issue, int], None]
    _work_draw: Callable[..., Callable[[int], Any]]

    def _sent_back(self, issue: Issue) -> bool:
        """After a service at its tier, is ``issue`` sent back to the street centre? If so it
        leaves the tier and goes there (drawn only where the category's probability is above 0).
        """
        tier = issue.tier
        p = issue.cat.back[tier]
        if not p or issue.district.back_to_centre() >= p:
            return False
        now = self.env._now
        issue.back_to_centre += 1
        issue.leave[tier] = now
        if self.emit is not None:
            self.emit(BACK_TO_CENTRE, issue, tier, -1, now)
        self._to_centre(issue)
        return True

    def _to_centre(self, issue: Issue) -> None:
        """``issue`` leaves its tier and goes to its street centre to be triaged again (as an
        event of its own: a loop of zero-time steps never recurses)."""
        issue.tier = -1
        issue.due = None
        issue.visit += 1  # the old tier's deadline no longer applies
        self.clock.at(self.env._now, self._triage_again, issue)

    def _triage_again(self, issue: Issue) -> None:
        street = issue.street
        street.centre.serve(issue, street.district.triage(), self._redispatch)

    def _redispatch(self, issue: Issue) -> None:
        """Triaged again: the centre assesses anew which tier the case belongs at (a fresh draw
        from the category's tier shares, the ``start_tier`` the policy's dispatch reads) and the
        policy dispatches it. The case keeps its first ``start_tier`` (recorded, and the same
        under every policy: common random numbers)."""
        first = issue.start_tier
        issue.start_tier = 1 + bisect_right(issue.cat.tier_cum, issue.district.redispatch())
        tier = self._dispatch(issue, self.state)
        issue.start_tier = first
        self.enter(issue, tier)

    def _rework(self, issue: Issue, tier: int) -> float:
        """The work of a repeated visit at ``tier``: a fresh draw from the tier's work-time
        distribution (one stream per district and category, made when first needed)."""
        district, cat = issue.district, issue.cat
        draws = district.rework[cat.index]
        if draws is None:
            rng = stream(self.seed, "rework", district.name, cat.name)
            draws = district.rework[cat.index] = Buffered(self._work_draw(rng, cat))
        if cat.work_scale is not None:
            return draws()[tier] * cat.work_scale[tier]
        return draws()[tier]
