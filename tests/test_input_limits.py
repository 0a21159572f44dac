"""Input that must be refused quickly: hostile YAML, models too large to build, values beyond any
sense. Each gets one line naming the file, the line and the YAML path, exit code 2, in seconds,
with bounded memory and nothing written."""

from __future__ import annotations

import datetime as dt
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gridsim
from gridsim.cli import main
from gridsim.scenario import ScenarioError, load_scenario, size
from gridsim.scenario.yamlread import MAX_FILE_BYTES
from gridsim.units import parse_age, parse_duration

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
DEFAULT = (SCENARIOS / "default.yaml").read_text(encoding="utf-8")
MEGACITY = SCENARIOS / "bench" / "megacity.yaml"


def variant(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DEFAULT, f"test fixture out of date: {old!r} not in default.yaml"
    path = tmp_path / "bad.yaml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    return path


def cli(capsys, *args: str) -> tuple[int, str, float]:
    """``gridsim ARGS`` in this process: exit code, stderr, seconds."""
    t0 = time.perf_counter()
    code = main(list(args))
    return code, capsys.readouterr().err, time.perf_counter() - t0


def _limit_memory() -> None:  # in the child: 3 GiB of address space (the old reader took 5+)
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


def gridsim_bounded(*args: str) -> subprocess.CompletedProcess:
    """``python -m gridsim ARGS`` with bounded memory and time, as a user would run it."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}  # no per-core
    return subprocess.run([sys.executable, "-m", "gridsim", *args], capture_output=True,
                          text=True, timeout=60, preexec_fn=_limit_memory, env=env)


# ------------------------------------------------------------------------------------ YAML
LAUGHS = "name: lol\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi",
                                                                strict=True))


def test_billion_laughs_is_refused_quickly_with_bounded_memory(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert len(LAUGHS) < 500
    t0 = time.perf_counter()
    proc = gridsim_bounded("validate-scenario", str(path))
    assert time.perf_counter() - t0 < 10  # interpreter start-up included
    assert proc.returncode == 2, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr
    assert re.search(rf"{re.escape(str(path))}.*\n  line \d+: .*more than 100,000 values once "
                     r"its aliases are expanded", proc.stderr), proc.stderr


HOSTILE_YAML = {
    "deep nesting": ("name: deep\nx: " + "[" * 5000 + "]" * 5000 + "\n",
                     r"line 2: x(\[0\])+: nesting deeper than 32 levels"),
    "deep through aliases": ("name: chain\nk0: &k0 [1]\n" + "".join(
        f"k{i}: &k{i} [*k{i - 1}]\n" for i in range(1, 60)), r"line \d+: k\d+: nesting deeper "
                                                               r"than 32 levels once its aliases"),
    "recursive alias": ("name: loop\na: &a [1, *a]\n", r"line 2: alias \*a refers to .* "
                                                        r"recursive alias"),
    "duplicate top-level key": ("name: a\nseed: 1\nname: b\n",
                                r"line 3: name: key 'name' is given twice \(lines 1 and 3\)"),
    "a control character": ("name: a\nseed: 1\x00\n",
                            r"line 2: malformed YAML: control characters are not allowed"),
    "a key twice in one flow mapping": ("{name: a, name: b}\n",
                                        r"line 1: name: key 'name' is given twice on line 1"),
    "a number of thousands of digits": ("name: a\nseed: " + "9" * 5000 + "\n",
                                        r"a number with thousands of digits"),
}


@pytest.mark.parametrize("case", list(HOSTILE_YAML))
def test_hostile_yaml_is_refused_with_its_line(tmp_path, capsys, case):
    text, pattern = HOSTILE_YAML[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    code, err, seconds = cli(capsys, "validate-scenario", str(path))
    assert code == 2 and seconds < 2, err
    assert err.startswith(f"{path}: invalid scenario (1 problem)")
    assert re.search(pattern, err), err


def test_duplicate_key_in_the_scenario_names_both_lines_and_the_path(tmp_path, capsys):
    path = variant(tmp_path, "    reopen: 0.05\n", "    reopen: 0.05\n    reopen: 0.5\n")
    lines = path.read_text().splitlines()
    first = lines.index("    reopen: 0.05") + 1
    code, err, _ = cli(capsys, "validate-scenario", str(path))
    assert code == 2
    assert f"line {first + 1}: categories.garbage_overflow.reopen: key 'reopen' is given twice " \
           f"(lines {first} and {first + 1})" in err, err


def test_oversized_file_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text(DEFAULT + "#" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    code, err, seconds = cli(capsys, "validate-scenario", str(path))
    assert code == 2 and seconds < 2
    assert "larger than the limit of 1,048,576 bytes" in err


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_file_is_refused():
    proc = gridsim_bounded("validate-scenario", "/dev/zero")
    assert proc.returncode == 2, proc.stderr[-300:]
    assert "larger than the limit" in proc.stderr


def test_small_aliases_and_merge_keys_are_allowed(tmp_path):
    text = DEFAULT.replace("triage_time: {dist: lognormal, mean: 10min, sd: 6min}",
                           "triage_time: &quick {dist: lognormal, mean: 10min, sd: 6min}")
    text = text.replace("verify_time: {dist: lognormal, mean: 20min, sd: 10min}",
                        "verify_time: {<<: *quick, sd: 5min}")
    path = tmp_path / "aliases.yaml"
    path.write_text(text, encoding="utf-8")
    s = load_scenario(path)
    assert s.verify_time == s.triage_time.model_copy(update={"sd": parse_duration("5min")})


def test_override_values_have_the_same_limits():
    levels = ["&a [x, x, x, x, x, x, x, x, x]"] + [
        f"&{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    with pytest.raises(ValueError, match="more than 100,000 values"):
        gridsim.scenario.parse_override(f"description=[{', '.join(levels)}]")


def test_dates_are_text_until_the_schema_reads_them(tmp_path, capsys):
    path = variant(tmp_path, "holidays: [2026-02-16..2026-02-22,",
                   "holidays: [2026-02-16, 2026-02-17..2026-02-22,")
    assert dt.date(2026, 2, 16) in load_scenario(path).calendar.holiday_dates()
    out = tmp_path / "out"  # a --set date reaches the manifest as text
    code, err, _ = cli(capsys, "run", "--set", "calendar.start=2026-01-05", "--set",
                       "horizon=3d", "--set", "warmup=0d", "-q", "--no-plots", "--out", str(out))
    assert code == 0, err
    assert '"calendar.start": "2026-01-05"' in (out / "manifest.json").read_text()


def test_line_numbers_survive_the_new_reader(tmp_path, capsys):
    path = variant(tmp_path, "    reopen: 0.08", "    reopen: 8")
    line = path.read_text().splitlines().index("    reopen: 8") + 1
    code, err, _ = cli(capsys, "validate-scenario", str(path))
    assert code == 2 and f"line {line}: categories.property_dispute.reopen" in err, err


# ------------------------------------------------------------------------------------ sizes
TOO_LARGE = {
    "10^9 grids": (["--set", "streets.count=10000", "--set", "streets.communities=10000",
                    "--set", "streets.grids_per_community=10", "--set", "streets.staff.centre=1"],
                   r"too large.*1,000,000,000 grids"),
    "10^12 households": (["--set", "streets.count=1000", "--set", "streets.communities=1000",
                          "--set", "streets.households_per_grid=1000000",
                          "--set", "streets.grids_per_community=1"],
                         r"too large: about 44\.2 billion cases over the horizon"),
    "10^4 districts": (["--set", "districts[0].count=10000"],
                       r"too large: about .* cases over the horizon.*limit is .* cases"),
}


@pytest.mark.parametrize("case", list(TOO_LARGE))
def test_a_model_too_large_is_refused_before_it_is_built(tmp_path, capsys, case):
    args, pattern = TOO_LARGE[case]
    out = tmp_path / "out"
    for cmd in (["run", "--out", str(out)], ["replicate", "-n", "2", "--out", str(out)]):
        code, err, seconds = cli(capsys, *cmd, *args)
        assert code == 2 and seconds < 2, err
        assert re.search(pattern, err), err
        assert "Traceback" not in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_counts_that_size_arrays_are_bounded_in_the_schema(capsys):
    code, err, _ = cli(capsys, "validate-scenario", str(SCENARIOS / "default.yaml"),
                       "--set", "streets.grids_per_community=1000000000")
    assert code == 2
    assert "streets.grids_per_community: Input should be less than or equal to 10000" in err


def test_allow_large_lifts_the_limit(monkeypatch, short_scenario, tmp_path, capsys):
    monkeypatch.setattr(size, "MAX_CASES", 100)
    with pytest.raises(size.ScenarioTooLarge, match="limit is 100 cases"):
        gridsim.simulate(short_scenario)
    with pytest.raises(size.ScenarioTooLarge):
        gridsim.replicate(short_scenario, 2)
    assert gridsim.simulate(short_scenario, allow_large=True).manifest["issues_created"] > 100
    small = short_scenario.with_overrides({"horizon": "3d", "warmup": "0d", "streets.count": 1})
    assert len(gridsim.replicate(small, 2, allow_large=True, workers=1).kpis)
    code, err, _ = cli(capsys, "run", "--set", "horizon=3d", "--set", "warmup=0d", "-q",
                       "--no-plots", "--out", str(tmp_path / "a"))
    assert code == 2 and "limit is 100 cases" in err
    code, err, _ = cli(capsys, "run", "--set", "horizon=3d", "--set", "warmup=0d", "-q",
                       "--no-plots", "--out", str(tmp_path / "a"), "--allow-large")
    assert code == 0, err


def test_allow_large_does_not_lift_the_hard_ceiling(capsys, tmp_path):
    code, err, _ = cli(capsys, "run", "--allow-large", "--out", str(tmp_path / "o"),
                       "--set", "streets.count=10000", "--set", "districts[0].count=10000")
    assert code == 2 and "far too large to simulate" in err and "even with --allow-large" in err


def test_the_bundled_megacity_fits_the_limits_at_its_own_level():
    s = load_scenario(MEGACITY)
    est = size.check_size(s)
    assert est.level == "issues" and est.grids == 45_600 and est.districts == 15
    assert 9.5e6 < est.cases < 1.05e7  # 9.8 million a year (README: 9.8 million)
    assert est.memory < size.MAX_MEMORY / 2 and est.cases < size.MAX_CASES / 5  # headroom


def test_estimate_matches_a_run(short_result, short_scenario):
    est = size.estimate(short_scenario)
    created = short_result.manifest["issues_created"]
    assert abs(est.cases - created) < 0.05 * created
    assert est.grids == 384 and est.streets == 8 and est.communities == 48


def test_estimate_counts_street_overrides_without_expanding(default_scenario):
    s = default_scenario.with_overrides({"districts[0].streets": {
        "count": 4, "overrides": {1: {"communities": 10}, 3: {"grids_per_community": 1}}}})
    est = size.estimate(s)
    plans = gridsim.scenario.expand.expand(s)
    assert est.grids == sum(t.communities * t.grids_per_community for p in plans
                            for t in p.streets) == 2 * 48 + 80 + 6


def test_validate_scenario_prints_the_estimate(capsys):
    assert main(["validate-scenario", str(MEGACITY)]) == 0
    out = capsys.readouterr().out
    assert "grids 45,600" in out and "about 9.8 million a year" in out
    assert re.search(r"memory: about [\d.]+ GiB at record level issues", out)
    assert "48,555 staff pools" in out


# ------------------------------------------------------------------------------------ values
BAD_VALUES = {
    "meeting every 0d": ("joint_consultation: {every: 7d,", "joint_consultation: {every: 0d,",
                         [r"districts\[0\]\.joint_consultation\.every", r"positive duration"]),
    "city every 0d": ("city: {every: 30d,", "city: {every: 0d,",
                      [r"city\.every: must be a positive duration"]),
    "load interval 0h": ("seed: 20261123", "seed: 20261123\nrecord: {load_interval: 0h}",
                         [r"record\.load_interval: must be a positive duration"]),
    "infinite rate": ("arises: {value: 7,", "arises: {value: .inf,",
                      [r"garbage_overflow\.discovery\.arises\.value: .*finite number "
                       r"\(got inf\)"]),
    "NaN probability": ("    reopen: 0.05", "    reopen: .nan",
                        [r"garbage_overflow\.reopen: .*finite number \(got nan\)"]),
    "absurd duration": ("    deadline: 1wd", "    deadline: 1e300h",
                        [r"garbage_overflow\.deadline: duration '1e300h' is longer than the "
                         r"limit of 100 years"]),
    "absurd horizon": ("horizon: 365d", "horizon: 1e300h", [r"line \d+: horizon: .*100 years"]),
    "overflowing distribution": ("triage_time: {dist: lognormal, mean: 10min, sd: 6min}",
                                 "triage_time: {dist: lognormal, mean: 1e-300h, sd: 6min}",
                                 [r"triage_time: sd \(6min\) is more than 1,000 times the mean"]),
    "infinite weight": ("triage_time: {dist: lognormal, mean: 10min, sd: 6min}",
                        "triage_time: {dist: empirical, values: [1h, 2h], weights: [.inf, 1]}",
                        [r"triage_time\.weights\[0\]: .*finite"]),
    "infinite hotline profile": ("  dispatch_delay:", "  profile: {hourly: [.inf, 1, 1, 1, 1, 1, "
                                 "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}\n"
                                 "  dispatch_delay:",
                                 [r"hotline\.profile\.hourly\[0\]: .*finite"]),
    "calendar start 9999-12-01": ("start: 2026-01-05", "start: 9999-12-01",
                                  [r"calendar\.start: 9999-12-01 is too late",
                                   r"latest start for this horizon is 9997-11-27"]),
    "holiday range of centuries": ("holidays: [2026-02-16..2026-02-22,",
                                   "holidays: [0001-01-01..9999-12-31,",
                                   [r"calendar\.holidays: .*longer than a year"]),
    "boolean seed": ("seed: 20261123", "seed: true", [r"seed: .*valid integer \(got True\)"]),
    "seed past 64 bits": ("seed: 20261123", "seed: 18446744073709551616",
                          [r"seed: .*less than or equal to 9223372036854775807"]),
    "chunk of a trillion rows": ("seed: 20261123", "seed: 1\nrecord: {chunk: 1000000000000}",
                                 [r"record\.chunk: .*less than or equal to 1048576"]),
    "agenda of a quadrillion": ("city: {every: 30d, offset: 10d, agenda: 60}",
                                "city: {every: 30d, offset: 10d, agenda: 1000000000000000}",
                                [r"city\.agenda: .*less than or equal to 1000000"]),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_values_beyond_sense_are_refused_with_their_path(tmp_path, capsys, case):
    old, new, patterns = BAD_VALUES[case]
    path = variant(tmp_path, old, new)
    out = tmp_path / "out"
    for args in (["validate-scenario", str(path)], ["run", str(path), "--out", str(out)]):
        code, err, seconds = cli(capsys, *args)
        assert code == 2 and seconds < 2, err
        assert err.startswith(f"{path}: invalid scenario (1 problem)\n  line "), err
        for pattern in patterns:
            assert re.search(pattern, err), (pattern, err)
    assert not out.exists()


def test_backlog_age_has_a_bound_the_row_reader_can_call():
    assert parse_age("45d").hours == 45 * 24
    assert parse_age("3650d").hours == 3650 * 24
    with pytest.raises(ValueError, match="older than the limit of 10 years"):
        parse_age("3653d")
    with pytest.raises(ValueError, match="longer than the limit of 100 years"):
        parse_age("1e300h")


def test_the_latest_start_builds_its_calendar(default_scenario):
    """The start bound is the model's: the calendar at the latest start builds, a day later
    would overflow (so CALENDAR_DAYS_AFTER matches gridsim.plan.calendar)."""
    from gridsim.plan.calendar import Calendars
    from gridsim.scenario.checks import latest_start

    horizon = parse_duration("365d")
    last = latest_start(horizon)
    Calendars(default_scenario.calendar.model_copy(update={"start": last}), horizon.hours)
    with pytest.raises(OverflowError):
        Calendars(default_scenario.calendar.model_copy(
            update={"start": last + dt.timedelta(days=1)}), horizon.hours)


def test_scenario_errors_stay_scenario_errors():
    assert issubclass(size.ScenarioTooLarge, ScenarioError)
