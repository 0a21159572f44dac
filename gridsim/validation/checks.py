"""The table of published metrics: each figure a city published, the scenario and KPI that check
it, the tolerance and why, and whether the scenario was fitted to it (then it is no evidence)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..scenario.errors import Problem, ScenarioError, problems_from_validation
from ..scenario.loader import bundled_scenario, read_yaml
from ..vocabulary import kpi_info

METRICS_FILE = "published/metrics.yaml"

Kind = Literal["fit", "out_of_sample", "structural", "identity"]
NEEDS_KNOCKOUT: frozenset[str] = frozenset({"out_of_sample", "structural"})
"""The kinds of check that are evidence for a mechanism, so must name it and its knockout."""


class Effect(BaseModel):
    """A published direction: the KPI moves ``direction`` when ``set`` is applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    set: dict[str, Any] = Field(description="overrides giving the 'before' (or 'after') variant")
    direction: Literal["lower", "higher"] = Field(
        description="how the KPI of the scenario compares with the variant's")


class Check(BaseModel):
    """One published figure and how gridsim is held to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    figure: str = Field(description="the published statement, in English")
    quote: str = Field("", description="the original words")
    source: str = Field(description="file in ../shared/seeds/, or the web address (and date) "
                                    "that ../shared/domain.md gives")
    scenario: str = Field(description="scenario file under scenarios/")
    kpi: str
    scope: str = "all"
    value: float | None = Field(None, description="published value in the KPI's unit")
    tolerance: float | None = None
    relative: bool = Field(False, description="tolerance is a fraction of the value")
    why: str = Field(description="why this tolerance, and how the figure maps to the KPI")
    kind: Kind = Field(
        description="fit: the scenario was calibrated or set by hand to this figure (no "
                    "evidence of validity); out_of_sample: not used in fitting; structural: "
                    "follows from a named mechanism under assumed numbers (it has a knockout); "
                    "identity: true by the code's definitions whatever the numbers (a test of "
                    "the implementation, no knockout)")
    effect: Effect | None = None
    min_effect: float | None = Field(
        None, gt=0, description="effect checks: the smallest effect, in the KPI's unit, that "
                                "counts as the published direction (the mean difference must "
                                "clear it, besides the 95 % interval excluding 0)")
    min_effect_why: str = Field("", description="why that threshold")
    mechanism: str = Field("", description="the engine mechanism this check is evidence for "
                                           "(required for out_of_sample and structural checks)")
    knockout: dict[str, Any] | None = Field(
        None, description="--set overrides that disable that mechanism (``*`` matches every "
                          "key at a level): under them the check must fail "
                          "(gridsim validate --knockouts); required for out_of_sample and "
                          "structural checks")
    known_failure: str = Field(
        "", description="why the model misses this figure, when it is known to: the check is "
                        "still run and shown, but does not fail `gridsim validate`")
    replications: int = Field(10, ge=2)
    fast_replications: int = Field(3, ge=2)

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, v: str) -> str:
        try:
            return kpi_info(v).name  # an old name is read as the new one
        except KeyError as err:
            raise ValueError(err.args[0]) from None

    @model_validator(mode="after")
    def _value_or_effect(self):
        if (self.value is None) == (self.effect is None):
            raise ValueError("a check has either a value (with tolerance) or an effect")
        if self.value is not None and self.tolerance is None:
            raise ValueError("a value check needs a tolerance")
        if self.effect is not None and (self.min_effect is None or not self.min_effect_why):
            raise ValueError("an effect check needs min_effect (the practical threshold, in "
                             "the KPI's unit) and min_effect_why (its reason)")
        if self.effect is None and self.min_effect is not None:
            raise ValueError("min_effect is for effect checks; a value check has a tolerance")
        if self.kind in NEEDS_KNOCKOUT and (not self.mechanism or not self.knockout):
            raise ValueError(f"a {self.kind} check needs a mechanism (what it is evidence for) "
                             "and a knockout (the --set overrides that disable it)")
        return self

    def bounds(self) -> tuple[float, float]:
        tol = self.tolerance * abs(self.value) if self.relative else self.tolerance
        return self.value - tol, self.value + tol


class Metrics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checks: list[Check]


def metrics_path() -> Path:
    return bundled_scenario(METRICS_FILE)


def load_checks(path: str | Path | None = None) -> list[Check]:
    """Read and validate the metrics table (the bundled one by default)."""
    p = Path(path) if path else metrics_path()
    try:
        data, lines = read_yaml(p.read_text(encoding="utf-8"), str(p))
    except OSError as e:
        raise ScenarioError(str(p), [Problem("", f"cannot read: {e}")]) from None
    try:
        metrics = Metrics.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(str(p), problems_from_validation(e, Metrics, lines)) from None
    ids = [c.id for c in metrics.checks]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise ScenarioError(str(p), [Problem("checks", f"duplicate ids: {sorted(dupes)}")])
    return metrics.checks


def select(checks: list[Check], patterns: list[str] | None) -> list[Check]:
    """Checks whose id equals or starts with one of ``patterns`` (all when none given)."""
    if not patterns:
        return checks
    out = [c for c in checks if any(c.id == p or c.id.startswith(p + ".") for p in patterns)]
    if not out:
        names = {c.id for c in checks}
        names |= {c.id.rsplit(".", k)[0] for c in checks for k in range(1, c.id.count(".") + 1)}
        close = difflib.get_close_matches(patterns[0], sorted(names), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise KeyError(f"no check matches {', '.join(patterns)}{hint}")
    return out


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
