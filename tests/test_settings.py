"""Settings that must never be silently ignored (issue 13): the backlog CSV, calendars of
meetings and working-time deadlines, and the one definition of "on time"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import gridsim

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = (ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8")
HEADER = "category,district,street,community,grid,tier,age\n"
GOOD = "garbage_overflow,Riverside,0,1,2,community,3d\n"


def validate(tmp_path: Path, backlog: bytes | None, *, folder: bool = False) \
        -> subprocess.CompletedProcess:
    """``python -m gridsim validate-scenario`` on the default scenario with a backlog file."""
    tmp_path.mkdir(exist_ok=True)
    csv = tmp_path / "backlog.csv"
    if folder:
        csv.mkdir()
    elif backlog is not None:
        csv.write_bytes(backlog)
    path = tmp_path / "s.yaml"
    path.write_text(DEFAULT + "\ninitial_backlog: backlog.csv\n", encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "gridsim", "validate-scenario", str(path)],
                          capture_output=True, text=True, timeout=120)


def one_problem(proc: subprocess.CompletedProcess) -> str:
    """The single problem line of a refused scenario (exit 2, no traceback)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2 and "(1 problem)" in lines[0], proc.stderr
    assert "backlog.csv" in lines[1]
    return lines[1]


@pytest.mark.parametrize("content, expected", [
    (HEADER + "garbage_overflow,Riverside,0,1\n",
     r"line 2: row has 4 field\(s\), the header has 7"),
    (b"\x00\x01PK\x03\x04binary" * 10, r"binary content"),
    (b"\xff\xfe" + HEADER.encode("utf-16-le"), r"UTF-16 text: save the file as 'CSV UTF-8'"),
    (HEADER.encode() + "é,Riverside".encode("latin-1"), r"not UTF-8 text \(byte 49\)"),
    (b"", r"file is empty: expected a header line 'category,district"),
    ("category\tdistrict\tstreet\ttier\tage\n", r"line 1: cannot find the columns.*by commas"),
    (HEADER + GOOD + "garbage_overflow,Riverside,0,1,2,communty,3d\n",
     r"line 3: column tier: 'communty' is not one of .*did you mean 'community'"),
    (HEADER + "garbage_overflow,Riverside,-1,1,2,community,3d\n",
     r"line 2: column street: .*greater than or equal to 0"),
    (HEADER + "garbage_overflow,Riverside,0,1,2,community,6wh\n",
     r"line 2: column age: age '6wh' is working time, which cannot be counted before"),
    (HEADER + "garbage_overflow,Riverside,0,1,2,community,1e999h\n",
     r"line 2: column age: .*longer than the limit"),
    ("category,district,street,community,grid,tier,age,notes\n",
     r"line 1: column 'notes': unknown column"),
    (HEADER + GOOD + GOOD.replace("Riverside", "Rivreside"),
     r"line 3: column district: unknown district 'Rivreside' \(did you mean 'Riverside'"),
])
def test_bad_backlog_gets_one_row_numbered_line(tmp_path, content, expected):
    import re

    data = content.encode("utf-8") if isinstance(content, str) else content
    line = one_problem(validate(tmp_path, data))
    assert re.search(expected, line), line


def test_backlog_folder_and_missing_file_are_one_line(tmp_path):
    assert "is a folder, not a CSV file" in one_problem(validate(tmp_path, None, folder=True))
    assert "backlog file not found" in one_problem(validate(tmp_path / "b", None))


def test_excel_bom_and_semicolons_are_read(tmp_path):
    """Excel's "CSV UTF-8" starts with a byte-order mark; Excel in a decimal-comma locale
    separates fields with semicolons. Both are accepted and read the same cases."""
    from gridsim.scenario.backlog import read_backlog

    scenario = gridsim.load_scenario()
    plain = tmp_path / "plain.csv"
    plain.write_text(HEADER + GOOD, encoding="utf-8")
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (HEADER + GOOD).encode("utf-8"))
    semi = tmp_path / "semi.csv"
    semi.write_text((HEADER + GOOD).replace(",", ";"), encoding="utf-8")
    expected = read_backlog(plain, scenario)
    assert len(expected) == 1 and expected[0].age_hours == 72
    assert read_backlog(bom, scenario) == expected
    assert read_backlog(semi, scenario) == expected
    proc = validate(tmp_path, b"\xef\xbb\xbf" + (HEADER + GOOD).encode("utf-8"))
    assert proc.returncode == 0, proc.stderr


