"""Values that steer a run or an experiment are refused before any work, in one line naming
the option (exit status 2), or as a SettingError in Python; ``--replications auto`` says when
it stopped short of the precision."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

import gridsim
from gridsim.arguments import SettingError, kpi_names
from gridsim.cli import main
from gridsim.experiments import compare, replicate, sweep

TINY = ["--set", "horizon=10d", "--set", "warmup=1d", "--set", "streets.count=1", "-q",
        "--no-plots"]


@pytest.fixture(scope="module")
def tiny(default_scenario) -> gridsim.Scenario:
    return default_scenario.with_overrides({"horizon": "10d", "warmup": "1d",
                                            "streets.count": 1})


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    """``gridsim ARGS`` in this process: its exit status, stdout and stderr."""
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own errors
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


BAD = [
    (["run", "--seed", "-1"], "--seed must be non-negative, got -1"),
    (["run", "--seed", "1.5"], "argument --seed: invalid int value"),
    (["run", "--workers", "2"], "--workers applies only with --shards"),
    (["run", "--shards", "2", "--workers", "0"], "--workers must be at least 1, got 0"),
    (["replicate", "--workers", "-3"], "--workers must be at least 1, got -3"),
    (["replicate", "-n", "0"], "argument --replications/-n: must be at least 1"),
    (["replicate", "--seed", "-5"], "--seed must be non-negative"),
    (["warmup", "-n", "0"], "--replications must be at least 1, got 0"),
    (["validate", "-n", "0"], "--replications must be at least 1, got 0"),
    (["calibrate", "--maxiter", "0"], "--maxiter must be at least 1, got 0"),
    (["replicate", "-n", "auto", "--precision", "0"], "--precision must be a number between 0"),
    (["replicate", "-n", "auto", "--precision", "-0.1"], "--precision must be a number"),
    (["replicate", "-n", "auto", "--precision", "1.5"], "--precision must be a number"),
    (["replicate", "-n", "auto", "--precision", "nan"], "--precision must be a number"),
    (["replicate", "-n", "5", "--precision", "0.05"],
     "--precision applies only with --replications auto"),
    (["replicate", "-n", "auto", "--max-replications", "0"],
     "--max-replications must be at least 1, got 0"),
    (["replicate", "--max-replications", "50"],
     "--max-replications applies only with --replications auto"),
    (["replicate", "--kpi", "resolution_time_man"],
     "--kpi 'resolution_time_man' is not a KPI (did you mean 'resolution_time_mean'?)"),
    (["compare", "--kpi", "zzz"], "--kpi 'zzz' is not a KPI; the KPIs are cases, "),
    (["compare", "--policies", "baseline,,whistle"], "an empty policy name"),
    (["compare", "--policies", "baseline,"], "an empty policy name"),
    (["compare", "--policies", "baseline,whistle,baseline"], "'baseline' is listed twice"),
    (["sweep", "--vary", "policy.name=baseline,whistle", "--workers", "0"],
     "--workers must be at least 1"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_command_line_values_are_refused_in_one_line(capsys, tmp_path, args, message):
    out = tmp_path / "out"
    if args[0] in ("run", "replicate", "compare", "sweep"):  # the commands that write a folder
        args = [*args, "--out", str(out), *TINY[:6]]
    t0 = time.monotonic()
    code, _, err = _cli(capsys, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert not out.exists(), "nothing may be written"
    assert time.monotonic() - t0 < 30  # refused before any replication


def test_a_bad_kpi_is_refused_before_any_replication_runs(tiny, tmp_path):
    """It used to fail only once every replication had run (and was stored)."""
    with pytest.raises(SettingError, match="did you mean 'whistles'"):
        replicate(tiny, 2, seed=1, workers=1, kpi="whistle", out=tmp_path / "o")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kw, message", [
    ({"replications": 0}, "replications must be at least 1, got 0"),
    ({"replications": 2.5}, "replications must be a whole number"),
    ({"replications": "many"}, "replications must be a whole number or 'auto'"),
    ({"seed": -1}, "seed must be non-negative, got -1"),
    ({"seed": 1.0}, "seed must be a whole number"),
    ({"workers": 0}, "workers must be at least 1, got 0"),
    ({"replications": "auto", "precision": 0}, "precision must be a number between 0 and 1"),
    ({"replications": "auto", "precision": float("inf")}, "precision must be a number"),
    ({"replications": 3, "precision": 0.05}, "precision applies only with replications='auto'"),
    ({"replications": "auto", "max_replications": 0}, "max_replications must be at least 1"),
    ({"kpi": "resolution_time"}, "is not a KPI"),
    ({"level": 1.0}, "level must be a number between 0 and 1"),
])
def test_the_python_api_refuses_the_same_values(tiny, kw, message):
    kw = {"replications": 1, "workers": 1, **kw}
    for run in (lambda: replicate(tiny, **kw),
                lambda: compare(tiny, ["baseline", "whistle"], **kw),
                lambda: sweep(tiny, {"streets.staff.centre": [1, 2]}, **kw)):
        with pytest.raises(SettingError, match=message.replace("(", r"\(")):
            run()


def test_simulate_and_calibrate_refuse_bad_values_too(tiny):
    from gridsim.validation import calibrate

    with pytest.raises(gridsim.SettingError, match="seed must be non-negative"):
        gridsim.simulate(tiny, seed=-1)
    with pytest.raises(gridsim.SettingError, match="workers must be at least 1"):
        gridsim.simulate(tiny, shards=2, workers=0)
    with pytest.raises(gridsim.SettingError, match="maxiter must be at least 1"):
        calibrate(tiny, [], [], maxiter=0)


def test_compare_refuses_empty_or_repeated_policies(tiny):
    with pytest.raises(SettingError, match="listed twice"):
        compare(tiny, ["whistle", "whistle"], replications=1, workers=1)
    with pytest.raises(SettingError, match="empty policy name"):
        compare(tiny, ["whistle", " "], replications=1, workers=1)
    assert issubclass(SettingError, ValueError)  # what a notebook catches


def test_kpi_names_are_the_ones_a_run_reports(tiny):
    run = gridsim.simulate(tiny, seed=1)
    reported = set(run.kpis.loc[run.kpis["scope"] == "all", "metric"])
    assert set(kpi_names()) == reported


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nobody listens there


@pytest.mark.parametrize("address", [None, "not-an-address"])
def test_an_unreachable_dask_scheduler_fails_in_seconds_with_one_line(tmp_path, address):
    address = address or f"tcp://127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "gridsim", "replicate", "-n", "2", "--dask",
                           address, "--out", str(tmp_path / "o"), *TINY],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no Dask scheduler reachable" in proc.stderr and address in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert time.monotonic() - t0 < 25  # 5 s to connect, the rest is starting Python and Dask


def test_auto_replications_that_hit_the_cap_say_the_precision_was_not_reached(tiny, tmp_path):
    exp = replicate(tiny, "auto", seed=3, precision=1e-4, max_replications=3, workers=1)
    assert exp.replications == 3
    assert exp.precision_reached is False
    assert exp.precision_achieved > 1e-4
    meta = json.loads((exp.write(tmp_path / "e", plot=False) / "experiment.json").read_text())
    assert meta["precision_reached"] is False
    assert meta["precision_achieved"] == pytest.approx(exp.precision_achieved)

    easy = replicate(tiny, "auto", seed=3, precision=0.5, workers=1)
    assert easy.precision_reached is True and easy.precision_achieved <= 0.5
    assert replicate(tiny, 2, seed=3, workers=1).precision_reached is None


def test_cli_says_when_the_precision_was_not_reached(capsys, tmp_path):
    code, printed, err = _cli(capsys, "replicate", "-n", "auto", "--precision", "0.0001",
                              "--max-replications", "3", "-j", "1", "--out",
                              str(tmp_path / "r"), *TINY[:6], "--no-plots")
    assert code == 0, err
    assert "precision not reached" in printed, printed
    assert "replications needed" not in printed
