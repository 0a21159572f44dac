"""The organisation as a scenario writes it, by counts and templates: streets (communities,
grids, households, staff), the roles' shifts, district departments, the meetings of the joint
consultation and the city, and the districts (expanded by :mod:`.expand`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from ..distributions import Distribution
from ..units import ClockDuration, Duration, PositiveClockDuration
from .base import MAX_STAFF, Count, PosCount, Prob, Staff, Strict, _dist, path_safe
from .names import name_schema
from .unitparams import CommunityIndex, UnitSpec


class StreetStaff(Strict):
    """Head counts of one street's pools."""

    grid_workers_per_grid: Staff = Field(
        1, description="grid workers (网格员) per grid; with none, problems are never found on "
                       "patrol and solved cases close unverified")
    community_per_community: Staff = 3
    centre: Staff = Field(4, description="street grid-management centre operators")
    enforcement: Staff = Field(10, description="street comprehensive law-enforcement team")
    office: Staff = Field(6, description="street internal offices handling street matters")


class StreetShape(UnitSpec):
    """One street's size and staff (in an override, fields left out keep the template's), and
    its parameters (:mod:`.unitparams`: a profile and/or values)."""

    communities: PosCount = 6
    grids_per_community: PosCount = 8
    households_per_grid: Staff = 300
    staff: StreetStaff = StreetStaff()
    community_overrides: dict[CommunityIndex, UnitSpec] = Field(
        default_factory=dict, description="per-community parameters, keyed by the community's "
        "index in the street; they win over the street's")


class StreetTemplate(StreetShape):
    """What every street of a district looks like (fields left out keep the template's value)."""

    count: Count = 1
    overrides: dict[int, StreetShape] = Field(
        default_factory=dict, description="per-street changes, keyed by the street's index "
        "(at the top level: street k of every district that has one; a district's own "
        "overrides apply after them)")


class Roles(Strict):
    """Which shift each role works (names from ``calendar.shifts``). Working-time deadlines
    count on the shift of the role that does the work unless they name one."""

    grid_worker: str = "patrol"
    community: str = "office"
    centre: str = "office"
    enforcement: str = "office"
    office: str = "office"
    joint: str = Field("office", description="shift the district joint consultations meet on: "
                                             "a meeting due off shift waits for the next "
                                             "on-shift moment")
    city: str = Field("office", description="shift the city coordination meeting meets on")


class Department(Strict):
    """A district department's field staff (区直部门)."""

    staff: Staff = 10
    shift: str = "office"
    report_time: Distribution = Field(default_factory=lambda: _dist("ln", 4, "h", 3),
                                      description="time to arrive on site once staff is free")
    # department behaviour under the street's calls (issue 16, appraisal)
    report_rate: Prob = Field(
        1.0, description="chance the department answers a call (报到率); unanswered, the call "
                         "lapses and the case waits for policy.recall_delay or its deadline")
    cooperation: Prob = Field(
        1.0, description="chance the department does its part in a joint visit (配合度); if "
                         "one does not, the visit fails (the policy's failed hook)")
    profile: str | None = Field(None, description="a name from the top-level profiles: its "
                                "department values apply, values given here win")


class DepartmentOverride(Strict):
    staff: Staff | None = None
    shift: str | None = None
    report_time: Distribution | None = None
    report_rate: Prob | None = None
    cooperation: Prob | None = None
    profile: str | None = None


class Meeting(Strict):
    """A tier that meets on a cadence (joint consultation weekly, city monthly)."""

    every: PositiveClockDuration = Duration(7, "d")
    offset: ClockDuration = Field(Duration(3, "d"), description="first meeting after the start")
    agenda: Annotated[int, Field(ge=1, le=MAX_STAFF)] = Field(
        10, description="cases decided per meeting")


class CityMeeting(Meeting):
    """The city coordination meeting (市级统筹)."""

    per_district: bool = Field(
        False, description="each district's cases get their own session with this agenda "
                           "(the city's attention is not shared); districts then share no "
                           "capacity and can be simulated as independent shards")


class District(Strict):
    name: str = Field(min_length=1, json_schema_extra=name_schema("district name"))

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        return path_safe(v, "district name")
    count: PosCount = Field(1, description="identical copies of this district")
    streets: StreetTemplate | None = None
    departments: dict[str, DepartmentOverride] = Field(default_factory=dict)
    joint_consultation: Meeting = Meeting()
