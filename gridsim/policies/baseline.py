"""Before the reform: the street sees the problem but cannot act on department matters.

The street forwards a department-led case through the district hotline to one department. With
probability ``misroute_prob`` it reaches the wrong one, which sends it back after
``bounce_delay``; the street re-routes it (九龙治水, "nine dragons managing the water"). A case
needing several departments visits them one after another. Nothing escalates on a deadline and
cases the departments cannot solve stay open as legacy cases, retried every ``retry_delay``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..distributions import Distribution, Lognormal
from ..units import ClockDuration, Duration
from .base import IN_TURN, Policy, PolicyParams, Supervise


class BaselineParams(PolicyParams):
    misroute_prob: float = Field(0.25, ge=0, lt=1, description="forwarded to the wrong department")
    forward_delay: Distribution = Field(
        Lognormal(dist="lognormal", mean=Duration(1, "d"), sd=Duration(12, "h")),
        description="district hotline forwarding a case to a department")
    bounce_delay: Distribution = Field(
        Lognormal(dist="lognormal", mean=Duration(2, "d"), sd=Duration(1, "d")),
        description="a wrong department sends the case back")
    retry_delay: ClockDuration = Field(Duration(30, "d"), description="legacy case retried after")
    supervision: Supervise = Field(Supervise(), description="督办 of an overdue case")


class Baseline(Policy):
    name = "baseline"
    Params = BaselineParams
    ladder: ClassVar[tuple[str, ...]] = ("community", "street", "district")
    departments = IN_TURN
    return_factor: ClassVar[float] = 1.0  # 12345 work orders returned (退单) as the scenario sets

    def first_tier(self, start_tier: str, lead: str) -> str:
        if lead == "department" and start_tier in ("community", "street"):
            return "district"
        return super().first_tier(start_tier, lead)

    @property
    def misroute_prob(self) -> float:
        return self.params.misroute_prob

    @property
    def forward_delay(self):
        return self.params.forward_delay

    @property
    def bounce_delay(self):
        return self.params.bounce_delay
