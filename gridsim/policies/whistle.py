"""Street whistles, departments report (街道吹哨、部门报到).

The street blows the whistle on the platform; every department the case needs sends staff who
must arrive on site ("report") within the report deadline, and they act jointly in one visit.
Because the street appraises the departments on report rate, cooperation and resolution, their
time to arrive is the policy's ``report_time`` (the Pinggu pilot asked for 30 minutes) instead of
the departments' usual one. Cases they cannot solve are retried after ``retry_delay``.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ..distributions import Distribution
from ..units import ClockDuration, Duration
from .appraisal import Appraisal, AppraisalMixin
from .base import Policy, PolicyParams, Supervise


class WhistleParams(PolicyParams):
    report_time: Distribution | None = Field(
        None, description="time for a whistled department to arrive on site (None: its usual)")
    retry_delay: ClockDuration = Field(Duration(14, "d"), description="unsolved case retried after")
    appraisal: Appraisal = Field(Appraisal(), description="the street appraises the departments "
                                 "and the scores feed back into their behaviour")
    lead_split: bool = Field(False, description="Xi'an's split (003): department-led cases are "
                             "whistled at once and led by the departments, street-led ones are "
                             "worked by the street team with the departments assisting")
    supervision: Supervise = Field(Supervise(), description="督办 of an overdue case")


class Whistle(AppraisalMixin, Policy):
    name = "whistle"
    Params = WhistleParams
    ladder: ClassVar[tuple[str, ...]] = ("community", "street", "district")

    def report_time(self, department: str):
        return self.params.report_time

    def first_tier(self, start_tier: str, lead: str) -> str:
        return self.lead_first_tier(start_tier, lead, super().first_tier(start_tier, lead))
