"""An initial backlog: today's real open cases, so a run starts from the current queue.

The CSV named by ``initial_backlog`` has one row per open case::

    category,district,street,community,grid,tier,age
    garbage_overflow,Riverside,0,2,5,community,3d
    illegal_construction,Riverside,4,,,district,45d

``street``, ``community`` and ``grid`` are indexes within their parent (community and grid may be
left empty: the first one is used); ``tier`` is where the case waits now; ``age`` how long it has
been open. Districts repeated with ``count`` are named ``<name>-<k>``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..vocabulary import BACKLOG_TIERS
from .errors import Problem, ScenarioError, closest
from .units import parse_duration

if TYPE_CHECKING:
    from .schema import Scenario

COLUMNS = ("category", "district", "street", "community", "grid", "tier", "age")


@dataclass(frozen=True, slots=True)
class BacklogCase:
    """One open case at the start of the run."""

    category: str
    district: str
    street: int
    community: int
    grid: int
    tier: str
    age_hours: float


def read_backlog(path: str | Path, scenario: Scenario) -> list[BacklogCase]:
    """Read and check the backlog CSV against the scenario; raise :class:`ScenarioError`."""
    from .expand import expand

    path = Path(path)
    source = str(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except FileNotFoundError:
        raise ScenarioError(source, [Problem("initial_backlog", "backlog file not found")]) \
            from None
    missing = [c for c in ("category", "district", "street", "tier", "age") if c not in header]
    if rows and missing:
        raise ScenarioError(source, [Problem("", f"missing column(s): {', '.join(missing)}; "
                                                 f"expected {', '.join(COLUMNS)}", 1)])
    plans = {p.name: p for p in expand(scenario)}
    districts = list(plans)
    cats = list(scenario.categories)
    cases, problems = [], []
    for n, row in enumerate(rows, start=2):
        def bad(col: str, msg: str, n: int = n) -> None:
            problems.append(Problem(f"column {col}", msg, n))

        cat, dist, tier = row["category"].strip(), row["district"].strip(), row["tier"].strip()
        if cat not in cats:
            hint = closest(cat, cats)
            bad("category", f"unknown category '{cat}'" + (f" (did you mean '{hint}'?)"
                                                           if hint else ""))
        if dist not in districts:
            hint = closest(dist, districts)
            bad("district", f"unknown district '{dist}'" + (f" (did you mean '{hint}'?)"
                                                            if hint else ""))
        if tier not in BACKLOG_TIERS:
            hint = closest(tier, list(BACKLOG_TIERS))
            bad("tier", f"unknown tier '{tier}'" + (f" (did you mean '{hint}'?)" if hint else ""))
        try:
            age = parse_duration(row["age"].strip())
            age_h = age.hours if not age.is_working_time else age.value * 24
        except ValueError as e:
            bad("age", str(e))
            age_h = 0.0
        idx = {}
        for col in ("street", "community", "grid"):
            raw = (row.get(col) or "").strip()
            try:
                idx[col] = int(raw) if raw else 0
                if idx[col] < 0:
                    raise ValueError
            except ValueError:
                bad(col, f"'{raw}' is not a non-negative index")
                idx[col] = 0
        if dist in districts:
            streets = plans[dist].streets
            if idx["street"] >= len(streets):
                bad("street", f"street {idx['street']} out of range (0..{len(streets) - 1})")
            else:
                s = streets[idx["street"]]
                if idx["community"] >= s.communities:
                    bad("community", f"community {idx['community']} out of range "
                                     f"(0..{s.communities - 1})")
                if idx["grid"] >= s.grids_per_community:
                    bad("grid", f"grid {idx['grid']} out of range "
                                f"(0..{s.grids_per_community - 1})")
        cases.append(BacklogCase(cat, dist, idx["street"], idx["community"], idx["grid"], tier,
                                 age_h))
    if problems:
        raise ScenarioError(source, problems)
    return cases
