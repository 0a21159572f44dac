"""Case states: extension (延期), suspension (挂账), filing rejection (不予立案) and supervision
of overdue cases (督办), held against their probabilities (exact binomial tests, each shown to
fail when the mechanism is off), against the on-time rules and against conservation of cases.

Every count is read from the record columns or the event log of a shortened default district
without the 12345 front end (every reported case then passes the street centre's triage, and
the cases asked, triaged or failed can be counted exactly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

import gridsim
from gridsim.model.priority import ClassQueue
from gridsim.model.states import TICK, raise_in_queue
from gridsim.policies import REGISTRY

ALPHA = 1e-3
"""Two-sided level of each binomial test (a correct model fails one in a thousand runs)."""
SHORT = {"horizon": "40d", "warmup": "0d", "hotline.front_end": None}
AT_ONCE = "1000d"
"""An ``ask_before`` longer than any deadline: the extension is asked as the deadline is set,
so every case given a deadline is asked exactly once (limit 1)."""


STATE_KEYS = ("extension", "suspension", "rejection", "supervision")


def without_states(s: gridsim.Scenario) -> gridsim.Scenario:
    """``s`` with every case state off (whatever the bundled scenario sets)."""
    return s.with_overrides({f"categories.{c}.{k}": None for c in s.categories
                             for k in STATE_KEYS})


@pytest.fixture(scope="module")
def base(default_scenario) -> gridsim.Scenario:
    return without_states(default_scenario.with_overrides(SHORT))


def every(s: gridsim.Scenario, key: str, value: object) -> gridsim.Scenario:
    """``s`` with ``categories.<c>.<key>`` set to ``value`` in every category."""
    return s.with_overrides({f"categories.{c}.{key}": value for c in s.categories})


def p_value(k: int, n: int, p: float) -> float:
    assert n > 200, "too few decisions to test"
    return binomtest(int(k), int(n), p).pvalue


def triaged(i: pd.DataFrame) -> pd.Series:
    """Cases that finished their first triage at the street centre: reported, not fixed on the
    spot, and not still waiting there untouched at the end."""
    uploaded = i["t_uploaded"].notna() & (i["solved_tier"].astype(str) != "grid")
    entered = i[[f"t_enter_{t}" for t in ("community", "street", "district", "joint",
                                          "city")]].notna().any(axis=1)
    done = entered | (i["suspensions"] > 0) | (i["state"] == "rejected")
    return uploaded & done


# ---------------------------------------------------------------- extension (延期)
def extension_counts(s: gridsim.Scenario, seed: int) -> tuple[int, int, int]:
    i = gridsim.simulate(s, seed=seed).issues
    # asked at the first timer tick after the deadline is set (at upload), if not solved by then
    tick = np.ceil(i["t_uploaded"] / TICK) * TICK
    asked = i["t_uploaded"].notna() & (i["solved_tier"].astype(str) != "grid") & ~(
        i["t_solved"] <= tick)
    return int((i["extensions"][asked] > 0).sum()), int(asked.sum()), int(i["extensions"].max())


@pytest.mark.parametrize("p", [0.1, 0.4])
def test_extensions_granted_match_their_probability(base, p):
    s = every(base, "extension", {"prob": p, "ask_before": AT_ONCE, "limit": 1})
    k, n, most = extension_counts(s, seed=5)
    assert p_value(k, n, p) > ALPHA
    assert most <= 1  # the limit holds


def test_without_extensions_the_binomial_check_fails(base):
    k, n, _ = extension_counts(every(base, "extension", {"prob": 0.0, "ask_before": AT_ONCE}),
                               seed=5)
    assert k == 0 and p_value(k, n, 0.1) < ALPHA


def test_a_granted_extension_is_asked_again_up_to_the_limit(base):
    p = 0.5
    s = every(base, "extension", {"prob": p, "ask_before": AT_ONCE, "limit": 3})
    i = gridsim.simulate(s, seed=6).issues
    e = i["extensions"]
    assert e.max() == 3
    # given one extension, a second is asked at once and granted with p again
    assert p_value((e >= 2).sum(), (e >= 1).sum(), p) > ALPHA
    assert p_value((e >= 3).sum(), (e >= 2).sum(), p) > ALPHA
    # each extension moves the deadline by its length (3 working days: at least 3 days)
    ext = i[e > 0]
    assert (ext["deadline_extended"] - ext["deadline"] >= 3 * 24 * ext["extensions"] - 1e-9).all()
    np.testing.assert_array_equal(i.loc[e == 0, "deadline_extended"], i.loc[e == 0, "deadline"])


def test_on_time_by_the_extended_deadline_is_never_below_the_original(base):
    s = every(base, "extension", {"prob": 0.5, "length": "2wd", "ask_before": "1d"})
    r = gridsim.simulate(s, seed=4)
    k = r.kpis.set_index(["metric", "scope"])["value"]
    scopes = [sc for (m, sc) in k.index if m == "on_time_rate_extended"]
    assert len(scopes) > 5
    for sc in scopes:
        if not np.isnan(k["on_time_rate", sc]):
            assert k["on_time_rate_extended", sc] >= k["on_time_rate", sc], sc
    assert k["on_time_rate_extended", "all"] > k["on_time_rate", "all"]
    assert k["extension_rate", "all"] > 0
    # without extensions they are equal
    off = gridsim.simulate(base, seed=4).kpis.set_index(["metric", "scope"])["value"]
    assert off["on_time_rate_extended", "all"] == off["on_time_rate", "all"]


# ---------------------------------------------------------------- suspension (挂账)
def test_suspensions_at_triage_match_their_probability_and_resume(base):
    p = 0.05
    s = every(base, "suspension", {"at_triage": p, "resume": {"after": "5d"}})
    r = gridsim.simulate(s, seed=7, record="events")
    i = r.issues
    n = triaged(i)
    assert p_value((i["suspensions"][n] > 0).sum(), n.sum(), p) > ALPHA
    ev = r.events
    kinds = ev["event"].astype(str)
    sus, res = ev[kinds == "suspended"], ev[kinds == "resumed"]
    assert len(sus) == i["suspensions"].sum() and sus["tier"].isna().all()  # at triage
    # resumed 5 days later, unless the run ended first; the suspended hours say so
    key = ["district", "district_seq"]
    both = sus.merge(res, on=key, suffixes=("", "_r"))
    np.testing.assert_allclose(both["time_r"] - both["time"], 120.0)
    horizon = s.horizon.hours
    assert len(res) == (sus["time"] + 120 <= horizon).sum()
    hours = i.set_index(key)["suspended_hours"]
    expect = np.minimum(sus.set_index(key)["time"] + 120, horizon) - sus.set_index(key)["time"]
    np.testing.assert_allclose(hours.reindex(expect.index), expect)
    k = r.kpis.set_index(["metric", "scope"])["value"]
    assert k["suspension_rate", "all"] == pytest.approx((i["suspensions"] > 0).sum()
                                                        / (i["state"] != "rejected").sum())


def test_without_suspensions_the_binomial_check_fails(base):
    i = gridsim.simulate(base, seed=7).issues
    n = triaged(i)
    assert p_value((i["suspensions"][n] > 0).sum(), n.sum(), 0.05) < ALPHA


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
def test_suspensions_on_failure_match_their_probability(base, on):
    p = 0.3
    s = every(base, "suspension", {"on_failure": p if on else 0.0, "limit": 100,
                                   "resume": {"every": "7d"}})
    r = gridsim.simulate(s, seed=8, record="events")
    kinds = r.events["event"].astype(str)
    suspended = (kinds == "suspended").sum()
    failures = suspended + (kinds == "escalated").sum() + (kinds == "unsolved").sum()
    assert (p_value(suspended, failures, p) > ALPHA) == on
    if not on:
        return
    # resumed at the weekly review of the ledger: at whole multiples of 7 days
    res = r.events[kinds == "resumed"]["time"]
    assert len(res) > 0 and np.allclose(res / 168, np.round(res / 168))


def test_suspended_cases_leave_the_on_time_rate(base):
    s = every(base, "suspension", {"at_triage": 0.1, "resume": {"after": "60d"}})
    r = gridsim.simulate(s, seed=3)
    i = r.issues
    assert i.loc[i["suspensions"] > 0, "on_time"].isna().all()  # neither on time nor late
    due = i["on_time"].notna()
    k = r.kpis.set_index(["metric", "scope"])["value"]
    assert k["on_time_rate", "all"] == pytest.approx(i.loc[due, "on_time"].astype(bool).mean())


# ---------------------------------------------------------------- rejection (不予立案)
def test_rejections_match_their_probabilities_by_reason(base):
    p_scope, p_invalid = 0.03, 0.02
    s = every(base, "rejection", {"out_of_scope": p_scope, "invalid": p_invalid})
    r = gridsim.simulate(s, seed=9, record="events")
    i = r.issues
    n = triaged(i)
    rejected = i["state"] == "rejected"
    assert p_value(rejected.sum(), n.sum(), p_scope + p_invalid) > ALPHA
    reason = i.loc[rejected, "rejected"].astype(str)
    assert p_value((reason == "out_of_scope").sum(), rejected.sum(),
                   p_scope / (p_scope + p_invalid)) > ALPHA
    assert i.loc[~rejected, "rejected"].isna().all()
    # a rejected case ends at triage: no tier, no deadline, its last event is "rejected"
    rej = i[rejected]
    assert rej["deadline"].isna().all() and rej["t_closed"].notna().all()
    assert rej[[c for c in i if c.startswith("t_enter_")]].isna().all().all()
    ev = r.events.sort_values(["district", "district_seq", "step"])
    last = ev.groupby(["district", "district_seq"], observed=True)["event"].last().astype(str)
    by = i.set_index(["district", "district_seq"])["state"].astype(str)
    assert ((last == "rejected") == (by.reindex(last.index) == "rejected")).all()
    # rejected cases leave the resolution KPIs
    k = r.kpis.set_index(["metric", "scope"])["value"]
    filed = i[~rejected]
    solved = (filed["state"] == "closed") & filed["solved_in_fact"].astype(bool)  # in fact
    assert k["resolution_rate", "all"] == pytest.approx(solved.mean())
    assert k["rejection_rate", "all"] == pytest.approx(rejected.mean())
    assert k["rejection_rate", "reason=invalid"] == pytest.approx((reason == "invalid").sum()
                                                                  / len(i))
    assert k["backlog_end", "all"] == i["state"].isin(["in_progress", "waiting"]).sum()


def test_without_rejections_the_binomial_check_fails(base):
    i = gridsim.simulate(base, seed=9).issues
    assert p_value((i["state"] == "rejected").sum(), triaged(i).sum(), 0.05) < ALPHA


# ---------------------------------------------------------------- supervision (督办)
def test_a_boost_moves_a_waiting_case_ahead_in_its_class_queue():
    class Case:
        def __init__(self, name: str):
            self.name, self.priority, self.visit = name, 1, 0

    q = ClassQueue()
    cases = [Case(x) for x in "abcd"]
    for c in cases:
        q.append((c, 0))
    cases[2].priority = 0
    assert raise_in_queue(q, cases[2], 0)
    assert [q.popleft()[0].name for _ in range(4)] == ["c", "a", "b", "d"]


CONGESTED = {"streets.staff.enforcement": 5, "streets.staff.office": 3}
"""The street teams short-handed: cases wait in their queues past their deadlines."""


def fifo_inversions(events: pd.DataFrame) -> int:
    """Starts at a unit of a case that queued there after another case still waiting there
    (from the event log: each ``started`` row after a ``queued`` row at the same unit)."""
    ev = events.sort_values(["district", "district_seq", "step"])
    ev["prev"] = ev.groupby(["district", "district_seq"], observed=True)["event"].shift()
    ev["prev_unit"] = ev.groupby(["district", "district_seq"], observed=True)["unit"].shift()
    ev["prev_time"] = ev.groupby(["district", "district_seq"], observed=True)["time"].shift()
    kinds = ev["event"].astype(str)
    started = ev[(kinds == "started") & (ev["prev"].astype(str) == "queued")
                 & (ev["unit"].astype(str) == ev["prev_unit"].astype(str))]
    bad = 0
    for _, g in started.groupby(ev["unit"].astype(str)):
        queued = g.sort_values(["time", "prev_time"])["prev_time"].to_numpy()
        bad += int((np.diff(queued) < -1e-9).sum())
    return bad


@pytest.fixture(scope="module")
def supervised(base):
    s = every(every(base.with_overrides({**CONGESTED, "preempt": []}), "priority", 1),
              "supervision", {"every": "1d", "limit": 5})
    return {action: gridsim.simulate(s.with_overrides({
        "policy.name": "whistle", "policy.whistle.supervision.action": action}),
        seed=2, record="events") for action in ("boost", "none")}


def test_a_supervision_boost_changes_the_queue_order(supervised):
    boost, none = supervised["boost"], supervised["none"]
    assert none.issues["supervisions"].sum() > 50
    assert fifo_inversions(none.events) == 0  # one class: first come first served
    assert fifo_inversions(boost.events) > 0  # supervised cases overtake
    k = {a: r.kpis.set_index(["metric", "scope"])["value"] for a, r in supervised.items()}
    assert k["boost"]["supervisions", "all"] == supervised["boost"].issues["supervisions"].sum()


def test_a_supervision_escalation_sends_the_case_up_a_tier(base):
    s = every(base.with_overrides(CONGESTED), "supervision", {})
    s = s.with_overrides({"policy.four_tier.tier_deadlines.community": None,
                          "policy.four_tier.tier_deadlines.street": None})
    tiers = list(gridsim.vocabulary.TIERS)
    out = {}
    for action in ("escalate", "none"):
        r = gridsim.simulate(s.with_overrides({"policy.four_tier.supervision.action": action}),
                             seed=2, record="events")
        ev = r.events.sort_values(["district", "district_seq", "step"]).reset_index(drop=True)
        kinds = ev["event"].astype(str)
        nxt = ev.groupby(["district", "district_seq"], observed=True)[["event", "time"]].shift(-1)
        sup = kinds == "supervised"
        followed = sup & (nxt["event"].astype(str) == "escalated") & (nxt["time"] == ev["time"])
        out[action] = (int(sup.sum()), int(followed.sum()))
        if action == "escalate":  # the entered row after the escalation is a higher tier
            entered = ev.index[followed] + 2
            assert (kinds[entered] == "entered").all()
            up = [tiers.index(str(a)) > tiers.index(str(b))
                  for a, b in zip(ev.loc[entered, "tier"], ev.loc[followed, "tier"], strict=True)]
            assert all(up)
    assert out["escalate"][1] > 20
    assert out["none"][0] > 20 and out["none"][1] == 0


# ---------------------------------------------------------------- records, KPIs, off
ALL_ON = {"extension": {"prob": 0.3, "limit": 2, "ask_before": "1d"},
          "suspension": {"at_triage": 0.03, "on_failure": 0.2, "resume": {"every": "10d"}},
          "rejection": {"out_of_scope": 0.01, "invalid": 0.01},
          "supervision": {"every": "2d", "limit": 3}}


def all_on(s: gridsim.Scenario) -> gridsim.Scenario:
    for key, value in ALL_ON.items():
        s = every(s, key, value)
    return s


def test_kpis_are_the_same_at_record_levels_issues_and_kpis(default_scenario):
    s = all_on(without_states(default_scenario.with_overrides({"horizon": "40d",
                                                               "warmup": "5d"})))
    a = gridsim.simulate(s, seed=3).kpis
    b = gridsim.simulate(s, seed=3, record="kpis").kpis
    pd.testing.assert_frame_equal(a, b)
    k = a.set_index(["metric", "scope"])["value"]
    for m in ("extension_rate", "suspension_rate", "rejection_rate", "supervision_rate"):
        assert k[m, "all"] > 0, m


def test_zero_probabilities_change_nothing(base):
    """Sections present but switched off (zero probabilities, supervision doing nothing) give
    the run without them: no draw, no change of queue order."""
    off = {"extension": {"prob": 0.0}, "suspension": {"at_triage": 0.0},
           "rejection": {}, "supervision": {}}
    s = base
    for key, value in off.items():
        s = every(s, key, value)
    s = s.with_overrides({"policy.four_tier.supervision.action": "none"})
    a = gridsim.simulate(base, seed=1)
    b = gridsim.simulate(s, seed=1)
    cols = [c for c in a.issues if c != "supervisions"]
    pd.testing.assert_frame_equal(a.issues[cols], b.issues[cols])
    ka = a.kpis[~a.kpis["metric"].str.startswith("supervision")].reset_index(drop=True)
    kb = b.kpis[~b.kpis["metric"].str.startswith("supervision")].reset_index(drop=True)
    pd.testing.assert_frame_equal(ka, kb)


@st.composite
def state_scenarios(draw) -> gridsim.Scenario:
    """A short default district with the case states on at random, under any policy."""
    s = without_states(gridsim.load_scenario()).with_overrides({"horizon": "20d", "warmup": "0d",
                                  "policy.name": draw(st.sampled_from(sorted(REGISTRY))),
                                  "seed": draw(st.integers(0, 2**32))})
    prob = st.sampled_from([0.0, 0.1, 0.5, 1.0])
    over: dict[str, object] = {}
    for c in s.categories:
        over[f"categories.{c}.extension"] = {"prob": draw(prob), "limit": draw(st.integers(1, 3)),
                                             "ask_before": draw(st.sampled_from(["0h", "1d"]))}
        over[f"categories.{c}.suspension"] = {
            "at_triage": draw(st.sampled_from([0.0, 0.1])), "on_failure": draw(prob),
            "resume": draw(st.sampled_from([{"after": "3d"}, {"every": "5d"}]))}
        over[f"categories.{c}.rejection"] = {"invalid": draw(st.sampled_from([0.0, 0.2]))}
        over[f"categories.{c}.supervision"] = {"every": draw(st.sampled_from([None, "12h"])),
                                               "limit": draw(st.integers(1, 3))}
    over["policy.four_tier.supervision.action"] = draw(st.sampled_from(["boost", "escalate"]))
    over["policy.baseline.supervision.action"] = draw(st.sampled_from(["boost", "escalate"]))
    return s.with_overrides(over)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state_scenarios())
def test_every_case_is_accounted_for_with_the_states_on(s):
    r = gridsim.simulate(s, record="events")
    i, ev = r.issues, r.events
    key = ["district", "district_seq"]
    assert not i.duplicated(key).any()
    assert len(i) == r.manifest["issues_created"]
    by = i.set_index(key)
    kinds = ev["event"].astype(str)
    for kind, col in (("extended", "extensions"), ("suspended", "suspensions"),
                      ("supervised", "supervisions")):
        n = ev[kinds == kind].groupby(key, observed=True).size()
        assert (n.reindex(by.index, fill_value=0).to_numpy() == by[col].to_numpy()).all(), kind
    resumed = ev[kinds == "resumed"].groupby(key, observed=True).size()
    still = by["suspensions"] - resumed.reindex(by.index, fill_value=0)
    assert still.between(0, 1).all()
    assert (by.loc[still == 1, "state"].astype(str) == "waiting").all()  # on the ledger
    ended = by["state"].isin(["closed", "abandoned", "rejected"])
    assert by["t_closed"].notna().eq(ended).all()
    k = r.kpis.set_index(["metric", "scope"])["value"]
    assert k["backlog_end", "all"] == by["state"].isin(["in_progress", "waiting"]).sum()
    assert (by["extensions"] <= 3).all() and (by["supervisions"] <= 3).all()
    due = k["on_time_rate", "all"]
    if not np.isnan(due):
        assert k["on_time_rate_extended", "all"] >= due


@pytest.mark.parametrize(("override", "says"), [
    ({"categories.garbage_overflow.extension": {"prob": 1.5}}, "extension.prob"),
    ({"categories.garbage_overflow.extension": {"prob": 0.1, "limt": 2}}, "did you mean 'limit'"),
    ({"categories.garbage_overflow.suspension": {"resume": {}}}, "exactly one of"),
    ({"categories.garbage_overflow.rejection": {"invalid": 0.7, "out_of_scope": 0.6}},
     "sum to at most 1"),
    ({"categories.garbage_overflow.supervision": {"limit": 0}}, "supervision.limit"),
    ({"policy.four_tier.supervision.action": "shout"}, "supervision.action"),
])
def test_bad_state_settings_are_refused_with_their_path(default_scenario, override, says):
    with pytest.raises(gridsim.ScenarioError) as err:
        default_scenario.with_overrides(override)
    assert says in str(err.value)


def test_sharded_runs_equal_the_unsharded_one_with_the_states_on(three):
    s = all_on(without_states(three))
    whole = gridsim.simulate(s, seed=4)
    parts = gridsim.simulate(s, seed=4, shards=3, workers=1)
    pd.testing.assert_frame_equal(whole.issues, parts.issues)
    pd.testing.assert_frame_equal(whole.kpis, parts.kpis)
    assert whole.issues["supervisions"].sum() > 0 and (whole.issues["extensions"] > 0).any()
