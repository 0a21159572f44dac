"""Named unit profiles (``profiles: {new_area: {...}}``) and how a unit's parameters resolve.

A profile is a set of unit parameters (:mod:`.unitparams`: solve probabilities, work-time scale,
rework, on-the-spot share, problem rates; for every category or per category) and of department
fields (``department:``, any field of a district department override: staff, shift,
report_time, and whatever else a department has). A street, a community or a department names
one with ``profile:`` and may give values directly, which win over the profile's.

Resolution, from least to most specific: the category's own values; the street's profile; the
street's direct values (after its template and overrides are merged, as for every street
field); the community's profile; the community's direct values. Within one unit, a category's
own entry (``categories: {c: ...}``) wins over the unit's all-category value. A unit's resolved
parameters are plain data, ``{category: {key: value}}`` (:data:`Flat`), that the model turns
into per-unit variants of each category (:mod:`gridsim.model.variants`).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import Field

from .merge import merge
from .organisation import Department, DepartmentOverride
from .unitparams import CategoryParams, UnitParams, UnitSpec

if TYPE_CHECKING:
    from .schema import Scenario

Flat = dict[str, dict[str, Any]]
"""Resolved parameters of one unit: per category name, ``solve`` ({tier: p}), ``rates``
({source: Rate}), ``work_scale``, ``reopen``, ``on_spot``, ``rate_scale``."""
STRUCTURED = ("solve", "rates", "categories", "profile", "department", "community_overrides")


def _scalars(p: UnitParams | CategoryParams) -> list[str]:
    """The plain-valued parameters of ``p``'s model (work_scale, reopen, on_spot, rate_scale,
    and any field added to :class:`~.unitparams.UnitParams` later)."""
    return [k for k in CategoryParams.model_fields if k not in STRUCTURED and k in
            type(p).model_fields]


class Profile(UnitParams):
    """A named set of unit parameters, for the streets, communities and departments that name
    it (``profile: name``)."""

    department: DepartmentOverride | None = Field(
        None, description="department fields (staff, shift, report_time, ...) for the "
                          "departments that name this profile")


def _layer(p: UnitParams | CategoryParams, into: dict[str, Any]) -> None:
    if p.solve is not None:
        solve = into.setdefault("solve", {})
        solve.update({t: v for t, v in p.solve.model_dump().items() if v is not None})
        if not solve:
            del into["solve"]
    for key in _scalars(p):
        v = getattr(p, key)
        if v is not None:
            into[key] = v
    rates = getattr(p, "rates", None)
    if rates:
        into.setdefault("rates", {}).update(rates)


def flatten(p: UnitParams | None, categories: list[str]) -> Flat:
    """``p`` per category: its all-category values, then each category's own entry."""
    out: Flat = {}
    if p is None:
        return out
    for c in categories:
        entry: dict[str, Any] = {}
        _layer(p, entry)
        if p.categories and c in p.categories:
            _layer(p.categories[c], entry)
        if entry:
            out[c] = entry
    return out


def combine(base: Flat, over: Flat) -> Flat:
    """``base`` with ``over``'s values winning (per category, per key; per tier and source)."""
    if not over:
        return base
    out = {c: dict(v) for c, v in base.items()}
    for c, entry in over.items():
        into = out.setdefault(c, {})
        for key, v in entry.items():
            into[key] = {**into.get(key, {}), **v} if isinstance(v, dict) else v
    return out


def unit_params(spec: UnitSpec, profiles: dict[str, Profile], categories: list[str]) -> Flat:
    """A street's or community's resolved parameters: its profile's, then its own values."""
    prof = profiles.get(spec.profile) if spec.profile is not None else None
    return combine(flatten(prof, categories), flatten(spec, categories))


