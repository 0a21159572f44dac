"""The resident's side: a case closed with an explanation is closed but not solved in fact, the
handler's first contact is a response in time or not, and the 12345 callback asks the resident
whether they are satisfied, which falls when cases close late or unsolved, and may reopen the
case (which is still recorded once).

A controlled scenario: one street whose enforcement team handles a hotline-only category on a
round-the-clock shift, so every probability of ``resident`` can be read back as a binomial
count (99.9 % Clopper-Pearson intervals; the runs are seeded, so a failure is a change, not
luck). Each comparison also runs with the mechanism's parameter at 0 and checks that the
effect is then gone: the check can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import gridsim
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.loader import validate_data

BASE = """
name: resident_test
horizon: 120d
warmup: 5d
seed: 3
calendar:
  start: 2026-01-05
  shifts:
    always: {days: all, hours: ["00:00-24:00"]}
roles: {grid_worker: always, community: always, centre: always, enforcement: always,
        office: always, joint: always, city: always}
streets:
  count: 1
  communities: 2
  grids_per_community: 4
  households_per_grid: 500
  staff: {grid_workers_per_grid: 1, community_per_community: 2, centre: 2, enforcement: 3,
          office: 2}
departments:
  works: {staff: 4, shift: always, report_time: 1h}
districts: [{name: D}]
triage_time: 5min
verify_time: 10min
hotline: {dispatch_delay: 1h}
categories:
  calls:
    lead: street
    rates:
      hotline: {value: 1, per: household, every: 365d}
    tiers: {street: 1.0}
    departments: [works]
    work: {street: {dist: exponential, mean: 4h}, district: 2h}
    solve: {street: 0.8, district: 0.9}
    reopen: 0.0
    deadline: 2d
policy: {name: four_tier}
resident:
  response: {limit: 6h, contact_time: {dist: exponential, mean: 6h}}
  callback:
    delay: 1d
    reach: 0.8
    satisfaction: {base: 0.9, unsolved: -3, late: -2, lateness: -1, no_response: 0,
                   per_reopen: 0}
"""


def scenario(**overrides) -> gridsim.Scenario:
    return validate_data(yaml.safe_load(BASE), "<resident>").with_overrides(overrides) \
        if overrides else validate_data(yaml.safe_load(BASE), "<resident>")


def cohort(r: gridsim.Result) -> pd.DataFrame:
    i = r.issues
    return i[i["t_created"] >= r.scenario.warmup.hours]


def interval(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(int(k), int(n)).proportion_ci(0.999)
    return ci.low, ci.high


def within(k: int, n: int, p: float) -> bool:
    low, high = interval(k, n)
    return low <= p <= high


def satisfied(r: gridsim.Result) -> tuple[int, int]:
    """Residents satisfied, residents who answered (cases of the cohort)."""
    s = cohort(r)["satisfied"]
    return int((s == True).sum()), int(s.notna().sum())  # noqa: E712 (nullable boolean)


def apart(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Share ``a`` above share ``b`` (``(successes, trials)``), one-sided Fisher exact test at
    0.1 %; not apart: no difference either way at 5 %."""
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    return stats.fisher_exact(table, alternative="greater").pvalue < 1e-3


def alike(a: tuple[int, int], b: tuple[int, int]) -> bool:
    table = [[a[0], a[1] - a[0]], [b[0], b[1] - b[0]]]
    return stats.fisher_exact(table).pvalue > 0.05


# ---------------------------------------------------------------- satisfaction
def test_satisfaction_falls_when_cases_close_late():
    """A thin team (one enforcement officer instead of three) closes the same calls later;
    fewer residents are satisfied. With the lateness shifts at 0 the difference is gone."""
    thin = {"streets.staff.enforcement": 1}
    fast, slow = gridsim.simulate(scenario()), gridsim.simulate(scenario(**thin))
    assert slow.kpi("on_time_rate") < fast.kpi("on_time_rate") - 0.2
    assert apart(satisfied(fast), satisfied(slow))
    assert slow.kpi("satisfaction_rate") < fast.kpi("satisfaction_rate")
    off = {"resident.callback.satisfaction.late": 0, "resident.callback.satisfaction.lateness": 0}
    a, b = gridsim.simulate(scenario(**off)), gridsim.simulate(scenario(**off, **thin))
    assert alike(satisfied(a), satisfied(b))
    for r in (a, b):
        assert within(*satisfied(r), 0.9)  # nothing but the base is left


