"""Department behaviour and appraisal (街道吹哨、部门报到, issue 16 item 2): departments that do
not answer a call or do not do their part slow department-led cases and push them up the tiers;
the street's appraisal moves their behaviour back; the lead label is a mechanism under the lead
split; the appraisal table is the same at every record level and however the run was split.

Each comparison is paired: same scenario, same seed (common random numbers), one parameter
changed, so that with the mechanism switched off the two runs are identical and the check fails.
"""

from __future__ import annotations

import pandas as pd
import pytest

import gridsim
from gridsim.results.appraisal import APPRAISAL, dept_kpis
from gridsim.scenario import ScenarioError

SEED = 11


@pytest.fixture(scope="module")
def small(default_scenario) -> gridsim.Scenario:
    """The default district with three streets over 60 days (5-day warm-up)."""
    return default_scenario.with_overrides({"horizon": "60d", "warmup": "5d",
                                            "streets.count": 3})


def _all_depts(scenario: gridsim.Scenario, field: str, value: float) -> dict:
    return {f"departments.{d}.{field}": value for d in scenario.departments}


_RUNS: dict = {}


def run(scenario: gridsim.Scenario, policy: str, **overrides) -> gridsim.Result:
    key = (id(scenario), policy, repr(sorted(overrides.items())))
    if key not in _RUNS:
        s = scenario.with_overrides({"policy.name": policy, **overrides})
        _RUNS[key] = gridsim.simulate(s, seed=SEED)
    return _RUNS[key]


def dept_led_time(r: gridsim.Result) -> float:
    return r.kpi("resolution_time_mean", "lead=department")


@pytest.mark.parametrize("policy", ["whistle", "four_tier"])
@pytest.mark.parametrize("field,value", [("report_rate", 0.5), ("cooperation", 0.6)])
def test_unreliable_departments_slow_department_led_cases(small, policy, field, value):
    base = run(small, policy)
    worse = run(small, policy, **_all_depts(small, field, value))
    assert dept_led_time(worse) > dept_led_time(base) * 1.1
    kpi = "report_rate" if field == "report_rate" else "cooperation_rate"
    assert base.kpi(kpi) == 1.0
    assert abs(worse.kpi(kpi) - value) < 0.05  # the share drawn is the one set
    if policy == "four_tier":  # whistle's ladder ends at the district: failures retry there
        assert worse.kpi("escalations_per_case") > base.kpi("escalations_per_case")
    else:
        assert worse.kpi("whistles_per_case") > base.kpi("whistles_per_case")


def test_four_tier_gives_up_calling_after_its_recalls(small):
    """An unanswered whistle climbs a tier after ``recalls`` calls again: fewer recalls, more
    escalations."""
    lapse = _all_depts(small, "report_rate", 0.5)
    patient = run(small, "four_tier", **lapse, **{"policy.four_tier.recalls": 50})
    quick = run(small, "four_tier", **lapse, **{"policy.four_tier.recalls": 0})
    assert quick.kpi("escalations_per_case") > patient.kpi("escalations_per_case") + 0.01
    assert quick.kpi("entered_share_joint") > patient.kpi("entered_share_joint")


def test_appraisal_strength_zero_is_no_feedback_bit_for_bit(small):
    lapse = {**_all_depts(small, "report_rate", 0.6), **_all_depts(small, "cooperation", 0.8)}
    plain = run(small, "four_tier", **lapse)
    zero = run(small, "four_tier", **lapse, **{
        "policy.four_tier.appraisal": {"strength": 0, "report_time_cut": 0.9, "prior": 0,
                                       "weights": {"report": 3, "resolution": 0}}})
    pd.testing.assert_frame_equal(plain.issues, zero.issues)
    pd.testing.assert_frame_equal(plain.kpis, zero.kpis)
    felt = run(small, "four_tier", **lapse, **{"policy.four_tier.appraisal.strength": 0.5})
    assert not felt.issues.equals(plain.issues)


def test_stronger_appraisal_raises_the_report_rate_and_cooperation(small):
    lapse = {**_all_depts(small, "report_rate", 0.5), **_all_depts(small, "cooperation", 0.7)}
    rates = [run(small, "whistle", **lapse, **{"policy.whistle.appraisal.strength": k})
             for k in (0, 1, 4)]
    report = [r.kpi("report_rate") for r in rates]
    coop = [r.kpi("cooperation_rate") for r in rates]
    assert report[0] < report[1] < report[2]
    assert coop[0] < coop[1] < coop[2]
    assert dept_led_time(rates[2]) < dept_led_time(rates[0])
    # an appraised department also reports faster (travel time cut under pressure)
    table = rates[2].appraisal().set_index("department")
    assert (table["report_rate"] > 0.5 + 0.05).all()


