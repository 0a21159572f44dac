"""Random durations written as mappings: ``{dist: lognormal, mean: 4h, sd: 2h}``.

Every distribution samples **hours** in vectorised batches from a ``numpy.random.Generator``
(the model draws a few thousand at a time and hands them out one by one). A bare duration
(``"10min"``) means a fixed value. Supported: exponential, lognormal, gamma, triangular,
uniform, fixed, empirical (values with optional weights).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from .units import ClockDuration

MAX_CV = 1000
"""Largest ratio of standard deviation to mean (lognormal, gamma): beyond it the lognormal's
parameters overflow a float."""


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values in hours."""
        raise NotImplementedError

    @property
    def mean_hours(self) -> float:
        """The distribution's mean in hours (used by analytic checks and summaries)."""
        raise NotImplementedError


class Exponential(_Dist):
    dist: Literal["exponential"]
    mean: ClockDuration

    def sample(self, rng, n):
        return rng.exponential(self.mean.hours, n)

    @property
    def mean_hours(self):
        return self.mean.hours


class _MeanSd(_Dist):
    mean: ClockDuration
    sd: ClockDuration

    @model_validator(mode="after")
    def _positive_mean(self):
        if self.mean.hours <= 0:
            raise ValueError("mean must be positive")
        if self.sd.hours > MAX_CV * self.mean.hours:
            raise ValueError(f"sd ({self.sd}) is more than {MAX_CV:,} times the mean "
                             f"({self.mean}): the draws would overflow")
        return self

    @property
    def mean_hours(self):
        return self.mean.hours


class Lognormal(_MeanSd):
    """Parameterised by its own mean and standard deviation (not those of the log)."""

    dist: Literal["lognormal"]

    def sample(self, rng, n):
        m, s = self.mean.hours, self.sd.hours
        sigma2 = math.log1p((s / m) ** 2)
        return rng.lognormal(math.log(m) - sigma2 / 2, math.sqrt(sigma2), n)


class Gamma(_MeanSd):
    """Parameterised by mean and standard deviation (shape = (mean/sd)^2)."""

    dist: Literal["gamma"]

    def sample(self, rng, n):
        m, s = self.mean.hours, self.sd.hours
        if s == 0:
            return np.full(n, m)
        shape = (m / s) ** 2
        return rng.gamma(shape, m / shape, n)


class Triangular(_Dist):
    dist: Literal["triangular"]
    low: ClockDuration
    mode: ClockDuration
    high: ClockDuration

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low.hours <= self.mode.hours <= self.high.hours or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    def sample(self, rng, n):
        return rng.triangular(self.low.hours, self.mode.hours, self.high.hours, n)

    @property
    def mean_hours(self):
        return (self.low.hours + self.mode.hours + self.high.hours) / 3


class Uniform(_Dist):
    dist: Literal["uniform"]
    low: ClockDuration
    high: ClockDuration

    @model_validator(mode="after")
    def _ordered(self):
        if self.low.hours > self.high.hours:
            raise ValueError("need low <= high")
        return self

    def sample(self, rng, n):
        return rng.uniform(self.low.hours, self.high.hours, n)

    @property
    def mean_hours(self):
        return (self.low.hours + self.high.hours) / 2


class Fixed(_Dist):
    dist: Literal["fixed"]
    value: ClockDuration

    def sample(self, rng, n):
        return np.full(n, self.value.hours)

    @property
    def mean_hours(self):
        return self.value.hours


class Empirical(_Dist):
    """Resamples observed durations, optionally weighted."""

    dist: Literal["empirical"]
    values: list[ClockDuration] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]] | None = None

    @model_validator(mode="after")
    def _weights(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(f"weights has {len(self.weights)} entries but values has "
                                 f"{len(self.values)}")
            if sum(self.weights) <= 0:
                raise ValueError("weights must not all be zero")
        return self

    def _arrays(self):
        v = np.array([d.hours for d in self.values])
        p = None if self.weights is None else np.array(self.weights) / sum(self.weights)
        return v, p

    def sample(self, rng, n):
        v, p = self._arrays()
        return rng.choice(v, size=n, p=p)

    @property
    def mean_hours(self):
        v, p = self._arrays()
        return float(v.mean() if p is None else v @ p)


_DIST_TYPES = {c.model_fields["dist"].annotation.__args__[0]: c
               for c in (Exponential, Lognormal, Gamma, Triangular, Uniform, Fixed, Empirical)}
DIST_NAMES = tuple(_DIST_TYPES)


def _coerce(value: Any) -> Any:
    """A bare duration string means ``{dist: fixed, value: ...}``."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


_Tagged = Annotated[Exponential | Lognormal | Gamma | Triangular | Uniform | Fixed | Empirical,
                    Field(discriminator="dist")]

Distribution = Annotated[
    _Tagged,
    BeforeValidator(_coerce, json_schema_input_type=ClockDuration | _Tagged),
]
"""Any supported duration distribution, chosen by its ``dist`` key (a bare duration = fixed)."""
