"""A results folder that fills up one replication at a time, so an experiment can resume.

Each finished replication is written to ``reps/p<point>_r<rep>/`` through a scratch folder,
fsynced (files, folder, then the parent after the rename), so a power loss leaves it whole or
absent; one that is unreadable all the same (a zero-byte or truncated file) is simulated again
on resume. The experiment's fingerprint (resolved scenarios of every point, seeds, the version
of the model's draws) is kept in ``experiment.json`` and checked when the folder is reused, so
results of a changed scenario, or of a gridsim that draws its random numbers another way, are
never mixed in. While a store is open it holds the folder's lock
(:class:`~gridsim.results.outdir.FolderLock`): a second process gets an error, not a mix.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ..results.io import atomic_dir, write_json
from ..results.outdir import EXPERIMENT, FolderLock, OutputError, check_out
from .outputs import TABLES

_REP = re.compile(r"^p(\d{4,})_r(\d{5,})$")


class ExperimentMismatch(OutputError):
    """The output folder holds a different experiment."""


class Store:
    """The stored replications of one experiment in ``folder`` (locked until :meth:`close`)."""

    def __init__(self, folder: str | Path, fingerprint: dict[str, Any]):
        self.folder = Path(folder)
        check_out(self.folder, EXPERIMENT)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = FolderLock(self.folder)
        try:
            self._claim(fingerprint)
        except BaseException:
            self.lock.release()
            raise
        self.reps = self.folder / "reps"
        self.reps.mkdir(exist_ok=True)

    def _claim(self, fingerprint: dict[str, Any]) -> None:
        meta = self.folder / "experiment.json"
        if not meta.exists():
            write_json(meta, {"fingerprint": fingerprint}, durable=True)
            return
        try:
            old = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError, AttributeError) as e:
            raise ExperimentMismatch(
                f"{meta} cannot be read ({e}), so which experiment {self.folder} holds is "
                "unknown: use another --out folder or delete it") from None
        if old != json.loads(json.dumps(fingerprint)):
            raise ExperimentMismatch(
                f"{self.folder} holds results of a different experiment (scenario, "
                "variants or seed changed, or they were simulated by a gridsim that draws "
                "its random numbers another way); use another --out folder or delete it")

    def close(self) -> None:
        """Release the folder's lock (idempotent)."""
        self.lock.release()

    def resume(self, n_points: int, target: int, auto: bool,
               note: Callable[[str], None]) -> dict[tuple[int, int], dict[str, pd.DataFrame]]:
        """The readable stored replications of the first ``n_points`` points, saying how many
        of the ``target`` per point were found; an unreadable one is noted and left out (so it
        is simulated again and replaced)."""
        results = {}
        for p, r in sorted(self.done()):
            if p >= n_points:
                continue
            try:
                results[(p, r)] = self.load(p, r)
            except CorruptReplication as e:
                note(f"{e}: it will be simulated again")
        if results:
            kept = sum(1 for _, r in results if r < target)
            note(f"resuming: {len(results)} replications already done" if auto else
                 f"resuming: {kept} of {n_points * target} replications already done")
        return results

    def _dir(self, point: int, rep: int) -> Path:
        return self.reps / f"p{point:04d}_r{rep:05d}"

    def done(self) -> set[tuple[int, int]]:
        """The (point, replication) pairs stored (readable or not: see :meth:`load`)."""
        out = set()
        for d in self.reps.iterdir():
            m = _REP.match(d.name)
            if m and d.is_dir():
                out.add((int(m[1]), int(m[2])))
        return out

    def save(self, point: int, rep: int, tables: dict[str, pd.DataFrame], info: dict) -> None:
        with atomic_dir(self._dir(point, rep), durable=True) as tmp:
            for name, df in tables.items():
                df.to_parquet(tmp / f"{name}.parquet", index=False)
            write_json(tmp / "info.json", info)

    def load(self, point: int, rep: int) -> dict[str, pd.DataFrame]:
        """The tables of one stored replication; :class:`CorruptReplication` if any is
        missing or unreadable."""
        d = self._dir(point, rep)
        try:
            json.loads((d / "info.json").read_text(encoding="utf-8"))
            return {name: pd.read_parquet(d / f"{name}.parquet") for name in TABLES}
        except Exception as e:  # pyarrow raises several kinds for a damaged file
            raise CorruptReplication(f"stored replication {d.relative_to(self.folder)} is "
                                     f"unreadable ({type(e).__name__}: {_first(e)})") from None

    def info(self, point: int, rep: int) -> dict:
        return json.loads((self._dir(point, rep) / "info.json").read_text(encoding="utf-8"))


class CorruptReplication(Exception):
    """A stored replication that cannot be read (it is simulated again)."""


class ResumeNote(UserWarning):
    """What a resumed experiment found in its folder (issued when no ``note`` is given)."""


def warn_note(message: str) -> None:
    """Issue ``message`` as a :class:`ResumeNote` (the default ``note`` of an experiment)."""
    warnings.warn(message, ResumeNote, stacklevel=6)  # the caller of replicate(), ...


def _first(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:120] if text else "no detail"
