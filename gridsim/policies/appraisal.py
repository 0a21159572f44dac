"""The street appraises the departments it calls (街道吹哨、部门报到, 002, 003), and the split of
duties between street-led and department-led cases (Xi'an, 003).

Appraisal: the street scores each district department on its **report rate** (报到率: calls
answered), **cooperation** (配合度: joint visits where it did its part) and **resolution**
(解决率: its department-led cases that a visit of its solved); the scores feed its annual
appraisal, and a department under pressure behaves better. How much better is an assumption,
with a strength a planner varies (``policy.<name>.appraisal``):

    score     S = weighted mean of the three running scores, each (good + prior) / (n + prior)
              (a department starts with a clean record worth ``prior`` observations)
    pressure  P = min(1, strength * (1 - S))
    report rate      r0 + (1 - r0) * P        (r0: the department's own ``report_rate``)
    cooperation      c0 + (1 - c0) * P
    travel time      x (1 - report_time_cut * P)

With ``strength`` 0 nothing is scored into behaviour: the run is the one without appraisal,
bit for bit. The state (counts, current behaviour) lives in the department runtime
(:class:`gridsim.model.appraisal.DeptState`); the rule is here, in the policy layer.

The lead split (``lead_split: true``): Xi'an's street has 30 duties of its own and 23 led by
district departments with the street assisting (003). A department-led case the street would
handle is whistled to its departments at once (the street cannot act on a department's duty),
and at the district tier its departments lead the joint visit and are appraised on its
resolution; a street-led case that reaches the district tier is worked by the street's own team
(enforcement or office, by category), the departments called to assist (they report and must
cooperate, the visit keeps the street team's hours, and its resolution is the street's).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import ASSISTED, DISTRICT

_PROB = {"ge": 0, "le": 1, "allow_inf_nan": False}


class AppraisalWeights(BaseModel):
    """How the three scores combine into the appraisal score (normalised by their sum)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    report: float = Field(1.0, ge=0, le=1e6, description="weight of the report rate score")
    cooperation: float = Field(1.0, ge=0, le=1e6, description="weight of the cooperation score")
    resolution: float = Field(1.0, ge=0, le=1e6, description="weight of the resolution score")


class Appraisal(BaseModel):
    """The street's appraisal of the departments and how it feeds back (an assumption)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    strength: float = Field(
        0.0, ge=0, le=100, allow_inf_nan=False,
        description="pressure per point of score missing (0: no feedback, as without appraisal)")
    weights: AppraisalWeights = AppraisalWeights()
    report_time_cut: float = Field(
        0.5, **_PROB, description="share of travel time a department under full pressure cuts")
    prior: float = Field(
        5.0, ge=0, le=1e6, description="observations at full marks a department starts with")

    def pressure(self, report: float, cooperation: float, resolution: float) -> float:
        """Pressure on a department with these running scores (each in [0, 1])."""
        w = self.weights
        total = w.report + w.cooperation + w.resolution
        if not total:
            return 0.0
        score = (w.report * report + w.cooperation * cooperation
                 + w.resolution * resolution) / total
        p = self.strength * (1.0 - score)
        return 1.0 if p > 1.0 else p

    def behaviour(self, report_rate: float, cooperation: float,
                  pressure: float) -> tuple[float, float, float]:
        """``(report rate, cooperation, travel-time factor)`` of a department with base rates
        ``report_rate``, ``cooperation`` under ``pressure``."""
        return (report_rate + (1.0 - report_rate) * pressure,
                cooperation + (1.0 - cooperation) * pressure,
                1.0 - self.report_time_cut * pressure)


class AppraisalMixin:
    """Appraisal and the lead split for a policy whose params have ``appraisal`` and
    ``lead_split`` (whistle, four_tier)."""

    params: Any
    _who: Any

    def __init__(self, params: Any, common: Any):
        super().__init__(params, common)  # type: ignore[call-arg]
        if params.lead_split:  # only then a decision per case (the default stays a lookup)
            self.who = self._lead_who  # type: ignore[method-assign]

    @property
    def appraisal(self) -> Appraisal | None:
        """The street's appraisal of the departments (None: no feedback)."""
        a = self.params.appraisal
        return a if a.strength > 0 else None

    def lead_first_tier(self, start_tier: str, lead: str, default: str) -> str:
        """Under the lead split a department-led case the street would handle is whistled to
        its departments at once."""
        if self.params.lead_split and lead == "department" and start_tier == "street":
            return "district"
        return default

    def _lead_who(self, case: Any, tier: int, state: Any) -> str:
        """Under the lead split a street-led case at the district tier is worked by the street
        team, its departments assisting."""
        if tier == DISTRICT and not case.cat.lead:
            return ASSISTED
        return self._who[tier]


__all__ = ["Appraisal", "AppraisalMixin", "AppraisalWeights"]
