"""The 12345 front end: call-takers against Erlang A, returns (退单) under two policies, and
every case accounted for in the return loop.

Intervals are 99.9 % (binomial counts: normal approximation; replication means: Student-t over
seeds), never fixed margins; the seeds are fixed, so outcomes are deterministic.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from analytic import erlang_a, erlang_a_of, mmc, t_interval

import gridsim
from gridsim.results.kpis import kpi
from gridsim.scenario.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
ERLANG_A = ROOT / "scenarios" / "validation" / "erlang_a.yaml"
LEVEL = 0.999
Z = 3.29  # two-sided 99.9 % normal quantile


# ---------------------------------------------------------------- the analytic helper
def test_erlang_a_matches_its_closed_forms():
    # M/M/1+M with μ = θ: N is Poisson(λ/μ), so P(answered) = μ(1 − e^{−λ/μ}) / λ
    q = erlang_a(2, 1, 1, 1)
    assert q.p_abandon == pytest.approx(1 - (1 - math.exp(-2)) / 2, rel=1e-9)
    # no abandonment: Erlang C's probability of waiting and Wq
    none, c = erlang_a(9, 1, 10, 0), mmc(9, 1, 10)
    assert none.p_abandon == pytest.approx(0, abs=1e-12)
    assert none.wait_answered == pytest.approx(c.wq, rel=1e-9)
    assert none.p_wait == pytest.approx(c.p_wait, rel=1e-9)
    with pytest.raises(ValueError):
        erlang_a(10, 1, 10, 0)


def test_erlang_a_expectation_follows_overrides():
    s = gridsim.load_scenario(ERLANG_A)
    q = erlang_a_of(s)
    assert (q.lam, q.mu, q.c, q.theta) == (9, 1, 10, 1)
    q2 = erlang_a_of(s.with_overrides({"categories.calls.rates.hotline.value": 12,
                                        "hotline.front_end.patience.mean": "20min",
                                        "hotline.front_end.talk_time.mean": "30min"}))
    assert (q2.lam, q2.mu, q2.theta) == (12, 2, 3)
    assert erlang_a_of(s.with_overrides({"hotline.front_end.patience": None})).theta == 0


# ---------------------------------------------------------------- simulation vs Erlang A
def run_calls(s: gridsim.Scenario, seed: int) -> dict[str, float]:
    r = gridsim.simulate(s, seed=seed, record="kpis")
    return {"p_abandon": kpi(r.kpis, "call_abandon_rate"),
            "wait_answered": kpi(r.kpis, "call_answer_wait_mean")}


def failures(s: gridsim.Scenario, expected, seeds: int) -> list[str]:
    """The Erlang A checks that fail: the analytic value outside the 99.9 % interval of the
    replication means."""
    reps = [run_calls(s, seed) for seed in range(1, seeds + 1)]
    out = []
    for key in ("p_abandon", "wait_answered"):
        ci = t_interval([r[key] for r in reps], LEVEL)
        if getattr(expected, key) not in ci:
            out.append(f"{key}: analytic {getattr(expected, key):.5f}, simulated {ci}")
    return out


@pytest.fixture(scope="module")
def fast_erlang_a() -> gridsim.Scenario:
    return gridsim.load_scenario(ERLANG_A).with_overrides({"horizon": "1000h"})


def test_call_takers_match_erlang_a(fast_erlang_a):
    assert failures(fast_erlang_a, erlang_a_of(fast_erlang_a), seeds=6) == []


def test_with_infinite_patience_the_abandonment_check_fails(fast_erlang_a):
    patient = fast_erlang_a.with_overrides({"hotline.front_end.patience": None})
    assert run_calls(patient, 1)["p_abandon"] == 0
    failed = failures(patient, erlang_a_of(fast_erlang_a), seeds=3)
    assert any(f.startswith("p_abandon") for f in failed), failed


@pytest.mark.slow
def test_call_takers_match_erlang_a_at_other_parameters():
    s = gridsim.load_scenario(ERLANG_A).with_overrides({
        "horizon": "4000h", "categories.calls.rates.hotline.value": 12,
        "hotline.front_end.seats": [{"staff": 8, "shift": "always"}],
        "hotline.front_end.patience.mean": "20min"})
    assert failures(s, erlang_a_of(s), seeds=10) == []


# ---------------------------------------------------------------- returns (退单)
SHARES = {"street": 0.5, "district_department": 0.3, "city_department": 0.2}
RATES = {"street": 0.2, "district_department": 0.1, "city_department": 0.3}


def returns_scenario(policy: str, within: str = "baseline", **more) -> gridsim.Scenario:
    """The Erlang A district turned into a dispatcher: every problem call becomes a work order,
    routed with SHARES and returned with RATES (as the baseline sets them)."""
    s = gridsim.load_scenario(ERLANG_A)
    over = {
        "horizon": "1500h", "categories.calls.rates.hotline.value": 2,
        "hotline.front_end.settled_on_call": 0,
        "hotline.front_end.routing": SHARES, "hotline.front_end.return_rate": RATES,
        "hotline.front_end.review_time": "2h", "hotline.front_end.dispatch_time": "30min",
        "streets.staff.community_per_community": 6, "departments.unused.staff": 20,
        "categories.calls.work.district": {"dist": "exponential", "mean": "1h"},
        "city_departments": {"utility": {"staff": 10, "categories": ["calls"],
                                         "work": {"dist": "exponential", "mean": "1h"}}},
        "policy.name": policy, "policy.first_receiver.within": within, **more}
    return s.with_overrides(over)


def binomial_ok(k: float, n: float, p: float) -> bool:
    return abs(k / n - p) <= Z * math.sqrt(p * (1 - p) / n) + 1e-12


@pytest.fixture(scope="module")
def returned():
    out = {}
    for policy in ("baseline", "first_receiver"):
        s = returns_scenario(policy)
        out[policy] = gridsim.simulate(s, seed=3, record="events")
    return out


def orders(r: gridsim.Result) -> int:
    i = r.issues
    return int((i["t_created"] >= r.scenario.warmup.hours).sum())


def test_baseline_returns_at_its_rate_and_first_receiver_never(returned):
    q = sum(SHARES[k] * RATES[k] for k in SHARES)  # returned at the first dispatch
    base, first = returned["baseline"], returned["first_receiver"]
    n = orders(base)
    assert n > 2000
    assert binomial_ok(kpi(base.kpis, "return_rate") * n, n, q)
    assert kpi(first.kpis, "return_rate") == 0 and kpi(first.kpis, "returns_per_case") == 0
    assert first.issues["returns"].sum() == 0
    # returns per work order: geometric, mean q / (1 − q), sd sqrt(q) / (1 − q)
    per = kpi(base.kpis, "returns_per_case")
    assert abs(per - q / (1 - q)) <= Z * math.sqrt(q) / (1 - q) / math.sqrt(n)


def test_reforms_halve_the_returns():
    s = returns_scenario("four_tier", horizon="600h")
    q = sum(SHARES[k] * RATES[k] for k in SHARES)
    r = gridsim.simulate(s, seed=4, record="kpis")
    n = kpi(r.kpis, "cases")
    assert binomial_ok(kpi(r.kpis, "return_rate") * n, n, q * 0.5)


def test_dispatch_shares_are_the_configured_ones(returned):
    first, base = returned["first_receiver"], returned["baseline"]
    n = orders(first)
    for k, share in SHARES.items():  # no returns: the first choice is the last
        assert binomial_ok(kpi(first.kpis, "dispatch_share", f"to={k}") * n, n, share), k
    # with returns each dispatch is a fresh choice; a receiver keeps it with 1 − rate
    keep = {k: SHARES[k] * (1 - RATES[k]) for k in SHARES}
    total = sum(keep.values())
    n = orders(base)
    for k in SHARES:
        assert binomial_ok(kpi(base.kpis, "dispatch_share", f"to={k}") * n, n,
                           keep[k] / total), k


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_no_case_is_lost_or_duplicated_in_the_return_loop(seed):
    rng = np.random.default_rng(seed)
    a, b = np.round(rng.dirichlet([1, 1, 1])[:2], 3).tolist()
    shares = {"street": round(1 - a - b, 3), "district_department": a, "city_department": b}
    rates = dict(zip(SHARES, rng.uniform(0, 0.6, 3).round(3).tolist(), strict=True))
    s = returns_scenario(
        "baseline", horizon="400h",
        **{"hotline.front_end.routing": shares, "hotline.front_end.return_rate": rates,
           "hotline.front_end.settled_on_call": round(float(rng.uniform(0, 0.5)), 3),
           "hotline.front_end.patience.mean": "30min",
           "hotline.front_end.redial": {"prob": round(float(rng.uniform(0, 0.8)), 3),
                                        "delay": "1h"}})
    r = gridsim.simulate(s, seed=seed, record="events")
    issues, ev = r.issues, r.events
    created = r.manifest["issues_created"]
    assert len(issues) == created and issues["issue_id"].is_unique
    assert set(ev["issue_id"]) <= set(issues["issue_id"])
    counts = ev.groupby(["issue_id", "event"], observed=False).size().unstack(fill_value=0)
    counts = counts.reindex(issues["issue_id"], fill_value=0)
    assert (counts["created"] == 1).all() and (counts["called"] >= 1).all()
    # each case ends once: closed, gave up, or still open at the horizon
    ended = counts["closed"] + counts["gave_up"]
    state = issues["state"].astype(str).to_numpy()
    assert (ended.to_numpy() == (state != "in_progress") & (state != "waiting")).all()
    assert ((counts["gave_up"] == 1).to_numpy() == (state == "abandoned")).all()
    # every return was dispatched first, and the row counts them
    returns = issues["returns"].to_numpy()
    back = counts["returned"].to_numpy()
    assert ((back == returns) | (back == returns - 1)).all()  # the last may be in review
    kept = counts["dispatched"].to_numpy() - returns
    assert ((kept == 0) | (kept == 1)).all()
    # a receiver that kept the order got it once: the case was uploaded once, or never
    assert (counts["uploaded"].to_numpy() == kept).all()
    assert (issues["dispatched_to"].notna().to_numpy() == (counts["dispatched"] > 0)).all()
    assert returns.sum() > 0
    # the settled and the abandoned never reach a unit
    settled = counts["settled_on_call"].to_numpy() == 1
    assert (counts["dispatched"].to_numpy()[settled | (state == "abandoned")] == 0).all()
    assert (counts["answered"].to_numpy() <= 1).all()


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(("over", "path"), [
    ({"hotline.front_end.seats": [{"staff": 2, "shift": "nights"}]},
     "hotline.front_end.seats[0].shift"),
    ({"hotline.front_end.routing": {"street": 0.5, "city_department": 0.5}},
     "hotline.front_end.routing.city_department"),
    ({"city_departments": {"power": {"categories": ["call"]}}},
     "city_departments.power.categories[0]"),
    ({"hotline.front_end.return_rate.street": 1}, "hotline.front_end.return_rate.street"),
])
def test_bad_front_end_input_names_its_path(over, path):
    with pytest.raises(ScenarioError) as e:
        gridsim.load_scenario(ERLANG_A, over)
    assert path in str(e.value)


def test_default_scenario_lands_in_the_published_range(short_result):
    k = short_result.kpis
    assert 0.45 <= kpi(k, "answered_on_call_share") <= 0.6  # Yichun: 53 %
    assert 0.01 <= kpi(k, "return_rate") <= 0.08  # 3.92 % bouncing
    load = short_result.load
    assert {"call_taker", "city_department"} <= set(load["kind"].astype(str))


def test_default_dispatch_shares_are_yichuns(short_result):
    k = short_result.kpis
    to_units = kpi(k, "dispatch_share", "to=street") + kpi(k, "dispatch_share",
                                                           "to=district_department")
    assert 0.75 <= to_units <= 0.95  # Yichun: 84.97 % to counties/districts
    assert 0.05 <= kpi(k, "dispatch_share", "to=city_department") <= 0.2  # 11.11 %
