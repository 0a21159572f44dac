"""Atomic, durable output: results appear complete under their final name, or not at all.

Everything gridsim writes is first built in a *scratch folder*: ``PARENT/.gridsim-tmp/
HOST-PID-XXXX/``, beside the final name (so the last step is a rename on the same file system).
The process that made a scratch folder holds an exclusive ``flock`` on its ``lock`` file for as
long as it uses it; the kernel drops the lock when the process ends, however it ends (Ctrl-C,
SIGKILL, power loss). So whenever gridsim opens a scratch folder under ``PARENT``, it removes the
scratch folders there whose lock nobody holds (and the output folders' lock files nobody holds,
see :class:`~gridsim.results.outdir.FolderLock`): what a killed run left behind disappears on
the next run into the same place, and a finished run leaves nothing (an empty ``.gridsim-tmp`` is
removed too).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)
SCRATCH = ".gridsim-tmp"
"""The folder, under an output's parent, that holds every temporary gridsim makes there."""
_HOST = socket.gethostname().split(".")[0].replace("-", "_") or "host"


class Scratch:
    """A private temporary folder under ``parent/.gridsim-tmp/``, locked while it is open.

    Opening one removes the stale scratch folders of ended processes under the same parent.
    ``close()`` (or leaving the ``with`` block) removes the folder and everything still in it.
    """

    def __init__(self, parent: str | Path):
        root = Path(parent) / SCRATCH
        for _ in range(5):  # another process may remove an empty root between mkdir and mkdtemp
            root.mkdir(parents=True, exist_ok=True)
            try:
                path = Path(tempfile.mkdtemp(prefix=f"{_HOST}-{os.getpid()}-", dir=root))
                break
            except FileNotFoundError:
                continue
        else:  # pragma: no cover - only under a storm of concurrent clean-ups
            raise FileNotFoundError(f"cannot create a temporary folder in {root}")
        self.root, self.path = root, path
        self._fd: int | None = os.open(path / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.chmod(path, 0o777 & ~_UMASK)
        clean_stale(root)

    def close(self) -> None:
        """Remove the folder (idempotent)."""
        if self._fd is None:
            return
        with signals_deferred():  # a Ctrl-C or SIGTERM arrives once the folder is gone
            shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(OSError):  # not empty: another process's scratch is in it
            self.root.rmdir()

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs: a clean-up that must not be cut in
    half (an exception raised inside ``shutil.rmtree`` closes its descriptors twice and turns
    Ctrl-C or SIGTERM into an ``OSError``). They are delivered when it ends. Main thread only;
    elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def clean_stale(root: Path) -> list[Path]:
    """Remove the scratch folders in ``root`` whose owner has ended; return them.

    A folder is stale when nobody holds the lock on its ``lock`` file, or (killed before it
    made one) when it has no lock file and was made by a process of this host that is gone.
    """
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for d in entries:
        if d.suffix == ".lock" and d.is_file() and not d.is_symlink():
            _clean_lock(d)
            continue
        if not d.is_dir() or d.is_symlink():
            continue
        try:
            fd = os.open(d / "lock", os.O_RDWR)
        except FileNotFoundError:
            if _gone(d.name):
                shutil.rmtree(d, ignore_errors=True)
                removed.append(d)
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: its owner is alive
            os.close(fd)
            continue
        shutil.rmtree(d, ignore_errors=True)
        os.close(fd)
        removed.append(d)
    return removed


def _clean_lock(path: Path) -> None:
    """Remove an output folder's lock file (see :class:`~gridsim.results.outdir.FolderLock`)
    that nobody holds: it was left by a killed process."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink()  # while locked: a process that opened it meanwhile sees it is gone
    except OSError:
        pass  # held: its owner is alive
    finally:
        os.close(fd)


def _gone(name: str) -> bool:
    """Whether the process named in a scratch folder's name (``HOST-PID-…``) has ended."""
    host, _, rest = name.partition("-")
    pid = rest.partition("-")[0]
    if host != _HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def fsync_path(path: str | Path) -> None:
    """Flush a file (or a folder's entries) to the disk, so a power loss cannot undo it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_dir(target: str | Path, durable: bool = False) -> Iterator[Path]:
    """Yield a scratch folder; on success it replaces ``target`` by rename.

    If the body raises, the scratch folder is removed and an existing ``target`` is untouched.
    ``durable``: fsync every file and the folder before the rename, and the parent after it.
    Callers decide whether ``target`` may be replaced (see :mod:`gridsim.results.outdir`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with Scratch(target.parent) as scratch:
        tmp = scratch / "new"
        tmp.mkdir()
        yield tmp
        if durable:
            for f in tmp.rglob("*"):
                fsync_path(f)
            fsync_path(tmp)
        old = scratch / "old"  # what is replaced goes here and is removed with the scratch
        if target.is_dir() and target.resolve() == Path.cwd():
            # the shell is in ``target`` (``--out .``): swap its entries, keep the folder
            old.mkdir()
            for entry in target.iterdir():
                if entry.name != SCRATCH:
                    os.replace(entry, old / entry.name)
            for entry in tmp.iterdir():
                os.replace(entry, target / entry.name)
        else:
            if target.exists():
                os.replace(target, old)
            os.replace(tmp, target)
        if durable:
            fsync_path(target.parent)


def atomic_write_text(path: str | Path, text: str, durable: bool = False) -> None:
    """Write ``text`` to ``path`` through a scratch file and a rename (fsynced if ``durable``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with Scratch(path.parent) as scratch:
        tmp = scratch / "new"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    if durable:
        fsync_path(path.parent)


def write_json(path: str | Path, data: Any, durable: bool = False) -> None:
    """Pretty, UTF-8 JSON (NaN written as null), atomically."""
    atomic_write_text(path, json.dumps(_clean(data), indent=2, ensure_ascii=False) + "\n",
                      durable)


def _clean(x: Any) -> Any:
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if hasattr(x, "item"):  # NumPy scalar
        return _clean(x.item())
    return x
