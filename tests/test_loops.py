"""Routing after service: returns to the street centre, reopening at the centre, fresh rework
draws, held against an open Jackson network with feedback and against conservation of cases.

The statistical checks follow ``tests/test_analytic.py``: independent replications (seeds 1, 2,
...), a simultaneous (Bonferroni) 99% Student-t interval per measure that must contain the
analytic value. Per-visit waits and arrival rates come from the event log (a case visits a
station several times, and the issue table keeps only its first entry per tier):

- a visit arrives at a pool at its ``queued`` row, or at its ``started`` row when nobody waited
  before it; its wait is ``started − queued`` (0 without a ``queued`` row);
- λ at a station: visits arriving in [warm-up, horizon − TAIL) per hour; Wq and P(wait): over
  those visits; the network time: ``t_closed − t_uploaded`` of the cases reported in the window.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analytic import jackson_feedback_of, traffic_rates
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from test_analytic import TAIL, check, replicate

import gridsim
from gridsim.model.loops import Loops
from gridsim.model.streams import stream
from gridsim.policies import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
FEEDBACK = ROOT / "scenarios" / "validation" / "jackson_feedback.yaml"
DEFAULT = ROOT / "scenarios" / "default.yaml"
BACK = "categories.calls.back_to_centre"
UNITS = ("Validation/s0/centre", "Validation/s0/c0", "Validation/s0/enforcement")


# ---------------------------------------------------------------- reading the event log
def _ordered(events: pd.DataFrame) -> pd.DataFrame:
    """The event rows case by case, in the order they happened, with the previous row of the
    same case beside each (``prev_event``, ``prev_unit``, ``prev_time``; NaN at a case's first)."""
    e = events.sort_values(["district", "district_seq", "step"], kind="stable").reset_index(
        drop=True)
    e["event"] = e["event"].astype(str)
    e["unit"] = e["unit"].astype(object)
    same = e["district_seq"].eq(e["district_seq"].shift()) & e["district"].eq(
        e["district"].shift())
    for col in ("event", "unit", "time"):
        e[f"prev_{col}"] = e[col].shift().where(same)
    return e


def visits(e: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Each visit that started at ``unit``: its case, arrival and start."""
    started = e[(e["event"] == "started") & (e["unit"] == unit)]
    waited = (started["prev_event"] == "queued") & (started["prev_unit"] == unit)
    arrival = np.where(waited, started["prev_time"], started["time"])
    return pd.DataFrame({"case": started["district_seq"].to_numpy(), "arrival": arrival,
                         "start": started["time"].to_numpy(), "row": started.index})


def run_feedback(s: gridsim.Scenario, seed: int) -> dict[str, float]:
    """What one run of the feedback network shows: per station λ, Wq, P(wait); network time."""
    r = gridsim.simulate(s, seed=seed, record="events")
    start, end = s.warmup.hours, s.horizon.hours - TAIL
    e = _ordered(r.events)
    out: dict[str, float] = {}
    for k, unit in enumerate(UNITS, start=1):
        arrivals = e[((e["event"] == "queued") | ((e["event"] == "started")
                                                  & (e["prev_event"] != "queued")))
                     & (e["unit"] == unit)]["time"]
        out[f"s{k}_lam"] = float(((arrivals >= start) & (arrivals < end)).sum() / (end - start))
        v = visits(e, unit)
        v = v[(v["arrival"] >= start) & (v["arrival"] < end)]
        wait = v["start"] - v["arrival"]
        out[f"s{k}_wq"] = float(wait.mean())
        out[f"s{k}_p_wait"] = float((wait > 0).mean())
    i = r.issues
    cohort = i[(i["t_uploaded"] >= start) & (i["t_uploaded"] < end)]
    assert (cohort["state"] == "closed").all(), "a case measured had not left: lengthen TAIL"
    out["network_time"] = float((cohort["t_closed"] - cohort["t_uploaded"]).mean())
    out["back_per_case"] = float(cohort["back_to_centre"].mean())
    return out


def feedback_expected(s: gridsim.Scenario) -> dict[str, float]:
    net = jackson_feedback_of(s)
    out = {}
    for k, q in enumerate(net.stations, start=1):
        out |= {f"s{k}_lam": q.lam, f"s{k}_wq": q.wq, f"s{k}_p_wait": q.p_wait}
    out["network_time"] = net.w
    return out


# ---------------------------------------------------------------- the analytic side
def test_traffic_equations_and_the_scenario_header_agree():
    s = gridsim.load_scenario(FEEDBACK)
    net = jackson_feedback_of(s)
    lam = [q.lam for q in net.stations]
    assert lam == pytest.approx([16 / 3, 8 / 3, 8 / 3])  # γ / (1 − q·r2 − (1 − q)·r3) = 4 / 0.75
    assert [q.wq for q in net.stations] == pytest.approx([0.2, 0.28381, 0.33333], abs=1e-5)
    assert net.w == pytest.approx(2.17810, abs=1e-5)
    # the overrides the header lists move the expectation with the run
    s2 = s.with_overrides({f"{BACK}.community": 0.4, f"{BACK}.street": 0.1,
                           "categories.calls.rates.hotline.value": 3})
    assert jackson_feedback_of(s2).stations[0].lam == pytest.approx(3 / (1 - 0.2 - 0.05))
    # with the feedback off the centre sees only the external arrivals
    assert traffic_rates((4, 0, 0), ((0, 0.5, 0.5), (0, 0, 0), (0, 0, 0)))[0] == 4


# ---------------------------------------------------------------- the network with feedback
@pytest.fixture(scope="module")
def feedback_runs():
    s = gridsim.load_scenario(FEEDBACK)
    return s, replicate(run_feedback, s, 10)


def test_feedback_network_matches_traffic_equations_erlang_c_and_little(feedback_runs):
    s, reps = feedback_runs
    for q in jackson_feedback_of(s).stations:
        print(q)
    # visits per case: 1/(1 − 0.25) − 1 = 1/3 returns to the centre on average
    assert not check(reps, feedback_expected(s) | {"back_per_case": 1 / 3})


def test_without_the_feedback_the_traffic_equation_check_fails(feedback_runs):
    s, _ = feedback_runs
    off = s.with_overrides({f"{BACK}.community": 0, f"{BACK}.street": 0})
    reps = replicate(run_feedback, off, 4)
    expected = {k: v for k, v in feedback_expected(s).items() if k.endswith("_lam")}
    misses = check(reps, expected)
    assert len(misses) == 3, misses  # every station's arrival rate is off without the loops
    assert (reps["back_per_case"] == 0).all()
    assert not check(reps, {k: v for k, v in feedback_expected(off).items()
                            if k.endswith("_lam")})


@pytest.mark.slow
def test_feedback_network_long_run_at_other_rates_and_counts():
    s = gridsim.load_scenario(FEEDBACK, overrides={
        "horizon": "20000h", "categories.calls.rates.hotline.value": 3,
        f"{BACK}.community": 0.4, f"{BACK}.street": 0.1, "categories.calls.tiers.community": 0.7,
        "categories.calls.tiers.street": 0.3, "streets.staff.community_per_community": 5})
    reps = replicate(run_feedback, s, 10)
    assert not check(reps, feedback_expected(s))


def test_feedback_network_at_other_rates_and_counts():
    s = gridsim.load_scenario(FEEDBACK, overrides={
        "categories.calls.rates.hotline.value": 3, f"{BACK}.community": 0.4,
        f"{BACK}.street": 0.1, "categories.calls.tiers.community": 0.7,
        "categories.calls.tiers.street": 0.3, "streets.staff.community_per_community": 5})
    reps = replicate(run_feedback, s, 6)
    assert not check(reps, feedback_expected(s))


# ---------------------------------------------------------------- fresh rework draws
REWORK = {"categories.calls.rates.hotline.value": 2, "categories.calls.tiers.community": 1,
          "categories.calls.tiers.street": 0, f"{BACK}.community": 0.5,
          "streets.staff.community_per_community": 6,
          "categories.calls.work.community": {"dist": "lognormal", "mean": "1h", "sd": "1h"}}


def _visit_work(s: gridsim.Scenario, seed: int) -> pd.DataFrame:
    """Work of each visit at the community: from its ``started`` row to the case's next row
    (sent back or solved; the pool works 24/7, so elapsed time is work), numbered per case."""
    r = gridsim.simulate(s, seed=seed, record="events")
    e = _ordered(r.events)
    v = visits(e, UNITS[1])
    v = v[v["row"] + 1 < len(e)]
    nxt = e.loc[v["row"] + 1]
    done = (nxt["district_seq"].to_numpy() == v["case"].to_numpy())  # not still at work
    v, nxt = v[done], nxt[done]
    assert nxt["event"].isin(["back_to_centre", "solved"]).all()
    v["work"] = nxt["time"].to_numpy() - v["start"].to_numpy()
    v["n"] = v.groupby("case").cumcount()
    return v


def _ks_against_tier(s: gridsim.Scenario, work: np.ndarray) -> float:
    dist = s.categories["calls"].work.community
    reference = dist.sample(stream(99, "reference"), 200_000)
    return float(stats.ks_2samp(work, reference).pvalue)


def test_a_repeated_visit_draws_its_work_afresh_from_the_tier_distribution():
    s = gridsim.load_scenario(FEEDBACK, overrides=REWORK)
    v = pd.concat([_visit_work(s, seed) for seed in (1, 2)])
    first, again = v.loc[v["n"] == 0, "work"], v.loc[v["n"] >= 1, "work"]
    assert len(again) > 3000
    assert _ks_against_tier(s, first.to_numpy()) > 1e-3
    assert _ks_against_tier(s, again.to_numpy()) > 1e-3
    # lognormal with sd = mean: the old rule (mean × U(0.5, 1.5)) has sd = mean / √12
    assert again.std() == pytest.approx(1.0, rel=0.15)


def test_the_old_rework_rule_fails_the_distribution_check(monkeypatch):
    def old_rule(self, issue, tier):
        return issue.cat.dists[tier].mean_hours * (0.5 + issue.district.more_work())

    monkeypatch.setattr(Loops, "_rework", old_rule)
    s = gridsim.load_scenario(FEEDBACK, overrides=REWORK)
    v = _visit_work(s, 1)
    again = v.loc[v["n"] >= 1, "work"].to_numpy()
    assert _ks_against_tier(s, again) < 1e-6
    assert again.min() >= 0.5 - 1e-9 and again.max() <= 1.5 + 1e-9


# ---------------------------------------------------------------- reopening at the centre
def _after_reopen(reopen_at: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = gridsim.load_scenario(FEEDBACK, overrides={
        "horizon": "300h", f"{BACK}.community": 0, f"{BACK}.street": 0,
        "categories.calls.reopen": 0.3, "categories.calls.reopen_at": reopen_at})
    r = gridsim.simulate(s, seed=3, record="events")
    e = _ordered(r.events)
    rows = e.index[e["event"] == "reopened"]
    rows = rows[rows + 3 < len(e)]
    nxt = [e.loc[rows + k].reset_index(drop=True) for k in (1, 2, 3)]
    return e.loc[rows].reset_index(drop=True), pd.concat(nxt, axis=1, keys=["1", "2", "3"])


def test_reopen_at_centre_sends_the_case_through_triage_again():
    reopened, nxt = _after_reopen("centre")
    assert len(reopened) > 100
    same = nxt[("3", "district_seq")] == reopened["district_seq"]
    assert same.mean() > 0.95
    nxt, reopened = nxt[same], reopened[same]
    # reopened → (queued →) started at the centre → entered at the tier triage picks
    at_centre = nxt[("1", "unit")] == UNITS[0]
    assert at_centre.all()
    assert nxt[("1", "event")].isin(["queued", "started"]).all()
    entered = np.where(nxt[("2", "event")] == "entered", nxt[("2", "tier")].astype(str),
                       nxt[("3", "tier")].astype(str))
    # the centre assesses the case anew: some go to the other tier than the one that solved it
    other = entered != reopened["tier"].astype(str).to_numpy()
    assert 0.2 < other.mean() < 0.8


def test_reopen_at_tier_reworks_at_the_tier_without_the_centre():
    reopened, nxt = _after_reopen("tier")
    assert len(reopened) > 100
    assert (nxt[("1", "event")] == "entered").all()
    assert (nxt[("1", "tier")].astype(str) == reopened["tier"].astype(str)).all()
    assert (nxt[("1", "unit")] != UNITS[0]).all()


# ---------------------------------------------------------------- conservation
SMALL = {"horizon": "40d", "warmup": "0d", "streets.count": 1, "streets.communities": 2,
         "streets.grids_per_community": 2, "record.level": "events"}


@st.composite
def loop_scenarios(draw) -> gridsim.Scenario:
    """A small default district with loops on at random (every category, every tier)."""
    base = gridsim.load_scenario(DEFAULT, overrides=SMALL)
    prob = st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9])
    over: dict[str, object] = {"policy.name": draw(st.sampled_from(sorted(REGISTRY))),
                               "seed": draw(st.integers(0, 2**32))}
    for c in base.categories:
        for tier in ("community", "street", "district", "joint", "city"):
            over[f"categories.{c}.back_to_centre.{tier}"] = draw(prob)
        over[f"categories.{c}.reopen"] = draw(prob)
        over[f"categories.{c}.reopen_at"] = draw(st.sampled_from(["tier", "centre"]))
    return base.with_overrides(over)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_scenarios())
def test_every_case_is_accounted_for_once_in_any_loop(s):
    r = gridsim.simulate(s)
    i, e = r.issues, _ordered(r.events)
    key = ["district", "district_seq"]
    assert not i.duplicated(key).any()
    per_case = e.groupby(key, observed=True)
    created = per_case["event"].apply(lambda x: (x == "created").sum())
    assert (created == 1).all() and len(created) == len(i)  # every case created is in the table
    counts = {k: e[e["event"] == k].groupby(key, observed=True).size()
              for k in ("closed", "back_to_centre", "reopened")}
    by = i.set_index(key)
    for k, col in (("back_to_centre", "back_to_centre"), ("reopened", "reopens")):
        n = counts[k].reindex(by.index, fill_value=0)
        assert (n.to_numpy() == by[col].to_numpy()).all(), k
    # closed once, or once more per reopen by the resident's callback (gridsim.model.resident),
    # last closed or called back
    closed = counts["closed"].reindex(by.index, fill_value=0)
    is_closed = (by["state"] == "closed").to_numpy()
    assert (closed.to_numpy() == is_closed + by["callback_reopens"].to_numpy()).all()
    last = per_case["event"].last().reindex(by.index)
    assert (last.isin(["closed", "called_back"]).to_numpy() == is_closed).all()
    ended = by["state"].isin(["closed", "abandoned"])  # abandoned: the caller gave up (12345)
    assert by["t_closed"].notna().eq(ended).all()
    abandoned = by["state"] == "abandoned"
    assert (last[abandoned.to_numpy()] == "gave_up").all()