def test_satisfaction_falls_when_fewer_cases_are_solved_in_fact():
    """Every failed attempt closed with an explanation instead of escalated: fewer cases
    solved in fact, fewer residents satisfied (not with the ``unsolved`` shift at 0)."""
    explain = {"resident.explanation.street": 1.0}
    solved, explained = gridsim.simulate(scenario()), gridsim.simulate(scenario(**explain))
    assert explained.kpi("resolution_rate") < solved.kpi("resolution_rate") - 0.05
    assert explained.kpi("closed_unsolved_rate") > 0.05 and solved.kpi("closed_unsolved_rate") == 0
    assert explained.kpi("closure_rate") >= explained.kpi("resolution_rate") + 0.05
    assert apart(satisfied(solved), satisfied(explained))
    off = {"resident.callback.satisfaction.unsolved": 0}
    a, b = gridsim.simulate(scenario(**off)), gridsim.simulate(scenario(**explain, **off))
    assert alike(satisfied(a), satisfied(b))


# ---------------------------------------------------------------- counts match probabilities
@pytest.fixture(scope="module")
def controlled() -> gridsim.Result:
    """Every satisfaction shift 0 (satisfied with ``base``), a fixed 8 h job (every case closes
    after the 6 h response limit, so a response is in time iff the contact, exponential with
    mean 6 h, comes within 6 h: 1 − e⁻¹), explanations at half the failures."""
    s = scenario(**{"resident.explanation.street": 0.5, "categories.calls.work.street": "8h",
                    "streets.staff.enforcement": 8,
                    "resident.callback.satisfaction": {"base": 0.9, "unsolved": 0, "late": 0,
                                                       "lateness": 0, "no_response": 0,
                                                       "per_reopen": 0}})
    return gridsim.simulate(s, record="events")


def test_response_callback_and_satisfaction_counts_match_their_probabilities(controlled):
    c = cohort(controlled)
    closed = c[c["state"] == "closed"]
    response = closed["response"].astype("boolean")
    assert response.notna().all()
    assert within(int(response.sum()), len(response), 1 - np.exp(-1))
    assert not within(int(response.sum()), len(response), 1.0)  # not every response in time
    called = closed[closed["callbacks"] > 0]
    answered = called["satisfied"].notna()
    assert len(called) > 300
    assert within(int(answered.sum()), len(called), 0.8)
    assert within(*satisfied(controlled), 0.9)
    assert controlled.kpi("satisfaction_rate") == pytest.approx(
        satisfied(controlled)[0] / satisfied(controlled)[1])
    assert controlled.kpi("callback_reach_rate") == pytest.approx(answered.mean())
    assert controlled.kpi("response_rate") == pytest.approx(response.mean())


def test_explanations_match_their_probability_at_failed_attempts(controlled):
    e = controlled.events
    failed = e[(e["tier"] == "street") & e["event"].isin(["explained", "escalated", "unsolved"])]
    k = int((failed["event"] == "explained").sum())
    assert len(failed) > 100 and within(k, len(failed), 0.5)
    i = controlled.issues
    explained = i[(i["state"] == "closed") & ~i["solved_in_fact"]]
    assert len(explained) == k  # each closed with an explanation once (none reopened here)
    assert explained["t_solved"].isna().all() and (explained["solved_tier"].isna()).all()


