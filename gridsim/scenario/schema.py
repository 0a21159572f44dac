"""The scenario file, as pydantic models: what a planner writes, validated once, then frozen.

A scenario describes the organisation tree by **counts and templates**: ``streets`` is the
template every street follows (communities, grids, households, staff); each district may change
it (``districts[i].streets``) and single streets may be overridden by index
(``districts[i].streets.overrides``). So a 150-street city is a short file.

Cross-references (a category naming a department, a pool working a shift) are checked after
field validation by :func:`cross_check`, which returns the YAML path of each problem.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    create_model,
    field_validator,
    model_validator,
)

from ..policies import REGISTRY, CommonPolicy
from ..vocabulary import LEADS, RECORD_LEVELS, ROW_LEVELS, SOURCES, STREET_UNITS
from .distributions import Distribution, Exponential, Lognormal
from .loops import BackToCentre, ReopenAt
from .names import name_schema
from .units import ClockDuration, Duration, DurationField, PositiveClockDuration

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
CALENDAR_DAYS_AFTER = 400
"""Days the working calendar covers past the horizon (``gridsim.model.calendar.Calendars``)."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _dist(kind: str, mean: float, unit: str = "h", sd: float | None = None) -> Any:
    m = Duration(mean, unit)
    if kind == "exp":
        return Exponential(dist="exponential", mean=m)
    return Lognormal(dist="lognormal", mean=m, sd=Duration(sd if sd is not None else mean, unit))


# --------------------------------------------------------------------------- calendar
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class Shift(Strict):
    """When a pool works: on which days, and which clock ranges on those days."""

    days: Literal["workdays", "all"] | list[Literal[WEEKDAYS]] = "workdays"  # type: ignore[valid-type]
    hours: list[str] = Field(default_factory=lambda: ["00:00-24:00"], min_length=1)

    @field_validator("hours")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        last = -1.0
        for r in v:
            m = _RANGE.match(r.strip())
            if not m:
                raise ValueError(f"cannot read time range {r!r}: write e.g. '08:30-12:00'")
            a = int(m[1]) + int(m[2]) / 60
            b = int(m[3]) + int(m[4]) / 60
            if not 0 <= a < b <= 24:
                raise ValueError(f"time range {r!r} must start before it ends, within 00:00-24:00")
            if a < last:
                raise ValueError(f"time ranges must be in order and not overlap ({r!r})")
            last = b
        return v

    def ranges(self) -> list[tuple[float, float]]:
        """Clock ranges in hours of the day."""
        out = []
        for r in self.hours:
            m = _RANGE.match(r.strip())
            out.append((int(m[1]) + int(m[2]) / 60, int(m[3]) + int(m[4]) / 60))
        return out


def _default_shifts() -> dict[str, Shift]:
    return {
        "office": Shift(days="workdays", hours=["08:30-12:00", "13:30-17:30"]),
        "always": Shift(days="all", hours=["00:00-24:00"]),
        "patrol": Shift(days="all", hours=["08:00-12:00", "14:00-18:00"]),
    }


class CalendarSpec(Strict):
    """The working calendar: start date (t = 0 at midnight), weekend, public holidays."""

    start: dt.date = dt.date(2026, 1, 5)
    weekend: list[Literal[WEEKDAYS]] = ["sat", "sun"]  # type: ignore[valid-type]
    holidays: list[str] = Field(default_factory=list, description="dates or 'from..to' ranges")
    extra_workdays: list[dt.date] = Field(default_factory=list,
                                          description="weekend days worked (调休)")
    shifts: dict[str, Shift] = Field(default_factory=_default_shifts)

    @field_validator("holidays")
    @classmethod
    def _dates(cls, v: list[Any]) -> list[str]:
        out = []
        for item in v:
            text = str(item)
            try:
                parts = [dt.date.fromisoformat(p.strip()) for p in text.split("..")]
            except ValueError:
                raise ValueError(f"cannot read holiday {text!r}: write '2026-10-01' or "
                                 "'2026-10-01..2026-10-07'") from None
            if len(parts) > 2 or parts[0] > parts[-1]:
                raise ValueError(f"holiday range {text!r} must be 'from..to' with from <= to")
            if (parts[-1] - parts[0]).days >= 366:
                raise ValueError(f"holiday range {text!r} is longer than a year")
            out.append(text)
        return out

    def holiday_dates(self) -> set[dt.date]:
        days: set[dt.date] = set()
        for text in self.holidays:
            parts = [dt.date.fromisoformat(p.strip()) for p in text.split("..")]
            first, last = parts[0], parts[-1]  # counted, not stepped past: 9999-12-31 is a date
            days.update(first + dt.timedelta(days=k) for k in range((last - first).days + 1))
        return days


