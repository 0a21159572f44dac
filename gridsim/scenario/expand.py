"""Expanding templates and counts into the concrete organisation a scenario describes.

``streets`` (top level) is the template; ``districts[i].streets`` changes only the fields it
sets; ``overrides[k]`` changes street ``k`` only; ``count`` repeats a district. The result is
plain data the model builds from.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from .schema import Department, Meeting, Scenario, StreetTemplate


def merge(base: BaseModel, over: BaseModel | None) -> BaseModel:
    """``base`` with the fields explicitly set in ``over`` replaced (nested models merged)."""
    if over is None:
        return base
    update = {}
    for name in over.model_fields_set:
        value, current = getattr(over, name), getattr(base, name)
        if isinstance(value, BaseModel) and isinstance(current, BaseModel):
            value = merge(current, value)
        update[name] = value
    return base.model_copy(update=update)


@dataclass(frozen=True)
class DistrictPlan:
    """One concrete district: its streets (resolved templates) and departments."""

    name: str
    streets: tuple[StreetTemplate, ...]
    departments: dict[str, Department]
    joint_consultation: Meeting


def expand(scenario: Scenario) -> list[DistrictPlan]:
    """Every district of the scenario, with templates merged and counts expanded."""
    plans = []
    for d in scenario.districts:
        template = merge(scenario.streets, d.streets)
        overrides = d.streets.overrides if d.streets else {}
        streets = tuple(merge(template, overrides.get(k)) for k in range(template.count))
        depts = {name: merge(spec, d.departments.get(name))
                 for name, spec in scenario.departments.items()}
        names = [d.name] if d.count == 1 else [f"{d.name}-{k}" for k in range(d.count)]
        plans += [DistrictPlan(n, streets, depts, d.joint_consultation) for n in names]
    return plans