# ---------------------------------------------------------------- reopened by the callback
def test_a_dissatisfied_residents_case_is_reopened_and_still_recorded_once():
    low = {"resident.callback.satisfaction.base": 0.3, "resident.callback.max_reopens": 2}
    never = gridsim.simulate(scenario(**low))
    reopened = gridsim.simulate(scenario(**low, **{"resident.callback.reopen": 1.0}))
    assert never.issues["reopens"].sum() == 0 and never.issues["callback_reopens"].sum() == 0
    i = reopened.issues
    assert i["callback_reopens"].sum() > 100
    assert (i["reopens"] >= i["callback_reopens"]).all() and i["callback_reopens"].max() <= 2
    assert reopened.kpi("reopen_rate") > 0.3
    # every case ends once: one row per case created, each district_seq once
    assert len(i) == reopened.manifest["issues_created"] == i["district_seq"].nunique()
    # each reopen follows a callback, and each closure gets one (the last may be pending at
    # the end: closed, not yet called back)
    again = i[(i["callback_reopens"] > 0) & (i["state"] == "closed")]
    assert ((again["callbacks"] - again["callback_reopens"]).isin([0, 1])).all()
    assert reopened.kpi("resolution_time_mean") > never.kpi("resolution_time_mean")


# ---------------------------------------------------------------- levels and off
def test_the_kpis_level_gives_the_issues_levels_kpis():
    s = scenario(**{"resident.explanation.street": 0.3, "resident.callback.reopen": 0.5,
                    "horizon": "60d"})
    full, narrow = gridsim.simulate(s, record="issues"), gridsim.simulate(s, record="kpis")
    assert narrow.issues is None
    pd.testing.assert_frame_equal(full.kpis, narrow.kpis)
    mine = full.kpis[full.kpis["metric"].isin(["response_rate", "satisfaction_rate",
                                               "callback_reach_rate", "closed_unsolved_rate"])]
    assert set(mine["metric"]) == {"response_rate", "satisfaction_rate", "callback_reach_rate",
                                   "closed_unsolved_rate"}
    # and recomputed from the issue table (the frame's columns back into chunks)
    from gridsim.results.kpis import compute_kpis

    again = compute_kpis(full.issues, s.warmup.hours, s.horizon.hours, 0.5)
    run = full.kpis[~full.kpis["scope"].str.startswith("department=")]  # the run's counters
    for m in ("resolution_rate", "closure_rate", "response_rate", "satisfaction_rate"):
        assert again.query("metric == @m")["value"].tolist() == \
            run.query("metric == @m")["value"].tolist(), m


def test_off_is_the_run_without_a_resident_side():
    """Without ``resident`` or with every part of it off, the run is the same (no draw of the
    resident's streams, no hook); the KPIs of gridsim before it are unchanged, only the
    resident's rows and columns are added."""
    data = yaml.safe_load(BASE)
    data.pop("resident")
    without = gridsim.simulate(validate_data(data, "<no resident>"), record="events")
    data["resident"] = {"response": None, "callback": None}
    idle = gridsim.simulate(validate_data(data, "<idle resident>"), record="events")
    pd.testing.assert_frame_equal(without.issues, idle.issues)
    pd.testing.assert_frame_equal(without.events, idle.events)
    pd.testing.assert_frame_equal(without.kpis, idle.kpis)
    i = without.issues
    assert (i["solved_in_fact"] == (i["state"] == "closed")).all()
    assert i["response"].isna().all() and i["satisfied"].isna().all()
    assert without.kpi("resolution_rate") == without.kpi("closure_rate")
    on = gridsim.simulate(scenario(), record="events")  # the same calls, now called back
    assert (on.issues["t_created"].to_numpy() == i["t_created"].to_numpy()).all()


def test_an_unknown_category_names_its_yaml_path():
    data = yaml.safe_load(BASE)
    data["resident"]["explanation_by_category"] = {"cals": {"street": 0.5}}
    with pytest.raises(ScenarioError) as err:
        validate_data(data, "<bad>")
    text = str(err.value)
    assert "resident.explanation_by_category.cals" in text and "calls" in text