def test_one_definition_of_on_time():
    """The on-time KPI is the share of ``on_time`` among the cohort's cases: a case still open
    after its deadline is late in both (it used to be NA in the table), one whose deadline lies
    beyond the end is undecided in both, and ``units.csv`` counts the same overdue cases."""
    s = gridsim.load_scenario().with_overrides({"horizon": "30d", "warmup": "5d"})
    r = gridsim.simulate(s, seed=3)
    issues = r.issues
    horizon = s.horizon.hours
    overdue = (issues["state"] != "closed") & (issues["deadline"] <= horizon)
    assert overdue.any()
    assert not issues.loc[overdue, "on_time"].any() and issues.loc[overdue, "on_time"].notna().all()
    assert issues.loc[issues["deadline"] > horizon, "on_time"].isna().all()
    cohort = issues[issues["t_created"] >= s.warmup.hours]
    assert cohort["on_time"].mean() == pytest.approx(r.kpi("on_time_rate"), abs=1e-12)
    units = r.units()
    assert units.loc[units["level"] == "grid", "overdue_end"].sum() == overdue.sum()


# ---------------------------------------------------------------- calendars of meetings, deadlines
def meeting_times(s: gridsim.Scenario, until: float) -> dict[str, list[float]]:
    """When each meeting of ``s`` sits during the first ``until`` hours."""
    from gridsim.model.clock import Clock
    from gridsim.model.org import build
    from gridsim.model.pools import Meeting
    from gridsim.plan import compile_plan

    times: dict[str, list[float]] = {}

    class Watched(Meeting):
        __slots__ = ()

        def _meet(self, arg):
            times.setdefault(self.name, []).append(self.env.now)
            super()._meet(arg)

    clock = Clock()
    build(clock, compile_plan(s), None, None, meeting_cls=Watched)
    clock.run(until)
    return times


def test_a_24_7_joint_consultation_meets_on_its_own_cadence():
    """Issue 13: a 24/7 joint consultation "every 84 h" met at alternating gaps of 91 h and 77 h
    (it was moved onto a shift named ``office``). It meets on ``roles.joint``'s shift."""
    import numpy as np

    s = gridsim.load_scenario().with_overrides({
        "roles.joint": "always", "roles.city": "always",
        "districts[0].joint_consultation.every": "84h",
        "districts[0].joint_consultation.offset": "3d"})
    times = meeting_times(s, 2000)
    joint = np.asarray(times["Riverside/joint"])
    assert len(joint) > 20
    assert np.allclose(np.diff(joint), 84) and joint[0] == pytest.approx(72)
    city = np.asarray(times["city"])
    assert np.allclose(np.diff(city), 720) and city[0] == pytest.approx(240)
    # on office hours, a meeting due off shift waits for the next working moment
    office = np.asarray(meeting_times(s.with_overrides({"roles.joint": "office"}), 2000)
                        ["Riverside/joint"])
    assert not np.allclose(np.diff(office), 84)


def _with_office_named(name: str) -> gridsim.Scenario:
    """The default scenario with a 7-day 09:00-18:00 office shift called ``name``, every role
    and department on it, and 22.5-working-hour deadlines."""
    base = gridsim.load_scenario()
    data = base.to_data()
    data["calendar"]["shifts"] = {name: {"days": "all", "hours": ["09:00-18:00"]},
                                  "patrol": {"days": "all", "hours": ["08:00-12:00",
                                                                      "14:00-18:00"]}}
    data["roles"] = {r: name for r in ("community", "centre", "enforcement", "office", "joint",
                                       "city")} | {"grid_worker": "patrol"}
    for d in [*data["departments"].values(), *data.get("city_departments", {}).values(),
              *(data["hotline"].get("front_end") or {}).get("seats", [])]:
        d["shift"] = name
    for c in data["categories"].values():
        c["deadline"] = "22.5wh"
    data["policy"]["four_tier"] = {"tier_deadlines": {t: "22.5wh" for t in
                                                      ("community", "street", "district",
                                                       "joint")}}
    data.update(horizon="20d", warmup="0d")
    from gridsim.scenario.loader import validate_data

    return validate_data(data, "<test>")


