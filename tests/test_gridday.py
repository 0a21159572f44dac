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
    monkeypatch.setattr(simulation, "attach_days", lambda grids, a, b, track=False: [])
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


# ---------------------------------------------------------------- patrol yields to cases
YIELDS = {"patrol.yields_to_cases": True}


def test_with_idle_grid_workers_yielding_patrol_changes_nothing(small):
    idle = small.with_overrides({"verify_time": "0h", **{f"categories.{n}.on_spot": 0.0
                                                         for n in small.categories}})
    off = gridsim.simulate(idle, seed=6)
    on = gridsim.simulate(idle.with_overrides(YIELDS), seed=6)
    assert off.workers()["case_hours"].sum() == 0
    pd.testing.assert_frame_equal(on.issues, off.issues)
    pd.testing.assert_frame_equal(on.kpis, off.kpis)


def _patrol_deficit(result: gridsim.Result, need: pd.Series, cal) -> pd.Series:
    """Per case found on patrol: the hours of full patrol it needed minus what its grid had
    between its arising and its discovery (on-shift hours less the grid's case work per worker,
    from the event log)."""
    df = result.issues.set_index("issue_id").loc[need.index]
    jobs = _grid_jobs(result)
    jobs["end"] = jobs["end"].fillna(result.scenario.horizon.hours)
    by_grid = {g: j for g, j in jobs.groupby("grid")}
    workers = result.workers().set_index("grid")["workers"]
    out = {}
    for i, row in df.iterrows():
        g, a, b = str(row["grid"]), row["t_created"], row["t_discovered"]
        j = by_grid.get(g)
        work = 0.0 if j is None else sum(
            cal.on_hours(max(s, a), min(e, b)) for s, e in zip(j["start"], j["end"], strict=True)
            if min(e, b) > max(s, a))
        out[i] = need[i] - (cal.on_hours(a, b) - work / workers[g])
    return pd.Series(out)


def test_yielding_patrol_finds_a_problem_after_the_patrol_time_it_needs(small):
    busy = small.with_overrides({"verify_time": "2h", "horizon": "12d"})  # busy grid workers
    cal = compile_plan(busy).calendars.shifts[busy.roles.grid_worker]
    off = gridsim.simulate(busy, seed=8, record="events")
    on = gridsim.simulate(busy.with_overrides(YIELDS), seed=8, record="events")
    a, b = off.issues.set_index("issue_id"), on.issues.set_index("issue_id")
    both = a.index[(a["source"] == "patrol") & (b["source"] == "patrol")
                   & a["t_discovered"].notna() & b["t_discovered"].notna()]
    assert len(both) > 300
    # without yielding, the patrol a case needs is the on-shift time to its discovery
    need = pd.Series([cal.on_hours(t0, t1) for t0, t1 in
                      zip(a.loc[both, "t_created"], a.loc[both, "t_discovered"], strict=True)],
                     index=both)
    sample = both[:150]
    deficit_on = _patrol_deficit(on, need[sample], cal)
    np.testing.assert_allclose(deficit_on, 0.0, atol=1e-6)
    deficit_off = _patrol_deficit(off, need[sample], cal)  # the check fails without yielding
    assert (deficit_off > 1e-6).mean() > 0.1
    # found later, and a patrol too late loses the race to the first other report
    delay = b.loc[both, "t_discovered"] - a.loc[both, "t_discovered"]
    assert (delay >= -1e-9).all() and delay.mean() > 0
    lost = a.index[(a["source"] == "patrol") & (b["source"] != "patrol")]
    assert len(lost) > 0 and set(b.loc[lost, "source"].astype(str)) <= {
        "hotline", "camera", "units", "above"}
    assert (b.loc[lost, "t_discovered"] >= a.loc[lost, "t_discovered"] - 1e-9).all()
    assert on.workers()["found"].sum() < off.workers()["found"].sum()


def test_an_experiment_carries_the_workers_day_per_variant(default_scenario, tmp_path):
    s = default_scenario.with_overrides({"horizon": "6d", "warmup": "1d", "streets.count": 1})
    variants = {"plain": s, "yielding": s.with_overrides(YIELDS)}
    exp = gridsim.compare(variants, replications=2, seed=11, workers=1)
    w = exp.workers()
    n_grids = len(gridsim.simulate(s, record="kpis").workers())
    assert len(w) == 2 * n_grids and set(w["point"]) == {"plain", "yielding"}
    from gridsim.experiments import replication_seed

    reps = [gridsim.simulate(s, seed=replication_seed(11, r), record="kpis").workers()
            for r in range(2)]
    mean = (reps[0]["found"] + reps[1]["found"]) / 2
    plain = w[w["point"] == "plain"].set_index("grid")["found"]
    np.testing.assert_allclose(plain.loc[reps[0]["grid"]].to_numpy(), mean.to_numpy())
    assert {"patrol_hours_hw", "verified_hw"} <= set(w.columns)
    exp.write(tmp_path / "exp", plot=False)
    assert len(pd.read_csv(tmp_path / "exp" / "workers.csv")) == len(w)
