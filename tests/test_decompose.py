"""Which mechanism buys what (issue 17, item 5): a KPI's difference shared out among the
mechanisms that differ between two scenarios.

The synthetic pair: two M/M/c queues, the community pools of two streets (λ = 6/h and μ = 1/h
each; c = 7 in street 0, 8 in street 1). B gives street 0 two staff more (7 -> 9) and street 1
two more (8 -> 10). Half of the cases are each street's, so the mean resolution time of all is
(W_0 + W_1) / 2: each mechanism's effect is known from Erlang C and they add up. The
decomposition must recover each within its interval.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

import gridsim
from gridsim.cli import main
from gridsim.experiments.decompose import _along, _plan, _shapley, _values
from gridsim.experiments.mechanisms import Pair
from gridsim.policies import make_policy
from gridsim.policies.mix import differing
from gridsim.scenario.loader import validate_data
from tests.analytic import mmc

TWO_QUEUES = """
name: two_queues
horizon: 600h
warmup: 50h
seed: 5
calendar:
  start: 2026-01-05
  holidays: []
  shifts: {always: {days: all, hours: ["00:00-24:00"]}}
roles: {grid_worker: always, community: always, centre: always, enforcement: always,
        office: always, joint: always, city: always}
streets:
  count: 2
  communities: 1
  grids_per_community: 1
  households_per_grid: 1
  staff: {grid_workers_per_grid: 1, community_per_community: 8, centre: 1, enforcement: 1,
          office: 1}
  overrides: {0: {staff: {community_per_community: 7}}}
departments: {unused: {staff: 1, shift: always, report_time: 0h}}
districts: [{name: Validation}]
triage_time: 0h
verify_time: 0h
hotline:
  dispatch_delay: 0h
  profile: {hourly: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            weekly: [1, 1, 1, 1, 1, 1, 1]}
categories:
  calls:
    lead: street
    rates: {hotline: {value: 6, per: street, every: 1h}}
    tiers: {community: 1}
    departments: [unused]
    work: {community: {dist: exponential, mean: 1h}}
    solve: {community: 1}
    reopen: 0
policy: {name: baseline}
"""

STAFF, WORK = "street0", "street1"
GROUPS = {STAFF: ["streets.overrides.0"], WORK: ["streets.overrides.1"]}
EXPECTED = {STAFF: (mmc(6, 1, 9).w - mmc(6, 1, 7).w) / 2,
            WORK: (mmc(6, 1, 10).w - mmc(6, 1, 8).w) / 2}


def _pair() -> tuple[gridsim.Scenario, gridsim.Scenario]:
    data = yaml.safe_load(TWO_QUEUES)
    a = validate_data(copy.deepcopy(data), "<A>")
    data["streets"]["overrides"] = {0: {"staff": {"community_per_community": 9}},
                                    1: {"staff": {"community_per_community": 10}}}
    return a, validate_data(data, "<B>")


@pytest.fixture(scope="module")
def factorial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("decompose") / "exp"
    a, b = _pair()
    return gridsim.decompose(a, b, replications=8, groups=GROUPS, level=0.99, workers=2,
                             out=folder), folder


def test_each_known_effect_lies_within_its_interval(factorial):
    d, _ = factorial
    assert d.method == "factorial" and [m.name for m in d.mechanisms] == [STAFF, WORK]
    t = d.table.set_index("mechanism")
    for name, effect in EXPECTED.items():
        assert t.loc[name, "low"] <= effect <= t.loc[name, "high"], (name, effect, t)
        assert t.loc[name, "high"] < 0  # informative: the gain is detected


def test_the_interval_catches_a_wrong_attribution(factorial):
    """Swap the two known effects: each falls outside the other mechanism's interval."""
    d, _ = factorial
    t = d.table.set_index("mechanism")
    assert not t.loc[STAFF, "low"] <= EXPECTED[WORK] <= t.loc[STAFF, "high"]
    assert not t.loc[WORK, "low"] <= EXPECTED[STAFF] <= t.loc[WORK, "high"]


def test_contributions_sum_to_the_total_in_every_replication(factorial):
    d, _ = factorial
    per = d.per_replication
    np.testing.assert_allclose(per[[STAFF, WORK]].sum(axis=1), per["total"], atol=1e-12)
    assert d.table["contribution"].sum() == pytest.approx(d.total.mean, abs=1e-12)
    assert d.table["share"].sum() == pytest.approx(1.0)
    assert d.total.mean == pytest.approx(d.b_mean - d.a_mean, abs=1e-12)
    # additive mechanisms: switched alone, each gives its Shapley value (up to noise)
    t = d.table.set_index("mechanism")
    for name in EXPECTED:
        assert t.loc[name, "alone"] == pytest.approx(t.loc[name, "contribution"], rel=0.05)


def test_shapley_on_every_ordering_equals_the_factorial(factorial):
    """With k = 2 the two cyclic orderings are all orderings: sampled Shapley is exact on the
    same runs; one ordering (sequential) still sums to the total."""
    d, _ = factorial
    values = _values(d.experiment, [0, 1, 2, 3], d.kpi, "all")
    method, perms = _plan("shapley", 2, d.mechanisms, 2, None, 1)
    assert method == "shapley" and sorted(perms) == [(0, 1), (1, 0)]
    np.testing.assert_allclose(_along(values, perms, 2), _shapley(values, 2), atol=1e-12)
    method, seq = _plan("auto", 2, d.mechanisms, None, [WORK, STAFF], 1)
    assert method == "sequential" and seq == [(1, 0)]
    np.testing.assert_allclose(_along(values, seq, 2).sum(axis=1), values[3] - values[0],
                               atol=1e-12)