def department_spec(top: Department, over: DepartmentOverride | None,
                    profiles: dict[str, Profile]) -> Department:
    """A district's department: the scenario's (its profile, then its own values), then the
    district's override (its profile, then its own values)."""
    spec = top
    for layer in (top, over):
        if layer is None:
            continue
        prof = profiles.get(layer.profile) if layer.profile is not None else None
        if prof is not None and prof.department is not None:
            spec = merge(spec, prof.department)
        spec = merge(spec, layer)
    return spec  # type: ignore[return-value]


def _closest(word: str, options: list[str], what: str = "profiles") -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    if match:
        return f" (did you mean '{match[0]}'?)"
    return f"; defined: {', '.join(options)}" if options else f"; no {what} are defined"


def _unit_fields(p: Profile) -> list[str]:
    return [k for k in p.model_fields_set if k != "department" and getattr(p, k) is not None]


def profile_checks(s: Scenario) -> list[tuple[str, str]]:
    """Unknown profile and category names, a profile a unit cannot use, community indices."""
    problems: list[tuple[str, str]] = []
    names, cats = list(s.profiles), list(s.categories)

    def category_names(path: str, p: UnitParams) -> None:
        for c in p.categories or {}:
            if c not in cats:
                problems.append((f"{path}.categories.{c}",
                                 f"unknown category '{c}'{_closest(c, cats)}"))

    for n, p in s.profiles.items():
        category_names(f"profiles.{n}", p)
        if p.department is not None and p.department.profile is not None:
            problems.append((f"profiles.{n}.department.profile",
                             "a profile's department values cannot name a profile"))
        shift = p.department.shift if p.department is not None else None
        if shift is not None and shift not in s.calendar.shifts:
            problems.append((f"profiles.{n}.department.shift", f"unknown shift '{shift}'"
                             f"{_closest(shift, list(s.calendar.shifts), 'shifts')}"))

    def unit(path: str, spec: UnitSpec) -> None:
        category_names(path, spec)
        name = spec.profile
        if name is None:
            return
        if name not in names:
            problems.append((f"{path}.profile", f"unknown profile '{name}'{_closest(name, names)}"))
        elif s.profiles[name].department is not None:
            problems.append((f"{path}.profile", f"profile '{name}' sets department values, "
                             "which a street or community cannot use (give them to a "
                             "department's profile)"))

    def street(path: str, shape: Any, communities: int | None) -> None:
        if shape is None:
            return
        unit(path, shape)
        for c, spec in shape.community_overrides.items():
            unit(f"{path}.community_overrides.{c}", spec)
            if communities is not None and c >= communities:
                problems.append((f"{path}.community_overrides.{c}",
                                 f"community index {c} out of range: the street has "
                                 f"{communities} communities (0..{communities - 1})"))

    def dept(path: str, spec: Department | DepartmentOverride) -> None:
        name = spec.profile
        if name is None:
            return
        if name not in names:
            problems.append((f"{path}.profile", f"unknown profile '{name}'{_closest(name, names)}"))
        elif (used := _unit_fields(s.profiles[name])):
            problems.append((f"{path}.profile", f"profile '{name}' sets {', '.join(sorted(used))}, "
                             "which a department cannot use (a department takes only its "
                             "department: values)"))

    def count(shape: Any, default: int) -> int:
        return shape.communities if shape is not None and "communities" in \
            shape.model_fields_set else default

    top = s.streets
    street("streets", top, top.communities)
    for k, o in top.overrides.items():
        street(f"streets.overrides.{k}", o, count(o, top.communities))
    for d, spec in s.departments.items():
        dept(f"departments.{d}", spec)
    for i, district in enumerate(s.districts):
        own = district.streets
        base = count(own, top.communities)
        street(f"districts[{i}].streets", own, base)
        for k, o in (own.overrides if own is not None else {}).items():
            street(f"districts[{i}].streets.overrides.{k}", o,
                   count(o, count(top.overrides.get(k), base)))
        for d, spec in district.departments.items():
            dept(f"districts[{i}].departments.{d}", spec)
    return problems
