"""What a run hands back: the tables, the KPIs computed from them, and the files on disk."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import gridsim
from gridsim.results import io as results_io
from gridsim.results import plots


def test_issue_table_has_one_row_per_case_with_its_timeline(short_result):
    df = short_result.issues
    for col in ["issue_id", "category", "source", "grid", "community", "street", "district",
                "t_created", "t_discovered", "t_uploaded", "t_enter_community",
                "t_leave_community", "t_enter_city", "t_dept_called", "t_dept_onsite",
                "departments_reported", "t_solved", "t_closed", "solved_tier", "escalations",
                "bounces", "reopens", "state"]:
        assert col in df.columns, col
    assert set(df["source"].astype(str)) == {"patrol", "hotline", "above", "units", "camera"}
    # location ids nest: a grid belongs to one community, street and district
    assert (df.groupby("grid", observed=True)["street"].nunique() == 1).all()
    entered = df["t_enter_street"].notna() & df["t_leave_street"].notna()
    assert (df.loc[entered, "t_leave_street"] >= df.loc[entered, "t_enter_street"]).all()


def test_kpis_exclude_the_warm_up_and_match_the_issue_table(short_result):
    df, warm = short_result.issues, short_result.scenario.warmup.hours
    cohort = df[df["t_created"] >= warm]
    closed = cohort[cohort["state"] == "closed"]
    assert short_result.kpi("cases") == len(cohort) < len(df)
    assert short_result.kpi("resolution_time_mean") == pytest.approx(
        closed["resolution_time"].mean())
    assert short_result.kpi("resolution_time_p90") == pytest.approx(
        np.quantile(closed["resolution_time"], 0.9))
    assert short_result.kpi("closure_rate") == pytest.approx(len(closed) / len(cohort))
    assert short_result.kpi("resolution_rate") == pytest.approx(
        closed["solved_in_fact"].sum() / len(cohort))  # solved in fact, not just closed
    grid_share = (closed["solved_tier"] == "grid").mean()
    assert short_result.kpi("solved_share_grid") == pytest.approx(grid_share)
    for group in ("category", "source", "lead"):
        scopes = short_result.kpis.loc[short_result.kpis["metric"] == "cases", "scope"]
        counts = short_result.kpis.loc[(short_result.kpis["metric"] == "cases")
                                       & scopes.str.startswith(f"{group}="), "value"]
        assert counts.sum() == len(cohort)
    with pytest.raises(KeyError, match="no KPI"):
        short_result.kpi("resolution_time_mean", "category=nonsense")


def test_load_is_hourly_per_pool_and_names_a_bottleneck(short_result):
    load, s = short_result.load, short_result.scenario
    n_hours = int(s.horizon.hours)
    assert load["time"].nunique() == n_hours
    assert (load.groupby("pool", observed=True).size() == n_hours).all()
    util = load["utilisation"].dropna()
    assert (util >= -1e-9).all() and (util <= 1 + 1e-9).all()
    assert (load["queue"] >= 0).all()
    pools = short_result.pools()
    assert pools["utilisation"].is_monotonic_decreasing
    assert short_result.bottleneck["pool"] == pools.index[0]


def test_write_is_complete_and_atomic(tmp_path, short_result, monkeypatch):
    out = short_result.write(tmp_path / "run")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["issues_created"] == len(short_result.issues)
    assert summary["kpis"]["resolution_time_mean"] == pytest.approx(
        short_result.kpi("resolution_time_mean"))
    back = pd.read_parquet(out / "issues.parquet")
    pd.testing.assert_frame_equal(back, short_result.issues, check_categorical=False)
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("gridsim_version", "scenario_sha256", "seed", "python", "packages", "started",
                "wall_time_s", "scenario"):
        assert key in manifest
    rerun = gridsim.scenario.loader.validate_data(manifest["scenario"], "<manifest>")
    assert gridsim.scenario.scenario_hash(rerun) == manifest["scenario_sha256"]

    # a failure part-way leaves the earlier results untouched and no temporary folder behind
    def boom(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "write_all", boom)
    with pytest.raises(RuntimeError):
        short_result.write(out)
    assert json.loads((out / "summary.json").read_text()) == summary
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_atomic_dir_replaces_existing_results(tmp_path):
    target = tmp_path / "r"
    with results_io.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("1")
    with results_io.atomic_dir(target) as tmp:
        (tmp / "b.txt").write_text("2")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_rerun_from_manifest_reproduces_the_run(short_result):
    again = gridsim.simulate(short_result.scenario, seed=short_result.manifest["seed"])
    pd.testing.assert_frame_equal(again.kpis, short_result.kpis)


def test_partial_district_templates_survive_overrides_and_the_manifest(default_scenario):
    data = default_scenario.to_data()
    data["districts"] = [{"name": "A", "streets": {"communities": 2}},
                         {"name": "B", "count": 2, "streets": {"count": 3}}]
    data["horizon"], data["warmup"] = "3d", "0d"
    s = gridsim.scenario.loader.validate_data(data, "<test>")
    from gridsim.results.manifest import organisation

    want = {"districts": 3, "streets": 8 + 2 * 3}
    for variant in (s, s.with_overrides({"seed": 5}),
                    gridsim.scenario.loader.validate_data(s.to_data(), "<again>")):
        got = organisation(variant)
        assert {k: got[k] for k in want} == want
        assert got["communities"] == 8 * 2 + 6 * 6
    r = gridsim.simulate(s, seed=1)
    rerun = gridsim.scenario.loader.validate_data(r.manifest["scenario"], "<manifest>")
    assert organisation(rerun) == r.manifest["organisation"]
    assert r.issues["street"].nunique() == 14