def test_a_policy_is_split_into_the_mechanisms_that_differ():
    s = gridsim.load_scenario("scenarios/default.yaml")
    pol = {n: make_policy(s.with_overrides({"policy.name": n}).policy)
           for n in ("baseline", "whistle", "four_tier", "first_receiver", "two_way")}
    assert differing(pol["baseline"], pol["whistle"], s.departments) == [
        "routing", "joint_work", "forwarding", "report_time", "retry_delay", "returns"]
    assert differing(pol["four_tier"], pol["first_receiver"], s.departments) == ["returns"]
    assert differing(pol["four_tier"], pol["two_way"], s.departments) == ["joint_work"]
    assert differing(pol["whistle"], pol["whistle"], s.departments) == []


def test_mix_reproduces_both_ends_bit_for_bit():
    s = gridsim.load_scenario("scenarios/default.yaml").with_overrides(
        {"horizon": "20d", "warmup": "2d"})
    pair = Pair(s.with_overrides({"policy.name": "baseline"}),
                s.with_overrides({"policy.name": "whistle"}))
    k = len(pair.mechanisms)
    mix = {"policy.name": "mix", "policy.mix": {"base": "baseline", "other": "whistle"}}
    none = s.with_overrides({**mix, "policy.mix.take": []})
    every = s.with_overrides({**mix, "policy.mix.take": [m.name for m in pair.mechanisms]})
    one = pair.scenario([0], "one")
    assert one.policy.name == "mix" and one.policy.mix.take == ("routing",)
    kpis = {n: gridsim.simulate(x, seed=2).kpis for n, x in
            (("a", pair.scenario([], "A")), ("none", none), ("every", every),
             ("b", pair.scenario(range(k), "B")), ("one", one))}
    assert kpis["a"].equals(kpis["none"]) and kpis["b"].equals(kpis["every"])
    assert not kpis["one"].equals(kpis["a"])


def test_paths_group_by_policy_parameter_and_by_name():
    s = gridsim.load_scenario("scenarios/default.yaml").with_overrides(
        {"policy.name": "whistle"})
    b = s.with_overrides({"policy.whistle.report_time.mean": "20min",
                          "policy.whistle.appraisal.strength": 1.0,
                          "policy.four_tier.recalls": 5,  # not in force: no mechanism
                          "departments.water.staff": 12, "departments.housing.staff": 20})
    names = [m.name for m in Pair(s, b).mechanisms]
    assert names == ["departments.water", "departments.housing", "report_time", "appraisal"]
    grouped = Pair(s, b, {"staff": ["departments.water", "departments.housing.staff"]})
    assert [m.name for m in grouped.mechanisms] == ["staff", "report_time", "appraisal"]
    assert grouped.mechanisms[0].paths == ("departments.water.staff",
                                           "departments.housing.staff")
    with pytest.raises(gridsim.SettingError, match="do not differ"):
        Pair(s, s.with_overrides({"policy.four_tier.recalls": 5}))
    with pytest.raises(gridsim.SettingError, match="--group x: none of nowhere"):
        Pair(s, b, {"x": ["nowhere"]})


def _one_line_exit_2(capsys, argv, text):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err


def test_cli_refuses_bad_input_with_one_line(capsys, tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text(TWO_QUEUES, encoding="utf-8")
    _one_line_exit_2(capsys, ["decompose", str(a), str(a)], "do not differ")
    _one_line_exit_2(capsys, ["decompose", "--policies", "baseline,whistle", "--kpi", "nope"],
                     "'nope' is not a KPI")
    _one_line_exit_2(capsys, ["decompose", str(a)], "two files A.yaml B.yaml")
    _one_line_exit_2(capsys, ["decompose", str(a), "--policies", "baseline,whistle",
                              "--group", "x=nowhere"], "--group x: none of nowhere")
    _one_line_exit_2(capsys, ["decompose", str(a), "--policies", "baseline,whistle",
                              "--method", "sequential"], "needs an order")
    _one_line_exit_2(capsys, ["decompose", str(a), "--policies", "baseline,whistle",
                              "--method", "factorial", "--permutations", "3"],
                     "permutations apply only to method shapley")
    mine = tmp_path / "mine.csv"
    mine.write_text("my own notes\n", encoding="utf-8")
    _one_line_exit_2(capsys, ["decompose", str(a), "--policies", "baseline,whistle",
                              "--out", str(mine)], "was not written by gridsim")
    assert mine.read_text(encoding="utf-8") == "my own notes\n"


def test_cli_writes_the_table_and_the_page(tmp_path, capsys):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    short = TWO_QUEUES.replace("horizon: 600h", "horizon: 150h").replace(
        "warmup: 50h", "warmup: 20h")
    a.write_text(short, encoding="utf-8")
    b.write_text(short.replace("community_per_community: 8", "community_per_community: 10"),
                 encoding="utf-8")
    csv, page = tmp_path / "d.csv", tmp_path / "d.html"
    argv = ["decompose", str(a), str(b), "-n", "2", "-j", "1", "-q", "--out", str(csv),
            "--report", str(page)]
    assert main(argv) == 0, capsys.readouterr().err
    assert "streets.staff" in capsys.readouterr().out
    lines = csv.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("mechanism,contribution,low,high,share,")
    assert lines[1].startswith("streets.staff,") and lines[-1].startswith("total,")
    html = page.read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "streets.staff" in html
    assert main(argv) == 0  # gridsim's own files are replaced
