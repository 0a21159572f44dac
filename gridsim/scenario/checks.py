"""Checks that span fields of a validated scenario: a category naming a department, a pool
working a shift, a street override's index, the calendar's last date. Each problem comes with
the YAML path it is about (the loader adds the file's line)."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import TYPE_CHECKING

from ..units import Duration
from .discovery import check as discovery_check
from .hotline import hotline_checks
from .profiles import profile_checks
from .resident import resident_checks

if TYPE_CHECKING:
    from .organisation import District
    from .schema import Scenario

CALENDAR_DAYS_AFTER = 400
"""Days the working calendar covers past the horizon (``gridsim.plan.calendar.Calendars``)."""


def _closest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _street_count(s: Scenario, district: District) -> int:
    """Streets of ``district``: its template's count if it sets one, else the top level's."""
    own = district.streets
    return own.count if own is not None and "count" in own.model_fields_set else s.streets.count


def latest_start(horizon: Duration) -> dt.date:
    """The last ``calendar.start`` whose working calendar (horizon plus
    :data:`CALENDAR_DAYS_AFTER` days) still ends within Python's dates."""
    return dt.date.max - dt.timedelta(days=int(horizon.hours // 24) + CALENDAR_DAYS_AFTER - 1)


def cross_check(s: Scenario) -> list[tuple[str, str]]:
    """Problems that span fields: ``[(yaml_path, message), ...]``; empty when consistent."""
    problems: list[tuple[str, str]] = []
    last = latest_start(s.horizon)
    if s.calendar.start > last:
        problems.append(("calendar.start", f"{s.calendar.start} is too late: the working "
                         f"calendar runs {CALENDAR_DAYS_AFTER} days past the horizon "
                         f"({s.horizon}) and dates end at {dt.date.max}; the latest start for "
                         f"this horizon is {last}"))
    shifts = list(s.calendar.shifts)
    depts = list(s.departments)

    def shift_ok(path: str, name: str | None) -> None:
        if name is not None and name not in shifts:
            problems.append((path, f"unknown shift '{name}'{_closest(name, shifts)}; "
                                   f"defined shifts: {', '.join(shifts)}"))

    for role, name in s.roles.model_dump().items():
        shift_ok(f"roles.{role}", name)
    for d, spec in s.departments.items():
        shift_ok(f"departments.{d}.shift", spec.shift)
    for i, district in enumerate(s.districts):
        for d, spec in district.departments.items():
            if d not in depts:
                problems.append((f"districts[{i}].departments.{d}",
                                 f"unknown department '{d}'{_closest(d, depts)}"))
            shift_ok(f"districts[{i}].departments.{d}.shift", spec.shift)
        n = _street_count(s, district)
        for k in (district.streets.overrides if district.streets else {}):
            if not 0 <= k < n:
                problems.append((f"districts[{i}].streets.overrides.{k}",
                                 f"street index {k} out of range: the district has {n} streets "
                                 f"(0..{n - 1})"))
    # a top-level override for a street no district has is ignored, so that a scenario with
    # profiled streets can be made smaller (--set streets.count=2: the default's streets 3, 5)
    for k in s.streets.overrides:
        if k < 0:
            problems.append((f"streets.overrides.{k}", f"street index {k} out of range: "
                             "indices count from 0"))
    names = [d.name for d in s.districts]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append((f"districts[{i}].name", f"district name '{name}' is used twice"))
    shift_ok("policy.four_tier.tier_deadlines.shift", s.policy.four_tier.tier_deadlines.shift)
    problems += discovery_check(s)
    problems += hotline_checks(s)
    problems += profile_checks(s)
    problems += resident_checks(s)
    for c, cat in s.categories.items():
        shift_ok(f"categories.{c}.deadline_shift", cat.deadline_shift)
        for j, d in enumerate(cat.departments):
            if d not in depts:
                hint = _closest(d, depts) or (f"; defined: {', '.join(depts)}" if depts else
                                              "; no departments are defined")
                problems.append((f"categories.{c}.departments[{j}]",
                                 f"unknown department '{d}'{hint}"))
    return problems
