"""Scenario keys of a case's administrative states: extension (延期), suspension (挂账),
filing rejection (不予立案) and supervision of overdue cases (督办), per category
(``categories.<c>.extension`` ... ``categories.<c>.supervision``; fields of
:class:`~gridsim.scenario.schema.Category`, all off when absent). What a supervision does (a
priority boost or an escalation) is the policy's choice: ``policy.<name>.supervision``
(:class:`~gridsim.policies.base.Supervise`). The engine is :mod:`gridsim.model.states`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from ..units import ClockDuration, Duration, DurationField, PositiveClockDuration
from ..vocabulary import REJECTION_REASONS
from .base import Prob, Strict

Limit = Annotated[int, Field(ge=1, le=100)]
"""Most times one case may be extended, suspended or supervised."""


class Extension(Strict):
    """延期: when a case is still open and unsolved ``ask_before`` its (current) deadline, its
    handler asks for more time and obtains it with probability ``prob``; the deadline moves
    ``length`` later (working days/hours on the category's deadline calendar, or clock time),
    at most ``limit`` times. ``on_time_rate`` keeps the original deadline;
    ``on_time_rate_extended`` reads the extended one."""

    prob: Prob = Field(description="an asked extension is granted")
    length: DurationField = Field(Duration(3, "wd"), description="how much later the deadline "
                                  "falls after one extension")
    limit: Limit = Field(1, description="most extensions per case")
    ask_before: ClockDuration = Field(Duration(1, "d"), description="asked this long before "
                                      "the current deadline (at once if that is past)")


class Resume(Strict):
    """When a suspended case is taken up again: ``after`` a fixed time from its suspension,
    or at the next periodic review of the suspended cases (``every``, counted from the start
    of the run). Exactly one."""

    after: PositiveClockDuration | None = None
    every: PositiveClockDuration | None = None

    @model_validator(mode="after")
    def _one(self):
        if (self.after is None) == (self.every is None):
            raise ValueError("give exactly one of 'after' and 'every'")
        return self


class Suspension(Strict):
    """挂账: a case that cannot be handled now (funds, planning, a legacy dispute) is put on the
    suspended ledger, at triage with probability ``at_triage`` or when a tier fails to solve it
    with probability ``on_failure``; it waits outside every queue until ``resume`` and is then
    dispatched (from triage) or tried again at the tier that failed. A case ever suspended is
    excluded from ``on_time_rate`` (taken out of the cases due, as appraisals take suspended
    cases out of 应结案数: an assumption, see README)."""

    at_triage: Prob = Field(0.0, description="suspended instead of dispatched after triage")
    on_failure: Prob = Field(0.0, description="suspended instead of escalated or retried when a "
                             "tier fails to solve it")
    resume: Resume = Field(Resume(after=Duration(30, "d")), description="when it is taken up "
                           "again")
    limit: Limit = Field(1, description="most suspensions per case")


class Rejection(Strict):
    """不予立案: at its first triage the street centre refuses to file the case, because it lies
    outside the platform's scope or the report is invalid (a duplicate photo, no problem found);
    the case ends (state ``rejected``) and leaves the resolution KPIs."""

    out_of_scope: Prob = 0.0
    invalid: Prob = 0.0

    @model_validator(mode="after")
    def _below_one(self):
        total = sum(getattr(self, r) for r in REJECTION_REASONS)
        if total > 1 + 1e-9:
            raise ValueError(f"rejection probabilities must sum to at most 1, they sum to "
                             f"{total:g}")
        return self

    def as_tuple(self) -> tuple[float, ...]:
        """By reason (:data:`~gridsim.vocabulary.REJECTION_REASONS`)."""
        return tuple(getattr(self, r) for r in REJECTION_REASONS)


class Supervision(Strict):
    """督办: a case still open (not solved, not suspended) at its current deadline is supervised:
    counted, and the policy chooses a priority boost or an escalation
    (``policy.<name>.supervision``); while it stays open, again every ``every`` (none: once),
    at most ``limit`` times."""

    every: PositiveClockDuration | None = Field(None, description="repeated reminders while it "
                                                "stays open (none: one)")
    limit: Limit = Field(1, description="most supervisions per case")
