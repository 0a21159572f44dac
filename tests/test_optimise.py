"""The staffing optimiser (gridsim.optimise) against queueing theory and exhaustive search.

* On the M/M/c validation scenario the least servers meeting a mean-time target is the Erlang C
  answer, at several loads; the same check at a wrong service rate gives another answer (the
  check can fail).
* On the Jackson tandem (two pools, a few values each, different prices) the search finds the
  cheapest allocation that meets the target (true feasibility from the Jackson network's
  formula) with fewer replications than deciding every allocation (``method="exhaustive"``;
  over 10 base seeds in the slow test and in ``benchmarks/optimiser.py``).
* A per-unit target (every street) is met by every street on the fresh seeds.
* The result is the same on one process, two or a Dask cluster; a rerun in the same folder
  resumes without simulating again.
* Bad input is refused before anything runs; an impossible target says which and the best
  (the command line's forms: tests/test_optimise_cli.py).
"""

from __future__ import annotations

import itertools
import json

import pytest
from analytic import mmc

import gridsim
from gridsim.arguments import SettingError
from gridsim.optimise import optimise

MMC = "scenarios/validation/mmc.yaml"
JACKSON = "scenarios/validation/jackson.yaml"
C = "streets.staff.community_per_community"
E = "streets.staff.enforcement"


def _mmc(lam: float, horizon: str = "500h", **more) -> gridsim.Scenario:
    return gridsim.load_scenario(MMC).with_overrides(
        {"horizon": horizon, "categories.calls.rates.hotline.value": lam, **more})


def _midway(lam: float, c: int, mu: float = 1.0) -> float:
    """A mean-time bound halfway between the sojourn times with ``c - 1`` and ``c`` servers,
    so ``c`` is the least that meets it (and the margin either side is the same)."""
    return (mmc(lam, mu, c - 1).w + mmc(lam, mu, c).w) / 2


@pytest.mark.parametrize("lam,c", [(4, 6), (9, 11), (15, 18)])
def test_least_servers_meeting_a_mean_time_target_is_erlang_c(lam, c):
    bound = _midway(lam, c)
    opt = optimise(_mmc(lam), [f"{C}=1..30"], [f"resolution_time_mean<={bound}"],
                   replications=5, confirm=0, seed=7, workers=2)
    assert opt.feasible
    assert opt.chosen[C] == c, opt.steps
    assert opt.cost == c  # a head costs 1: the cost is the head count


@pytest.mark.parametrize("lam,c", [(4, 6), (9, 12)])
def test_least_servers_meeting_a_probability_of_waiting_is_erlang_c(lam, c):
    """``wait_share <= x`` at the community pool, x halfway between Erlang C's P(wait) with
    ``c - 1`` and ``c`` servers."""
    bound = (mmc(lam, 1, c - 1).p_wait + mmc(lam, 1, c).p_wait) / 2
    opt = optimise(_mmc(lam), [f"{C}=1..30"], [f"wait_share<={bound} @ pool=*/communities"],
                   replications=5, confirm=0, seed=5, workers=2)
    assert opt.feasible
    assert opt.chosen[C] == c, opt.steps


def test_the_erlang_c_check_can_fail():
    """At a service rate 20 % slower the least servers meeting the same bound is another
    number: the check above tells a wrong model apart."""
    lam, c = 9, 11
    bound = _midway(lam, c)
    slow = _mmc(lam, **{"categories.calls.work.community.mean": "1.2h"})
    opt = optimise(slow, [f"{C}=1..30"], [f"resolution_time_mean<={bound * 1.2}"],
                   replications=5, confirm=0, seed=7, workers=2)
    assert opt.chosen[C] != c


def _jackson_truth(lam=6.0, p=0.4) -> tuple[int, int]:
    """The cheapest (c1, c2) in the test's ranges whose network time W1 + p·W2 meets 1.75 h,
    from the Jackson network's formula (each station M/M/c)."""
    ok = [(c1 + 1.5 * c2, c1, c2) for c1, c2 in itertools.product(range(7, 12), range(4, 9))
          if mmc(lam, 1.0, c1).w + p * mmc(p * lam, 1 / 1.5, c2).w <= 1.75]
    return min(ok)[1:]


