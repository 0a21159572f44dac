"""Bazhong's four-tier response (四类响应, 001): community, street whistle, district, city.

Tier 1: the community's party committee solves what lies within its area. Tier 2: the street
whistles and departments report jointly. Tier 3: the district organisation department convenes a
joint consultation (weekly). Tier 4: city coordination for major and legacy problems (monthly).
A case climbs a tier when its tier cannot solve it *or* when it is still waiting at its tier's
deadline, *or* when a whistled department has not answered ``recalls`` calls again.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..distributions import Distribution
from ..units import ClockDuration, Duration, DurationField
from .appraisal import Appraisal, AppraisalMixin
from .base import Policy, PolicyParams, State, Supervise


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
    recalls: int = Field(2, ge=0, le=1000, description="unanswered calls to departments the "
                         "street makes again at a tier before the case climbs (as when its tier "
                         "fails)")
    appraisal: Appraisal = Field(Appraisal(), description="the street appraises the departments "
                                 "and the scores feed back into their behaviour")
    lead_split: bool = Field(False, description="Xi'an's split (003): department-led cases are "
                             "whistled at once and led by the departments, street-led ones are "
                             "worked by the street team with the departments assisting")
    supervision: Supervise = Field(
        Supervise(action="escalate"),
        description="督办 of an overdue case: the five measures' written supervision (函告督办, "
                    "001) sends it up the ladder")


class FourTier(AppraisalMixin, Policy):
    name = "four_tier"
    Params = FourTierParams

    def tier_deadline(self, tier: str):
        return getattr(self.params.tier_deadlines, tier, None)

    @property
    def deadline_shift(self) -> str | None:
        return self.params.tier_deadlines.shift

    def report_time(self, department: str):
        return self.params.report_time

    def unanswered(self, case: Any, tier: int, calls: int, state: State) -> bool:
        return calls > self.params.recalls

    def first_tier(self, start_tier: str, lead: str) -> str:
        return self.lead_first_tier(start_tier, lead, super().first_tier(start_tier, lead))
