"""No process outlives the command: SIGKILL, SIGTERM (``timeout``, Slurm, ``docker stop``) and
Ctrl-C of an experiment or a sharded run leave no forkserver or worker behind, and SIGTERM takes
the Ctrl-C path (finished replications kept, a message, exit status 143)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from gridsim.parallel.executors import Executor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SMALL = ["--set", "horizon=365d", "--set", "warmup=3d", "--set", "streets.count=2",
         "--no-plots", "-q"]
COMPARE = ["compare", "--policies", "baseline,whistle", "-n", "3", "-j", "2", *SMALL]
SHARDED = ["run", "--shards", "2", "-j", "2", "--set", "districts[0].count=2",
           "--set", "city.per_district=true", "--record", "kpis", *SMALL]


def _start(args: list[str], out: Path) -> subprocess.Popen:
    """The command in a session of its own, so a test can clean up whatever it leaves."""
    return subprocess.Popen([sys.executable, "-m", "gridsim", *args, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _wait_for_workers(proc: subprocess.Popen, n: int = 2) -> list[psutil.Process]:
    """Every descendant, once ``n`` workers (children of the forkserver) are running: set up,
    i.e. with their lifeline thread started."""
    me = psutil.Process(proc.pid)
    deadline = time.monotonic() + 300  # the machine may be busy: starting is not under test
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        tree = me.children(recursive=True)
        if sum(_ready_worker(p, proc.pid) for p in tree) >= n:
            return tree
        time.sleep(0.05)
    raise AssertionError("the workers never started")


def _ready_worker(p: psutil.Process, command: int) -> bool:
    try:
        return p.ppid() != command and p.num_threads() >= 2 and _alive(p)
    except psutil.NoSuchProcess:
        return False


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _survivors(tree: list[psutil.Process], within: float = 10.0) -> list[psutil.Process]:
    """The processes of ``tree`` still alive ``within`` seconds from now (killed afterwards,
    so a failing test leaves nothing running either)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [p for p in tree if _alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    for p in alive:
        p.kill()
    return alive


def _cleanup(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)


@pytest.mark.parametrize("args", [COMPARE, SHARDED], ids=["compare", "run --shards"])
def test_sigkill_of_the_command_leaves_no_process_behind(tmp_path, args):
    proc = _start(args, tmp_path / "out")
    try:
        tree = _wait_for_workers(proc)
        proc.kill()  # the command only, as the OOM killer or `kill -9 PID` would
        proc.wait(timeout=30)
        alive = _survivors(tree)
        assert not alive, [p.cmdline()[-1][:80] for p in alive]
    finally:
        _cleanup(proc)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_kernel_ends_workers_that_cannot_even_run_when_the_command_dies(tmp_path):
    """Stopped workers cannot see their lifeline close; the parent-death signal of the
    forkserver (and theirs, on the forkserver) still ends them when the command is killed."""
    proc = _start(COMPARE, tmp_path / "out")
    try:
        tree = _wait_for_workers(proc)
        workers = [p for p in tree if p.ppid() != proc.pid]
        for w in workers:
            w.suspend()  # SIGSTOP: no thread of theirs runs again
        proc.kill()
        proc.wait(timeout=30)
        alive = _survivors(workers)
        assert not alive, [p.cmdline()[-1][:80] for p in alive]
        assert not _survivors(tree)
    finally:
        _cleanup(proc)


@pytest.mark.parametrize("group", [False, True], ids=["command", "process group"])
def test_sigterm_is_handled_like_ctrl_c(tmp_path, group):
    """``kill PID`` (SIGTERM to the command) and ``timeout``/Slurm (to the whole group): the
    finished replications stay stored, the command says it was interrupted, exits 143, and
    its workers and forkserver are gone."""
    out = tmp_path / "out"
    proc = _start(COMPARE, out)
    try:
        tree = _wait_for_workers(proc)
        deadline = time.monotonic() + 300
        while not list(out.glob("reps/p*_r*/kpis.parquet")) and time.monotonic() < deadline:
            time.sleep(0.05)
        stored = len(list(out.glob("reps/p*_r*/kpis.parquet")))
        assert stored >= 1
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert "interrupted" in err and "Traceback" not in err, err
        assert len(list(out.glob("reps/p*_r*/kpis.parquet"))) >= stored
        alive = _survivors(tree)
        assert not alive, [p.cmdline()[-1][:80] for p in alive]
    finally:
        _cleanup(proc)


def test_an_interrupted_executor_stops_its_workers_without_waiting_for_their_tasks():
    """Ctrl-C while two workers are in two-minute tasks: the pool is gone in seconds (a polite
    shutdown would wait for the tasks)."""
    pids: list[int] = []
    interrupted: list[float] = []

    def interrupt_once_running(ex: Executor) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            pool = ex._pool
            if pool is not None and pool._processes and len(pool._processes) == 2:
                pids.extend(pool._processes)
                time.sleep(0.5)  # the tasks have reached the workers
                break
            time.sleep(0.05)
        interrupted.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C

    with pytest.raises(KeyboardInterrupt), Executor(2, fn=time.sleep) as ex:
        threading.Thread(target=interrupt_once_running, args=(ex,), daemon=True).start()
        list(ex.run([120, 120]))
    assert time.monotonic() - interrupted[0] < 30
    assert len(pids) == 2
    assert not _survivors([psutil.Process(p) for p in pids if psutil.pid_exists(p)])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_process_with_the_parent_death_signal_dies_with_its_parent():
    child = ("import time; from gridsim.parallel.lifeline import die_with_parent; "
             "assert die_with_parent(); print('ready', flush=True); time.sleep(120)")
    parent = ("import subprocess, sys, time; "
              f"c = subprocess.Popen([sys.executable, '-c', {child!r}], stdout=subprocess.PIPE, "
              "text=True); c.stdout.readline(); print(c.pid, flush=True); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        pid = int(proc.stdout.readline())
        grandchild = psutil.Process(pid)
        proc.kill()
        proc.wait(timeout=30)
        assert not _survivors([grandchild], within=5)
    finally:
        _cleanup(proc)

