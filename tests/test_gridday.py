"""A grid worker's day: patrol is work, and every worker's patrol hours, finds, fixes on the spot
and verifications are counted during the run (gridsim.model.workday)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import gridsim
from gridsim.model import simulation
from gridsim.plan import compile_plan


@pytest.fixture(scope="module")
def small(default_scenario) -> gridsim.Scenario:
    """Two streets of the default district over 20 days (5-day warm-up)."""
    return default_scenario.with_overrides({"horizon": "20d", "warmup": "5d", "streets.count": 2})


@pytest.fixture(scope="module")
def logged(small) -> gridsim.Result:
    return gridsim.simulate(small, seed=3, record="events")


def _grid_jobs(result: gridsim.Result) -> pd.DataFrame:
    """Every job of a grid worker pool from the event log: the case, its start (``started`` at
    the grid's pool), its end (the case's next event; NaN while still running at the end) and
    whether it was a fix on the spot (tier ``grid``) or a verification (no tier)."""
    ev = result.events.reset_index(drop=True)
    grids = set(result.workers()["grid"])
    nxt = ev.sort_values(["issue_id", "step"]).groupby("issue_id")["time"].shift(-1)
    ev["end"] = nxt.reindex(ev.index)
    jobs = ev[(ev["event"] == "started") & ev["unit"].astype(str).isin(grids)]
    return pd.DataFrame({"grid": jobs["unit"].astype(str), "start": jobs["time"],
                         "end": jobs["end"], "on_spot": jobs["tier"].astype(str) == "grid"})


def test_patrol_hours_are_on_shift_hours_minus_case_work(small, logged):
    cal = compile_plan(small).calendars.shifts[small.roles.grid_worker]
    a, b = small.warmup.hours, small.horizon.hours
    w = logged.workers().set_index("grid")
    assert (w["workers"] == small.streets.staff.grid_workers_per_grid).all()
    np.testing.assert_allclose(w["on_shift_hours"], w["workers"] * cal.on_hours(a, b))
    jobs = _grid_jobs(logged)
    end = jobs["end"].fillna(b).clip(upper=b)
    start = jobs["start"].clip(lower=a)
    hours = [cal.on_hours(s, e) if e > s else 0.0 for s, e in zip(start, end, strict=True)]
    case = pd.Series(hours, index=jobs.index).groupby(jobs["grid"]).sum()
    case = case.reindex(w.index, fill_value=0.0)
    assert case.sum() > 10  # the recomputation has something to check
    np.testing.assert_allclose(w["case_hours"], case, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(w["patrol_hours"], w["on_shift_hours"] - case, rtol=1e-9,
                               atol=1e-6)
    np.testing.assert_allclose(w["patrol_share"], w["patrol_hours"] / w["on_shift_hours"])


def test_found_fixed_and_verified_equal_a_recomputation_from_the_records(small, logged):
    a = small.warmup.hours
    w = logged.workers().set_index("grid")
    df = logged.issues
    grid = df["grid"].astype(str)
    found = grid[(df["source"] == "patrol") & (df["t_discovered"] >= a)].value_counts()
    fixed = grid[(df["solved_tier"] == "grid") & (df["t_solved"] >= a)].value_counts()
    jobs = _grid_jobs(logged)
    done = jobs[jobs["end"].notna() & (jobs["end"] >= a)]
    verified = done.loc[~done["on_spot"], "grid"].value_counts()
    assert found.sum() > 100 and fixed.sum() > 10 and verified.sum() > 100
    for counted, recomputed in (("found", found), ("fixed_on_spot", fixed),
                                ("verified", verified)):
        pd.testing.assert_series_equal(w[counted], recomputed.reindex(w.index, fill_value=0),
                                       check_names=False, check_dtype=False)
    # fixes on the spot are the grid's own jobs, as the event log has them
    on_spot = done.loc[done["on_spot"], "grid"].value_counts()
    assert (w["fixed_on_spot"] == on_spot.reindex(w.index, fill_value=0)).all()


def test_verifications_without_a_warm_up_are_reopens_plus_verified_closures(small):
    s = small.with_overrides({"warmup": "0d"})
    r = gridsim.simulate(s, seed=5)
    df = r.issues
    verified_closures = (df["state"] == "closed") & df["solved_tier"].notna() \
        & (df["solved_tier"] != "grid")
    assert r.workers()["verified"].sum() == df["reopens"].sum() + verified_closures.sum()


def test_the_counters_are_the_same_at_every_record_level(small, logged):
    for level in ("issues", "kpis"):
        other = gridsim.simulate(small, seed=3, record=level)
        pd.testing.assert_frame_equal(other.workers(), logged.workers())


def test_sharded_and_unsharded_runs_count_the_same_day(three):
    whole = gridsim.simulate(three, seed=4, record="kpis")
    parts = gridsim.simulate(three, seed=4, record="kpis", shards=3, workers=2)
    assert whole.workers()["district"].nunique() == 3
    pd.testing.assert_frame_equal(parts.workers(), whole.workers())
    pd.testing.assert_frame_equal(parts.pools(), whole.pools())


def test_with_patrol_counted_the_grid_workers_are_no_longer_three_percent_busy(short_result):
    pools = short_result.pools()
    gw = pools[pools["kind"] == "grid_worker"]
    assert (gw["utilisation"] < 0.1).all()  # case work: what cases queue for
    assert (gw["patrol"] > 0.85).all()
    np.testing.assert_allclose(gw["working"], 1.0, atol=1e-9)  # patrol fills the rest
    others = pools[pools["kind"] != "grid_worker"]
    assert (others["patrol"] == 0).all()
    np.testing.assert_allclose(others["working"], others["utilisation"])
    # the bottleneck is still about cases, not patrol
    assert short_result.bottleneck["kind"] != "grid_worker"
    w = short_result.workers()
    assert w["patrol_share"].between(0.85, 1.0).all()


def test_metering_changes_nothing_in_the_run(small, monkeypatch):
    metered = gridsim.simulate(small, seed=2)
    monkeypatch.setattr(simulation, "attach_days", lambda grids, a, b: [])
    monkeypatch.setattr(simulation, "day_columns", lambda *args: None)
    bare = gridsim.simulate(small, seed=2)
    pd.testing.assert_frame_equal(bare.issues, metered.issues)
    pd.testing.assert_frame_equal(bare.kpis, metered.kpis)
    with pytest.raises(ValueError, match="counters"):
        bare.workers()  # no counters: no table of zeros passed off as data


def test_the_run_folder_has_workers_csv_and_the_cli_prints_the_day(run_cli, tmp_path):
    out = tmp_path / "run"
    proc = run_cli("run", "--set", "horizon=6d", "--set", "warmup=1d", "--set",
                   "streets.count=1", "--no-plots", "--record", "kpis", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "grid workers' day" in proc.stdout and "patrol" in proc.stdout
    w = pd.read_csv(out / "workers.csv")
    assert list(w.columns) == ["grid", "community", "street", "district", "workers",
                               "on_shift_hours", "case_hours", "patrol_hours", "patrol_share",
                               "found", "fixed_on_spot", "verified"]
    assert {"patrol", "working"} <= set(pd.read_csv(out / "pools.csv").columns)
