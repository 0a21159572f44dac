"""Which folders and files gridsim may replace or write into, and the lock of an experiment.

A planner points ``--out`` at folders that may hold their thesis. gridsim therefore replaces
only what it wrote itself, recognised by what it leaves there:

- a **run folder** holds a ``manifest.json`` with gridsim's provenance keys and nothing but
  the entries a run (and ``gridsim report``) writes; ``gridsim run`` replaces it as a whole;
- an **experiment folder** (compare, replicate, sweep) holds an ``experiment.json`` with the
  experiment's fingerprint; a rerun resumes into it and writes only its own file names;
- an **empty folder** (or a missing one) may become either.

Anything else (a file, a folder with other files, a run folder for an experiment and vice
versa) is refused with :class:`OutputError` before any simulation starts. Writing a run or an
experiment folder takes an exclusive ``flock`` on its lock file (:class:`FolderLock`, in the
parent's ``.gridsim-tmp``), so two processes never fill one folder at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path

from .io import SCRATCH, Scratch

RUN_ENTRIES = frozenset({
    "manifest.json", "summary.json", "issues.parquet", "events.parquet", "kpis.csv",
    "load.parquet", "backlog.csv", "pools.csv", "units.csv", "plots", "report.html", SCRATCH,
    "workers.csv", "stationarity.csv"})
"""Every name a run folder may hold (what :meth:`Result.write` and the report write)."""
LOCK = ".gridsim-lock"  # where gridsim 0.x before FolderLock moved out of the folder kept it
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
    _not_scratch(path, shown, option)
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
    _not_scratch(path, shown, option)
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


def _not_scratch(path: Path, shown: Path, option: str) -> None:
    """Refuse a path in (or being) a ``.gridsim-tmp``: gridsim removes what it finds there."""
    if SCRATCH in path.parts:
        raise OutputError(f"{option} {shown} is inside {SCRATCH}, gridsim's folder of "
                          "temporaries (what is in it gets removed): choose another place")


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
    """An exclusive lock on an output folder, held while a run or an experiment writes it.

    The lock is a file ``PARENT/.gridsim-tmp/NAME.lock`` beside the folder (not in it: a run
    replaces its folder by a rename, which would swap a lock inside it), keyed by the folder's
    resolved name, so a second process pointed at the same folder, by any path or link, is
    refused with :class:`OutputError`. The kernel releases it when the process ends, however it
    ends; :meth:`release` removes the file, and a later lock or clean-up removes one left by a
    killed process. Within one process the lock is re-entrant (``gridsim run`` takes it before
    simulating, :meth:`Result.write` again around the rename).
    """

    _held: dict[Path, list] = {}  # lock file -> [fd, depth] of this process

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self._owned = self._held.get(self.path)
        if self._owned is not None:
            self._owned[1] += 1
            return
        made = _missing_parents(self.path.parent)
        try:
            fd = _acquire(self.path)
        except BaseException as e:
            _remove_empty([self.path.parent, *made])
            if isinstance(e, OSError):
                raise OutputError(f"cannot lock {folder} for writing: {e.strerror or e} "
                                  f"({self.path})") from None
            raise
        if fd is None:
            holder = _holder(self.path)
            _remove_empty(made)
            who = f" (pid {holder})" if holder else ""
            raise OutputError(f"{folder} is being written by another gridsim process{who}: "
                              "wait for it to finish, or use another --out")
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._owned = self._held[self.path] = [fd, 1]
        self._made = made

    def release(self) -> None:
        """Release the lock (idempotent): remove its file, then an empty ``.gridsim-tmp`` and
        the empty folders the lock had to create."""
        owned, self._owned = self._owned, None
        if owned is None:
            return
        owned[1] -= 1
        if owned[1] > 0:
            return
        del self._held[self.path]
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still locked: a process waiting on it sees it is gone
        os.close(owned[0])
        _remove_empty([self.path.parent, *getattr(self, "_made", [])])

    def __enter__(self) -> FolderLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_path(folder: str | Path) -> Path:
    """The lock file of output ``folder``: ``PARENT/.gridsim-tmp/NAME.lock`` (links followed;
    a name too long for a file name is replaced by its SHA-256)."""
    real = Path(folder).resolve()
    name = real.name or "root"
    if len(name.encode("utf-8", "surrogateescape")) > 200:
        name = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()
    return real.parent / SCRATCH / f"{name}.lock"


def _acquire(path: Path) -> int | None:
    """An fd holding the flock on ``path`` (created if missing), or ``None`` if another
    process holds it. Retries when the file was removed between opening and locking it."""
    for _ in range(100):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except FileNotFoundError:  # the empty .gridsim-tmp was just removed
            continue
        for wait in (0.0, 0.01, 0.02, 0.05):  # a clean-up holds it for microseconds
            time.sleep(wait)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not _same(fd, path):
                    break
        else:
            os.close(fd)
            return None
        if _same(fd, path):
            os.ftruncate(fd, 0)
            return fd
        os.close(fd)  # its holder released and removed it meanwhile: lock the new file
    raise OSError(errno.EAGAIN, f"cannot lock {path}")  # pragma: no cover


def _same(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not removed or replaced since)."""
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except FileNotFoundError:
        return False


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(encoding="ascii", errors="replace").strip()
        return text if text.isdigit() else ""
    return ""


def _missing_parents(folder: Path) -> list[Path]:
    """The folders from ``folder`` up that do not exist yet (deepest first)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for f in folders:
        with contextlib.suppress(OSError):
            f.rmdir()



RESULTS = Path("results")
"""Where the command line writes when no ``--out`` is given (relative to the working folder)."""


def default_folder(command: str, names: list[str] | tuple[str, ...]) -> Path:
    """The folder ``gridsim COMMAND`` writes without ``--out``, named after its scenarios:
    ``results/<name>`` for ``run``, ``results/<name>-replications`` and ``results/<name>-sweep``,
    ``results/compare-<a>-<b>...`` for ``compare``, ``results/optimise-<name>`` for
    ``optimise``."""
    if command == "run":
        return RESULTS / names[0]
    if command == "compare":
        return RESULTS / ("compare-" + "-".join(names))
    if command == "optimise":
        return RESULTS / f"optimise-{names[0]}"
    if command in ("replicate", "sweep"):
        return RESULTS / f"{names[0]}-{'replications' if command == 'replicate' else 'sweep'}"
    raise ValueError(f"no default folder for {command!r}")
