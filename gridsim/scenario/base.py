"""What every scenario model shares: the strict frozen base class, bounded number types, the
default distributions' shorthand and the check of names that become file and folder names."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..distributions import Exponential, Lognormal
from ..units import Duration, PositiveClockDuration

NonNegInt = Annotated[int, Field(ge=0)]
PosInt = Annotated[int, Field(ge=1)]
Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
# Bounds beyond any sense where a number sizes arrays or loops: a typing slip (an extra 000)
# gets a message here instead of gigabytes later (the whole model's size is checked too, by
# gridsim.scenario.size, before anything is built).
MAX_COUNT = 10_000
"""Most streets per district, communities per street, grids per community, district copies."""
MAX_STAFF = 1_000_000
"""Most staff in one pool, households per grid, cases on one meeting's agenda."""
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
PosCount = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Staff = Annotated[int, Field(ge=0, le=MAX_STAFF)]
Weight = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]


class Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)



class ByTier(Strict):
    """A probability per tier a case is handled at (the grid's is always 0)."""

    community: Prob = 0.0
    street: Prob = 0.0
    district: Prob = 0.0
    joint: Prob = 0.0
    city: Prob = 0.0

    def as_tuple(self) -> tuple[float, ...]:
        """By tier index, ``grid`` first (0: nothing of this happens on the spot)."""
        return (0.0, self.community, self.street, self.district, self.joint, self.city)

def _dist(kind: str, mean: float, unit: str = "h", sd: float | None = None) -> Any:
    m = Duration(mean, unit)
    if kind == "exp":
        return Exponential(dist="exponential", mean=m)
    return Lognormal(dist="lognormal", mean=m, sd=Duration(sd if sd is not None else mean, unit))


def path_safe(text: Any, what: str) -> Any:
    """``text`` if it can name a file or folder: not only dots (``.`` and ``..`` are the folder
    itself and its parent), no ``/`` or ``\\``, no control or invisible characters, no
    leading or trailing space (the names appear in folder names and unit labels)."""
    if not isinstance(text, str):
        return text  # the type check reports it
    bad = [c for c in text if c in "/\\" or (c != " " and unicodedata.category(c)[0] in "CZ")]
    if bad:
        raise ValueError(f"a {what} may not contain {bad[0]!r} (it names files and folders); "
                         f"got {text!r}")
    if text.strip(".") == "":
        raise ValueError(f"a {what} may not be only dots ('.' and '..' are a folder itself "
                         f"and its parent); got {text!r}")
    if text != text.strip():
        raise ValueError(f"a {what} may not start or end with a space; got {text!r}")
    return text


class Rate(Strict):
    """An arrival rate: ``value`` cases per ``per`` unit every ``every``."""

    value: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    per: Literal["household", "grid", "community", "street"] = "grid"
    every: PositiveClockDuration = Duration(365, "d")

    @property
    def per_hour(self) -> float:
        return self.value / self.every.hours
