"""Data safety, as a planner meets it: gridsim replaces only what it wrote, leaves no temporary
behind, survives damaged stored replications, and two runs never fill one folder at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gridsim.cli import main
from gridsim.results.io import SCRATCH, Scratch, clean_stale
from gridsim.results.outdir import FolderLock, OutputError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.yaml"
QUICK = ["--set", "horizon=5d", "--set", "warmup=1d", "--set", "streets.count=1", "-q",
         "--no-plots"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run ``gridsim ARGS`` in this process: exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its content (to prove nothing changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------ what run may replace
def test_run_never_replaces_a_folder_of_someone_elses_files(tmp_path, capsys):
    thesis = tmp_path / "thesis"
    (thesis / "figures").mkdir(parents=True)
    (thesis / "chapter1.tex").write_text("years of work")
    (thesis / "figures" / "map.png").write_bytes(b"\x89PNG")
    before = tree(tmp_path)
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(thesis))
    assert code == 2
    assert "did not write" in one_line(err) and "chapter1.tex" in err
    assert tree(tmp_path) == before


def test_a_file_named_manifest_json_does_not_make_a_folder_gridsims(tmp_path, capsys):
    site = tmp_path / "site"
    site.mkdir()
    (site / "manifest.json").write_text('{"name": "my web app"}')
    (site / "index.html").write_text("<html>")
    before = tree(tmp_path)
    assert cli(capsys, "run", *QUICK, "--out", str(site))[0] == 2
    assert tree(tmp_path) == before


def test_run_never_turns_a_file_into_a_folder(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(notes))
    assert code == 2 and "is a file" in one_line(err)
    assert notes.read_text() == "keep me"


def test_the_default_folder_is_checked_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "results" / "default"
    mine.mkdir(parents=True)
    (mine / "data.xlsx").write_bytes(b"mine")
    assert cli(capsys, "run", *QUICK)[0] == 2
    assert (mine / "data.xlsx").read_bytes() == b"mine"


def test_rerunning_replaces_the_previous_run_and_an_empty_folder_may_be_used(tmp_path,
                                                                             capsys):
    out = tmp_path / "out"
    out.mkdir()  # empty: usable
    assert cli(capsys, "run", *QUICK, "--out", str(out))[0] == 0
    first = json.loads((out / "manifest.json").read_text())
    assert cli(capsys, "run", *QUICK, "--seed", "9", "--out", str(out))[0] == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 9 != first["seed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left


def test_everything_a_run_writes_counts_as_its_own(tmp_path, capsys):
    """Plots, the event log and the report are a run's own files: a rerun still replaces it
    (fails if a new output is not added to ``RUN_ENTRIES``)."""
    out = tmp_path / "out"
    full = [a for a in QUICK if a != "--no-plots"] + ["--record", "events", "--out", str(out)]
    assert cli(capsys, "run", *full)[0] == 0
    assert cli(capsys, "report", str(out))[0] == 0
    assert {"plots", "events.parquet", "report.html"} <= {p.name for p in out.iterdir()}
    code, _, err = cli(capsys, "run", *full)
    assert code == 0, err


def test_a_link_to_a_run_folder_stays_a_link(tmp_path, capsys):
    real, link = tmp_path / "real", tmp_path / "link"
    assert cli(capsys, "run", *QUICK, "--out", str(real))[0] == 0
    link.symlink_to(real)
    assert cli(capsys, "run", *QUICK, "--seed", "5", "--out", str(link))[0] == 0
    assert link.is_symlink() and json.loads((real / "manifest.json").read_text())["seed"] == 5


def test_a_run_folder_with_added_files_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(capsys, "run", *QUICK, "--out", str(out))[0] == 0
    (out / "my-notes.md").write_text("interpretation")
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(out))
    assert code == 2 and "my-notes.md" in one_line(err)
    assert (out / "my-notes.md").read_text() == "interpretation"


def test_run_and_experiment_folders_are_not_mixed_up(tmp_path, capsys):
    run, exp = tmp_path / "run", tmp_path / "exp"
    assert cli(capsys, "run", *QUICK, "--out", str(run))[0] == 0
    assert cli(capsys, "replicate", *QUICK, "-n", "1", "-j", "1", "--out", str(exp))[0] == 0
    before = tree(tmp_path)
    code, _, err = cli(capsys, "replicate", *QUICK, "-n", "1", "-j", "1", "--out", str(run))
    assert code == 2 and "gridsim run" in one_line(err)
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(exp))
    assert code == 2 and "gridsim experiment" in one_line(err)
    for kind in ("compare", "sweep"):
        extra = ["--policies", "baseline,whistle"] if kind == "compare" else \
            ["--vary", "streets.staff.centre=1,2"]
        code, _, err = cli(capsys, kind, *QUICK, *extra, "-n", "1", "-j", "1", "--out",
                           str(tmp_path / "thesis"))  # missing: fine, but not a run folder:
        assert code == 0, err
        code, _, err = cli(capsys, kind, *QUICK, *extra, "-n", "1", "-j", "1", "--out",
                           str(run))
        assert code == 2 and "gridsim run" in one_line(err)
        shutil.rmtree(tmp_path / "thesis")
    assert tree(tmp_path) == before


def test_an_experiment_never_writes_into_a_folder_of_someone_elses_files(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "summary.csv").write_text("my survey")  # a name an experiment would write
    code, _, err = cli(capsys, "replicate", *QUICK, "-n", "1", "-j", "1", "--out", str(data))
    assert code == 2 and "did not write" in one_line(err)
    assert (data / "summary.csv").read_text() == "my survey"


def test_out_dot_in_an_empty_folder_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert cli(capsys, "run", *QUICK, "--stream", "--out", ".")[0] == 0
    assert (work / "manifest.json").exists() and (work / "issues.parquet").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]
    assert not list(work.glob(".*"))
    assert cli(capsys, "run", *QUICK, "--seed", "4", "--out", ".")[0] == 0  # replaced in place
    assert json.loads((work / "manifest.json").read_text())["seed"] == 4
    assert Path.cwd() == work and sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_a_folder_full_of_work_is_refused_as_out_dot(tmp_path, capsys, monkeypatch):
    (tmp_path / "thesis.docx").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "run", *QUICK, "--out", ".")[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis.docx"]


# ------------------------------------------------------------------ other outputs
def test_validate_and_calibrate_never_overwrite_a_file_they_did_not_write(tmp_path, capsys):
    table = tmp_path / "checks.csv"
    table.write_text("my,own,table\n")
    code, _, err = cli(capsys, "validate", "--check", "zhangwan", "--fast", "--out", str(table))
    assert code == 2 and "not written by gridsim" in one_line(err)
    assert table.read_text() == "my,own,table\n"

    scenario = tmp_path / "city.yaml"
    shutil.copy(DEFAULT, scenario)
    args = ["calibrate", str(scenario), "--target", "entered_share_street=0.25", "--param",
            "categories.*.solve.community=0.3:0.9", "-n", "1", "--maxiter", "1", "-q"]
    code, _, err = cli(capsys, *args, "--out", str(scenario))
    assert code == 2 and "input file" in one_line(err)
    (tmp_path / "city.calibrated.yaml").write_text("# a file of my own\n")
    code, _, err = cli(capsys, *args)  # the default output name is taken by someone's file
    assert code == 2 and "not written by gridsim" in one_line(err)
    assert scenario.read_bytes() == DEFAULT.read_bytes()
    assert (tmp_path / "city.calibrated.yaml").read_text() == "# a file of my own\n"


def test_report_never_overwrites_a_report_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli(capsys, "run", *QUICK, "--out", str(out))[0] == 0
    assert cli(capsys, "report", str(out))[0] == 0  # its own: may be rewritten
    assert cli(capsys, "report", str(out))[0] == 0
    (out / "report.html").write_text("<p>my own report</p>")
    code, _, err = cli(capsys, "report", str(out))
    assert code == 2 and "not written by gridsim" in one_line(err)
    assert (out / "report.html").read_text() == "<p>my own report</p>"


# ------------------------------------------------------------------ names
def _with_names(tmp_path: Path, scenario: str | None = None, district: str | None = None):
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    if scenario is not None:
        data["name"] = scenario
    if district is not None:
        data["districts"][0]["name"] = district
    path = tmp_path / "named.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", [".", "..", "...", "a/b", "../up", "tab\there", "nul\x00",
                                  "zero\u200bwidth", " padded"])
def test_names_that_are_path_components_are_refused(tmp_path, capsys, name):
    for field, kw in (("name", {"scenario": name}), ("districts[0].name", {"district": name})):
        if field == "districts[0].name" and name == "nul\x00":
            continue  # YAML cannot hold a NUL; the scenario name case covers it via --set
        path = _with_names(tmp_path, **kw)
        code, _, err = cli(capsys, "validate-scenario", str(path))
        assert code == 2, (field, name)
        assert f"{field}:" in err and "Traceback" not in err
    if name == name.strip():  # --set strips the value
        code, _, err = cli(capsys, "run", *QUICK, "--set", f"name={name}", "--out",
                           str(tmp_path / "o"))
        assert code == 2 and "name" in err and not (tmp_path / "o").exists()


def test_ordinary_names_are_still_accepted(tmp_path, capsys):
    path = _with_names(tmp_path, scenario="plan_v2.1-draft", district="Jianghan 江汉区")
    assert cli(capsys, "validate-scenario", str(path))[0] == 0


# ------------------------------------------------------------------ unwritable places
def test_unwritable_out_is_one_line_not_a_traceback(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cases = [blocker / "sub" / "out",  # the parent is a file
             Path("/proc/gridsim-test/out"),  # the kernel refuses any folder here, even root
             Path("/sys/gridsim-test")]
    for out in cases:
        for cmd in (["run", *QUICK], ["replicate", *QUICK, "-n", "1", "-j", "1"]):
            code, _, err = cli(capsys, *cmd, "--out", str(out))
            assert code == 2, (out, err)
            assert str(out) in one_line(err)
    assert blocker.read_text() == "x"


def _read_only_mount(folder: Path, *command: str) -> list[str]:
    """``command`` in a private mount namespace where ``folder`` is a read-only bind mount
    (EROFS stops root too, unlike chmod)."""
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(folder), *command]


def _can_mount_read_only(folder: Path) -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(_read_only_mount(folder, "sh", "-c", f"! touch {folder}/probe"),
                           capture_output=True, timeout=60)
    return probe.returncode == 0 and not (folder / "probe").exists()


def test_read_only_file_system(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    if not _can_mount_read_only(ro):
        pytest.skip("cannot make a read-only bind mount here (needs unshare and CAP_SYS_ADMIN)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    (ro / "old-run").mkdir()
    for cmd in (["run", *QUICK, "--out", str(ro / "new" / "out")],
                ["replicate", *QUICK, "-n", "1", "-j", "1", "--out", str(ro / "exp")]):
        proc = subprocess.run(_read_only_mount(ro, sys.executable, "-m", "gridsim", *cmd),
                              capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 2, proc.stderr
        assert "Read-only file system" in one_line(proc.stderr)
    assert sorted(p.name for p in ro.iterdir()) == ["old-run"]


# ------------------------------------------------------------------ temporaries
def test_scratch_folders_of_ended_processes_are_removed_and_live_ones_kept(tmp_path):
    code = ("import os, sys; from gridsim.results.io import Scratch; "
            "s = Scratch(sys.argv[1]); (s.path / 'spool.parquet').write_bytes(b'x' * 1000); "
            "os._exit(0)")  # ends without cleaning up, as a SIGKILL would
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=120,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    (dead,) = (tmp_path / SCRATCH).iterdir()
    assert (dead / "spool.parquet").exists()
    live = Scratch(tmp_path)  # this process's: locked, so kept
    assert clean_stale(tmp_path / SCRATCH) == [] and live.path.exists() and not dead.exists()
    live.close()
    assert not (tmp_path / SCRATCH).exists()


def test_a_killed_streamed_run_leaves_a_spool_that_the_next_run_removes(tmp_path, capsys):
    out = tmp_path / "results" / "big"
    cmd = [sys.executable, "-m", "gridsim", "run", "--set", "horizon=400d", "--stream",
           "--record", "events", "-q", "--no-plots", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    scratch = tmp_path / "results" / SCRATCH
    deadline = time.time() + 300
    while time.time() < deadline and not list(scratch.glob("*/*.parquet")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(scratch.glob("*/*.parquet")), "the spool should exist when the run is killed"
    assert not out.exists()
    assert cli(capsys, "run", *QUICK, "--out", str(tmp_path / "results" / "small"))[0] == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["small"]


# ------------------------------------------------------------------ stored replications
def test_a_damaged_stored_replication_is_simulated_again(tmp_path, capsys):
    args = ["replicate", *QUICK, "-n", "3", "-j", "1", "--out"]
    assert cli(capsys, *args, str(tmp_path / "whole"))[0] == 0
    part = tmp_path / "part"
    assert cli(capsys, *args, str(part))[0] == 0
    (part / "reps" / "p0000_r00001" / "kpis.parquet").write_bytes(b"")  # power loss
    damaged = part / "reps" / "p0000_r00002" / "units.parquet"
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    code, _, err = cli(capsys, *args, str(part))
    assert code == 0, err
    assert "p0000_r00001 is unreadable" in err and "p0000_r00002 is unreadable" in err
    assert "resuming: 1 of 3 replications already done" in err and "Traceback" not in err
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "whole" / "runs.parquet"),
                                  pd.read_parquet(part / "runs.parquet"))
    code, _, err = cli(capsys, *args, str(part))  # repaired: nothing to redo
    assert code == 0 and "resuming: 3 of 3 replications already done" in err
    assert "unreadable" not in err


def test_stored_replications_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    from gridsim.experiments.store import Store

    synced: list[str] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.readlink(
        f"/proc/self/fd/{fd}")), real(fd))[1])
    store = Store(tmp_path / "e", {"kind": "test"})
    synced.clear()
    frame = pd.DataFrame({"x": [1]})
    store.save(0, 0, {"kpis": frame}, {"seed": 1})
    store.close()
    rep = tmp_path / "e" / "reps" / "p0000_r00000"
    names = [Path(p).name for p in synced]
    assert "kpis.parquet" in names and "info.json" in names  # the files
    assert "new" in names  # the folder, before it is renamed into place
    assert str(rep.parent) in synced  # the parent, after the rename
    assert names.index("new") < synced.index(str(rep.parent))


def test_a_second_process_cannot_write_the_same_folder(tmp_path, capsys):
    out = tmp_path / "exp"
    n = "1000"  # far more than finish before the interrupt, however fast the engine gets
    cmd = [sys.executable, "-m", "gridsim", "replicate", *QUICK, "-n", n, "-j", "1",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.time() + 300
        while time.time() < deadline and len(list(out.glob("reps/p*_r*"))) < 2:
            time.sleep(0.05)
        code, _, err = cli(capsys, "replicate", *QUICK, "-n", n, "-j", "1", "--out", str(out))
        assert code == 2
        assert f"another gridsim process (pid {proc.pid})" in one_line(err)
        proc.send_signal(signal.SIGINT)  # Ctrl-C: what was kept, and how to resume
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    kept = len(list(out.glob("reps/p*_r*")))
    line = one_line(stderr)
    assert f"interrupted; {kept} of {n} finished replications are kept in {out}" in line
    assert "run the same command again to resume" in line and "nothing written" not in line
    code, _, err = cli(capsys, "replicate", *QUICK, "-n", "2", "-j", "1", "--out", str(out))
    assert code == 0 and "resuming: 2 of 2 replications already done" in err  # lock released


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    code = ("import os, sys, time; from gridsim.results.outdir import FolderLock; "
            "FolderLock(sys.argv[1]); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "held"
    with pytest.raises(Exception, match="another gridsim process"):
        FolderLock(tmp_path)
    proc.kill()
    proc.wait()
    FolderLock(tmp_path).release()  # no stale lock after a SIGKILL


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path, capsys,
                                                                  monkeypatch):
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    out = tmp_path / "out"
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(out))
    assert code == 2 and "No space left on device" in one_line(err)
    assert list(tmp_path.iterdir()) == []  # neither a half folder nor a temporary


# ------------------------------------------------------------------ a run's lock
def _start_run(out: Path, *extra: str) -> subprocess.Popen:
    """A long ``gridsim run`` into ``out`` in another process, once it holds the lock."""
    cmd = [sys.executable, "-m", "gridsim", "run", "--set", "horizon=2000d", "-q", "--no-plots",
           *extra, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lock = out.parent / SCRATCH / f"{out.name}.lock"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the run never took its lock: {proc.communicate()[1]}")


def test_a_second_run_into_the_same_folder_is_refused_at_once(tmp_path, capsys):
    out = tmp_path / "results" / "same"
    first = _start_run(out)
    try:
        # the second run is as long, yet it is refused before simulating: while the first runs
        t0 = time.time()
        second = subprocess.run(
            [sys.executable, "-m", "gridsim", "run", "--set", "horizon=400d", "-q",
             "--no-plots", "--out", str(tmp_path / "results" / "." / "same")],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        took = time.time() - t0
        assert first.poll() is None, "the first run should still be simulating"
        assert second.returncode == 2
        line = one_line(second.stderr)
        assert f"is being written by another gridsim process (pid {first.pid})" in line
        assert took < 60
        # by a link too, and an experiment into the same folder is refused as well
        (tmp_path / "link").symlink_to(tmp_path / "results")
        code, _, err = cli(capsys, "run", *QUICK, "--out", str(tmp_path / "link" / "same"))
        assert code == 2 and "another gridsim process" in one_line(err)
        code, _, err = cli(capsys, "replicate", *QUICK, "-n", "1", "--out", str(out))
        assert code == 2 and "another gridsim process" in one_line(err)
        assert not out.exists()  # the refused processes made nothing
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=60) == 130
    finally:
        first.kill()
        first.wait()
    # Ctrl-C released the lock and removed its file and the folder it made: nothing is left
    assert not (tmp_path / "results").exists()
    assert cli(capsys, "run", *QUICK, "--out", str(out))[0] == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["same"]


def test_the_lock_of_a_killed_run_is_free_and_removed_by_the_next_run(tmp_path, capsys):
    out = tmp_path / "results" / "killed"
    proc = _start_run(out)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = tmp_path / "results" / SCRATCH / "killed.lock"
    assert lock.exists()  # SIGKILL leaves the file, but not the lock
    assert cli(capsys, "run", *QUICK, "--out", str(tmp_path / "results" / "other"))[0] == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["other"]
    assert cli(capsys, "run", *QUICK, "--out", str(out))[0] == 0


def test_result_write_is_refused_while_another_process_holds_the_folder(tmp_path):
    import gridsim

    out = tmp_path / "api"
    code = ("import sys, time; from gridsim.results.outdir import FolderLock; "
            "FolderLock(sys.argv[1]); print('held', flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == "held"
        scenario = gridsim.load_scenario(DEFAULT, {"horizon": "2d", "warmup": "0d",
                                                     "streets.count": 1})
        result = gridsim.simulate(scenario, seed=1)
        with pytest.raises(OutputError, match=f"another gridsim process \\(pid {proc.pid}\\)"):
            result.write(out, plot=False)
        assert not out.exists()
    finally:
        proc.kill()
        proc.wait()
    result.write(out, plot=False)
    assert (out / "manifest.json").exists()


def test_the_lock_is_re_entrant_within_a_process_and_leaves_nothing(tmp_path):
    with FolderLock(tmp_path / "a" / "b") as outer:
        with FolderLock(tmp_path / "a" / "b"):
            pass
        assert outer.path.exists()  # the inner release keeps the outer lock
        assert clean_stale(outer.path.parent) == [] and outer.path.exists()
    assert list(tmp_path.iterdir()) == []  # the folders the lock made are gone with it


@pytest.mark.parametrize("where", [".gridsim-tmp", "r/.gridsim-tmp/x", "r/.gridsim-tmp/x.lock"])
def test_nothing_is_written_into_gridsims_folder_of_temporaries(tmp_path, capsys, monkeypatch,
                                                                where):
    monkeypatch.chdir(tmp_path)
    for cmd in (["run", *QUICK], ["replicate", *QUICK, "-n", "1"],
                ["validate", "--check", "zhangwan", "--fast"]):
        code, _, err = cli(capsys, *cmd, "--out", where)
        assert code == 2 and f"is inside {SCRATCH}, gridsim's folder of temp" in one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_a_lock_that_cannot_be_made_is_one_line(tmp_path, capsys, monkeypatch):
    import errno

    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).endswith(".lock") and SCRATCH in str(path):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    code, _, err = cli(capsys, "run", *QUICK, "--out", str(tmp_path / "r"))
    assert code == 2 and "cannot lock" in one_line(err) and "Permission denied" in err
    assert list(tmp_path.iterdir()) == []
