"""Shared fixtures: the bundled scenario, shortened so the default test run stays quick."""

from __future__ import annotations

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
