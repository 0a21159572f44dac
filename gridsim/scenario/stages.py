"""Scenario keys of the per-stage time limits of digital city management (数字城管): how long a
case may take to be filed (立案), dispatched (派遣), reached on site, handled (处置) and verified
(核查, then 结案), each measured from the end of the stage before.

    uploaded ─filing─▶ filed at the street centre ─dispatch─▶ the handling unit has it
      ─arrival─▶ someone is on site (a team starts work, a department's crew arrives)
      ─handling─▶ solved ─verification─▶ verified by the grid worker and closed

A limit is a duration in clock time (``30min``) or working time (``1wh``, ``2wd``); working
hours count on the shift of whoever does the stage (:func:`stage_shift`). ``stage_limits`` at
the top level is every category's default; ``categories.<c>.stage_limits`` overrides it stage by
stage (``null`` removes a default limit). A stage with no limit is still timed (its mean
duration is a KPI) but never counted on time or late. Limits measure: they do not change what
the organisation does (see README "Stage limits").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from ..units import Duration, DurationField
from ..vocabulary import STAGES
from .base import Strict
from .expand import deadline_shift

if TYPE_CHECKING:
    from .schema import Scenario

__all__ = ["STAGES", "StageLimits", "stage_limits", "stage_shift"]


class StageLimits(Strict):
    """Per stage, the longest it may take (null: no limit)."""

    filing: DurationField | None = Field(
        None, description="from upload to filed: triaged at the street centre (立案)")
    dispatch: DurationField | None = Field(
        None, description="from filed to the handling unit having the case (派遣)")
    arrival: DurationField | None = Field(
        None, description="from the unit having it to someone on site: a team starts work, a "
                          "department's crew arrives")
    handling: DurationField | None = Field(
        None, description="from on site to solved (处置), rework included")
    verification: DurationField | None = Field(
        None, description="from solved to verified by the grid worker and closed (核查/结案)")

    @field_validator(*STAGES)
    @classmethod
    def _positive(cls, v: Duration | None) -> Duration | None:
        if v is not None and v.value <= 0:
            raise ValueError(f"a stage limit must be positive (got {v}); leave the stage out "
                             "(or null) for no limit")
        return v


def stage_limits(scenario: Scenario, category: str) -> tuple[Duration | None, ...]:
    """The limits of ``category``'s stages, in :data:`STAGES` order: the category's own where
    it sets them, else the scenario's default."""
    base = scenario.stage_limits
    own = scenario.categories[category].stage_limits
    out = []
    for stage in STAGES:
        value: Any = None
        if own is not None and stage in own.model_fields_set:
            value = getattr(own, stage)
        elif base is not None:
            value = getattr(base, stage)
        out.append(value)
    return tuple(out)


def stage_shift(scenario: Scenario, category: str, stage: str) -> str:
    """The shift a working-hour limit of ``stage`` counts on: the street centre's for filing
    and dispatch, the grid worker's for verification, and for arrival and handling the shift
    the category's own deadline counts on (its ``deadline_shift``, else the leading unit's)."""
    roles = scenario.roles
    if stage in ("filing", "dispatch"):
        return roles.centre
    if stage == "verification":
        return roles.grid_worker
    return deadline_shift(scenario, category)