# --------------------------------------------------------------------------- organisation
class StreetStaff(Strict):
    """Head counts of one street's pools."""

    grid_workers_per_grid: Staff = Field(
        1, description="grid workers (网格员) per grid; with none, problems are never found on "
                       "patrol and solved cases close unverified")
    community_per_community: Staff = 3
    centre: Staff = Field(4, description="street grid-management centre operators")
    enforcement: Staff = Field(10, description="street comprehensive law-enforcement team")
    office: Staff = Field(6, description="street internal offices handling street matters")


class StreetShape(Strict):
    """One street's size and staff (in an override, fields left out keep the template's)."""

    communities: PosCount = 6
    grids_per_community: PosCount = 8
    households_per_grid: Staff = 300
    staff: StreetStaff = StreetStaff()


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


class DepartmentOverride(Strict):
    staff: Staff | None = None
    shift: str | None = None
    report_time: Distribution | None = None


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


# --------------------------------------------------------------------------- issues
class Rate(Strict):
    """An arrival rate: ``value`` cases per ``per`` unit every ``every``."""

    value: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    per: Literal["household", "grid", "community", "street"] = "grid"
    every: PositiveClockDuration = Duration(365, "d")

    @property
    def per_hour(self) -> float:
        return self.value / self.every.hours


class TierShares(Strict):
    """Probability of each tier; must sum to 1."""

    community: Prob = 0.0
    street: Prob = 0.0
    district: Prob = 0.0
    joint: Prob = 0.0
    city: Prob = 0.0

    @model_validator(mode="after")
    def _sums_to_one(self):
        total = sum(self.as_tuple())
        if abs(total - 1) > 1e-6:
            raise ValueError(f"tier shares must sum to 1, they sum to {total:g}")
        return self

    def as_tuple(self) -> tuple[float, ...]:
        return (self.community, self.street, self.district, self.joint, self.city)


class SolveProbs(Strict):
    """Probability that one attempt at a tier solves the case."""

    community: Prob = 0.7
    street: Prob = 0.85
    district: Prob = 0.9
    joint: Prob = 0.9
    city: Prob = 0.95


class WorkTimes(Strict):
    """Staff effort (working time) per attempt at each tier."""

    grid: Distribution = Field(default_factory=lambda: _dist("exp", 30, "min"))
    community: Distribution = Field(default_factory=lambda: _dist("ln", 3, "h", 2))
    street: Distribution = Field(default_factory=lambda: _dist("ln", 4, "h", 3))
    district: Distribution = Field(default_factory=lambda: _dist("ln", 6, "h", 4))
    joint: Distribution = Field(default_factory=lambda: _dist("ln", 8, "h", 6))
    city: Distribution = Field(default_factory=lambda: _dist("ln", 16, "h", 12))


class Category(Strict):
    """A kind of problem: how often it arises, where it starts, who handles it and how."""

    lead: Literal[LEADS] = Field(  # type: ignore[valid-type]
        "street", description="Xi'an's split (003): the street's alone, or led by departments")
    rates: dict[Literal[SOURCES], Rate] = Field(min_length=1)  # type: ignore[valid-type]
    on_spot: Prob = Field(0.0, description="share of patrol finds fixed on the spot")
    tiers: TierShares = Field(description="tier a triaged case starts at")
    departments: list[str] = Field(min_length=1,
                                   description="district departments the case needs if it "
                                               "reaches them (the first one leads)")
    street_unit: Literal[STREET_UNITS] = "enforcement"  # type: ignore[valid-type]
    work: WorkTimes = WorkTimes()
    solve: SolveProbs = SolveProbs()
    reopen: Prob = Field(0.05, description="verification fails and the case is reworked")
    reopen_at: ReopenAt = Field("tier", description="where a reopened case is reworked: the "
                                "tier that solved it, or the street centre (triaged and "
                                "dispatched again)")
    back_to_centre: BackToCentre = Field(
        BackToCentre(), description="per tier: after a service there, the case goes back to the "
                                    "street centre for re-dispatch")
    deadline: DurationField = Field(Duration(5, "wd"), description="from upload to closure")
    deadline_shift: str | None = Field(
        None, description="shift whose on-shift hours a deadline in working hours (wh) counts; "
                          "default: the shift of the unit leading the case (roles.<street_unit> "
                          "for street-led cases, the first department's shift for "
                          "department-led ones). Working days (wd) are the calendar's")


