"""The run manifest: everything needed to trace a result back and rerun it."""

from __future__ import annotations

import platform
import sys
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .._version import __version__
from ..model.streams import DRAWS_VERSION
from ..plan import Plan, as_plan
from ..scenario import Scenario, scenario_hash

PACKAGES = ("gridsim", "simpy", "numpy", "pandas", "pydantic", "scipy", "matplotlib", "pyarrow")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def organisation(source: Scenario | Plan) -> dict[str, int]:
    """Counts of the expanded organisation (districts, streets, communities, grids, ...) of a
    scenario or its plan."""
    plan = as_plan(source)
    scenario, plans = plan.scenario, plan.districts
    streets = [s for p in plans for s in p.streets]
    grids = sum(s.communities * s.grids_per_community for s in streets)
    return {
        "districts": len(plans),
        "streets": len(streets),
        "communities": sum(s.communities for s in streets),
        "grids": grids,
        "households": sum(s.communities * s.grids_per_community * s.households_per_grid
                          for s in streets),
        "departments": len(scenario.departments),
        "categories": len(scenario.categories),
    }


def make_manifest(scenario: Scenario, seed: int, started: datetime, wall_time: float,
                  issues: int, events: int, plan: Plan | None = None) -> dict[str, Any]:
    """A JSON-ready record of the run (``plan``: the scenario's, if compiled already)."""
    origin = scenario.origin
    return {
        "gridsim_version": __version__,
        "scenario_name": scenario.name,
        "scenario_file": origin["file"],
        "scenario_file_sha256": origin["file_sha256"],
        "overrides": origin["overrides"],
        "scenario_sha256": scenario_hash(scenario),
        "seed": seed,
        "draws_version": DRAWS_VERSION,
        "random_streams": "numpy PCG64 from SeedSequence(seed, spawn_key=crc32(source, district, "
                          "...)): one stream per source of randomness and district",
        "started": started.isoformat(timespec="seconds"),
        "wall_time_s": round(wall_time, 3),
        "issues_created": issues,
        "issues_per_second": round(issues / wall_time, 1) if wall_time > 0 else None,
        "events": events,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "command": sys.argv,
        "organisation": organisation(plan or scenario),
        "scenario": scenario.to_data(),
    }