def _jackson(seed: int, method: str = "search", horizon: str = "1000h"):
    s = gridsim.load_scenario(JACKSON).with_overrides({"horizon": horizon})
    return optimise(s, [f"{C}=7..11", f"{E}=4..8"], ["resolution_time_mean<=1.75"],
                    prices={"community": 1, "enforcement": 1.5}, replications=5, confirm=0,
                    seed=seed, workers=2, method=method)


def _spent(o) -> int:
    return o.replications["pilot"] + o.replications["search"]


def test_the_search_finds_the_cheapest_feasible_allocation_with_fewer_replications():
    """Deciding every one of the 25 allocations costs at least 25 x 5 replications; the search
    finds the true cheapest with fewer (the slow test runs exhaustive search itself)."""
    truth = _jackson_truth()
    assert truth == (9, 6)
    found = _jackson(1)
    assert (found.chosen[C], found.chosen[E]) == truth, found.steps
    assert _spent(found) < 25 * 5


@pytest.mark.slow
def test_the_search_finds_the_cheapest_in_nine_of_ten_base_seeds():
    """As benchmarks/optimiser.py: the search against exhaustive search over 10 base seeds."""
    truth = _jackson_truth()
    hits = 0
    for seed in range(10):
        found, every = _jackson(seed), _jackson(seed, "exhaustive")
        assert (every.chosen[C], every.chosen[E]) == truth
        assert every.evaluations == 25
        assert _spent(found) < _spent(every)
        hits += (found.chosen[C], found.chosen[E]) == truth
    assert hits >= 9


def _streets() -> gridsim.Scenario:
    """Three streets of the M/M/c scenario with 9, 3 and 6.75 calls an hour."""
    return _mmc(9, **{"streets.count": 3, "streets.overrides": {1: {"rate_scale": 1 / 3},
                                                                2: {"rate_scale": 0.75}}})


def test_a_per_unit_target_is_met_by_every_unit_on_fresh_seeds(tmp_path):
    # Erlang C: the least servers with W <= 1.35 h are 11, 5 and 9 (each margin >= 0.096 h)
    expected = {lam: next(c for c in range(1, 30) if c > lam and mmc(lam, 1, c).w <= 1.35)
                for lam in (9, 3, 6.75)}
    assert list(expected.values()) == [11, 5, 9]
    opt = optimise(_streets(), [f"streets.overrides.*.staff.{C.split('.')[-1]}=2..14"],
                   ["resolution_time_mean<=1.35 @ street=*"], replications=5, confirm=10,
                   max_replications=20, seed=3, workers=2, out=tmp_path / "opt")
    assert opt.feasible and opt.confirmed
    assert list(opt.chosen.values()) == [11, 5, 9]
    conf = opt.confirmation
    assert sorted(conf["unit"]) == ["Validation/s0", "Validation/s1", "Validation/s2"]
    assert conf["met"].all(), conf
    binds = opt.binding
    assert set(binds["unit"]) == {"Validation/s0", "Validation/s1", "Validation/s2"}
    folder = opt.write(tmp_path / "opt", plot=False)
    runnable = gridsim.load_scenario(folder / "optimum.yaml")
    assert runnable.streets.overrides[1].staff.community_per_community == 5
    meta = json.loads((folder / "optimise.json").read_text())
    assert meta["chosen"]["values"] == opt.chosen
    assert meta["replications"]["confirmation"] == 10


def test_the_same_result_on_one_process_or_two_and_a_rerun_resumes(tmp_path):
    args = (_mmc(9), [f"{C}=8..16"], ["resolution_time_mean<=1.3"])
    kw = dict(replications=4, confirm=4, seed=11)
    one = optimise(*args, workers=1, **kw)
    calls = []
    two = optimise(*args, workers=2, out=tmp_path / "o", **kw)
    again = optimise(*args, workers=2, out=tmp_path / "o",
                     progress=lambda done, total: calls.append(done), **kw)
    for o in (two, again):
        assert o.chosen == one.chosen
        assert o.candidates.equals(one.candidates)
        assert o.confirmation.equals(one.confirmation)
    assert calls == []  # every replication was read back, none simulated again


