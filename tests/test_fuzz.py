"""Fuzz harness (issue 13): mutated scenarios and odd command lines, run through the CLI
in-process; every outcome is exit 0 with what the command promises or exit 2 with one clear
message, never a traceback, never slow, never a write outside the output folder.

The default run draws 303 examples (deterministically: ``derandomize``) and takes about a
minute; ``python -m pytest tests/test_fuzz.py -m fuzz`` draws 25 times as many. The machinery is
in ``tests/fuzzing.py`` (sandbox, limits, invariants), ``fuzz_strategies.py`` and
``fuzz_commands.py`` (what is drawn).

``PENDING`` holds the classes of bad input that fail today and are fixed on other branches of
issue 13; they are left out of the draws (and their recorded reproducers skipped) until the lead
merges those branches and empties it. ``GRIDSIM_FUZZ_ALL=1`` draws them anyway.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_commands as fc  # noqa: E402
import fuzz_strategies as fs  # noqa: E402
from fuzz_strategies import Example  # noqa: E402
from fuzzing import Expect, Mutation, Sandbox, call, check, snapshot, write  # noqa: E402

# class of bad input -> why it is left out of the draws for now (empty: every class is drawn;
# a class found failing goes here, with its reproducer in RECORDED, until it is fixed)
PENDING: dict[str, str] = {}

if not os.environ.get("GRIDSIM_FUZZ_ALL"):
    fs.PENDING.update(PENDING)

STRATEGIES = {  # name -> (strategy, examples in the default run)
    "validate_value": (fs.validate_value(), 160),
    "validate_structure": (fs.validate_structure(), 20),
    "set_override": (fs.set_override(), 40),
    "run_mutation": (fs.run_mutation(), 15),
    "run_limits": (fs.run_limits(), 8),
    "run_args": (fs.run_args(), 10),
    "run_out": (fs.run_out(), 8),
    "experiment_args": (fc.experiment_args(), 10),
    "experiment_out": (fc.experiment_out(), 4),
    "dask_address": (fc.dask_address(), 2),
    "report": (fc.report(), 10),
    "warmup": (fc.warmup(), 4),
    "calibrate": (fc.calibrate(), 4),
    "published": (fc.published(), 5),
    "schema": (fc.schema(), 3),
}
LONG_FACTOR = 25


# ---------------------------------------------------------------- prepared folders
@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """Folders some examples start from: an earlier run, an earlier experiment, damaged runs."""
    root = tmp_path_factory.mktemp("fuzz-prepared")
    box = Sandbox(root / "box")
    write(box.cwd, ())
    for argv in (["run", "s.yaml", "--out", "prev_run", "-q"],
                 ["replicate", "s.yaml", "-n", "1", "--workers", "1", "--out", "prev_exp", "-q",
                  "--no-plots"]):
        o = call(argv, box)
        assert o.code == 0, o
    out = root / "folders"
    out.mkdir()
    for name in ("prev_run", "prev_exp"):
        shutil.copytree(box.cwd / name, out / name)
    shutil.copytree(out / "prev_run", out / "broken_manifest")
    (out / "broken_manifest" / "manifest.json").write_text("{", encoding="utf-8")
    shutil.copytree(out / "prev_run", out / "no_kpis")
    (out / "no_kpis" / "kpis.csv").unlink()
    return out


def run_example(ex: Example, prepared: Path, base: Path) -> None:
    """Run one example in a fresh sandbox under ``base`` and check its outcome."""
    box = Sandbox(Path(tempfile.mkdtemp(dir=base)))
    try:
        write(box.cwd, ex.mutations, ex.file_name)
        for name in ex.setup:
            shutil.copytree(prepared / name, box.cwd / name)
        argv = [a.replace("{file}", ex.file_name).replace("{root}", str(box.root))
                for a in ex.argv]
        e = ex.expect
        if e.out is not None:
            e = dataclasses.replace(e, out=e.out.replace("{root}", str(box.root)))
        before = snapshot(box.root)
        o = call(argv, box, hard_seconds=max(20.0, 2 * e.seconds))
        check(o, e, box, before)
    finally:
        shutil.rmtree(box.root, ignore_errors=True)


def _fuzz(name: str, examples: int, prepared: Path, base: Path) -> None:
    if name in fs.PENDING:
        pytest.skip(f"pending: {PENDING[name]}")
    strategy, _ = STRATEGIES[name]

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def inner(ex: Example) -> None:
        run_example(ex, prepared, base)

    inner()


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_fuzz(name, prepared, tmp_path):
    """Every strategy's share of the 303 examples of the default run."""
    _fuzz(name, STRATEGIES[name][1], prepared, tmp_path)


@pytest.mark.fuzz
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_fuzz_long(name, prepared, tmp_path):
    """The same strategies, LONG_FACTOR times as many examples (``-m fuzz``)."""
    _fuzz(name, STRATEGIES[name][1] * LONG_FACTOR, prepared, tmp_path)


