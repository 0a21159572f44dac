"""Two-way dispatch (双向派单, 000, 004): departments dispatch field work down to the streets.

On top of another policy (``within``): when a department-led case reaches the district tier,
with probability ``share`` the department dispatches the field work down to the street
enforcement team, which does it with the department's powers; every other decision is the other
policy's. It replaces the deprecated ``policy.two_way_dispatch`` switch.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import DISTRICT, STREET_POWERS, Layered, PolicyParams, State


class TwoWayParams(PolicyParams):
    share: float = Field(0.5, ge=0, le=1,
                         description="share of department-led field work dispatched down to "
                                     "the street enforcement team")
    within: Literal["baseline", "whistle", "four_tier", "joint_first"] = Field(
        "four_tier", description="the policy that makes every other decision")


class TwoWay(Layered):
    name = "two_way"
    Params = TwoWayParams
    case_draws = ("two_way",)

    def attach(self, columns: dict[str, int]) -> None:
        self._u = columns["two_way"]
        super().attach(columns)

    def who(self, case: Any, tier: int, state: State) -> str:
        if tier == DISTRICT and case.cat.lead and case.u[self._u] < self.params.share:
            return STREET_POWERS
        return self.inner.who(case, tier, state)
