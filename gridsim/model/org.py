"""The organisation tree as live objects: city → districts → streets → communities → grids.

Structure only (desmod's structural components): each unit holds the staff pools it owns and
the random streams of what happens in it. Behaviour lives in :mod:`gridsim.model.lifecycle`.
Resource sinking (力量下沉), as the policy gives it, is applied here, when pools are sized.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..plan import Plan
from ..scenario.expand import DistrictPlan
from ..vocabulary import POOL_KINDS, TIERS
from .clock import Clock
from .pools import Meeting, Meter, Pool

KINDS = POOL_KINDS
"""Kinds of staff pool, as in ``result.load``."""


@dataclass(eq=False)
class Grid:
    id: int
    name: str
    community: Community
    pool: Pool
    street: Street = field(init=False)  # the community's, looked up once per case

    def __post_init__(self) -> None:
        self.street = self.community.street


@dataclass(eq=False)
class Community:
    id: int
    name: str
    street: Street
    pool: Pool
    grids: list[Grid] = field(default_factory=list)
    cats: list | None = None
    """The community's category variants (None: the scenario's; gridsim.model.variants)."""


@dataclass(eq=False)
class Street:
    id: int
    name: str
    district: District
    centre: Pool
    enforcement: Pool
    office: Pool
    households_per_grid: int
    communities: list[Community] = field(default_factory=list)
    grids: list[Grid] = field(default_factory=list)
    params: tuple | None = None
    """Resolved unit parameters, the street's and its communities' (DistrictPlan.params)."""


@dataclass(eq=False)
class District:
    id: int
    name: str
    departments: dict[str, Pool]
    report_time: dict[str, object]
    joint: Meeting | None = None
    city: Meeting | None = None
    streets: list[Street] = field(default_factory=list)
    created: int = 0
    """Cases created in this district so far (a case's number within its district)."""


@dataclass
class Organisation:
    districts: list[District]
    streets: list[Street]
    communities: list[Community]
    grids: list[Grid]
    meters: list[Meter]
    city: Meeting | None = None


def _sunk(plan: DistrictPlan, share: float) -> tuple[dict[str, int], int]:
    """Department head counts after moving ``share`` of each to the streets, and how many moved."""
    kept, moved = {}, 0
    for name, d in plan.departments.items():
        m = round(d.staff * share)
        kept[name], moved = d.staff - m, moved + m
    return kept, moved


def build(clock: Clock, compiled: Plan, decide_joint, decide_city,
          only: set[str] | None = None, *,
          pool_cls: Callable[..., Pool] = Pool,
          meeting_cls: Callable[..., Meeting] = Meeting,
          district_hook: Callable[[District, Callable[..., Meter]], None] | None = None,
          ) -> Organisation:
    """Create every unit and pool of the ``compiled`` plan's organisation (or of the districts
    named in ``only``), on its calendars, with the staff its policy moves to the streets.

    ``pool_cls`` and ``meeting_cls`` make the pools and meetings (called as :class:`Pool` and
    :class:`Meeting` are; the run passes them its event emitter).
    ``district_hook(district, meter)``: called when a district is built, to add units of its own
    (the 12345 front end) with ``meter(name, kind, unit, calendar)``, so that every unit and
    meter of a district is listed with it (sharded runs list them the same way).
    """
    s, cal = compiled.scenario, compiled.calendars
    roles = {r: cal.shifts[name] for r, name in s.roles.model_dump().items()}
    sinking = compiled.policy.resource_sinking
    districts, streets, communities, grids, meters = [], [], [], [], []

    def meter(name: str, kind: str, unit: str, calendar) -> Meter:
        m = Meter(name, kind, unit, calendar)
        meters.append(m)
        return m

    shared_city = None
    if not s.city.per_district:
        shared_city = meeting_cls(clock, "city", s.city.every.hours, s.city.offset.hours,
                                  s.city.agenda, Meter("city", "city", "city", None),
                                  cal.shifts[s.roles.city], decide_city)
    for plan in compiled.districts:
        if only is not None and plan.name not in only:
            continue
        kept, moved = _sunk(plan, sinking.share)
        depts = {n: pool_cls(clock, f"{plan.name}/{n}", kept[n], cal.shifts[d.shift],
                         meter(f"{plan.name}/{n}", "department", plan.name, cal.shifts[d.shift]))
                 for n, d in plan.departments.items()}
        district = District(len(districts), plan.name, depts,
                            {n: d.report_time for n, d in plan.departments.items()})
        jc = plan.joint_consultation
        district.joint = meeting_cls(
            clock, f"{plan.name}/joint", jc.every.hours, jc.offset.hours, jc.agenda,
            meter(f"{plan.name}/joint", "joint", plan.name, None), cal.shifts[s.roles.joint],
            decide_joint)
        district.city = shared_city or meeting_cls(
            clock, f"{plan.name}/city", s.city.every.hours, s.city.offset.hours, s.city.agenda,
            meter(f"{plan.name}/city", "city", plan.name, None), cal.shifts[s.roles.city],
            decide_city)
        districts.append(district)
        n_streets = len(plan.streets)
        for k, st in enumerate(plan.streets):
            name = f"{plan.name}/s{k}"
            extra = moved // n_streets + (1 if k < moved % n_streets else 0) if n_streets else 0
            staff = st.staff.model_dump()
            staff[sinking.to] += extra

            def pool(role: str, count: int, unit_name: str, m: Meter) -> Pool:
                return pool_cls(clock, unit_name, count, roles[role], m)

            street = Street(
                len(streets), name, district,
                pool("centre", staff["centre"], name + "/centre",
                     meter(name + "/centre", "centre", name, roles["centre"])),
                pool("enforcement", staff["enforcement"], name + "/enforcement",
                     meter(name + "/enforcement", "enforcement", name, roles["enforcement"])),
                pool("office", staff["office"], name + "/office",
                     meter(name + "/office", "office", name, roles["office"])),
                st.households_per_grid)
            if plan.params:
                street.params = plan.params[k]
            district.streets.append(street)
            streets.append(street)
            gw_meter = meter(name + "/grid_workers", "grid_worker", name, roles["grid_worker"])
            cm_meter = meter(name + "/communities", "community", name, roles["community"])
            for c in range(st.communities):
                cname = f"{name}/c{c}"
                community = Community(len(communities), cname, street,
                                      pool("community", staff["community_per_community"], cname,
                                           cm_meter))
                street.communities.append(community)
                communities.append(community)
                for g in range(st.grids_per_community):
                    gname = f"{cname}/g{g}"
                    grid = Grid(len(grids), gname, community,
                                pool("grid_worker", staff["grid_workers_per_grid"], gname,
                                     gw_meter))
                    community.grids.append(grid)
                    street.grids.append(grid)
                    grids.append(grid)
        if district_hook is not None:
            district_hook(district, meter)
    if shared_city is not None:
        meters.append(shared_city.meter)
    return Organisation(districts, streets, communities, grids, meters, shared_city)


TIER_INDEX = {t: i for i, t in enumerate(TIERS)}