# ---------------------------------------------------------------- recorded failures
# Each class of failure the harness found, as a minimal reproducer: (tag, example). The tag is
# the class's name in PENDING when another branch fixes it.
def _ex(argv: list[str], *mutations: Mutation, **expect) -> Example:
    return Example(tuple(mutations), argv, Expect(**expect))


_RUN = ["run", "{file}", "--out", "out", "-q", "--no-plots"]
_BOMB = "[" + ", ".join(["&a0 [" + ", ".join(["lol"] * 8) + "]"] + [
    f"&a{k} [" + ", ".join([f"*a{k - 1}"] * 8) + "]" for k in range(1, 8)]) + "]"
RECORDED: dict[str, tuple[str, Example]] = {
    # found by the harness on main at 615a001; fixed on this branch
    "key with a newline: the problem spans three lines": ("fixed", _ex(
        ["validate-scenario", "{file}"], Mutation("rename", ("streets", "communities"), "\n"),
        kind="validate", path=("streets", "\n"), names=("communities",))),
    "report of a folder whose kpis.csv lacks columns: KeyError": ("fixed", _ex(
        ["report", "results/earlier"], kind="report", file=None, out="results/earlier",
        names=("results/earlier",))),
    "sweep --vary a,b on a count: header names no file or option": ("fixed", _ex(
        ["sweep", "{file}", "-n", "1", "--workers", "1", "--out", "exp", "-q", "--vary",
         "streets.staff.centre=a,b"], kind="experiment", out="exp", options=("--vary",))),
    "sweep --vary 1,1: ValueError (Categorical categories must be unique)": ("fixed", _ex(
        ["sweep", "{file}", "-n", "1", "--workers", "1", "--out", "exp", "-q", "--no-plots",
         "--vary", "streets.staff.centre=1,1"], kind="experiment", out="exp",
        options=("--vary",))),
    "warmup -n -1: uncaught": ("fixed", _ex(
        ["warmup", "{file}", "-n", "-1", "--workers", "1", "-q"], kind="warmup",
        options=("--replications",))),
    "calibrate a head count: fails mid-run at a fractional value": ("fixed", _ex(
        ["calibrate", "{file}", "--set", "horizon=3d", "--set", "warmup=0d", "-n", "1",
         "--maxiter", "1", "-q", "--target", "resolution_time_mean=30", "--param",
         "streets.staff.enforcement=4:12", "--out", "fit.yaml"], kind="calibrate",
        out="fit.yaml", seconds=40)),
    "calibrate --target with an unknown KPI: fitted as a constant penalty": ("fixed", _ex(
        ["calibrate", "{file}", "--set", "horizon=3d", "--set", "warmup=0d", "-n", "1",
         "--maxiter", "1", "-q", "--target", "resolution_time_mena=30", "--param",
         "patrol.detect_prob=0.5:0.9", "--out", "fit.yaml"], kind="calibrate", out="fit.yaml",
        refuse=True, options=("--target",), seconds=40)),
    "calibrate --param with an infinite bound: accepted": ("fixed", _ex(
        ["calibrate", "{file}", "-n", "1", "--maxiter", "1", "-q", "--target",
         "resolution_time_mean=30", "--param", "patrol.detect_prob=0.5:inf"],
        kind="calibrate", refuse=True, options=("--param",))),
    # found on main, fixed on other branches (pending until merged)
    "alias bomb: minutes and gigabytes in the line map": ("alias_bomb", _ex(
        ["validate-scenario", "{file}"], Mutation("raw", ("description",), _BOMB),
        kind="validate", path=("description",), names=("alias",))),
    "30,000 nested lists: RecursionError": ("deep_nesting", _ex(
        ["validate-scenario", "{file}"], Mutation("raw", ("horizon",), "[" * 30000 + "]" * 30000),
        kind="validate", path=("horizon",))),
    "duplicate key: silently last wins": ("duplicate_key", _ex(
        ["validate-scenario", "{file}"], Mutation("dup", ("streets", "count"), "1"),
        kind="validate", path=("streets", "count"), refuse=True)),
    "4 MB comment: 12 s to validate": ("big_file", _ex(
        ["validate-scenario", "{file}"], Mutation("pad", (), 4_000_000), kind="validate",
        names=("size", "bytes", "large"))),
    "2 GB file: MemoryError reading it": ("huge_file", _ex(
        ["validate-scenario", "{file}"], Mutation("sparse", (), 1 << 31), kind="validate",
        names=("size", "bytes", "large"))),
    "a million streets: runs past any limit": ("huge_count", _ex(
        _RUN, Mutation("set", ("streets", "count"), 10**6), kind="run", out="out",
        path=("streets", "count"), seconds=15)),
    "joint consultation every 0d: hangs": ("zero_interval", _ex(
        _RUN, Mutation("set", ("districts", 0, "joint_consultation", "every"), "0d"),
        kind="run", out="out", path=("districts", 0, "joint_consultation", "every"),
        seconds=15)),
    "holidays at 9999-12-31: OverflowError": ("date_overflow", _ex(
        _RUN, Mutation("set", ("calendar", "holidays"), ["9999-12-30..9999-12-31"]),
        kind="run", out="out", path=("calendar", "holidays"), seconds=15)),
    "an infinite rate: uncaught": ("nan_inf", _ex(
        _RUN, Mutation("set", ("categories", "noise", "rates", "hotline", "value"),
                       float("inf")), kind="run", out="out",
        path=("categories", "noise", "rates", "hotline", "value"), seconds=15)),
    "run --out a file: replaced by a folder": ("unsafe_out", _ex(
        ["run", "{file}", "-q", "--no-plots", "--out", "../notes.txt"], kind="run",
        out="../notes.txt", refuse=True, options=("--out",), seconds=15)),
    "run --out a thesis folder: deleted": ("unsafe_out", _ex(
        ["run", "{file}", "-q", "--no-plots", "--out", "../thesis"], kind="run",
        out="../thesis", refuse=True, options=("--out",), seconds=15)),
    "run --out .: OSError (device or resource busy)": ("unsafe_out", _ex(
        ["run", "{file}", "-q", "--no-plots", "--out", "."], kind="run", out=".",
        refuse=True, options=("--out",), seconds=15)),
    "replicate --out a file: FileExistsError": ("unsafe_out", _ex(
        ["replicate", "{file}", "-n", "1", "--workers", "1", "-q", "--no-plots", "--out",
         "notes.md"], kind="experiment", out="notes.md", refuse=True, options=("--out",))),
    "scenario named '...': written to results/...": ("dot_name", _ex(
        ["run", "{file}", "-q", "--no-plots"], Mutation("set", ("name",), "..."), kind="run",
        out="results/...", path=("name",), refuse=True, seconds=15)),
    "run --seed -1: ValueError from SeedSequence": ("bad_seed", _ex(
        _RUN + ["--seed", "-1"], kind="run", out="out", options=("--seed",), seconds=15)),
}


