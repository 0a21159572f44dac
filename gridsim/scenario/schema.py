"""The scenario file, as pydantic models: what a planner writes, validated once, then frozen.

A scenario describes the organisation tree by **counts and templates**: ``streets`` is the
template every street follows (communities, grids, households, staff); each district may change
it (``districts[i].streets``) and single streets may be overridden by index
(``districts[i].streets.overrides``). So a 150-street city is a short file.

Cross-references (a category naming a department, a pool working a shift) are checked after
field validation by :func:`gridsim.scenario.checks.cross_check`, which returns the YAML path of
each problem.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, create_model, field_validator, model_validator

from .._version import __version__
from ..distributions import Distribution
from ..policies import REGISTRY, CommonPolicy
from ..units import ClockDuration, Duration, DurationField, PositiveClockDuration
from ..vocabulary import LEADS, SOURCES, STREET_UNITS
from .base import (  # the field types of this module's models (and of fields added to them)
    MAX_COUNT,
    MAX_STAFF,
    Count,
    NonNegInt,
    PosCount,
    PosInt,
    Prob,
    Rate,
    Staff,
    Strict,
    Weight,
    _dist,
    path_safe,
)
from .calendar import CalendarSpec
from .discovery import CategoryDiscovery, Discovery
from .hotline import CityDepartment, FrontEnd
from .json_schema import SchemaGenerator, plain
from .loops import BackToCentre, ReopenAt
from .organisation import CityMeeting, Department, District, Roles, StreetTemplate
from .overrides import apply_overrides
from .profiles import Profile
from .recording import Recording
from .resident import Resident
from .stages import StageLimits
from .states import Extension, Rejection, Supervision, Suspension
from .validate import validate

__all__ = ["MAX_COUNT", "MAX_STAFF", "Category", "Count", "Hotline", "HotlineProfile", "NonNegInt",
           "Patrol", "PolicySpec", "PosCount", "PosInt", "Prob", "Rate", "Scenario", "SolveProbs",
           "Staff", "Strict", "TierShares", "Weight", "WorkTimes"]
DEFAULT_PRIORITY = 1
"""A category's queue class when it names none (``priority: 0`` is served before it)."""
MAX_PRIORITY = 1000
PREEMPTIBLE = ("grid_worker", "community", "centre", "enforcement", "office")
"""Pool kinds that may pre-empt (``preempt``): those whose staff serve one job at a time.
Department crews are held across travel and joint visits, and meetings decide in sessions."""


# --------------------------------------------------------------------------- issues
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
    rates: dict[Literal[SOURCES], Rate] = Field(default_factory=dict)  # type: ignore[valid-type]
    discovery: CategoryDiscovery | None = None  # the discovery race (gridsim.scenario.discovery)
    on_spot: Prob = Field(0.0, description="share of patrol finds fixed on the spot")
    tiers: TierShares = Field(description="tier a triaged case starts at")
    departments: list[str] = Field(min_length=1,
                                   description="district departments the case needs if it "
                                               "reaches them (the first one leads)")
    street_unit: Literal[STREET_UNITS] = "enforcement"  # type: ignore[valid-type]
    work: WorkTimes = WorkTimes()
    solve: SolveProbs = SolveProbs()
    reopen: Prob = Field(0.05, description="verification fails and the case is reworked")
    priority: Annotated[int, Field(ge=0, le=MAX_PRIORITY)] = Field(
        DEFAULT_PRIORITY, description="queue class in every pool and meeting agenda: a smaller "
        "number is served first, first come first served within a class (see preempt)")
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
    stage_limits: StageLimits | None = Field(
        None, description="per stage (filing, dispatch, arrival, handling, verification), its "
                          "time limit; stages set here override the top-level stage_limits "
                          "(null: no limit for that stage)")
    # case states (gridsim.scenario.states): all off when absent
    extension: Extension | None = Field(None, description="延期: deadline extensions")
    suspension: Suspension | None = Field(None, description="挂账: suspended cases")
    rejection: Rejection | None = Field(None, description="不予立案: not filed at triage")
    supervision: Supervision | None = Field(None, description="督办: overdue cases supervised")


class Patrol(Strict):
    """Grid workers' patrol: each worker sweeps the grid once per ``interval`` of patrol time."""

    interval: PositiveClockDuration = Duration(8, "h")
    detect_prob: Prob = Field(0.8, description="a sweep notices an existing problem")
    yields_to_cases: bool = Field(
        False, description="a worker fixing on the spot or verifying is not patrolling: the "
                           "grid's patrol pauses for its case work (gridsim.model.workday)")

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
    front_end: FrontEnd | None = Field(
        None, description="the 12345 call centre and dispatcher (null: calls reach the street "
                          "centre after dispatch_delay)")


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
    discovery: Discovery = Discovery()
    city_departments: dict[str, CityDepartment] = Field(
        default_factory=dict, description="city departments (utilities) the hotline dispatches to")
    categories: dict[str, Category] = Field(min_length=1)
    profiles: dict[str, Profile] = Field(
        default_factory=dict, description="named unit profiles that streets, communities and "
        "departments use with profile: name (gridsim.scenario.profiles)")
    stage_limits: StageLimits | None = Field(
        None, description="every category's default stage limits (filing, dispatch, arrival, "
                          "handling, verification); categories.<c>.stage_limits overrides")
    resident: Resident | None = Field(
        None, description="the resident's side: closure with an explanation, response, the 12345 "
                          "callback and satisfaction (null: off)")
    policy: PolicySpec = PolicySpec()  # type: ignore[valid-type]
    preempt: list[Literal[PREEMPTIBLE]] = Field(  # type: ignore[valid-type]
        default_factory=list, description="pool kinds where an arriving case of a more urgent "
        "category (smaller priority) interrupts the least urgent case in service, which "
        "resumes its remaining work later (pre-emptive resume); elsewhere a case in service "
        "always finishes")
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

    @field_validator("preempt", mode="before")
    @classmethod
    def _preemptible(cls, v: Any) -> Any:
        for kind in v if isinstance(v, list) else ():
            if kind in ("department", "joint", "city"):
                raise ValueError(f"'{kind}' cannot pre-empt (department crews are held across "
                                 "travel and joint visits; meetings decide in sessions); kinds "
                                 f"that can: {', '.join(PREEMPTIBLE)}")
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
        data = apply_overrides(self.to_data(), overrides)
        out = validate(type(self), data, source=f"<{self.name} with overrides>")
        origin = self.origin
        out._origin = {**origin, "overrides": {**origin["overrides"], **overrides}}
        return out


