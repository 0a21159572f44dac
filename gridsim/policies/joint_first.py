"""Bazhong's tier 3 first (001): a case that needs several departments goes straight to the
district joint consultation (联席会议) instead of a street whistle.

Four-tier response in every other respect. A case whose category lists at least
``min_departments`` departments skips the district tier: where triage or an escalation would
send it there, it goes to the joint consultation, which convenes the departments concerned.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .base import DISTRICT, JOINT, State
from .four_tier import FourTier, FourTierParams


class JointFirstParams(FourTierParams):
    min_departments: int = Field(2, ge=1, description="departments a case needs to skip the "
                                                      "whistle for the joint consultation")


class JointFirst(FourTier):
    name = "joint_first"
    Params = JointFirstParams

    def dispatch(self, case: Any, state: State) -> int:
        tier = self._first[case.cat.lead][case.start_tier]
        return JOINT if tier == DISTRICT and self._many(case) else tier

    def failed(self, case: Any, tier: int, state: State) -> int | None:
        nxt = self._next[tier]
        return JOINT if nxt == DISTRICT and self._many(case) else nxt

    def _many(self, case: Any) -> bool:
        return len(case.cat.departments) >= self.params.min_departments