@pytest.mark.parametrize("policy", ["whistle", "four_tier"])
def test_the_lead_label_is_a_mechanism_under_the_lead_split(small, policy):
    relabel = {"categories.garbage_overflow.lead": "department"}
    split = {f"policy.{policy}.lead_split": True}
    # without the split, relabelling changes nothing (the old behaviour, kept by default)
    pd.testing.assert_frame_equal(run(small, policy).issues.drop(columns="lead"),
                                  run(small, policy, **relabel).issues.drop(columns="lead"))
    a, b = run(small, policy, **split), run(small, policy, **split, **relabel)
    assert not a.kpis.equals(b.kpis)
    assert a.kpi("cases", "category=garbage_overflow") == b.kpi("cases",
                                                                "category=garbage_overflow")
    # department-led: whistled at once, the departments lead and are appraised on it
    assert b.kpi("entered_share_district") > a.kpi("entered_share_district")
    assert b.kpi("dept_calls", "department=sanitation") > a.kpi("dept_calls",
                                                                "department=sanitation")


def test_street_led_cases_at_the_district_keep_the_street_team_busy(small):
    """Under the split a street-led case at the district tier is worked by the street team (its
    departments assisting): the team's load rises, its departments' resolution is not theirs."""
    split = run(small, "whistle", **{"policy.whistle.lead_split": True})
    plain = run(small, "whistle")
    def street_busy(r: gridsim.Result) -> float:
        load = r.load[r.load["kind"].isin(["office", "enforcement"])]
        return float(load["busy"].sum())

    assert street_busy(split) > street_busy(plain)
    assert split.kpi("dept_calls") > 0


def test_the_appraisal_table_is_the_same_at_every_record_level(small):
    s = small.with_overrides({"policy.name": "four_tier",
                              **_all_depts(small, "report_rate", 0.7),
                              **_all_depts(small, "cooperation", 0.8),
                              "policy.four_tier.appraisal.strength": 1})
    by_level = {level: gridsim.simulate(s, seed=SEED, record=level)
                for level in ("issues", "kpis")}
    issues, kpis = by_level["issues"], by_level["kpis"]
    pd.testing.assert_frame_equal(issues.kpis, kpis.kpis)
    table = kpis.appraisal()
    pd.testing.assert_frame_equal(issues.appraisal(), table)
    assert list(table.columns) == ["department", *APPRAISAL]
    assert set(table["department"]) == set(small.departments)
    assert table["report_rate"].between(0.6, 0.95).all()
    assert issues.kpi("dept_calls") == table["dept_calls"].sum()


def test_shards_add_up_to_the_unsharded_appraisal(three):
    s = three.with_overrides({"policy.name": "whistle",
                              **_all_depts(three, "report_rate", 0.7)})
    one = gridsim.simulate(s, seed=SEED, record="kpis")
    split = gridsim.simulate(s, seed=SEED, record="kpis", shards=3, workers=1)
    pd.testing.assert_frame_equal(one.kpis, split.kpis)
    table = one.appraisal()
    per_district = table[table["department"].str.contains("/")]
    assert len(per_district) == 3 * len(three.departments)


def test_department_kpis_without_departments_called():
    rows = dept_kpis(None)
    assert [m for m, scope, _ in rows] == ["dept_calls", "report_rate", "cooperation_rate"]


def test_a_misspelt_appraisal_key_names_the_path_and_the_closest(small):
    with pytest.raises(ScenarioError, match=r"policy\.whistle\.appraisal.*strength"):
        small.with_overrides({"policy.whistle.appraisal": {"strenght": 1}})
    with pytest.raises(ScenarioError, match=r"departments\.water\.report_rate"):
        small.with_overrides({"departments.water.report_rate": 1.5})


@pytest.mark.parametrize("policy", ["baseline", "whistle", "four_tier"])
def test_the_event_log_agrees_with_the_issue_table_when_departments_fail(small, policy):
    from test_events import check_log

    s = small.with_overrides({
        "policy.name": policy, "horizon": "30d", **_all_depts(small, "report_rate", 0.5),
        **_all_depts(small, "cooperation", 0.7),
        **({f"policy.{policy}.lead_split": True} if policy != "baseline" else {})})
    r = gridsim.simulate(s, seed=SEED, record="events")
    pd.testing.assert_frame_equal(r.issues, gridsim.simulate(s, seed=SEED).issues)
    check_log(r.issues, r.events)
    assert r.kpi("report_rate") < 0.6
