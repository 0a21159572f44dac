"""Bazhong's tier 3 first (001): a case that needs several departments goes straight to the
district joint consultation (联席会议) instead of a street whistle.

On top of another policy (``within``, by default the four-tier response, with its parameters):
a case whose category lists at least ``min_departments`` departments skips the district tier;
where triage or a failed attempt would send it there, it goes to the joint consultation, which
convenes the departments concerned. Every other decision is the other policy's.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import DISTRICT, JOINT, Layered, PolicyParams, State


class JointFirstParams(PolicyParams):
    min_departments: int = Field(2, ge=1, description="departments a case needs to skip the "
                                                      "whistle for the joint consultation")
    within: Literal["baseline", "whistle", "four_tier"] = Field(
        "four_tier", description="the policy that makes every other decision")


class JointFirst(Layered):
    name = "joint_first"
    Params = JointFirstParams

    def dispatch(self, case: Any, state: State) -> int:
        return self._skip(case, self.inner.dispatch(case, state))

    def received(self, case: Any, state: State) -> int:
        return self._skip(case, self.inner.received(case, state))

    def failed(self, case: Any, tier: int, state: State) -> int | None:
        return self._skip(case, self.inner.failed(case, tier, state))

    def overdue(self, case: Any, tier: int, state: State) -> int | None:
        return self._skip(case, self.inner.overdue(case, tier, state))

    def _skip(self, case: Any, tier: int | None) -> int | None:
        many = len(case.cat.departments) >= self.params.min_departments
        return JOINT if tier == DISTRICT and many else tier
