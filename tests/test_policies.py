"""The decision interface: policies see the case, new ones plug in as one class, and every random
decision draws from a stream of its own."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import gridsim
from gridsim.plan import compile as plan_compile
from gridsim.policies import Layered, make_policy
from gridsim.policies.base import DISTRICT, JOINT, MEETING, STREET_TEAM, ResourceSinking

CREATION = ["issue_id", "category", "source", "grid", "start_tier", "t_created"]


@pytest.fixture(scope="module")
def month(default_scenario) -> gridsim.Scenario:
    return default_scenario.with_overrides({"horizon": "40d", "warmup": "5d"})


def _with_policy(monkeypatch, layer: type[Layered], params: Any = None) -> None:
    """Runs use ``layer`` on top of the scenario's own policy (a policy in a test, unregistered:
    the model needs nothing else to run it)."""
    def make(spec):
        return layer(params, spec, make_policy(spec))

    monkeypatch.setattr(plan_compile, "make_policy", make)


def test_a_new_random_decision_changes_no_other_draw(month, monkeypatch):
    """A policy that adds a random decision of its own gets a stream of its own: every column
    of the issue table is as it was without it (with one fixed row of draws shared by all
    decisions, widening the row would have moved every draw)."""
    plain = gridsim.simulate(month, seed=3).issues
    seen: dict[int, float] = {}  # per case (a case sent back to the centre is dispatched again)

    class Dummy(Layered):
        case_draws = ("dummy",)

        def attach(self, columns):
            self.col = columns["dummy"]
            super().attach(columns)

        def dispatch(self, case, state):
            seen[case.id] = case.u[self.col]  # drawn for every case, used by no one
            return self.inner.dispatch(case, state)

    _with_policy(monkeypatch, Dummy)
    dummy = gridsim.simulate(month, seed=3).issues
    pd.testing.assert_frame_equal(dummy, plain)
    assert len(seen) > 1000
    values = list(seen.values())
    assert 0.45 < np.mean(values) < 0.55 and len(set(values)) == len(values)  # fresh uniforms


def test_two_way_with_no_share_is_the_policy_it_sits_on(month):
    four = gridsim.simulate(month, seed=4).issues
    idle = gridsim.simulate(month.with_overrides({"policy.name": "two_way",
                                                  "policy.two_way.share": 0.0}), seed=4).issues
    pd.testing.assert_frame_equal(idle, four)


def test_two_way_sends_department_work_down_and_the_old_switch_is_an_alias(month):
    on = month.with_overrides({"policy.name": "two_way", "policy.two_way.share": 0.6,
                               "policy.two_way.within": "whistle"})
    r = gridsim.simulate(on, seed=2)
    i = r.issues
    eligible = i["t_dept_called"].notna() & (i["lead"] == "department")
    n = eligible.sum()
    assert n > 200
    assert i["two_way"][eligible].mean() == pytest.approx(0.6, abs=4 * (0.24 / n) ** 0.5)
    assert not i["two_way"][i["lead"] == "street"].any()
    assert r.kpi("whistles") > 0  # the rest is the whistle policy's
    with pytest.warns(FutureWarning, match="two_way_dispatch is deprecated"):
        old = month.with_overrides({"policy.name": "whistle", "policy.two_way_dispatch": 0.6})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        alias = gridsim.simulate(old, seed=2)
    pd.testing.assert_frame_equal(alias.issues, i)


def test_joint_first_sends_multi_department_cases_to_the_joint_consultation(month):
    four = gridsim.simulate(month, seed=6).issues
    jf = gridsim.simulate(month.with_overrides({"policy.name": "joint_first"}), seed=6).issues
    pd.testing.assert_frame_equal(jf[CREATION], four[CREATION])  # the same cases
    many = jf["category"] == "illegal_construction"  # the one category with 3 departments
    dept = jf["lead"] == "department"
    assert jf["t_enter_district"][many].isna().all()
    assert four["t_enter_district"][many].notna().sum() > 10
    sent = many & jf["start_tier"].isin(["district", "joint"]) & jf["t_uploaded"].notna()
    assert sent.sum() > 10 and jf["t_enter_joint"][sent].notna().all()
    one = dept & ~many  # single-department cases still get the street's whistle
    assert jf["t_enter_district"][one].notna().sum() > 100
    # fewer departments needed: every case goes to the whistle again
    low = month.with_overrides({"policy.name": "joint_first",
                                "policy.joint_first.min_departments": 4})
    pd.testing.assert_frame_equal(gridsim.simulate(low, seed=6).issues, four)


def test_a_decision_sees_the_case_and_the_state(month, monkeypatch):
    """A policy of the test's own: department work done by the street team when the street's
    enforcement queue is short, the joint consultation for cases escalated twice."""
    seen = []

    class Local(Layered):
        def who(self, case, tier, state):
            seen.append((state.now, state.queued(case.street.enforcement)))
            if tier == DISTRICT and state.queued(case.street.enforcement) < 1000:
                return STREET_TEAM
            return self.inner.who(case, tier, state)

        def failed(self, case, tier, state):
            return JOINT if case.escalations >= 1 and tier < JOINT else \
                self.inner.failed(case, tier, state)

    _with_policy(monkeypatch, Local)
    i = gridsim.simulate(month, seed=1).issues
    assert i["t_dept_called"][i["t_enter_joint"].isna()].isna().all()  # nobody called them
    assert i["t_enter_district"].notna().sum() > 100
    assert i["t_enter_joint"].notna().any()
    assert (i["escalations"] <= 3).all()
    times = [t for t, _ in seen]
    assert times == sorted(times) and times[-1] > 24 * 30


def test_resource_sinking_is_read_through_the_policy(short_scenario, monkeypatch):
    before = gridsim.simulate(short_scenario, seed=1).pools()

    class Sinking(Layered):
        @property
        def resource_sinking(self):
            return ResourceSinking(share=0.5, to="office")

    _with_policy(monkeypatch, Sinking)
    after = gridsim.simulate(short_scenario, seed=1).pools()
    kind = before["kind"]
    lost = before["capacity"][kind == "department"].sum() - \
        after["capacity"][kind == "department"].sum()
    gained = after["capacity"][kind == "office"].sum() - before["capacity"][kind == "office"].sum()
    assert gained == lost > 0


def test_meetings_are_chosen_by_the_policy_too(month, monkeypatch):
    """``who`` names the meeting: a policy may send the district tier's work to the joint
    consultation's agenda."""

    class ToMeeting(Layered):
        def who(self, case, tier, state):
            return MEETING if tier == DISTRICT else self.inner.who(case, tier, state)

        def failed(self, case, tier, state):
            return None if tier == DISTRICT else self.inner.failed(case, tier, state)

    _with_policy(monkeypatch, ToMeeting)
    r = gridsim.simulate(month, seed=2)
    assert r.kpi("whistles") == 0  # the meeting convenes departments; no street whistle
    assert r.issues["t_dept_called"].isna().all()
    assert (r.issues["solved_tier"] == "district").any()