def test_working_hour_deadlines_do_not_depend_on_a_shift_name():
    """Issue 13: renaming ``office`` to ``desk`` moved a 22.5wh deadline from 110 h to 92 h (the
    deadline fell back to a built-in Mon-Fri calendar). It counts on the shift of the role
    doing the work, whatever it is called: the runs are identical."""
    from gridsim.plan.calendar import Calendars
    from gridsim.units import Duration

    office, desk = _with_office_named("office"), _with_office_named("desk")
    a, b = gridsim.simulate(office, seed=2), gridsim.simulate(desk, seed=2)
    assert len(a.issues) > 1000
    pd.testing.assert_frame_equal(a.issues, b.issues)
    pd.testing.assert_frame_equal(a.kpis, b.kpis)
    # reported on Monday 10:00 on a 9-hour day: 8 h Monday, 9 h Tuesday, 5.5 h Wednesday
    cal = Calendars(desk.calendar, desk.horizon.hours)
    assert cal.after(10.0, Duration(22.5, "wh"), "desk") == pytest.approx(48 + 14.5)
    row = a.issues[a.issues["t_uploaded"] > 0].iloc[0]
    assert row["deadline"] == pytest.approx(cal.after(row["t_uploaded"], Duration(22.5, "wh"),
                                                      "desk"))


def test_deadline_shift_fields_name_the_calendar():
    """``categories.<c>.deadline_shift`` and ``policy.four_tier.tier_deadlines.shift`` move
    working-hour deadlines onto the named shift, and an unknown shift is refused."""
    s = _with_office_named("desk")
    base = gridsim.simulate(s, seed=2).issues
    moved = gridsim.simulate(s.with_overrides({
        f"categories.{c}.deadline_shift": "patrol" for c in s.categories}), seed=2).issues
    assert not (base["deadline"] == moved["deadline"]).all()
    tiers = gridsim.simulate(s.with_overrides({"policy.four_tier.tier_deadlines.shift":
                                               "patrol"}), seed=2).issues
    assert not base["escalations"].equals(tiers["escalations"])
    with pytest.raises(gridsim.ScenarioError, match="unknown shift 'dsk'.*did you mean 'desk'"):
        s.with_overrides({"policy.four_tier.tier_deadlines.shift": "dsk"})


# ---------------------------------------------------------------- top-level street overrides
def test_top_level_street_overrides_act_in_every_district():
    """``streets.overrides`` was accepted and ignored. Street k is, from least to most
    specific: the template, the district's template changes, ``streets.overrides[k]``, the
    district's ``streets.overrides[k]``."""
    from gridsim.scenario.expand import expand

    s = gridsim.load_scenario().with_overrides({
        "streets.count": 3,
        "streets.overrides": {1: {"communities": 2, "staff": {"enforcement": 30, "office": 9}}},
        "districts": [
            {"name": "A", "streets": {"staff": {"enforcement": 20}}},
            {"name": "B", "streets": {"overrides": {1: {"staff": {"enforcement": 5}}}}}],
        "city.per_district": True})
    a, b = expand(s)
    assert [st.staff.enforcement for st in a.streets] == [20, 30, 20]
    assert [st.staff.enforcement for st in b.streets] == [12, 5, 12]
    assert a.streets[1].communities == b.streets[1].communities == 2
    assert a.streets[1].staff.office == b.streets[1].staff.office == 9
    # a street no district has: ignored (the default's profiled streets 3 and 5 outlive
    # streets.count=2); a district's own override of a missing street is still refused
    a, b = expand(s.with_overrides({"streets.overrides": {3: {"communities": 2}}}))
    assert len(a.streets) == len(b.streets) == 3
    with pytest.raises(gridsim.ScenarioError, match=r"districts\[1\].streets.overrides.3: "
                                                    r"street index 3 out of range"):
        s.with_overrides({"districts[1].streets.overrides": {3: {"communities": 2}}})
    with pytest.raises(gridsim.ScenarioError,
                       match=r"streets.overrides\[1\].count: unknown key .count."):
        s.with_overrides({"streets.overrides": {1: {"count": 2}}})
