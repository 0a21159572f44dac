"""A results folder that fills up one replication at a time, so an experiment can resume.

Each finished replication is written atomically to ``reps/p<point>_r<rep>/``; the experiment's
fingerprint (resolved scenarios of every point, seeds, the version of the model's draws) is
kept in ``experiment.json`` and checked when the folder is reused, so results of a changed
scenario, or of a gridsim that draws its random numbers another way, are never mixed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..results.io import atomic_dir, write_json
from .outputs import TABLES


class ExperimentMismatch(Exception):
    """The output folder holds a different experiment."""


class Store:
    def __init__(self, folder: str | Path, fingerprint: dict[str, Any]):
        self.folder = Path(folder)
        self.reps = self.folder / "reps"
        meta = self.folder / "experiment.json"
        if meta.exists():
            old = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
            if old != json.loads(json.dumps(fingerprint)):
                raise ExperimentMismatch(
                    f"{self.folder} holds results of a different experiment (scenario, "
                    "variants or seed changed, or they were simulated by a gridsim that draws "
                    "its random numbers another way); use another --out folder or delete it")
        else:
            write_json(meta, {"fingerprint": fingerprint})
        self.reps.mkdir(parents=True, exist_ok=True)

    def _dir(self, point: int, rep: int) -> Path:
        return self.reps / f"p{point:04d}_r{rep:05d}"

    def done(self) -> set[tuple[int, int]]:
        out = set()
        for d in self.reps.glob("p*_r*"):
            if d.is_dir() and not d.name.startswith("."):
                p, r = d.name[1:].split("_r")
                out.add((int(p), int(r)))
        return out

    def save(self, point: int, rep: int, tables: dict[str, pd.DataFrame], info: dict) -> None:
        with atomic_dir(self._dir(point, rep)) as tmp:
            for name, df in tables.items():
                df.to_parquet(tmp / f"{name}.parquet", index=False)
            write_json(tmp / "info.json", info)

    def load(self, point: int, rep: int) -> dict[str, pd.DataFrame]:
        d = self._dir(point, rep)
        return {name: pd.read_parquet(d / f"{name}.parquet") for name in TABLES}

    def info(self, point: int, rep: int) -> dict:
        return json.loads((self._dir(point, rep) / "info.json").read_text(encoding="utf-8"))
