"""Shared fixtures: the bundled scenario, shortened so the default test run stays quick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gridsim

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def default_scenario() -> gridsim.Scenario:
    return gridsim.load_scenario()


@pytest.fixture(scope="session")
def short_scenario(default_scenario) -> gridsim.Scenario:
    """The default district over 60 days (10-day warm-up)."""
    return default_scenario.with_overrides({"horizon": "60d", "warmup": "10d"})


@pytest.fixture(scope="session")
def short_result(short_scenario) -> gridsim.Result:
    return gridsim.simulate(short_scenario, seed=7)


@pytest.fixture(scope="session")
def three(default_scenario) -> gridsim.Scenario:
    """Three default districts of two streets over 30 days, sharing no capacity (shardable)."""
    return default_scenario.with_overrides({
        "horizon": "30d", "warmup": "3d", "streets.count": 2, "districts[0].count": 3,
        "city.per_district": True})


def with_backlog(scenario: gridsim.Scenario, folder: Path, community: int, district: int,
                 horizon: str) -> gridsim.Scenario:
    """``scenario`` over ``horizon`` with an initial backlog file written into ``folder``:
    ``community`` garbage cases 3 days old at a community, ``district`` illegal-construction
    cases 45 days old at the district."""
    from gridsim.scenario.loader import validate_data

    csv = folder / "backlog.csv"
    csv.write_text("category,district,street,community,grid,tier,age\n"
                   + "garbage_overflow,Riverside,0,1,2,community,3d\n" * community
                   + "illegal_construction,Riverside,4,,,district,45d\n" * district,
                   encoding="utf-8")
    data = scenario.model_dump(mode="json")
    data.update(horizon=horizon, warmup="0d", initial_backlog=str(csv))
    return validate_data(data, "<test>")


@pytest.fixture(scope="session")
def run_cli():
    """Run ``python -m gridsim ARGS`` in a subprocess, as a user would, capturing its output."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gridsim", *args], capture_output=True,
                              text=True, cwd=cwd, timeout=600)

    return run
