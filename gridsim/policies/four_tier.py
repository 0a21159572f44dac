"""Bazhong's four-tier response (四类响应, 001): community, street whistle, district, city.

Tier 1: the community's party committee solves what lies within its area. Tier 2: the street
whistles and departments report jointly. Tier 3: the district organisation department convenes a
joint consultation (weekly). Tier 4: city coordination for major and legacy problems (monthly).
A case climbs a tier when its tier cannot solve it *or* when it is still waiting at its tier's
deadline.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..distributions import Distribution
from ..units import ClockDuration, Duration, DurationField
from .base import Policy, PolicyParams, Supervise


class TierDeadlines(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    community: DurationField | None = Duration(3, "wd")
    street: DurationField | None = Duration(5, "wd")
    district: DurationField | None = Duration(10, "wd")
    joint: DurationField | None = Duration(20, "wd")
    shift: str | None = Field(
        None, description="shift whose on-shift hours deadlines in working hours (wh) count; "
                          "default: the shift of the role doing the work at each tier "
                          "(roles.community; roles.<street_unit>; the category's first "
                          "department's shift; roles.joint)")


class FourTierParams(PolicyParams):
    tier_deadlines: TierDeadlines = TierDeadlines()
    report_time: Distribution | None = Field(
        None, description="time for a whistled department to arrive on site (None: its usual)")
    retry_delay: ClockDuration = Field(Duration(30, "d"),
                                       description="city-tier case retried after")
    supervision: Supervise = Field(
        Supervise(action="escalate"),
        description="督办 of an overdue case: the five measures' written supervision (函告督办, "
                    "001) sends it up the ladder")


class FourTier(Policy):
    name = "four_tier"
    Params = FourTierParams

    def tier_deadline(self, tier: str):
        return getattr(self.params.tier_deadlines, tier, None)

    @property
    def deadline_shift(self) -> str | None:
        return self.params.tier_deadlines.shift

    def report_time(self, department: str):
        return self.params.report_time
