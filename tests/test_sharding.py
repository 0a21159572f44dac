"""Districts that share no capacity run as independent shards, with identical results."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import gridsim
from gridsim.model.simulation import shard_reason
from gridsim.runner import ShardingError


@pytest.fixture(scope="module")
def three(default_scenario) -> gridsim.Scenario:
    return default_scenario.with_overrides({
        "horizon": "30d", "warmup": "3d", "streets.count": 2, "districts[0].count": 3,
        "city.per_district": True})


def test_sharded_and_unsharded_runs_give_identical_issue_tables(three):
    whole = gridsim.simulate(three, seed=4)
    assert whole.issues["district"].nunique() == 3
    for shards, workers in ((3, 2), (2, 1)):
        parts = gridsim.simulate(three, seed=4, shards=shards, workers=workers)
        pd.testing.assert_frame_equal(parts.issues, whole.issues)
        pd.testing.assert_frame_equal(parts.kpis, whole.kpis)
        pd.testing.assert_frame_equal(parts.load, whole.load)
        pd.testing.assert_frame_equal(parts.backlog, whole.backlog)


def test_a_shared_city_tier_is_refused_with_the_reason(three):
    coupled = three.with_overrides({"city.per_district": False})
    assert "city" in shard_reason(coupled)
    with pytest.raises(ShardingError, match="per_district"):
        gridsim.simulate(coupled, seed=1, shards=2, workers=1)
    proc = subprocess.run([sys.executable, "-m", "gridsim", "run", "--set", "horizon=2d",
                           "--set", "warmup=0d", "--set", "districts[0].count=2",
                           "--shards", "2", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "cannot shard" in proc.stderr
