"""The command line's shape: every option declared once and shared, help in plain text with an
example per command, and the work it used to do itself now in the Python API."""

from __future__ import annotations

import re
from pathlib import Path

import click
import numpy as np
import pytest

import gridsim
from gridsim.cli import ORDER, cli, main
from gridsim.cli.options import FILE, OPTIONS
from gridsim.experiments import open_cases_per_day, replicate, study_warmup, suggest_warmup
from gridsim.results.outdir import default_folder
from gridsim.validation import Param
from gridsim.validation.calibrate import BadParam, check_param, default_fit_path
from gridsim.vocabulary import format_kpi

FACTORIES = ("--out", "--replications", "--method", "--vary", "--target", "--max-replications")
"""Options made per command by a function of options.py (out(), replications(), method(),
vary(), target(), max_replications()): their meaning differs between commands."""


def _help(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def _options(cmd: click.Command) -> list[click.Option]:
    return [p for p in cmd.params if isinstance(p, click.Option)]


def test_every_command_is_listed_with_its_one_line_description(capsys):
    text = " ".join(_help(capsys).split())
    assert set(cli.commands) == set(ORDER)
    for name in ORDER:
        short = " ".join(cli.commands[name].short_help.split())
        assert f"{name} {short}" in text, (name, text)


@pytest.mark.parametrize("name", ORDER)
def test_each_command_help_shows_an_example_of_itself(capsys, name):
    text = _help(capsys, name)
    example = text.partition("Example:")[2]
    assert re.search(rf"^\s+gridsim {re.escape(name)}\b", example, re.MULTILINE), text
    assert not re.search(r"``|:(func|class|mod|data):|^\s*\.\. ", text, re.MULTILINE), text


def test_every_option_object_is_declared_once_in_options_py():
    """No command declares an option of its own: each is an object of options.py."""
    declared = {id(o) for o in OPTIONS.values()}
    for name, cmd in cli.commands.items():
        for opt in _options(cmd):
            assert id(opt) in declared, f"{name} declares {opt.opts} itself"


def test_a_shared_option_is_the_same_object_in_every_command():
    by_name: dict[str, set[int]] = {}
    users: dict[str, list[str]] = {}
    for name, cmd in cli.commands.items():
        for opt in _options(cmd):
            by_name.setdefault(opt.opts[0], set()).add(id(opt))
            users.setdefault(opt.opts[0], []).append(name)
    shared = {o for o, cmds in users.items() if len(cmds) > 1}
    assert {"--set", "--seed", "--workers", "--dask", "--quiet", "--out",
            "--replications"} <= shared
    for opt in shared - set(FACTORIES):
        assert len(by_name[opt]) == 1, f"{opt} is declared {len(by_name[opt])} times"
    files = {id(p) for c in cli.commands.values() for p in c.params
             if isinstance(p, click.Argument) and p.name == "file" and not p.required}
    assert files == {id(FILE)}  # the optional scenario file of run, replicate, ..., calibrate
    experiments = [cli.commands[c] for c in ("compare", "replicate", "sweep")]
    outs = {id(o) for c in experiments for o in _options(c) if o.opts[0] == "--out"}
    assert len(outs) == 1  # the experiments' --out (help, default) is one object too


def test_unique_prefixes_of_long_options_are_read_as_argparse_did(capsys):
    assert main(["replicate", "--rep", "0"]) == 2
    assert "argument --replications/-n: must be at least 1" in capsys.readouterr().err
    assert main(["run", "--s", "1"]) == 2
    assert "ambiguous option: --s could match --set, --seed" in capsys.readouterr().err


def test_no_command_and_a_misspelt_one_are_one_line(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a command is required" in err
    assert "(see 'gridsim --help')" in err
    assert main(["replciate"]) == 2
    assert "did you mean 'replicate'?" in capsys.readouterr().err


# ---------------------------------------------------------------- the work now in the API
def test_default_folders_and_fit_path():
    assert default_folder("run", ["default"]) == Path("results/default")
    assert default_folder("replicate", ["a"]) == Path("results/a-replications")
    assert default_folder("sweep", ["a"]) == Path("results/a-sweep")
    assert default_folder("compare", ["a", "b"]) == Path("results/compare-a-b")
    with pytest.raises(ValueError):
        default_folder("report", ["a"])
    assert default_fit_path("x/city.yaml") == Path("x/city.calibrated.yaml")
    assert default_fit_path(None) == Path("default.calibrated.yaml")


def test_kpi_values_are_written_once_for_every_table():
    assert format_kpi(20.9, "h") == "20.9 h (0.87 d)"
    assert format_kpi(-5.76, "h", signed=True) == "\u22125.76 h (\u22120.24 d)"
    assert format_kpi(0.945, "share") == "94.5%"
    assert format_kpi(float("nan"), "h") == "\u2014"


def test_a_bad_free_parameter_is_refused_before_any_run(default_scenario):
    check_param(default_scenario, Param.parse("patrol.detect_prob=0.5:0.9"))
    with pytest.raises(BadParam, match=r"patrol.detect_prob=-1:2: at -1"):
        check_param(default_scenario, Param.parse("patrol.detect_prob=-1:2"))
    with pytest.raises(BadParam, match="x.y"):
        check_param(default_scenario, Param.parse("x.y=1:2"))


def test_the_warmup_study_reads_open_cases_per_day_of_runs_without_warmup(default_scenario):
    s = default_scenario.with_overrides({"horizon": "12d", "warmup": "2d", "streets.count": 1})
    found = study_warmup(s, 2, seed=3, workers=1)
    assert found.replications == 2 and found.series.shape == (2, 12)
    exp = replicate(s.with_overrides({"warmup": "0d"}), 2, 3, workers=1)
    np.testing.assert_array_equal(found.series, open_cases_per_day(exp))
    assert found.hours == suggest_warmup(found.series, 24.0) and found.days == found.hours / 24
    with pytest.raises(gridsim.SettingError, match="method"):
        study_warmup(s, 1, method="nope")


def test_a_sharded_run_reports_progress_as_its_shards_finish(three):
    seen: list[float] = []
    gridsim.simulate(three.with_overrides({"horizon": "5d", "warmup": "1d"}), seed=1,
                     shards=3, workers=1, record="kpis", progress=seen.append)
    assert seen == pytest.approx([1 / 3, 2 / 3, 1.0])
