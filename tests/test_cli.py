"""The command line, as a planner uses it: bad input gives one clear message and exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

DEFAULT = (SCENARIOS / "default.yaml").read_text(encoding="utf-8")


def gridsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsim", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def variant(tmp_path: Path, old: str, new: str, name: str = "bad.yaml") -> Path:
    assert old in DEFAULT, f"test fixture out of date: {old!r} not in default.yaml"
    path = tmp_path / name
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    return path


BAD_INPUT = {
    "unknown key": ("  staff: {grid_workers_per_grid", "  staf: {grid_workers_per_grid",
                    [r"streets\.staf", r"unknown key 'staf'", r"did you mean 'staff'"]),
    "wrong type": ("  count: 8", "  count: many",
                   [r"streets\.count", r"valid integer", "many"]),
    "negative count": ("enforcement: 12,", "enforcement: -3,",
                       [r"streets\.staff\.enforcement", r"greater than or equal to 0"]),
    "negative rate": ("arises: {value: 7,", "arises: {value: -7,",
                      [r"categories\.garbage_overflow\.discovery\.arises\.value",
                       r"greater than or equal to 0"]),
    "shares not summing to 1": (
        "tiers: {community: 0.4, street: 0.55, district: 0.05}",
        "tiers: {community: 0.4, street: 0.55, district: 0.15}",
        [r"categories\.garbage_overflow\.tiers", r"sum to 1", r"1\.1"]),
    "undefined department": ("departments: [sanitation]", "departments: [sanitaton]",
                             [r"categories\.garbage_overflow\.departments\[0\]",
                              r"unknown department 'sanitaton'", r"did you mean 'sanitation'"]),
    "undefined tier": ("tiers: {community: 0.4, street: 0.55, district: 0.05}",
                       "tiers: {comunity: 0.4, street: 0.55, district: 0.05}",
                       [r"categories\.garbage_overflow\.tiers\.comunity",
                        r"did you mean 'community'"]),
    "bad duration": ("horizon: 365d", "horizon: 3 fortnights",
                     [r"horizon", r"unknown time unit 'fortnights'"]),
    "bad distribution": ("{dist: lognormal, mean: 10min, sd: 6min}",
                         "{dist: lognormall, mean: 10min, sd: 6min}",
                         [r"triage_time", r"unknown distribution 'lognormall'",
                          r"did you mean 'lognormal'"]),
    "distribution missing a parameter": ("{dist: lognormal, mean: 10min, sd: 6min}",
                                         "{dist: lognormal, mean: 10min}",
                                         [r"triage_time", r"sd"]),
    "malformed YAML": ("seed: 20261123", "seed: [1, 2", [r"line \d+", r"malformed YAML"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_scenario_is_rejected_with_one_clear_message(tmp_path, case):
    old, new, patterns = BAD_INPUT[case]
    path = variant(tmp_path, old, new)
    out = tmp_path / "out"
    for args in (["validate-scenario", str(path)], ["run", str(path), "--out", str(out)]):
        proc = gridsim(*args)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert str(path) in proc.stderr
        for pattern in patterns:
            assert re.search(pattern, proc.stderr), (pattern, proc.stderr)
    assert not out.exists(), "nothing may be written for bad input"
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]


def test_error_names_the_line_of_the_problem(tmp_path):
    path = variant(tmp_path, "  count: 8", "  count: many")
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "count: many" in t)
    proc = gridsim("validate-scenario", str(path))
    assert f"line {line}: streets.count" in proc.stderr


def test_several_problems_are_reported_together(tmp_path):
    path = variant(tmp_path, "  count: 8", "  count: -1")
    path.write_text(path.read_text().replace("horizon: 365d", "horizon: soon"))
    proc = gridsim("validate-scenario", str(path))
    assert proc.returncode == 2
    assert "2 problems" in proc.stderr
    assert "streets.count" in proc.stderr and "horizon" in proc.stderr


@pytest.mark.parametrize("setting, pattern", [
    ("horizon=3x", r"horizon: unknown time unit 'x'.*from --set horizon"),
    ("streets.stuff.x=1", r"unknown key 'stuff'.*did you mean 'staff'"),
    ("policy.name=four_tiers", r"policy.*four_tier"),
    ("streets.staff.centre=-1", r"streets\.staff\.centre.*greater than or equal to 0"),
    ("hello", r"must look like dotted\.path=value"),
])
def test_bad_override_is_rejected(tmp_path, setting, pattern):
    proc = gridsim("run", "--set", setting, "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert re.search(pattern, proc.stderr), proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_file(tmp_path):
    proc = gridsim("validate-scenario", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "file not found" in proc.stderr


def test_bad_backlog_csv_names_file_and_line(tmp_path):
    csv = tmp_path / "backlog.csv"
    csv.write_text("category,district,street,community,grid,tier,age\n"
                   "garbage_overflow,Riverside,0,0,0,community,3d\n"
                   "garbage_overflw,Riverside,0,0,0,community,3d\n", encoding="utf-8")
    path = tmp_path / "bad.yaml"
    path.write_text(DEFAULT + "\ninitial_backlog: backlog.csv\n", encoding="utf-8")
    proc = gridsim("validate-scenario", str(path))
    assert proc.returncode == 2
    assert "backlog.csv" in proc.stderr and "3" in proc.stderr
    assert "did you mean 'garbage_overflow'" in proc.stderr


def test_validate_accepts_the_bundled_scenarios():
    for path in sorted(SCENARIOS.rglob("*.yaml")):
        if path.name == "metrics.yaml":  # the published-metrics table, not a scenario
            continue
        proc = gridsim("validate-scenario", str(path))
        assert proc.returncode == 0, proc.stderr
        assert "valid scenario" in proc.stdout


def test_schema_is_json_schema_of_scenario_files():
    proc = gridsim("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert {"categories", "districts", "policy", "horizon"} <= set(schema["properties"])
    assert "categories" in schema["required"]


def test_run_writes_results_and_prints_kpis(tmp_path):
    proc = gridsim("run", "--set", "horizon=40d", "--set", "warmup=5d", "--seed", "3",
                   "--set", "policy.name=whistle", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "results" / "default"
    assert {"issues.parquet", "kpis.csv", "load.parquet", "backlog.csv", "summary.json",
            "manifest.json", "pools.csv", "plots"} <= {p.name for p in out.iterdir()}
    assert {"resolution_time.png", "tier_shares.png", "load_by_pool.png",
            "backlog.png"} <= {p.name for p in (out / "plots").iterdir()}
    assert "resolution_time_mean" in proc.stdout and "bottleneck:" in proc.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3
    assert manifest["overrides"] == {"horizon": "40d", "warmup": "5d", "policy.name": "whistle"}
    assert manifest["scenario"]["policy"]["name"] == "whistle"
    assert len(manifest["scenario_file_sha256"]) == 64
    issues = pd.read_parquet(out / "issues.parquet")
    assert len(issues) == manifest["issues_created"] > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["bottleneck"]["pool"]
    assert not [p for p in tmp_path.joinpath("results").iterdir() if p.name.startswith(".")]
