"""Which folders and files gridsim may replace or write into, and the lock of an experiment.

A planner points ``--out`` at folders that may hold their thesis. gridsim therefore replaces
only what it wrote itself, recognised by what it leaves there:

- a **run folder** holds a ``manifest.json`` with gridsim's provenance keys and nothing but
  the entries a run (and ``gridsim report``) writes; ``gridsim run`` replaces it as a whole;
- an **experiment folder** (compare, replicate, sweep) holds an ``experiment.json`` with the
  experiment's fingerprint; a rerun resumes into it and writes only its own file names;
- an **empty folder** (or a missing one) may become either.

Anything else (a file, a folder with other files, a run folder for an experiment and vice
versa) is refused with :class:`OutputError` before any simulation starts. Writing an experiment
folder takes an exclusive ``flock`` on its ``.gridsim-lock``, so two processes never fill one
folder at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from pathlib import Path

from .io import SCRATCH, Scratch

RUN_ENTRIES = frozenset({
    "manifest.json", "summary.json", "issues.parquet", "events.parquet", "kpis.csv",
    "load.parquet", "backlog.csv", "pools.csv", "units.csv", "plots", "report.html", SCRATCH})
"""Every name a run folder may hold (what :meth:`Result.write` and the report write)."""
LOCK = ".gridsim-lock"
OWN = frozenset({SCRATCH, LOCK})
"""gridsim's own bookkeeping entries: a folder holding only these counts as empty."""
RUN, EXPERIMENT = "run", "experiment"
_KIND_NAME = {RUN: "a gridsim run (manifest.json)",
              EXPERIMENT: "a gridsim experiment (experiment.json)"}


class OutputError(Exception):
    """An output path gridsim refuses to write (the message says why and what to do)."""


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def folder_kind(folder: str | Path) -> str | None:
    """``"run"`` or ``"experiment"`` if gridsim wrote ``folder``, else ``None``.

    A run is recognised by a ``manifest.json`` carrying gridsim's provenance keys, an experiment
    by an ``experiment.json`` carrying a fingerprint: a file that merely has the name is not
    enough.
    """
    folder = Path(folder)
    meta = _json(folder / "experiment.json")
    if isinstance(meta, dict) and isinstance(meta.get("fingerprint"), dict):
        return EXPERIMENT
    man = _json(folder / "manifest.json")
    if isinstance(man, dict) and {"gridsim_version", "scenario_sha256", "seed"} <= set(man):
        return RUN
    return None


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in OWN)


def check_out(out: str | Path, kind: str, option: str = "--out") -> Path:
    """Refuse an output folder gridsim may not fill; return it resolved (links followed).

    ``kind``: ``"run"`` (the folder is replaced) or ``"experiment"`` (it is resumed). Checks
    only; creates nothing.
    """
    shown = Path(out)
    path = shown.resolve()
    try:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{option} {shown} is a file, not a folder: gridsim will not "
                              "replace it; choose a folder name")
        if path.is_dir():
            entries = _entries(path)
            if entries:
                found = folder_kind(path)
                if found is None:
                    raise OutputError(
                        f"{option} {shown} already holds files gridsim did not write "
                        f"({_few(entries)}): gridsim never replaces them; choose a new or "
                        "empty folder")
                if found != kind:
                    raise OutputError(
                        f"{option} {shown} holds the results of {_KIND_NAME[found]}, not of "
                        f"{_KIND_NAME[kind].split(' (')[0]}: choose another folder")
                foreign = [e for e in entries if e not in RUN_ENTRIES]
                if kind == RUN and foreign:
                    raise OutputError(
                        f"{option} {shown} is a gridsim run folder but also holds files gridsim "
                        f"did not write ({_few(foreign)}): rerunning would delete them; move "
                        "them away or choose another folder")
        writable_parent(path, shown, option)
    except PermissionError as e:
        raise OutputError(f"{option} {shown}: cannot read it ({e.strerror})") from None
    return path


def check_file(out: str | Path, option: str, marker: str,
               protect: str | Path | None = None) -> Path:
    """Refuse an output *file* that gridsim did not write (it lacks ``marker``), a folder, or
    ``protect`` (the input file); return it resolved."""
    shown = Path(out)
    path = shown.resolve()
    if protect is not None and Path(protect).resolve() == path:
        raise OutputError(f"{option} {shown} is the input file: gridsim will not overwrite "
                          "it; choose another name")
    if path.is_dir():
        raise OutputError(f"{option} {shown} is a folder, not a file: choose a file name")
    if path.exists():
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                head = f.read(65536)
        except OSError as e:
            raise OutputError(f"{option} {shown}: cannot read it ({e.strerror})") from None
        if marker not in head:
            raise OutputError(f"{option} {shown} already exists and was not written by "
                              "gridsim: gridsim will not overwrite it; choose another name")
    writable_parent(path, shown, option)
    return path


def writable_parent(path: Path, shown: Path, option: str) -> None:
    """Refuse ``path`` when the folder that would hold it cannot be created or written (and,
    for an existing folder, when it cannot be written itself)."""
    probe = path.parent
    while not probe.exists():
        if probe.is_symlink():
            raise OutputError(f"{option} {shown}: {probe} is a broken link")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{option} {shown}: {probe} is a file, so no folder can be made "
                          "inside it")
    for target in (probe, path) if path.is_dir() else (probe,):
        if not os.access(target, os.W_OK | os.X_OK):
            why = errno.EROFS if _read_only(target) else errno.EACCES
            raise OutputError(f"{option} {shown}: cannot write in {target} "
                              f"({os.strerror(why)})")
        try:  # permissions are not everything (root, /proc, network mounts): try it
            Scratch(target).close()
        except OSError as e:
            raise OutputError(f"{option} {shown}: cannot write in {target} "
                              f"({e.strerror or e})") from None


def _read_only(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    return False


def _few(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


class FolderLock:
    """An exclusive lock on ``folder/.gridsim-lock``, held while an experiment writes there.

    The kernel releases it when the process ends, however it ends, so a killed run never
    leaves a folder locked.
    """

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / LOCK
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode("ascii", "replace").strip()
            os.close(self._fd)
            self._fd = None
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise OutputError(f"{folder} is being written by another gridsim process{who}: "
                              "wait for it to finish, or use another --out") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Release the lock (idempotent); the lock file stays, empty."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
