"""Record level ``events``: the event log agrees with the issue table case by case, does not
change the simulation, and is the same in memory, streamed and sharded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analytic import fcfs_start_times, mmc_of
from conftest import with_backlog

import gridsim
from gridsim.model.trace import EVENTS
from gridsim.results.stream import read_events

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
KEY = ["district", "district_seq"]
COLUMNS = ["issue_id", "district", "district_seq", "step", "time", "event", "tier", "unit"]


@pytest.fixture(scope="module")
def month(default_scenario) -> gridsim.Scenario:
    return default_scenario.with_overrides({"horizon": "30d", "warmup": "5d"})


@pytest.fixture(scope="module")
def plain(month) -> gridsim.Result:
    return gridsim.simulate(month, seed=5)


@pytest.fixture(scope="module")
def traced(month) -> gridsim.Result:
    return gridsim.simulate(month, seed=5, record="events")


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """``assert_frame_equal``, with categoricals compared by categories and codes (pandas
    compares them value by value, seconds per event log)."""
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_index_equal(a.index, b.index)
    for col in a.columns:
        x, y = a[col], b[col]
        if isinstance(x.dtype, pd.CategoricalDtype):
            assert isinstance(y.dtype, pd.CategoricalDtype), col
            assert list(x.cat.categories) == list(y.cat.categories), col
            np.testing.assert_array_equal(x.cat.codes, y.cat.codes, err_msg=col)
        else:
            pd.testing.assert_series_equal(x, y)


def check_log(issues: pd.DataFrame, events: pd.DataFrame) -> None:
    """Every invariant that ties the event log to the issue table, case by case."""
    assert list(events.columns) == COLUMNS
    assert list(events["event"].cat.categories) == list(EVENTS)
    assert events["issue_id"].between(0, len(issues) - 1).all()
    by_case = events.sort_values(["issue_id", "step"], ignore_index=True)
    case = by_case["issue_id"].to_numpy()
    # steps number each case's rows 0, 1, ..., in non-decreasing time
    n = np.bincount(case, minlength=len(issues))
    starts = np.concatenate([[0], np.cumsum(n)[:-1]])
    assert (by_case["step"].to_numpy() == np.arange(len(case)) - starts[case]).all()
    same = case[1:] == case[:-1]
    assert (np.diff(by_case["time"].to_numpy())[same] >= 0).all()
    # the log is in time order, then district, district_seq, step
    assert events["time"].is_monotonic_increasing

    iss = issues.set_index("issue_id")

    def count(kind: str) -> pd.Series:
        rows = by_case[by_case["event"] == kind]
        return rows.groupby("issue_id").size().reindex(iss.index, fill_value=0)

    def times(kind: str, how: str = "first") -> pd.Series:
        rows = by_case[by_case["event"] == kind]
        return rows.groupby("issue_id")["time"].agg(how).reindex(iss.index)

    # one creation each, at t_created; one discovery at t_discovered when there was one
    assert (count("created") == 1).all()
    np.testing.assert_array_equal(times("created"), iss["t_created"])
    assert (count("discovered") == iss["t_discovered"].notna()).all()
    np.testing.assert_array_equal(times("discovered"), iss["t_discovered"])
    uploaded = count("uploaded")
    assert uploaded.max() == 1
    np.testing.assert_array_equal(times("uploaded")[uploaded == 1],
                                  iss["t_uploaded"][uploaded == 1])
    # closed cases close once, at t_closed; open ones not at all; each reopen by the resident's
    # callback follows a closure (gridsim.model.resident)
    closed = iss["state"] == "closed"
    assert (count("closed") == closed + iss["callback_reopens"]).all()
    np.testing.assert_array_equal(times("closed", "last")[closed], iss["t_closed"][closed])
    # escalations, reopens, bounces
    np.testing.assert_array_equal(count("escalated") + count("deadline"), iss["escalations"])
    np.testing.assert_array_equal(count("reopened"), iss["reopens"])
    np.testing.assert_array_equal(count("bounced"), iss["bounces"])
    # solved: once per attempt that was verified or is being verified; the last at t_solved;
    # a round of handling ends solved or closed with an explanation
    solved = closed & iss["solved_in_fact"]
    np.testing.assert_array_equal(times("solved", "last")[solved], iss["t_solved"][solved])
    assert (count("solved")[closed] + count("explained")[closed]
            == iss["reopens"][closed] + 1).all()
    # first entry into every tier (t_enter_<tier>), departments called and on site
    for tier in ("community", "street", "district", "joint", "city"):
        rows = by_case[(by_case["event"] == "entered") & (by_case["tier"] == tier)]
        first = rows.groupby("issue_id")["time"].first().reindex(iss.index)
        np.testing.assert_array_equal(first, iss[f"t_enter_{tier}"], err_msg=tier)
    np.testing.assert_array_equal(times("dept_called"), iss["t_dept_called"])
    np.testing.assert_array_equal(times("dept_onsite", "min"), iss["t_dept_onsite"])
    # a queued case's next row is started at the same unit, or its deadline, or nothing
    nxt = by_case.groupby("issue_id")[["event", "unit", "time"]].shift(-1)
    queued = by_case["event"] == "queued"
    after = nxt["event"][queued]
    assert (after.isna() | after.isin(["started", "deadline", "overdue"])).all()
    started = queued & (nxt["event"] == "started")
    assert (nxt["unit"][started] == by_case["unit"][started]).all()
    assert (nxt["time"][started] >= by_case["time"][started]).all()
    assert by_case["unit"][queued | (by_case["event"] == "started")].notna().all()


def test_recording_events_does_not_change_the_run(plain, traced):
    assert plain.events is None
    assert traced.record == {"level": "events", "stream": False}
    pd.testing.assert_frame_equal(traced.issues, plain.issues)
    pd.testing.assert_frame_equal(traced.kpis, plain.kpis)
    pd.testing.assert_frame_equal(traced.load, plain.load)
    assert traced.manifest["events"] == plain.manifest["events"]  # same clock events
    assert traced.manifest["record"]["events_file"] == "events.parquet"
    assert plain.manifest["record"]["events_file"] is None


def test_event_log_agrees_with_the_issue_table(traced):
    ev = traced.events
    check_log(traced.issues, ev)
    kinds = set(ev["event"].astype(str))
    assert {"created", "discovered", "uploaded", "entered", "queued", "started", "escalated",
            "dept_called", "dept_onsite", "solved", "reopened", "closed"} <= kinds
    # rows of triage and verification belong to no tier; fixed on the spot: tier grid
    centre = ev["unit"].astype(str).str.endswith("/centre")
    assert ev["tier"][centre].isna().all()
    assert (ev["tier"] == "grid").any()


@pytest.mark.parametrize("policy", ["baseline", "whistle"])
def test_event_log_under_other_policies(month, policy):
    s = month.with_overrides({"policy.name": policy})
    r = gridsim.simulate(s, seed=2, record="events")
    pd.testing.assert_frame_equal(r.issues, gridsim.simulate(s, seed=2).issues)
    check_log(r.issues, r.events)
    kinds = set(r.events["event"].astype(str))
    if policy == "baseline":
        assert "bounced" in kinds
    else:  # the departments go jointly: one on-site row per visit, no unit
        onsite = r.events[r.events["event"] == "dept_onsite"]
        assert len(onsite) and onsite["unit"].isna().all()


def test_deadlines_and_retries_are_logged(month):
    s = month.with_overrides({"horizon": "60d", "policy.four_tier.tier_deadlines.community": "1h",
                              "policy.four_tier.tier_deadlines.street": "2h",
                              "policy.four_tier.retry_delay": "3d"})
    # the city solves only half, so that some cases fail at the top tier and are retried
    s = s.with_overrides({f"categories.{c}.solve.city": 0.5 for c in s.categories})
    r = gridsim.simulate(s, seed=1, record="events")
    check_log(r.issues, r.events)
    kinds = r.events["event"].value_counts()
    assert kinds["deadline"] > 0 and kinds["unsolved"] > 0 and kinds["retry"] > 0


def test_backlog_cases_are_logged_from_their_past(tmp_path, default_scenario):
    s = with_backlog(default_scenario, tmp_path, community=3, district=2, horizon="10d")
    r = gridsim.simulate(s, seed=1, record="events")
    check_log(r.issues, r.events)
    old = r.issues["issue_id"][r.issues["t_created"] < 0]
    first = r.events[r.events["issue_id"].isin(old)].sort_values(["issue_id", "step"])
    head = first.groupby("issue_id")["event"].apply(lambda e: list(e.astype(str))[:4])
    assert all(h == ["created", "discovered", "uploaded", "entered"] for h in head)


def test_queued_to_started_waits_match_the_mmc_queue():
    """At the M/M/c community pool, when each case started work is known from the issue table
    (FCFS replay of arrivals and departures): the event log's start times are exactly those,
    and the mean wait is near Erlang C's Wq."""
    s = gridsim.load_scenario(MMC).with_overrides({"horizon": "600h", "warmup": "50h"})
    r = gridsim.simulate(s, seed=3, record="events")
    q = mmc_of(s)
    iss = r.issues.set_index("issue_id")
    ev = r.events[r.events["tier"] == "community"]
    began = ev[ev["event"] == "started"].groupby("issue_id")["time"].first()
    enter, leave = iss["t_enter_community"].to_numpy(), iss["t_leave_community"].to_numpy()
    done = ~np.isnan(leave)
    replay = pd.Series(fcfs_start_times(enter[done], leave[done], q.c), iss.index[done])
    settled = replay.index[enter[done] < s.horizon.hours - 48]  # the replay ignores the open
    assert len(settled) > 4000
    np.testing.assert_allclose(began[settled], replay[settled], rtol=0, atol=1e-9)
    # waits from queued -> started pairs (cases that found a free server waited zero)
    queued = ev[ev["event"] == "queued"].set_index("issue_id")["time"]
    waits = began.reindex(queued.index) - queued
    assert (waits.dropna() >= 0).all()
    measured = settled[iss["t_enter_community"][settled] >= s.warmup.hours]
    wq = waits.reindex(measured, fill_value=0.0).fillna(0.0).mean()
    assert wq == pytest.approx(float(np.mean((replay - iss["t_enter_community"][done])
                                             .reindex(measured))), abs=1e-9)
    assert abs(wq - q.wq) < 0.35 * q.wq  # one 600-hour run at rho = 0.9: a loose band


