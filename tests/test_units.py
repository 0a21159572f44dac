"""Units that differ (issue 16, item 1): named profiles and per-unit parameters for streets,
communities and departments (gridsim.scenario.profiles, gridsim.model.variants)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml
from scipy import stats

import gridsim
from gridsim.plan import compile_plan
from gridsim.scenario.loader import validate_data

SMALL = """
name: units
horizon: 50d
warmup: 5d
seed: 3
calendar:
  start: 2026-01-05
  shifts:
    office: {days: workdays, hours: ["08:30-12:00", "13:30-17:30"]}
    patrol: {days: all, hours: ["08:00-12:00", "14:00-18:00"]}
    always: {days: all, hours: ["00:00-24:00"]}
roles: {grid_worker: patrol, community: office, centre: always, enforcement: office,
        office: office}
streets:
  count: 4
  communities: 2
  grids_per_community: 4
  households_per_grid: 300
  staff: {grid_workers_per_grid: 1, community_per_community: 2, centre: 2, enforcement: 4,
          office: 2}
departments:
  sanitation: {staff: 4, shift: office, report_time: {dist: lognormal, mean: 2h, sd: 1h}}
districts: [{name: D}]
categories:
  garbage:
    lead: street
    rates: {patrol: {value: 8, per: grid, every: 30d}, hotline: {value: 2, per: grid, every: 30d}}
    on_spot: 0.1
    tiers: {community: 0.5, street: 0.5}
    departments: [sanitation]
    work: {community: {dist: lognormal, mean: 2h, sd: 1h},
           street: {dist: lognormal, mean: 2h, sd: 1h},
           district: {dist: lognormal, mean: 3h, sd: 2h}}
    solve: {community: 0.8, street: 0.9, district: 0.95}
    reopen: 0.05
    deadline: 2wd
  vending:
    lead: street
    rates: {patrol: {value: 2, per: grid, every: 30d}}
    tiers: {street: 1}
    departments: [sanitation]
    work: {street: {dist: lognormal, mean: 1h, sd: 30min}}
    solve: {street: 0.9}
    deadline: 2wd
profiles:
  weak: {solve: {community: 0.45, street: 0.55}, work_scale: 1.5, reopen: 0.15}
policy: {name: four_tier}
"""
WEAK = 1  # the street that gets the weak profile


def scenario(**changes) -> gridsim.Scenario:
    data = yaml.safe_load(SMALL)
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for k in head:
            node = node.setdefault(int(k) if k.isdigit() else k, {})
        node[int(last) if last.isdigit() else last] = value
    return validate_data(copy.deepcopy(data), "<units>")


def per_street(r: gridsim.Result, warmup: float) -> tuple[dict, dict, dict]:
    """Per street: on-time rate and mean resolution time of the closed cases created after
    warm-up, and the busiest pool's utilisation."""
    i = r.issues
    i = i[(i.t_created >= warmup) & (i.state == "closed")]
    g = i.groupby("street")
    load = r.load
    load = load[load.time >= warmup]
    b = load.groupby(["unit", "pool"])[["busy", "capacity_hours"]].sum()
    util = (b.busy / b.capacity_hours.where(b.capacity_hours > 0)).groupby("unit").max()
    return g.on_time.mean().to_dict(), g.resolution_time.mean().to_dict(), util.to_dict()


def gaps(s: gridsim.Scenario, seeds: range) -> tuple[np.ndarray, np.ndarray, float]:
    """Per replication: the weak street's on-time rate and resolution time minus its siblings'
    mean; and the highest utilisation of any of its pools over the replications."""
    d_on, d_res, worst = [], [], 0.0
    weak = f"D/s{WEAK}"
    for seed in seeds:
        on, res, util = per_street(gridsim.simulate(s, seed=seed), s.warmup.hours)
        others = [k for k in on if k != weak]
        d_on.append(on[weak] - np.mean([on[k] for k in others]))
        d_res.append(res[weak] - np.mean([res[k] for k in others]))
        worst = max(worst, util.get(weak, 0.0))
    return np.array(d_on), np.array(d_res), worst


def interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    half = stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def weaker(s: gridsim.Scenario, seeds: range) -> bool:
    """The check: the weak street is worse on on-time and resolution time (95 % t-intervals
    of the paired gaps exclude 0) while its staff are not saturated (utilisation < 0.8)."""
    d_on, d_res, util = gaps(s, seeds)
    assert util < 0.8, f"the weak street is saturated (utilisation {util:.2f})"
    return interval(d_on)[1] < 0 and interval(d_res)[0] > 0


def test_a_weaker_street_is_measurably_worse_and_without_its_profile_is_not():
    with_profile = scenario(**{"streets.overrides": {WEAK: {"profile": "weak"}}})
    assert weaker(with_profile, range(4))
    assert not weaker(scenario(), range(4))  # the mechanism off: the check fails


@pytest.mark.slow
def test_a_weaker_street_is_worse_over_more_replications():
    s = scenario(**{"streets.overrides": {WEAK: {"profile": "weak"}}, "horizon": "120d"})
    assert weaker(s, range(10))
    assert not weaker(scenario(horizon="120d"), range(10))


def test_no_profile_and_a_neutral_profile_give_identical_runs():
    """A profile restating the categories' own values takes the variant path (per-unit
    categories, unit rates) and must change nothing: the default path is untouched."""
    base = gridsim.simulate(scenario())
    neutral = {"solve": {"community": 0.8, "street": 0.9}, "work_scale": 1.0, "rate_scale": 1.0,
               "categories": {"vending": {"solve": {"community": 0.7}, "reopen": 0.05}}}
    same = gridsim.simulate(scenario(**{
        "profiles.neutral": neutral,
        "streets.overrides": {0: {"profile": "neutral"}, 2: {"reopen": 0.05}},
        "streets.community_overrides": {1: {"categories": {"garbage": {"on_spot": 0.1}}}}}))
    cols = [c for c in base.issues.columns if c != "issue_id"]
    assert base.issues[cols].equals(same.issues[cols])


def test_direct_values_win_over_the_profile():
    s = scenario(**{"profiles.weak.reopen": 0.6,
                    "streets.overrides": {0: {"profile": "weak"},
                                          1: {"profile": "weak", "reopen": 0.0}}})
    i = gridsim.simulate(s).issues
    reopens = i.groupby("street").reopens.sum()
    assert reopens["D/s0"] > 50 and reopens["D/s1"] == 0
    plan = compile_plan(s)
    own = plan.districts[0].params[1][0]
    assert own["garbage"]["reopen"] == 0.0 and own["garbage"]["solve"]["street"] == 0.55


def test_a_community_override_changes_that_community_only():
    s = scenario(**{"streets.overrides": {2: {"community_overrides": {
        0: {"on_spot": 1.0, "categories": {"vending": {"rate_scale": 0}}}}}}})
    i = gridsim.simulate(s).issues
    found = i[i.source == "patrol"]
    fixed = (found.solved_tier == "grid").groupby(found.community).mean()
    assert fixed["D/s2/c0"] > 0.95  # every garbage find there (vending arises there no more)
    assert (fixed.drop("D/s2/c0") < 0.2).all()
    vending = i[i.category == "vending"].groupby("community").size()
    assert "D/s2/c0" not in vending and vending["D/s2/c1"] > 0


def test_rate_scale_per_street_and_category_moves_the_volume():
    s = scenario(**{"streets.overrides": {3: {"categories": {"vending": {"rate_scale": 3}}}}},
                 horizon="100d")
    i = gridsim.simulate(s).issues
    n = i[i.category == "vending"].groupby("street").size()
    ratio = n["D/s3"] / n.drop("D/s3").mean()
    assert 2.5 < ratio < 3.6, ratio
    garbage = i[i.category == "garbage"].groupby("street").size()
    assert garbage.max() / garbage.min() < 1.2  # the other category is unchanged


def test_category_rates_per_unit_and_the_work_scale():
    s = scenario(**{"streets.overrides": {0: {"categories": {"vending": {"rates": {
        "hotline": {"value": 4, "per": "grid", "every": "30d"}}}}}}})
    i = gridsim.simulate(s).issues
    v = i[i.category == "vending"]
    assert (v[v.source == "hotline"].street == "D/s0").all() and (v.source == "hotline").any()
    slow = gridsim.simulate(scenario(**{"streets.work_scale": 3.0})).issues
    fast = gridsim.simulate(scenario()).issues
    assert slow.resolution_time.mean() > 1.3 * fast.resolution_time.mean()


