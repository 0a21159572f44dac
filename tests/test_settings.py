"""Settings that must never be silently ignored (issue 13): the backlog CSV, calendars of
meetings and working-time deadlines, and the one definition of "on time"."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
     r"line 2: column age: .*not a finite duration"),
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
