"""The stationarity test (gridsim/results/stationarity.py): it flags a queue that grows through
the run and leaves a stable one alone, on synthetic series and on the M/M/c validation queue
above and below saturation, and it reaches the summary, manifest, CSV, reports and
experiments."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS
from rich.console import Console

import gridsim
from gridsim.experiments import sweep
from gridsim.report import write_report
from gridsim.report.stationarity import NOT_TESTED, run_section
from gridsim.results.stationarity import (
    COLUMNS,
    adjust,
    growing,
    manifest_entry,
    stationarity,
)

MMC = SCENARIOS / "validation" / "mmc.yaml"
RATE = "categories.calls.rates.hotline.value"
POOL = "Validation/s0/communities"  # the M/M/c pool (10 staff, mu = 1/h)


def mmc(rate: float, horizon: str = "2000h") -> gridsim.Scenario:
    """The M/M/c queue at arrival rate ``rate`` per hour (rho = rate / 10)."""
    return gridsim.load_scenario(MMC, {RATE: rate, "horizon": horizon})


def synthetic(series: dict[str, np.ndarray], capacity: int = 4) -> pd.DataFrame:
    """A load table with hourly queue samples per pool (what ``Result.load`` holds)."""
    frames = [pd.DataFrame({"time": np.arange(len(q), dtype=float), "pool": name,
                            "kind": "department", "capacity": capacity, "queue": q})
              for name, q in series.items()]
    out = pd.concat(frames, ignore_index=True).sort_values("time", kind="stable")
    out["pool"] = out["pool"].astype("category")
    return out


def test_synthetic_growth_is_flagged_and_noise_is_not():
    rng = np.random.default_rng(5)
    n = 24 * 200
    t = np.arange(n)
    load = synthetic({
        "flat": rng.gamma(2.0, 1.0, n),
        "grows": rng.gamma(2.0, 1.0, n) + t / 24 * 0.5,  # +0.5 cases a day: +~100 over the run
        "creeps": rng.gamma(2.0, 0.05, n) + t / n * 2.0,  # significant, but +2 < 4 staff
        "empty": np.zeros(n),
    })
    st = stationarity(load, warmup_h=240, horizon_h=n).set_index("unit")
    assert list(st.reset_index().columns) == COLUMNS
    assert st.at["grows", "growing"] and st.at["grows", "p_adjusted"] < 1e-6
    assert st.at["grows", "slope_per_day"] == pytest.approx(0.5, rel=0.05)
    assert not st.at["flat", "growing"] and st.at["flat", "p_adjusted"] > 0.01
    # the trend test alone would flag the creeping queue: the practical threshold does not
    assert st.at["creeps", "p_adjusted"] < 0.01 and st.at["creeps", "growth"] < 4
    assert not st.at["creeps", "growing"]
    assert st.at["empty", "p"] == 1.0 and not st.at["empty", "growing"]
    assert growing(st.reset_index()) == ["grows"]
    assert (st["batches"] == 25).all()


def test_benjamini_hochberg_adjusts_across_pools():
    p = np.array([0.004, 0.5, 0.02, np.nan, 0.9, 0.03])
    adj = adjust(p)
    ok = ~np.isnan(p)
    # by hand: sorted p times m / rank, made monotone from the top, capped at 1
    m = ok.sum()
    order = np.argsort(p[ok])
    raw = p[ok][order] * m / np.arange(1, m + 1)
    expect = np.minimum.accumulate(raw[::-1])[::-1].clip(max=1)
    assert np.isnan(adj[3])  # untested: stays untested and is not counted among the m tests
    assert np.allclose(adj[ok][order], expect)
    assert adj[0] == pytest.approx(0.004 * 5)  # significant alone at 0.01, not among five
    # so a lone small p-value among many pools is not flagged
    rng = np.random.default_rng(2)
    n = 24 * 100
    series = {f"noise{i}": rng.gamma(2.0, 1.0, n) for i in range(20)}
    st = stationarity(synthetic(series), 0, n)
    assert (st["p_adjusted"] >= st["p"]).all()
    assert not st["growing"].any()


def test_a_short_or_empty_series_is_not_tested():
    assert stationarity(None, 0, 100).empty
    assert stationarity(synthetic({"a": np.ones(50)}).iloc[:0], 0, 50).empty
    assert manifest_entry(stationarity(None, 0, 100))["tested"] is False
    short = stationarity(synthetic({"a": np.arange(5.0)}), 0, 5)
    assert np.isnan(short.at[0, "p"]) and not short.at[0, "growing"]
    assert "Not tested" in run_section(None)["note"] == NOT_TESTED


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mmc_is_flagged_above_saturation_only(seed):
    """rho = 1.05 (lambda 10.5/h before 10 staff of mu 1/h) grows by about 0.5 cases an hour:
    flagged at every seed; rho = 0.8 is stable: never flagged. The flag can fail."""
    over = gridsim.simulate(mmc(10.5, "1000h"), seed=seed).stationarity().set_index("unit")
    assert over.at[POOL, "growing"], over.loc[POOL]
    # drift (10.5 - 10) x 24 = 12 a day; a random walk of sd ~ sqrt(20.5 x 900 h) around it
    assert 3 < over.at[POOL, "slope_per_day"] < 30
    assert over["growing"].sum() == 1  # the idle pools are not flagged with it
    under = gridsim.simulate(mmc(8, "1000h"), seed=seed).stationarity().set_index("unit")
    assert not under["growing"].any(), under.loc[POOL]
    assert abs(under.at[POOL, "growth"]) < under.at[POOL, "threshold"]


def test_every_record_level_gets_the_same_test():
    s = mmc(10.5, "600h")
    rows = gridsim.simulate(s, seed=4)
    kpis = gridsim.simulate(s.with_overrides({"record.level": "kpis"}), seed=4)
    assert kpis.issues is None
    pd.testing.assert_frame_equal(rows.stationarity(), kpis.stationarity())
    assert kpis.manifest["stationarity"]["growing"][0]["unit"] == POOL
    assert kpis.summary()["growing_pools"] == [POOL]


def test_run_summary_manifest_csv_and_report(tmp_path, run_cli):
    out = tmp_path / "over"
    proc = run_cli("run", str(MMC), "--set", f"{RATE}=10.5", "--set", "horizon=800h",
                   "--out", str(out), "--no-plots")
    assert proc.returncode == 0, proc.stderr
    assert f"growing queue: {POOL} (community): queue grows +" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    entry = manifest["stationarity"]
    assert entry["tested"] and entry["pools"] == 8
    assert [g["unit"] for g in entry["growing"]] == [POOL]
    csv = pd.read_csv(out / "stationarity.csv")
    assert list(csv.columns) == COLUMNS and csv["growing"].sum() == 1
    html = write_report(out).read_text()
    section = html[html.index('id="stationarity"'):html.index('id="loaded"')]
    assert POOL in section and "1 of 8 pools" in section

    stable = gridsim.simulate(mmc(8, "800h"), seed=1)
    from gridsim.cli.tables import print_summary

    console = Console(record=True, width=200)
    print_summary(stable, console)
    assert "stationarity: all pools stationary" in console.export_text()
    stable.write(tmp_path / "stable", plot=False)
    html = write_report(tmp_path / "stable").read_text()
    assert "All 8 pools stationary" in html


def test_experiment_flags_the_non_stationary_point(tmp_path):
    exp = sweep(mmc(8, "800h"), {RATE: [8, 10.5]}, replications=2, seed=3, workers=1)
    st = exp.stationarity()
    assert set(st.columns) >= {"point", "unit", "replications", "flagged", "share"}
    bad = exp.non_stationary()
    assert list(bad["point"].astype(str)) == [f"{RATE}=10.5"]
    assert bad.at[0, "unit"] == POOL and bad.at[0, "flagged"] == 2 and bad.at[0, "share"] == 1
    from gridsim.cli.tables import print_experiment

    console = Console(record=True, width=250)
    print_experiment(exp, console)
    text = console.export_text()
    assert f"non-stationary {RATE}=10.5: {POOL} (community) queue grows in 2/2" in text
    assert f"non-stationary {RATE}=8" not in text
    folder = exp.write(tmp_path / "exp", plot=False)
    assert (folder / "stationarity.csv").is_file()
    meta = json.loads((folder / "experiment.json").read_text())
    assert [r["point"] for r in meta["non_stationary"]] == [f"{RATE}=10.5"]
    html = write_report(folder).read_text()
    section = html[html.index('id="stationarity"'):html.index('id="loaded"')]
    assert f"Non-stationary: {RATE}=10.5." in section and POOL in section