def test_the_same_result_on_a_dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    args = (_mmc(9, horizon="300h"), [f"{C}=9..14"], ["resolution_time_mean<=1.3"])
    kw = dict(replications=3, confirm=3, seed=4)
    local = optimise(*args, workers=1, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = optimise(*args, client=client, **kw)
    assert on_dask.chosen == local.chosen
    assert on_dask.candidates.equals(local.candidates)


def test_several_targets_call_takers_and_a_cost_table(tmp_path):
    """Two targets at once on the 12345 front end's seats (call takers per shift), priced by a
    cost file: the day seats cost more than the night seat."""
    costs = tmp_path / "costs.yaml"
    costs.write_text("per_head: {call_taker: 2.0}\nunit: 10k yuan/year\n")
    s = gridsim.load_scenario("scenarios/default.yaml").with_overrides(
        {"horizon": "20d", "warmup": "2d", "streets.count": 2})
    opt = optimise(s, ["hotline.front_end.seats.0.staff=1..6"],
                   ["call_abandon_rate<=0.05", "on_time_rate>=0.5"], costs=costs,
                   replications=3, max_replications=6, confirm=3, seed=2, workers=2)
    assert opt.costs.unit == "10k yuan/year"
    assert opt.cost == 2.0 * opt.chosen["hotline.front_end.seats.0.staff"]
    assert set(opt.confirmation["target"]) == {"call_abandon_rate<=0.05", "on_time_rate>=0.5"}
    summary = opt.summary()
    assert summary["variables"][0]["kind"] == "call_taker"
    assert summary["bounds"][0]["path"] == "hotline.front_end.seats.0.staff"


def test_an_impossible_target_is_infeasible_and_says_which():
    # the sojourn time is at least the mean work (1 h), whatever the staff
    opt = optimise(_mmc(4), [f"{C}=5..8"], ["resolution_time_mean<=0.9"], replications=3,
                   confirm=0, seed=1, workers=1)
    assert not opt.feasible
    assert opt.chosen[C] == 8  # the best it found: the top of the range
    assert "resolution_time_mean<=0.9" in opt.outcome.notes[0]


def test_budget_mode_spends_the_budget_on_the_kpi():
    opt = optimise(_mmc(9), [f"{C}=10..16"], budget=13, maximise="resolution_time_mean",
                   replications=4, confirm=0, seed=2, workers=2)
    assert opt.chosen[C] == 13  # more staff is always faster; the budget allows 13


@pytest.mark.parametrize("vary,targets,message", [
    (["streets.staff.enforcment=2..5"], ["on_time_rate>=0.9"], "enforcement"),
    ([f"{C}=2.5..2.9"], ["on_time_rate>=0.9"], "no whole number"),
    ([f"{C}=9..5"], ["on_time_rate>=0.9"], "below LOW"),
    ([f"{C}=5..9"], ["on_time_rat>=0.9"], "on_time_rate"),
    ([f"{C}=5..9"], ["on_time_rate>0.9"], "must look like"),
    ([f"{C}=5..9"], ["on_time_rate>=0.9 @ stret=*"], "street"),
    ([f"{C}=5..9"], ["on_time_rate>=0.9 @ street=nowhere"], "no street matches"),
    ([f"{C}=5..9"], ["utilisaton<=0.9 @ pool=*"], "utilisation"),
    ([f"{C}=5..9"], [], "needs a --target"),
])
def test_bad_input_is_refused_before_anything_runs(vary, targets, message):
    with pytest.raises(SettingError, match=message):
        optimise(_mmc(9), vary, targets, workers=1)


def test_bad_costs_are_refused():
    with pytest.raises(SettingError, match="community"):
        optimise(_mmc(9), [f"{C}=9..12"], ["on_time_rate>=0.9"],
                 prices={"comunity": 1.0}, workers=1)