class Patrol(Strict):
    """Grid workers' patrol: each worker sweeps the grid once per ``interval`` of patrol time."""

    interval: PositiveClockDuration = Duration(8, "h")
    detect_prob: Prob = Field(0.8, description="a sweep notices an existing problem")

    @model_validator(mode="after")
    def _positive(self):
        if self.interval.hours <= 0 or self.detect_prob <= 0:
            raise ValueError("interval and detect_prob must be positive")
        return self


class HotlineProfile(Strict):
    """Relative intensity of hotline calls by hour of day and day of week (rescaled to mean 1)."""

    hourly: list[Weight] = Field(
        default_factory=lambda: [0.2] * 7 + [0.8, 1.4, 1.8, 1.8, 1.5, 1.2, 1.3, 1.6, 1.7, 1.6,
                                             1.4, 1.1, 1.0, 0.9, 0.7, 0.5, 0.3],
        min_length=24, max_length=24)
    weekly: list[Weight] = Field(
        default_factory=lambda: [1.1, 1.05, 1.0, 1.0, 1.0, 0.9, 0.85], min_length=7, max_length=7)

    @model_validator(mode="after")
    def _not_zero(self):
        if sum(self.hourly) <= 0 or sum(self.weekly) <= 0:
            raise ValueError("profile weights must not all be zero")
        return self


class Hotline(Strict):
    """Citizen hotline 12345: calls are forwarded by the platform to the street centre."""

    dispatch_delay: Distribution = Field(default_factory=lambda: _dist("ln", 2, "h", 1.5))
    profile: HotlineProfile = HotlineProfile()


class Recording(Strict):
    """What a run keeps of its cases (the load samples are always kept)."""

    load_interval: PositiveClockDuration = Field(Duration(1, "h"),
                                                 description="load sampling interval")
    level: Literal[RECORD_LEVELS] = Field(  # type: ignore[valid-type]
        "issues", description="issues: one row per case (result.issues, issues.parquet); "
        "events: the case rows plus one row per state change of a case (result.events, "
        "events.parquet); kpis: only the KPIs and per-unit counts, computed chunk by chunk as "
        "the clock runs (bounded memory, no issue table)")
    stream: bool = Field(
        False, description="with level issues or events: write the case rows (and the event "
        "log) to Parquet chunk by chunk instead of keeping them in memory (KPIs are computed "
        "from the files)")
    chunk: Annotated[int, Field(ge=1, le=1_048_576)] = Field(
        65536, description="case (and event) rows packed per chunk (and per Parquet row group "
        "when streaming)")

    @field_validator("load_interval")
    @classmethod
    def _positive_interval(cls, v: Duration) -> Duration:
        if v.hours <= 0:
            raise ValueError(f"must be a positive duration (got {v})")
        return v

    @model_validator(mode="after")
    def _stream_needs_rows(self) -> Recording:
        if self.stream and self.level not in ROW_LEVELS:
            raise ValueError(f"stream writes the case rows, so it needs level 'issues' or "
                             f"'events' (got level '{self.level}'); drop stream or use level "
                             f"issues or events")
        return self


def _policy_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        "name": (Literal[tuple(REGISTRY)], Field("four_tier", description="policy in force")),
    }
    for name, cls in REGISTRY.items():
        fields[name] = (cls.Params, cls.Params())
    return create_model("PolicySpec", __base__=CommonPolicy, **fields)


PolicySpec = _policy_model()


