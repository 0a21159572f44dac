"""``gridsim optimise`` on the command line: a runnable scenario written and resumed, bad input
refused in one line with exit 2, an impossible target exit 1 naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

MMC = "scenarios/validation/mmc.yaml"
C = "streets.staff.community_per_community"
ROOT = Path(__file__).resolve().parents[1]


def test_the_command_writes_a_runnable_scenario_and_resumes(run_cli, tmp_path):
    args = ("optimise", str(ROOT / MMC), "--set", "horizon=300h", "--vary", f"{C}=8..14",
            "--target", "resolution_time_mean<=1.3", "-n", "3", "--confirm", "3", "-j", "2",
            "--no-plots", "--out", str(tmp_path / "o"))
    done = run_cli(*args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "chosen allocation" in done.stdout and "fresh seeds" in done.stdout
    assert (tmp_path / "o" / "optimum.yaml").exists()
    again = run_cli(*args, "-q")
    assert again.returncode == 0, again.stderr
    ran = run_cli("run", str(tmp_path / "o" / "optimum.yaml"), "--set", "horizon=150h", "-q",
                  "--no-plots", "--out", str(tmp_path / "run"))
    assert ran.returncode == 0, ran.stderr


@pytest.mark.parametrize("extra,message", [
    (["--vary", "streets.staff.nobody=1..3", "--target", "on_time_rate>=0.9"],
     "streets.staff.nobody"),
    (["--vary", f"{C}=2.2..2.8", "--target", "on_time_rate>=0.9"], "no whole number"),
    (["--vary", f"{C}=5..9", "--target", "on_tme_rate>=0.9"], "on_time_rate"),
    (["--vary", f"{C}=5..9", "--target", "on_time_rate>=0.9", "--cost", "comunity=2"],
     "community"),
    (["--vary", f"{C}=5..9", "--target", "on_time_rate>=0.9", "--level", "1.5"], "--level"),
    (["--target", "on_time_rate>=0.9"], "--vary"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli, tmp_path, extra, message):
    done = run_cli("optimise", str(ROOT / MMC), *extra, "--out", str(tmp_path / "o"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()  # refused before anything was made


def test_an_impossible_target_exits_1_naming_it(run_cli, tmp_path):
    done = run_cli("optimise", str(ROOT / MMC), "--set", "horizon=200h", "--vary", f"{C}=10..12",
                   "--target", "resolution_time_mean<=0.9", "-n", "3", "--confirm", "0",
                   "-j", "1", "--no-plots", "--out", str(tmp_path / "o"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "resolution_time_mean<=0.9" in done.stdout
    assert "best found" in done.stdout


def test_without_out_it_writes_under_results(run_cli, tmp_path):
    done = run_cli("optimise", str(ROOT / MMC), "--set", "horizon=200h", "--vary",
                   f"{C}=10..12", "--target", "resolution_time_mean<=2", "-n", "2",
                   "--confirm", "0", "-j", "1", "--no-plots", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "optimise-mmc" / "optimum.yaml").exists()
