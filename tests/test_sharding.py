"""Districts that share no capacity run as independent shards, with identical results."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest

import gridsim
from gridsim.model.simulation import shard_reason
from gridsim.runner import ShardingError, ShardingWarning, run_sharded, shard_count


def test_sharded_and_unsharded_runs_give_identical_issue_tables(three):
    whole = gridsim.simulate(three, seed=4)
    assert whole.issues["district"].nunique() == 3
    for shards, workers in ((3, 2), (2, 1)):
        parts = gridsim.simulate(three, seed=4, shards=shards, workers=workers)
        pd.testing.assert_frame_equal(parts.issues, whole.issues)
        pd.testing.assert_frame_equal(parts.kpis, whole.kpis)
        pd.testing.assert_frame_equal(parts.load, whole.load)
        pd.testing.assert_frame_equal(parts.backlog, whole.backlog)


def test_auto_is_one_shard_per_district_with_identical_results(three):
    whole = gridsim.simulate(three, seed=5, record="kpis")
    auto = gridsim.simulate(three, seed=5, record="kpis", shards="auto", workers=2)
    assert shard_count(three, "auto") == 3 and auto.manifest["shards"] == 3
    assert whole.manifest["shards"] == 1
    pd.testing.assert_frame_equal(auto.kpis, whole.kpis)
    assert shard_count(three, 10) == 3  # never more shards than districts
    with pytest.raises(ValueError, match="'auto'"):
        shard_count(three, 0)


def test_a_shared_city_tier_runs_unsharded_and_says_why(three, tmp_path):
    coupled = three.with_overrides({"city.per_district": False})
    assert "city" in shard_reason(coupled)
    with pytest.raises(ShardingError, match="per_district"):
        run_sharded(coupled, 1, 2, workers=1)
    whole = gridsim.simulate(coupled, seed=1)
    with pytest.warns(ShardingWarning, match="per_district"):
        asked = gridsim.simulate(coupled, seed=1, shards=2, workers=1)
    assert asked.manifest["shards"] == 1
    pd.testing.assert_frame_equal(asked.issues, whole.issues)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one district: nothing to say, nothing to shard
        assert shard_count(coupled.with_overrides({"districts[0].count": 1}), "auto") == 1
    proc = subprocess.run([sys.executable, "-m", "gridsim", "run", "--set", "horizon=2d",
                           "--set", "warmup=0d", "--set", "districts[0].count=2",
                           "--shards", "2", "-q", "--no-plots", "--out", str(tmp_path / "run")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "runs unsharded" in proc.stderr and "per_district" in proc.stderr


def test_shards_on_a_dask_cluster_give_the_unsharded_results(three, tmp_path):
    """The megacity path on a cluster: one task per shard on Dask workers, from Python (rows in
    memory, and streamed to a folder the workers share) and from the CLI's --dask ADDRESS."""
    distributed = pytest.importorskip("dask.distributed")
    whole = gridsim.simulate(three, seed=4)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            on_dask = gridsim.simulate(three, seed=4, shards="auto", client=client)
            streamed = gridsim.simulate(three.with_overrides({"record.stream": True}), seed=4,
                                        shards="auto", client=client, spool_dir=tmp_path)
        out = tmp_path / "cli"
        proc = subprocess.run(
            [sys.executable, "-m", "gridsim", "run", "--set", "horizon=30d", "--set",
             "warmup=3d", "--set", "streets.count=2", "--set", "districts[0].count=3",
             "--set", "city.per_district=true", "--seed", "4", "--shards", "auto",
             "--dask", cluster.scheduler_address, "--record", "kpis", "--out", str(out),
             "-q", "--no-plots"], capture_output=True, text=True, timeout=600)
    assert on_dask.manifest["shards"] == 3
    pd.testing.assert_frame_equal(on_dask.issues, whole.issues)
    pd.testing.assert_frame_equal(on_dask.load, whole.load)
    pd.testing.assert_frame_equal(streamed.kpis, whole.kpis)
    assert streamed.issue_files is not None and streamed.issue_files.layout == "parts"
    assert proc.returncode == 0, proc.stderr
    cli = pd.read_csv(out / "kpis.csv")
    assert cli["value"].to_numpy() == pytest.approx(whole.kpis["value"].to_numpy(), nan_ok=True)
