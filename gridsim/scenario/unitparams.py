"""What a unit (a street or a community) may change about the cases it handles: the models a
street template, a street override, a community override and a named profile
(:mod:`.profiles`) share. Every field is optional: a value left out keeps the category's.

The values apply to every category (``solve: {community: 0.6}``) or to one
(``categories: {garbage_overflow: {solve: {community: 0.9}}}``); the category's own entry wins
over the unit's all-category value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from ..vocabulary import SOURCES, TIERS
from .base import MAX_COUNT, Prob, Rate, Strict

Scale = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
PosScale = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
UNIT_TIERS = TIERS[:TIERS.index("street") + 1]
"""Tiers whose work a street's own staff do: the ones ``work_scale`` multiplies."""


class SolveOverride(Strict):
    """Probability that one attempt at a tier solves the case (tiers left out keep the
    category's)."""

    community: Prob | None = None
    street: Prob | None = None
    district: Prob | None = None
    joint: Prob | None = None
    city: Prob | None = None


class _Params(Strict):
    solve: SolveOverride | None = Field(
        None, description="per tier: probability one attempt solves the case here")
    work_scale: PosScale | None = Field(
        None, description="multiplies the work a case needs at the grid, community and street "
                          "tiers (the unit's own staff): the same draws, scaled")
    reopen: Prob | None = Field(None, description="verification fails and the case is reworked")
    on_spot: Prob | None = Field(None, description="share of patrol finds fixed on the spot")
    rate_scale: Scale | None = Field(
        None, description="multiplies how often problems arise here (every source, and the "
                          "discovery race's arises)")


class CategoryParams(_Params):
    """A unit's values for one category."""

    rates: dict[Literal[SOURCES], Rate] | None = Field(  # type: ignore[valid-type]
        None, description="replace the category's rates of these sources here (before "
                          "rate_scale)")


class UnitParams(_Params):
    """A unit's values for every category, and per category."""

    categories: dict[str, CategoryParams] | None = Field(
        None, description="values for one category (they win over the unit's all-category "
                          "values)")


class UnitSpec(UnitParams):
    """A unit's parameters: a named profile and/or values given here (which win over it)."""

    profile: str | None = Field(None, description="a name from the top-level profiles")


CommunityIndex = Annotated[int, Field(ge=0, lt=MAX_COUNT)]
