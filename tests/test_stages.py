"""Stage limits (issue 16, item 4): a case's time is split into filing, dispatch, arrival on
site, handling and verification, each timed against its own limit.

The checks recompute every stage of every case from the event log alone (which rows end which
stage: README "Stage limits"), compare the per-case flags of the issue table and the KPIs with
that, and show that a limit moves the KPI, that the KPI level gives the same numbers as the issue
level, and that limits measure without changing anything simulated.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import gridsim
from gridsim.results.kpis import compute_kpis
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.loader import validate_data
from gridsim.vocabulary import STAGES

LIMITS = {"filing": "10min", "dispatch": "2h", "arrival": "8h", "handling": "1d",
          "verification": "2h"}
SITE = re.compile(r"/(?:enforcement|office|c\d+|city_.+)$|^city/.+")
"""Units whose ``started`` row is someone on site: street teams, communities, city departments
(not the centre, grid workers, department crews, which are on site at ``dept_onsite``, or
meetings)."""


def scenario(policy: str = "four_tier", limits: dict | None = None, **extra) -> gridsim.Scenario:
    """The default district for 40 days under ``policy``, with ``limits`` for every category
    (None: no stage limit at all; the default scenario's own are replaced)."""
    over = {"horizon": "40d", "warmup": "5d", "policy.name": policy, "stage_limits": limits,
            "categories.burst_main.stage_limits": None, **extra}
    return gridsim.load_scenario().with_overrides(over)


def recompute(events: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    """Each case's stage boundaries from its event rows only."""
    ev = events.sort_values(["district", "district_seq", "step"], ignore_index=True)
    key = ["district", "district_seq"]
    kind = ev["event"].astype(str)
    tier = ev["tier"].astype(str)
    at_tier = ev["tier"].notna() & (tier != "grid")
    unit = ev["unit"].astype(str)

    def first(mask: pd.Series) -> pd.Series:
        return ev[mask].groupby(key, observed=True)["time"].min()

    out = pd.DataFrame(index=issues.set_index(key).index)
    out["t_uploaded"] = first(kind == "uploaded")
    out["t_filed"] = first((kind == "entered") & at_tier)
    out["t_received"] = first(kind.isin(["queued", "started"]) & at_tier)
    site = pd.concat([first((kind == "started") & at_tier & unit.str.contains(SITE)),
                      first(kind == "dept_onsite")], axis=1).min(axis=1)
    out["t_on_site"] = site
    solved = ev[kind == "solved"].groupby(key, observed=True)["step"].max()
    closed = ev[kind == "closed"].groupby(key, observed=True)["step"].max()
    reopened = ev[kind == "reopened"].groupby(key, observed=True)["step"].max()
    steps = pd.concat([solved.rename("solved"), closed.rename("closed"),
                       reopened.rename("reopened")], axis=1)
    last = ev[kind == "solved"].groupby(key, observed=True)["time"].last()
    out["t_solved"] = last.where(~(steps["reopened"] > steps["solved"]).reindex(last.index))
    # verification rows between the two, and no reopening since the last solve (a reopen by
    # the callback, or a closure with an explanation after a reopen)
    verified = (steps["closed"] > steps["solved"] + 1) & ~(steps["reopened"] > steps["solved"])
    closed_at = ev[kind == "closed"].groupby(key, observed=True)["time"].max()
    out["t_verified"] = closed_at.where(verified.reindex(closed_at.index, fill_value=False))
    out = out.reindex(issues.set_index(key).index)
    out["closed"] = (issues["state"] == "closed").to_numpy()
    out["t_created"] = issues["t_created"].to_numpy()
    out["category"] = issues["category"].astype(str).to_numpy()
    return out


def flags(b: pd.DataFrame, limits: dict[str, float], horizon: float) -> pd.DataFrame:
    """Per case and stage: True on time, False late, NaN not counted (clock-time limits)."""
    cols = ["t_uploaded", "t_filed", "t_received", "t_on_site", "t_solved", "t_verified"]
    out = pd.DataFrame(index=b.index)
    for k, stage in enumerate(STAGES):
        start, end = b[cols[k]], b[cols[k + 1]]
        due = start + limits[stage]
        counted = start.notna() & ~(b["closed"] & end.isna()) & (due <= horizon)
        out[stage] = np.where(counted, (end <= due).astype(float), np.nan)
    return out


def hours(text: str) -> float:
    from gridsim.units import parse_duration
    return parse_duration(text).hours


@pytest.fixture(scope="module", params=["four_tier", "baseline", "two_way"])
def logged(request):
    s = scenario(request.param, LIMITS)
    r = gridsim.simulate(s, record="events")
    return s, r


def test_each_stage_on_time_equals_a_recomputation_from_the_event_log(logged):
    s, r = logged
    b = recompute(r.events, r.issues)
    horizon, warmup = s.horizon.hours, s.warmup.hours
    # the boundaries the model recorded are the event log's
    for col in ("t_filed", "t_received", "t_on_site", "t_solved", "t_verified"):
        np.testing.assert_array_equal(r.issues[col].to_numpy(), b[col].to_numpy(), err_msg=col)
    f = flags(b, {k: hours(v) for k, v in LIMITS.items()}, horizon)
    cohort = (b["t_created"] >= warmup).to_numpy()
    k = r.kpis.set_index(["metric", "scope"])["value"]
    for stage in STAGES:
        mine = r.issues[f"{stage}_on_time"].astype("float64").to_numpy()
        np.testing.assert_array_equal(mine, f[stage].to_numpy(), err_msg=stage)
        counted = f[stage][cohort].dropna()
        assert k["stage_on_time_rate", f"stage={stage}"] == pytest.approx(counted.mean(),
                                                                          abs=1e-12)
        for cat, g in counted.groupby(b["category"][cohort]):
            assert k["stage_on_time_rate", f"stage={stage},category={cat}"] == \
                pytest.approx(g.mean(), abs=1e-12)
    # every stage is exercised: counted, some on time and some late (dispatch has no delay
    # without the baseline's forwarding, so it is never late there)
    for stage in STAGES:
        counted = f[stage][cohort].dropna()
        assert len(counted) > 50, stage
        if stage != "dispatch" or s.policy.name == "baseline":
            assert 0 < counted.mean() < 1, stage


def test_the_mean_stage_durations_equal_the_event_log(logged):
    s, r = logged
    b = recompute(r.events, r.issues)
    cols = ["t_uploaded", "t_filed", "t_received", "t_on_site", "t_solved", "t_verified"]
    cohort = b["t_created"] >= s.warmup.hours
    k = r.kpis.set_index(["metric", "scope"])["value"]
    for i, stage in enumerate(STAGES):
        d = (b[cols[i + 1]] - b[cols[i]])[cohort & (b[cols[i + 1]] <= s.horizon.hours)]
        d = d.dropna()
        assert k["stage_time_mean", f"stage={stage}"] == pytest.approx(d.mean(), abs=1e-5)


def test_without_the_forwarding_dispatch_is_instant_and_with_it_is_not(logged):
    s, r = logged
    k = r.kpis.set_index(["metric", "scope"])["value"]
    if s.policy.name == "baseline":  # forwarded through the district to each department
        assert k["stage_time_mean", "stage=dispatch"] > 0.05
    else:
        assert k["stage_time_mean", "stage=dispatch"] == 0


def test_a_looser_limit_gives_a_higher_on_time_rate_and_a_tighter_one_lower():
    rates = {}
    for arrival in ("2h", "8h", "3d"):
        r = gridsim.simulate(scenario(limits={**LIMITS, "arrival": arrival}), record="kpis")
        rates[arrival] = r.kpi("stage_on_time_rate", "stage=arrival")
    assert rates["2h"] < rates["8h"] < rates["3d"]


def test_working_hours_count_on_the_stage_shift():
    """Verification counts on the grid worker's patrol shift: 1wh from a solve at the end of
    a shift runs into the next one, so it is looser than 1 clock hour."""
    clock = gridsim.simulate(scenario(limits={"verification": "1h"}), record="kpis")
    work = gridsim.simulate(scenario(limits={"verification": "1wh"}), record="kpis")
    assert clock.kpi("stage_on_time_rate", "stage=verification") < \
        work.kpi("stage_on_time_rate", "stage=verification")
    r = gridsim.simulate(scenario(limits={"verification": "1wh"}), record="issues")
    s = scenario()
    from gridsim.plan import compile_plan
    patrol = compile_plan(s).calendars.shifts[s.roles.grid_worker]
    i = r.issues
    due = np.array([patrol.advance(t, 1.0) if t == t else np.nan for t in i["t_solved"]])
    counted = i["verification_on_time"].notna().to_numpy()
    np.testing.assert_array_equal(i["verification_on_time"].to_numpy(dtype=bool,
                                                                      na_value=False)[counted],
                                  (i["t_verified"].to_numpy() <= due)[counted])


def test_kpis_level_equals_issues_level_and_the_issue_table():
    s = scenario("whistle", LIMITS).with_overrides({"record.chunk": 997})
    a = gridsim.simulate(s, record="issues")
    b = gridsim.simulate(s, record="kpis")
    stage = a.kpis["metric"].str.startswith("stage_")
    assert stage.sum() > 20
    pd.testing.assert_frame_equal(a.kpis, b.kpis)
    again = compute_kpis(a.issues, s.warmup.hours, s.horizon.hours,
                         s.policy.report_deadline.hours)  # the Parquet path: flags to codes
    pd.testing.assert_frame_equal(again[again["metric"].str.startswith("stage_")]
                                  .reset_index(drop=True),
                                  a.kpis[stage].reset_index(drop=True))


def test_limits_measure_and_change_nothing_simulated():
    off = gridsim.simulate(scenario(), record="events")
    on = gridsim.simulate(scenario(limits=LIMITS), record="events")
    stage_cols = [f"{x}_on_time" for x in STAGES]
    pd.testing.assert_frame_equal(off.issues.drop(columns=stage_cols),
                                  on.issues.drop(columns=stage_cols))
    pd.testing.assert_frame_equal(off.events, on.events)
    keep = ~on.kpis["metric"].eq("stage_on_time_rate")
    pd.testing.assert_frame_equal(off.kpis, on.kpis[keep].reset_index(drop=True))
    assert off.issues[stage_cols].isna().all().all()
    assert not off.kpis["metric"].eq("stage_on_time_rate").any()


def test_a_category_overrides_the_default_stage_by_stage():
    s = scenario(limits={"filing": "1min", "handling": "1d"},
                 **{"categories.noise.stage_limits": {"filing": "1h", "handling": None}})
    from gridsim.scenario.stages import stage_limits
    noise = stage_limits(s, "noise")
    assert str(noise[0]) == "1h" and noise[3] is None
    assert str(stage_limits(s, "garbage_overflow")[0]) == "1min"
    r = gridsim.simulate(s, record="kpis")
    k = r.kpis.set_index(["metric", "scope"])["value"]
    assert ("stage_on_time_rate", "stage=handling,category=noise") not in k.index
    assert k["stage_on_time_rate", "stage=filing,category=noise"] > \
        k["stage_on_time_rate", "stage=filing,category=garbage_overflow"]


@pytest.mark.parametrize("limits, where", [
    ({"filing": "0min"}, "stage_limits.filing"),
    ({"filling": "1h"}, "stage_limits.filling"),
    ({"arrival": "soon"}, "stage_limits.arrival"),
])
def test_bad_stage_limits_name_the_path(limits, where):
    data = gridsim.load_scenario().to_data()
    data["stage_limits"] = limits
    with pytest.raises(ScenarioError) as e:
        validate_data(data, "<test>")
    assert where in str(e.value)


@pytest.mark.parametrize("limit, shift", [("3wh", "office"), ("1wh", "patrol"), ("2wd", None),
                                          ("45min", None), ("7wh", "always")])
def test_due_times_on_arrays_are_the_calendars_own(limit, shift):
    """The stage clock computes due times for a chunk at once; they are the floats the
    calendar gives one at a time (weekends, holidays, lunch breaks, past the calendar's end)."""
    from gridsim.model.stages import vector_due
    from gridsim.plan import compile_plan
    from gridsim.units import parse_duration

    s = scenario()
    cal = compile_plan(s).calendars
    d = parse_duration(limit)
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(-30, 60 * 24, 4000), np.arange(0, 24 * 14, 0.25),
                        [s.horizon.hours + 5000.0]])
    expected = np.array([cal.after(x, d, shift) for x in t])
    np.testing.assert_array_equal(vector_due(cal, d, shift or "office")(t), expected)
