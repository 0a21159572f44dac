"""Expanding templates and counts into the concrete organisation a scenario describes.

``streets`` (top level) is the template; ``districts[i].streets`` changes only the fields it
sets; ``overrides[k]`` changes street ``k`` only; ``count`` repeats a district. Street ``k`` of a
district is, from least to most specific: the top-level template, the district's template
changes, the top-level ``streets.overrides[k]`` (street ``k`` of every district that has one),
then ``districts[i].streets.overrides[k]``. The result is plain data the model builds from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .merge import merge
from .profiles import combine, department_spec, unit_params

if TYPE_CHECKING:
    from .organisation import Department, Meeting, StreetTemplate
    from .schema import Scenario


@dataclass(frozen=True)
class DistrictPlan:
    """One concrete district: its streets (resolved templates) and departments."""

    name: str
    streets: tuple[StreetTemplate, ...]
    departments: dict[str, Department]
    joint_consultation: Meeting
    params: tuple[tuple[dict[str, Any], dict[int, dict[str, Any]]], ...] = ()
    """Per street: its resolved unit parameters and its communities' by index
    (:mod:`.profiles`; empty when no street or community sets any)."""


def expand(scenario: Scenario) -> list[DistrictPlan]:
    """Every district of the scenario, with templates merged and counts expanded."""
    plans = []
    for d in scenario.districts:
        template = merge(scenario.streets, d.streets)
        everywhere = scenario.streets.overrides
        own = d.streets.overrides if d.streets else {}
        streets = tuple(merge(merge(template, everywhere.get(k)), own.get(k))
                        for k in range(template.count))
        depts = {name: department_spec(spec, d.departments.get(name), scenario.profiles)
                 for name, spec in scenario.departments.items()}
        params = street_params(scenario, streets)
        names = [d.name] if d.count == 1 else [f"{d.name}-{k}" for k in range(d.count)]
        plans += [DistrictPlan(n, streets, depts, d.joint_consultation, params) for n in names]
    return plans


def street_params(scenario: Scenario, streets: tuple[StreetTemplate, ...]
                  ) -> tuple[tuple[dict[str, Any], dict[int, dict[str, Any]]], ...]:
    """Each street's resolved parameters and its communities' (``()`` if none has any)."""
    profiles, cats = scenario.profiles, list(scenario.categories)
    out = []
    for st in streets:
        own = unit_params(st, profiles, cats)
        comm = {c: combine(own, unit_params(spec, profiles, cats))
                for c, spec in st.community_overrides.items() if c < st.communities}
        out.append((own, {c: p for c, p in comm.items() if p}))
    return tuple(out) if any(own or comm for own, comm in out) else ()


def deadline_shift(scenario: Scenario, category: str, tier: str | None = None,
                   explicit: str | None = None) -> str:
    """The shift a working-hour deadline of ``category`` counts on: ``explicit`` (a scenario
    field naming it) if given, else the shift of the role doing the work: at ``tier`` for a
    tier deadline, or of the unit leading the case for the category's own deadline.

    Only scenario-level roles and departments are consulted (a district's override of a
    department's shift does not move a deadline); name the shift to pin it.
    """
    cat = scenario.categories[category]
    if explicit is not None:
        return explicit
    roles = scenario.roles
    if tier is None:
        if cat.deadline_shift is not None:
            return cat.deadline_shift
        tier = "district" if cat.lead == "department" else "street"
    if tier in ("grid", "community"):
        return roles.grid_worker if tier == "grid" else roles.community
    if tier == "street":
        return getattr(roles, cat.street_unit)
    if tier == "district":
        return department_spec(scenario.departments[cat.departments[0]], None,
                               scenario.profiles).shift
    return roles.joint if tier == "joint" else roles.city
