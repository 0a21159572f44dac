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
def run_cli():
    """Run ``python -m gridsim ARGS`` in a subprocess, as a user would, capturing its output."""

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gridsim", *args], capture_output=True,
                              text=True, cwd=cwd, timeout=600)

    return run
