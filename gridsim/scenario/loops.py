"""Scenario keys of the loops after service: a case sent back to the street centre for
re-dispatch (``categories.<c>.back_to_centre``) and where a failed verification reopens it
(``categories.<c>.reopen_at``). Fields of :class:`~gridsim.scenario.schema.Category`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ByTier

Return = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
"""Below 1: a tier that sent every case back would never close one."""
REOPEN_AT = ("tier", "centre")
"""Where a reopened case is reworked: at the tier that solved it, or triaged and dispatched
again by the street centre."""


class BackToCentre(ByTier):
    """Probability that, after one service at a tier (the staff's work, a meeting's session),
    the case goes back to the street centre to be triaged and dispatched again instead of
    being solved or escalated (0 everywhere: never)."""

    community: Return = 0.0
    street: Return = 0.0
    district: Return = 0.0
    joint: Return = 0.0
    city: Return = 0.0


ReopenAt = Literal[REOPEN_AT]  # type: ignore[valid-type]