def test_department_profiles_and_district_overrides():
    s = scenario(**{"profiles.slow_crew": {"department": {
        "staff": 1, "report_time": {"dist": "lognormal", "mean": "9h", "sd": "2h"}}},
        "departments.sanitation.profile": "slow_crew",
        "departments.sanitation.staff": 3,  # a direct value wins over the profile
        "districts": [{"name": "D"}, {"name": "E", "departments": {
            "sanitation": {"profile": "slow_crew", "staff": 7}}}]})
    d, e = compile_plan(s).districts
    assert d.departments["sanitation"].staff == 3 and e.departments["sanitation"].staff == 7
    # the scenario's department gives its report time itself (it wins); the district's
    # override names the profile and gives only its staff: the profile's report time applies
    assert d.departments["sanitation"].report_time.mean.hours == 2
    assert e.departments["sanitation"].report_time.mean.hours == 9
    r = gridsim.simulate(s).issues
    dept = r[r.t_dept_onsite.notna()]
    late = (dept.t_dept_onsite - dept.t_dept_called).groupby(dept.district).mean()
    assert late["E"] > late["D"] + 3


@pytest.mark.parametrize("where, path, hint", [
    ({"streets.overrides": {1: {"profile": "waek"}}}, "streets.overrides.1.profile",
     "did you mean 'weak'"),
    ({"departments.sanitation.profile": "weak"}, "departments.sanitation.profile",
     "a department cannot use"),
    ({"streets.community_overrides": {5: {"reopen": 0.1}}}, "streets.community_overrides.5",
     "out of range"),
    ({"profiles.weak.categories": {"garbag": {"reopen": 0.1}}},
     "profiles.weak.categories.garbag", "did you mean 'garbage'"),
])
def test_bad_names_are_refused_with_their_path(where, path, hint):
    with pytest.raises(gridsim.ScenarioError) as e:
        scenario(**where)
    assert path in str(e.value) and hint in str(e.value)


def test_an_unknown_profile_is_one_line_and_exit_2(tmp_path, run_cli):
    data = yaml.safe_load(SMALL)
    data["streets"]["overrides"] = {1: {"profile": "new_aera"}}
    data["profiles"]["new_area"] = {"work_scale": 1.2}
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = run_cli("validate-scenario", str(f))
    assert out.returncode == 2
    problems = [line for line in out.stderr.splitlines() if "unknown profile" in line]
    assert len(problems) == 1, out.stderr
    assert "streets.overrides.1.profile" in problems[0]
    assert "unknown profile 'new_aera' (did you mean 'new_area'?)" in problems[0]


def test_the_default_district_has_streets_that_differ():
    s = gridsim.load_scenario(gridsim.bundled_scenario("default.yaml"))
    params = compile_plan(s).districts[0].params
    assert set(s.profiles) == {"old_town", "market_street", "new_area"}
    assert [bool(own) for own, _ in params] == [True, False, False, True, False, True, False,
                                                False]


def test_a_profile_department_shift_is_checked_and_moves_the_deadline_shift():
    with pytest.raises(gridsim.ScenarioError, match="profiles.p.department.shift: unknown shift"):
        scenario(**{"profiles.p": {"department": {"shift": "offcie"}}})
    from gridsim.scenario.expand import deadline_shift

    s = scenario(**{"profiles.p": {"department": {"shift": "always"}},
                    "departments.sanitation": {"staff": 4, "profile": "p"}})
    assert deadline_shift(s, "garbage", "district") == "always"


def test_the_size_estimate_counts_unit_rates():
    from gridsim.scenario import size

    base = size.estimate(scenario()).cases
    busier = size.estimate(scenario(**{"streets.overrides": {0: {"rate_scale": 3}}})).cases
    assert busier == pytest.approx(base * (1 + 2 / 4))  # one street of four, three times
    profiled = scenario(**{"profiles.p": {"categories": {"vending": {"rate_scale": 0}}},
                           "streets.profile": "p"})
    assert size.estimate(profiled).cases == pytest.approx(base * 10 / 12)  # vending: 2 of 12