@pytest.mark.parametrize("case", list(RECORDED))
def test_recorded_failure(case, prepared, tmp_path):
    tag, ex = RECORDED[case]
    if tag in PENDING and not os.environ.get("GRIDSIM_FUZZ_ALL"):
        pytest.skip(f"pending: {PENDING[tag]}")
    run_example(ex, prepared, tmp_path)


def test_the_harness_catches_what_it_must():
    """The invariants can fail: a traceback, a slow exit, a write outside --out, a message
    that names no YAML path are each rejected by ``check``."""
    from fuzzing import Outcome

    box = Sandbox(Path(tempfile.mkdtemp()))
    try:
        before = snapshot(box.root)
        e = Expect(kind="validate", path=("streets", "count"))
        bad = [
            Outcome(["x"], 0, "", "Traceback (most recent call last):\n", 0.1),
            Outcome(["x"], None, "", "", 0.1, error="ValueError"),
            Outcome(["x"], 1, "", "", 0.1),
            Outcome(["x"], 2, "", "s.yaml: invalid scenario (1 problem)\n  horizon: bad\n", 0.1),
            Outcome(["x"], 2, "", "s.yaml: invalid scenario (2 problems)\n  streets.count: x\n",
                    0.1),
            Outcome(["x"], 2, "", "other.yaml: invalid scenario (1 problem)\n"
                                  "  streets.count: x\n", 0.1),
            Outcome(["x"], 2, "", "s.yaml: invalid scenario (1 problem)\n  streets.count: x\n",
                    99.0),
            Outcome(["x"], 2, "", "gridsim: one\ngridsim: two\n", 0.1),
        ]
        for o in bad:
            with pytest.raises(AssertionError):
                check(o, e, box, before)
        good = Outcome(["x"], 2, "", "s.yaml: invalid scenario (1 problem)\n"
                                     "  line 3: streets.count: x\n", 0.1)
        check(good, e, box, before)
        (box.root / "thesis" / "chapter1.tex").write_text("gone")
        with pytest.raises(AssertionError, match="sandbox changed"):
            check(good, e, box, before)
        run = Expect(kind="run", out="out")
        with pytest.raises(AssertionError, match="outside the output folder"):
            check(Outcome(["x"], 0, "results written to out/", "", 0.1), run, box, before)
    finally:
        shutil.rmtree(box.root, ignore_errors=True)


def test_mutations_render_what_they_say():
    """``dup`` writes a key twice, ``raw`` splices YAML text, ``rename`` keeps key order."""
    import yaml

    text = fs_render([Mutation("dup", ("streets", "count"), "5")])
    assert text.count("count:") >= 2 and "count: 5" in text
    data = yaml.safe_load(fs_render([Mutation("raw", ("horizon",), "[[1]]")]))
    assert data["horizon"] == [[1]]
    data = yaml.safe_load(fs_render([Mutation("rename", ("seed",), "séed")]))
    assert list(data)[list(data).index("séed") - 1] == "warmup"


def fs_render(ms) -> str:
    from fuzzing import render

    return render(ms).decode("utf-8")
