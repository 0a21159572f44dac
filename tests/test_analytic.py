"""gridsim held against queueing theory: Erlang C, Little's law and a Jackson network.

The scenarios in ``scenarios/validation/`` reduce the model to textbook queues (see their
headers). Each check runs independent replications (seeds 1, 2, ...) and asks that the 99%
Student-t interval of the replication means contain the analytic value; the tolerance is the
interval's own half-width, never a fixed margin. The seeds are fixed, so the outcome is
deterministic; a failure means the model, or the claim that it reduces to the queue, is wrong.

Per station and replication, over cases that *reach the station* inside the measurement window
[warm-up, horizon − TAIL) (TAIL is long enough for all of them to finish):

- W: mean of ``t_leave_<tier> − t_enter_<tier>`` (waiting plus work);
- Wq, P(wait), mean work: the start of work is not recorded, so it is rebuilt by replaying the
  FCFS pool of c staff over every case's arrival and departure (:func:`fcfs_start_times`);
- L, Lq, busy: time averages of the pool's ``busy`` and ``queue`` in ``result.load`` over the
  same window. In ``load_frame`` ``queue`` is a time-average count per interval, while ``busy``
  is staff-hours per interval, so the mean number busy is ``busy / interval``.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analytic import fcfs_start_times, jackson_of, mmc, mmc_of, t_interval

import gridsim

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
JACKSON = ROOT / "scenarios" / "validation" / "jackson.yaml"
LEVEL = 0.99
TAIL = 48.0
"""Hours at the end of a run not used for measuring: a case arriving before it has left."""

LAMBDA = "categories.calls.rates.hotline.value"
WORK_COMMUNITY = "categories.calls.work.community.mean"
STAFF_COMMUNITY = "streets.staff.community_per_community"


# ---------------------------------------------------------------- measuring one run
def station(issues: pd.DataFrame, load: pd.DataFrame, tier: str, pool_kind: str, c: int,
            start: float, end: float, interval: float) -> dict[str, float]:
    """What one run shows of the pool that serves ``tier`` (kind ``pool_kind``, ``c`` staff),
    measured over arrivals at the pool in [start, end) and load samples within (start, end]."""
    enter = issues[f"t_enter_{tier}"].to_numpy()
    leave = issues[f"t_leave_{tier}"].to_numpy()
    used = ~np.isnan(enter)
    enter, leave = enter[used], leave[used]
    began = fcfs_start_times(enter, leave, c)
    win = (enter >= start) & (enter < end)
    assert not np.isnan(leave[win]).any(), "a case measured had not left: lengthen TAIL"
    e, b, lv = enter[win], began[win], leave[win]
    rows = load[(load["kind"] == pool_kind) & (load["time"] - interval >= start - 1e-9)
                & (load["time"] <= end + 1e-9)]
    assert rows["pool"].nunique() == 1 and len(rows) == round((end - start) / interval)
    busy = rows["busy"].to_numpy() / interval
    queue = rows["queue"].to_numpy()
    lam = win.sum() / (end - start)
    w = float(np.mean(lv - e))
    big_l = float(np.mean(busy + queue))
    return {"lam": lam, "w": w, "wq": float(np.mean(b - e)), "p_wait": float(np.mean(b > e)),
            "work": float(np.mean(lv - b)), "l": big_l, "lq": float(np.mean(queue)),
            "busy": float(np.mean(busy)), "little": big_l - lam * w, "n": int(win.sum())}


def window(s: gridsim.Scenario) -> tuple[float, float]:
    return s.warmup.hours, s.horizon.hours - TAIL


def run_mmc(s: gridsim.Scenario, seed: int) -> dict[str, float]:
    r = gridsim.simulate(s, seed=seed)
    assert (r.issues["escalations"] == 0).all()
    return station(r.issues, r.load, "community", "community", mmc_of(s).c, *window(s),
                   s.record.load_interval.hours)


def run_jackson(s: gridsim.Scenario, seed: int) -> dict[str, float]:
    r = gridsim.simulate(s, seed=seed)
    net = jackson_of(s)
    start, end = window(s)
    dt = s.record.load_interval.hours
    i = r.issues
    out = {f"s1_{k}": v for k, v in
           station(i, r.load, "community", "community", net.first.c, start, end, dt).items()}
    out |= {f"s2_{k}": v for k, v in
            station(i, r.load, "street", "enforcement", net.second.c, start, end, dt).items()}
    cohort = i[(i["t_enter_community"] >= start) & (i["t_enter_community"] < end)]
    assert (cohort["state"] == "closed").all()
    out["escalated"] = float(cohort["t_enter_street"].notna().mean())
    out["network_time"] = float((cohort["t_closed"] - cohort["t_enter_community"]).mean())
    return out


def replicate(run, s: gridsim.Scenario, n: int) -> pd.DataFrame:
    """One row per replication, seeds 1..n."""
    return pd.DataFrame([run(s, seed) for seed in range(1, n + 1)])


def check(reps: pd.DataFrame, expected: dict[str, float]) -> list[str]:
    """Each measure whose interval misses its analytic value, with both (empty: all hit).

    The intervals are simultaneous: with m measures each is at level 1 - (1 - LEVEL) / m
    (Bonferroni), so a correct model fails the whole check at most 1 - LEVEL of the time, not
    about m times as often as one measure would.
    """
    level = 1 - (1 - LEVEL) / len(expected)
    misses = []
    for col, value in expected.items():
        ci = t_interval(reps[col], level)
        print(f"{col:>16}: simulated {ci}   analytic {value:.5f}")
        if value not in ci:
            misses.append(f"{col}: {level:.2%} interval {ci} misses the analytic {value:.5f}")
    return misses


def mmc_expected(q) -> dict[str, float]:
    return {"lam": q.lam, "w": q.w, "wq": q.wq, "p_wait": q.p_wait, "work": 1 / q.mu,
            "l": q.l, "lq": q.lq, "busy": q.a}


# ---------------------------------------------------------------- the formulas themselves
def test_erlang_c_matches_textbook_values():
    # Hillier & Lieberman, "County Hospital" emergency room: λ = 2/h, μ = 3/h.
    one, two = mmc(2, 3, 1), mmc(2, 3, 2)
    assert (one.l, one.lq, one.w, one.wq) == pytest.approx((2, 4 / 3, 1, 2 / 3))
    assert (two.l, two.lq, two.w, two.wq) == pytest.approx((3 / 4, 1 / 12, 3 / 8, 1 / 24))
    # closed forms: M/M/1 waits with probability ρ, M/M/2 with 2ρ²/(1 + ρ)
    for rho in (0.1, 0.5, 0.9):
        assert mmc(rho, 1, 1).p_wait == pytest.approx(rho)
        assert mmc(2 * rho, 1, 2).p_wait == pytest.approx(2 * rho**2 / (1 + rho))
    # the benchmark M/M/10 at a = 9, against Erlang C's explicit sum
    a, c = 9, 10
    top = a**c / math.factorial(c) * c / (c - a)
    head = sum(a**k / math.factorial(k) for k in range(c))
    assert mmc(9, 1, 10).p_wait == pytest.approx(top / (head + top), rel=1e-12)
    assert mmc(9, 1, 10).p_wait == pytest.approx(0.668731524, abs=1e-9)
    with pytest.raises(ValueError, match="unstable"):
        mmc(10, 1, 10)


def test_analytic_values_follow_the_scenario_and_its_overrides():
    s = gridsim.load_scenario(MMC)
    q = mmc_of(s)
    assert (q.lam, q.mu, q.c) == (9, 1, 10)
    assert (q.p_wait, q.wq, q.w, q.l) == pytest.approx((0.66873, 0.66873, 1.66873, 15.01858),
                                                       abs=1e-5)
    q2 = mmc_of(s.with_overrides({LAMBDA: 2, WORK_COMMUNITY: "2h", STAFF_COMMUNITY: 5}))
    assert (q2.lam, q2.mu, q2.c) == (2, 0.5, 5)
    net = jackson_of(gridsim.load_scenario(JACKSON))
    assert (net.first.lam, net.second.lam, net.p) == pytest.approx((6, 2.4, 0.4))
    assert (net.first.w, net.second.w, net.w) == pytest.approx((1.17849, 1.93971, 1.95437),
                                                               abs=1e-5)


# ---------------------------------------------------------------- M/M/c and Little
@pytest.fixture(scope="module")
def mmc_runs():
    s = gridsim.load_scenario(MMC)
    return s, replicate(run_mmc, s, 10)


def test_mmc_sojourn_wait_and_probability_of_waiting_match_erlang_c(mmc_runs):
    s, reps = mmc_runs
    q = mmc_of(s)
    print(q)
    expected = {k: v for k, v in mmc_expected(q).items() if k in ("lam", "w", "wq", "p_wait",
                                                                  "work")}
    assert not check(reps, expected)


def test_littles_law_holds_at_the_pool(mmc_runs):
    s, reps = mmc_runs
    q = mmc_of(s)
    # the time-average load the pool reports matches L = λW, Lq = λWq and a = λ/μ busy staff ...
    misses = check(reps, {"l": q.l, "lq": q.lq, "busy": q.a})
    # ... and, run by run, the load table agrees with the cases' own times: L − λ̂·W ≈ 0
    misses += check(reps, {"little": 0.0})
    assert not misses


# ---------------------------------------------------------------- Jackson network
@pytest.fixture(scope="module")
def jackson_runs():
    s = gridsim.load_scenario(JACKSON)
    return s, replicate(run_jackson, s, 10)


def test_escalation_goes_from_community_to_street_under_baseline():
    s = gridsim.load_scenario(JACKSON, overrides={"horizon": "200h", "warmup": "10h"})
    i = gridsim.simulate(s, seed=1).issues
    escalated = i["escalations"] > 0
    assert escalated.any() and (i["escalations"] <= 1).all()
    assert i.loc[escalated, "t_enter_street"].notna().all()
    assert (i.loc[escalated, "t_enter_street"] == i.loc[escalated, "t_leave_community"]).all()
    assert (i.loc[~escalated, "t_enter_street"].isna()).all()
    closed = i[i["state"] == "closed"]
    assert set(closed["solved_tier"].unique()) <= {"community", "street"}
    assert (closed["solved_tier"] == "street").eq(closed["escalations"] > 0).all()
    for tier in ("grid", "district", "joint", "city"):
        assert i[f"t_enter_{tier}"].isna().all()


def test_jackson_network_stations_match_mmc(jackson_runs):
    s, reps = jackson_runs
    net = jackson_of(s)
    print(net.first, net.second, sep="\n")
    expected = {f"s1_{k}": v for k, v in mmc_expected(net.first).items()}
    expected |= {f"s2_{k}": v for k, v in mmc_expected(net.second).items()}
    expected |= {"escalated": net.p, "network_time": net.w, "s1_little": 0.0, "s2_little": 0.0}
    assert not check(reps, expected)


# ---------------------------------------------------------------- other parameters
def test_mmc_at_other_parameters_through_overrides():
    s = gridsim.load_scenario(MMC).with_overrides(
        {LAMBDA: 2, WORK_COMMUNITY: "2h", STAFF_COMMUNITY: 5, "horizon": "5000h"})
    q = mmc_of(s)
    assert (q.lam, q.mu, q.c) == (2, 0.5, 5)
    reps = replicate(run_mmc, s, 6)
    assert not check(reps, {k: v for k, v in mmc_expected(q).items()
                            if k in ("lam", "w", "p_wait", "work", "l")})


def _gridsim_command() -> list[str]:
    exe = shutil.which("gridsim")
    return [exe] if exe else [sys.executable, "-m", "gridsim.cli"]


def test_cli_run_with_overrides_matches_erlang_c(tmp_path):
    sets = {LAMBDA: 4, STAFF_COMMUNITY: 5, "horizon": "20000h"}
    cmd = [*_gridsim_command(), "run", str(MMC), "--seed", "7", "-q", "--no-plots",
           "--out", str(tmp_path / "out")]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={v}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    issues = pd.read_parquet(tmp_path / "out" / "issues.parquet")
    s = gridsim.load_scenario(MMC, overrides=sets)
    q = mmc_of(s)
    assert (q.lam, q.c) == (4, 5)
    start, end = window(s)
    cases = issues[(issues["t_enter_community"] >= start) & (issues["t_enter_community"] < end)]
    assert (cases["state"] == "closed").all()
    # one run: batch means over 10 consecutive stretches of ~2000 h give nearly independent
    # values for a t-interval. At ρ = 0.8 the sojourn times stay correlated over hundreds of
    # hours: 20 stretches of 190 h gave intervals half as wide as the spread of W between
    # whole runs (0.073 h over 40 seeds), too narrow to be honest.
    edges = np.linspace(start, end, 11)
    batch = np.digitize(cases["t_enter_community"], edges) - 1
    sojourn = cases["t_leave_community"] - cases["t_enter_community"]
    means = sojourn.groupby(batch).mean()
    counts = cases.groupby(batch).size() / np.diff(edges)
    assert not check(pd.DataFrame({"w": means, "lam": counts}), {"w": q.w, "lam": q.lam})


# ---------------------------------------------------------------- long variants
@pytest.mark.slow
def test_mmc_long_run_matches_erlang_c():
    s = gridsim.load_scenario(MMC, overrides={"horizon": "20000h"})
    reps = replicate(run_mmc, s, 20)
    assert not check(reps, mmc_expected(mmc_of(s)) | {"little": 0.0})


@pytest.mark.slow
def test_jackson_long_run_matches_mmc_per_station():
    s = gridsim.load_scenario(JACKSON, overrides={"horizon": "20000h"})
    net = jackson_of(s)
    reps = replicate(run_jackson, s, 20)
    expected = {f"s1_{k}": v for k, v in mmc_expected(net.first).items()}
    expected |= {f"s2_{k}": v for k, v in mmc_expected(net.second).items()}
    expected |= {"escalated": net.p, "network_time": net.w}
    assert not check(reps, expected)