def test_streamed_event_log_equals_the_in_memory_one(month, traced, tmp_path):
    import pyarrow.parquet as pq

    s = month.with_overrides({"record.stream": True, "record.chunk": 5000})
    r = gridsim.simulate(s, seed=5, record="events", spool_dir=tmp_path / "spool")
    assert r.record == {"level": "events", "stream": True}
    (path,) = r.event_files.paths
    assert pq.ParquetFile(path).metadata.num_row_groups == -(-len(traced.events) // 5000)
    raw = pd.read_parquet(path)  # in logging order, issue_id empty
    assert list(raw.columns) == COLUMNS and raw["issue_id"].isna().all()
    order = ["time", *KEY, "step"]
    same(raw.drop(columns="issue_id").sort_values(order, ignore_index=True, kind="stable"),
         traced.events.drop(columns="issue_id"))
    assert r._events is None
    same(r.events, traced.events)
    pd.testing.assert_frame_equal(r.issues, traced.issues)
    pd.testing.assert_frame_equal(r.kpis, traced.kpis)
    out = r.write(tmp_path / "run", plot=False)
    assert r.event_files.paths == [out / "events.parquet"]
    assert sorted(p.name for p in out.glob("*.parquet")) == ["events.parquet", "issues.parquet",
                                                             "load.parquet"]
    same(read_events(r.event_files), traced.events)


def test_in_memory_event_log_is_written(traced, tmp_path):
    out = traced.write(tmp_path / "run", plot=False)
    back = pd.read_parquet(out / "events.parquet")
    same(back, traced.events)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["record"]["level"] == "events"
    assert manifest["record"]["issues_file"] == "issues.parquet"
    assert manifest["record"]["events_file"] == "events.parquet"
    assert json.loads((out / "summary.json").read_text())["record"]["level"] == "events"


def test_sharded_event_logs_equal_the_unsharded_one(three, tmp_path):
    whole = gridsim.simulate(three, seed=4, record="events")
    assert whole.events["district"].nunique() == 3
    check_log(whole.issues, whole.events)
    parts = gridsim.simulate(three, seed=4, shards=3, workers=2, record="events")
    pd.testing.assert_frame_equal(parts.issues, whole.issues)
    same(parts.events, whole.events)

    streamed = gridsim.simulate(three.with_overrides({"record.stream": True}), seed=4,
                                shards=2, workers=2, record="events",
                                spool_dir=tmp_path / "spool")
    assert [p.name for p in streamed.event_files.paths] == ["part-000.parquet",
                                                            "part-001.parquet"]
    out = streamed.write(tmp_path / "run", plot=False)
    folder = out / "events.parquet"
    assert sorted(p.name for p in folder.iterdir()) == ["part-000.parquet", "part-001.parquet"]
    assert streamed.event_files.paths[0].parent == folder
    assert len(pd.read_parquet(folder)) == len(whole.events)
    same(streamed.events, whole.events)
    pd.testing.assert_frame_equal(streamed.issues, whole.issues)


def test_cli_record_events(run_cli, tmp_path, capsys):
    from gridsim.cli import main

    base = ["run", "--set", "horizon=10d", "--set", "warmup=2d", "-q", "--no-plots"]
    for name, extra in (("m", []), ("s", ["--stream"])):
        proc = run_cli(*base, "--record", "events", *extra, "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        out = tmp_path / name
        events = pd.read_parquet(out / "events.parquet")
        issues = pd.read_parquet(out / "issues.parquet")
        assert len(issues) == (events["event"] == "created").sum() > 0
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["record"]["events_file"] == "events.parquet"
        assert manifest["record"]["stream"] == bool(extra)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m", "s"]  # nothing spooled left

    capsys.readouterr()
    assert main([*base, "--record", "event", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "record.level" in err and "did you mean 'events'" in err
    assert main([*base, "--record", "kpis", "--stream", "--out", str(tmp_path / "bad")]) == 2
    assert "'issues' or 'events'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--help"])
    assert exit_.value.code == 0
    assert "events (the case rows plus an event log" in " ".join(capsys.readouterr().out.split())


def test_a_callback_sees_every_row_of_the_event_log(month, three):
    """One event stream: a user's ``on_event`` listener gets exactly the transitions the event
    log records (same kinds, times, tiers and units, in the same order), whatever the record
    level, and listening changes nothing in the run."""
    from gridsim.model.trace import Event

    s = month.with_overrides({"horizon": "10d", "warmup": "1d"})
    seen: list[Event] = []
    r = gridsim.simulate(s, seed=5, record="events", on_event=seen.append)
    ev = r.events.sort_values(["district", "district_seq", "step"], ignore_index=True)
    got = pd.DataFrame([(e.district, e.district_seq, e.time, e.kind, e.tier, e.unit)
                        for e in seen],
                       columns=["district", "district_seq", "time", "event", "tier", "unit"])
    got = got.sort_values(["district", "district_seq"], kind="stable", ignore_index=True)
    assert len(got) == len(ev) > 0
    def names(col: pd.Series) -> list:
        return [None if pd.isna(v) else str(v) for v in col]

    for col in ("district", "event", "tier", "unit"):
        assert names(got[col]) == names(ev[col]), col
    np.testing.assert_array_equal(got["time"], ev["time"])
    np.testing.assert_array_equal(got["district_seq"], ev["district_seq"])
    assert {e.category for e in seen} <= set(s.categories)
    quiet = gridsim.simulate(s, seed=5, record="kpis", on_event=lambda e: None)
    pd.testing.assert_frame_equal(quiet.kpis, gridsim.simulate(s, seed=5, record="kpis").kpis)
    with pytest.raises(ValueError, match="unsharded"):
        gridsim.simulate(three, seed=5, shards=2, on_event=seen.append)
