"""The probability of waiting and the mean wait in queue per staff pool (``wait_share``,
``wait_mean``), held against Erlang C.

``scenarios/validation/mmc.yaml`` reduces gridsim to one M/M/c queue at the community pool
(λ = 9/h, μ = 1/h; see its header). Over replications (seeds 1..N) the 99% Student-t interval
of the pool's ``wait_share`` must contain Erlang C's P(wait), and that of ``wait_mean`` (queue
case-hours over jobs, Little's law) Erlang C's Wq, at two loads (c = 10: ρ = 0.9; c = 12:
ρ = 0.75). The seeds are fixed, so the outcome is deterministic. A check that cannot fail says
nothing: :func:`test_the_check_rejects_the_wrong_queue` shows the same intervals miss the values
of a queue with one staff member more.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analytic import mmc, mmc_of, t_interval

import gridsim
from gridsim.results.units import unit_columns

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
ONE_DISTRICT = ROOT / "scenarios" / "bench" / "one_district.yaml"
SEEDS = 10
LEVEL = 0.99
STAFF = "streets.staff.community_per_community"
WAIT_COLUMNS = ["jobs", "wait_share", "wait_mean"]


def community_waits(s: gridsim.Scenario, seeds: int = SEEDS) -> pd.DataFrame:
    """Per seed 1..``seeds``: the community pool's ``wait_share`` and ``wait_mean``."""
    rows = []
    for seed in range(1, seeds + 1):
        pools = gridsim.simulate(s, seed=seed, record="kpis").pools()
        pool = pools[pools["kind"] == "community"]
        assert len(pool) == 1
        rows.append(pool.iloc[0][["jobs", "wait_share", "wait_mean"]])
    return pd.DataFrame(rows).astype(float).reset_index(drop=True)


@pytest.fixture(scope="module", params=[10, 12], ids=["c10", "c12"])
def load(request) -> tuple[gridsim.Scenario, pd.DataFrame]:
    s = gridsim.load_scenario(MMC).with_overrides({STAFF: request.param})
    return s, community_waits(s)


def test_wait_share_and_wait_mean_match_erlang_c(load):
    s, reps = load
    q = mmc_of(s)
    share, wq = t_interval(reps["wait_share"], LEVEL), t_interval(reps["wait_mean"], LEVEL)
    print(f"c={q.c}: wait_share {share} vs P(wait) {q.p_wait:.5f}; "
          f"wait_mean {wq} vs Wq {q.wq:.5f}")
    assert q.p_wait in share
    assert q.wq in wq
    # every job of the run is counted: about λ per hour over the measured period
    measured = s.horizon.hours - s.warmup.hours
    assert reps["jobs"].mean() == pytest.approx(q.lam * measured, rel=0.02)


def test_the_check_rejects_the_wrong_queue(load):
    """The intervals are tight enough to tell c from c + 1 (and so would catch a count that is
    off by the difference): the analytic values of the wrong queue fall outside them."""
    s, reps = load
    q = mmc_of(s)
    wrong = mmc(q.lam, q.mu, q.c + 1)
    assert wrong.p_wait not in t_interval(reps["wait_share"], LEVEL)
    assert wrong.wq not in t_interval(reps["wait_mean"], LEVEL)


@pytest.fixture(scope="module")
def short_mmc() -> gridsim.Result:
    s = gridsim.load_scenario(MMC).with_overrides({"horizon": "300h", "warmup": "50h"})
    return gridsim.simulate(s, seed=2, record="kpis")


def test_pools_and_units_have_the_wait_columns(short_mmc):
    r = short_mmc
    pools = r.pools()
    assert set(WAIT_COLUMNS) <= set(pools.columns)
    after = r.load[r.load["time"] > r.scenario.warmup.hours]
    assert after["jobs"].dtype.kind == "i" and after["waited"].dtype.kind == "i"
    assert (after["waited"] <= after["jobs"]).all()
    community = pools[pools["kind"] == "community"].iloc[0]
    rows = after[after["kind"] == "community"]
    assert community["jobs"] == rows["jobs"].sum()
    assert community["wait_share"] == rows["waited"].sum() / rows["jobs"].sum()
    # meetings count no jobs; a pool that took none (zero-time triage at the centre) is NaN
    for kind in ("joint", "city", "centre"):
        assert pools.loc[pools["kind"] == kind, ["wait_share", "wait_mean"]].isna().all().all()
    units = r.units()
    assert list(units.columns[-4:]) == ["utilisation", "queue_mean", "wait_share", "wait_mean"]
    assert {"wait_share", "wait_mean"} <= set(unit_columns(units))
    pool_rows = units[units["level"] == "pool"].set_index("unit")
    for col in ("wait_share", "wait_mean"):
        np.testing.assert_array_equal(pool_rows[col].to_numpy(),
                                      pools.loc[pool_rows.index, col].to_numpy())
    # the street: its pools' jobs together (here the community pool's alone)
    street = units[units["level"] == "street"].iloc[0]
    assert street["wait_share"] == community["wait_share"]
    assert units.loc[units["level"].isin(["community", "grid"]), "wait_share"].isna().all()


def test_vocabulary_knows_the_wait_columns():
    from gridsim.vocabulary import direction, label, unit_of

    assert unit_of("wait_share") == "share" and unit_of("wait_mean") == "h"
    assert direction("wait_share") == direction("wait_mean") == -1
    assert label("wait_mean") == "Mean wait in queue"


def test_sharded_runs_give_the_unsharded_wait_columns():
    s = gridsim.load_scenario(ONE_DISTRICT).with_overrides(
        {"districts[0].count": 2, "city.per_district": True, "horizon": "6d",
         "warmup": "2d"})
    whole = gridsim.simulate(s, seed=3, record="kpis")
    parts = gridsim.simulate(s, seed=3, record="kpis", shards=2, workers=1)
    assert parts.manifest["shards"] == 2
    pd.testing.assert_frame_equal(parts.load, whole.load)
    pd.testing.assert_frame_equal(parts.pools()[WAIT_COLUMNS], whole.pools()[WAIT_COLUMNS])
    cols = ["level", "unit", "wait_share", "wait_mean"]
    pd.testing.assert_frame_equal(parts.units()[cols], whole.units()[cols])
    assert (whole.pools()["jobs"] > 0).sum() > 10  # the check compares something