class Scenario(Strict):
    """A complete, validated scenario. Build one with :func:`gridsim.load_scenario`."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]*[A-Za-z0-9_-][A-Za-z0-9_.-]*$",
                      description="letters, digits, '_', '-', '.' (not only dots): it names the "
                                  "results folder")
    description: str = ""
    horizon: PositiveClockDuration = Duration(365, "d")
    warmup: ClockDuration = Duration(0, "d")
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)] = 1
    calendar: CalendarSpec = CalendarSpec()
    roles: Roles = Roles()
    streets: StreetTemplate = StreetTemplate()
    departments: dict[str, Department] = Field(default_factory=dict)
    districts: list[District] = Field(min_length=1)
    city: CityMeeting = CityMeeting(every=Duration(30, "d"), offset=Duration(10, "d"), agenda=20)
    patrol: Patrol = Patrol()
    triage_time: Distribution = Field(default_factory=lambda: _dist("ln", 15, "min", 10))
    verify_time: Distribution = Field(default_factory=lambda: _dist("ln", 30, "min", 20))
    hotline: Hotline = Hotline()
    categories: dict[str, Category] = Field(min_length=1)
    policy: PolicySpec = PolicySpec()  # type: ignore[valid-type]
    initial_backlog: str | None = Field(None, description="CSV of open cases at the start")
    record: Recording = Recording()
    _origin: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def origin(self) -> dict[str, Any]:
        """Where this scenario came from: ``file``, ``file_sha256`` and ``overrides`` applied."""
        return {"file": None, "file_sha256": None, "overrides": {}, **self._origin}

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> Any:
        v = path_safe(v, "scenario name")
        if isinstance(v, str) and not re.fullmatch(r"[A-Za-z0-9_.-]+", v):
            raise ValueError("a scenario name names its results folder: use only letters, "
                             f"digits, '_', '-' and '.'; got {v!r}")
        return v

    @model_validator(mode="after")
    def _horizon(self):
        if self.horizon.hours <= 0:
            raise ValueError("horizon must be positive")
        if self.warmup.hours >= self.horizon.hours:
            raise ValueError(f"warmup ({self.warmup}) must be shorter than horizon "
                             f"({self.horizon})")
        return self

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON Schema of scenario files (``gridsim schema``): pydantic's, with ``$schema``
        and ``$id``, and descriptions in plain text (docstrings' markup removed)."""
        from .. import __version__
        from .json_schema import SchemaGenerator, plain

        kwargs.setdefault("schema_generator", SchemaGenerator)
        schema = super().model_json_schema(*args, **kwargs)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"urn:gridsim:scenario:{__version__}", **plain(schema)}

    def to_data(self) -> dict[str, Any]:
        """The scenario as JSON-ready data that validates back to an identical scenario.

        Only values that were given (in the file, by ``--set`` or by an override) are included:
        a district's partial ``streets`` template must stay partial, or re-validating it would
        replace the inherited values with defaults.
        """
        return self.model_dump(mode="json", exclude_unset=True)

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A copy with dotted-path overrides applied (``{"policy.name": "baseline"}``),
        validated exactly like a file."""
        from .loader import apply_overrides, validate_data

        data = apply_overrides(self.to_data(), overrides)
        out = validate_data(data, source=f"<{self.name} with overrides>")
        origin = self.origin
        out._origin = {**origin, "overrides": {**origin["overrides"], **overrides}}
        return out


# --------------------------------------------------------------------------- cross-checks
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
    most = max(_street_count(s, d) for d in s.districts)
    for k in s.streets.overrides:
        if not 0 <= k < most:
            problems.append((f"streets.overrides.{k}",
                             f"street index {k} out of range: no district has a street {k} "
                             f"(the largest has {most} streets, 0..{most - 1})"))
    names = [d.name for d in s.districts]
    for i, name in enumerate(names):
        if names.index(name) != i:
            problems.append((f"districts[{i}].name", f"district name '{name}' is used twice"))
    shift_ok("policy.four_tier.tier_deadlines.shift", s.policy.four_tier.tier_deadlines.shift)
    for c, cat in s.categories.items():
        shift_ok(f"categories.{c}.deadline_shift", cat.deadline_shift)
        for j, d in enumerate(cat.departments):
            if d not in depts:
                hint = _closest(d, depts) or (f"; defined: {', '.join(depts)}" if depts else
                                              "; no departments are defined")
                problems.append((f"categories.{c}.departments[{j}]",
                                 f"unknown department '{d}'{hint}"))
    return problems
