"""What one simulation run gives back: DataFrames, the bottleneck, and files on disk."""

from __future__ import annotations

import os
import shutil
import weakref
from pathlib import Path
from typing import Any

import pandas as pd

from ..scenario import Scenario
from . import plots
from .io import atomic_dir, write_json
from .kpis import KpiAccumulator, kpi
from .stream import IssueFiles, read_issues


class Result:
    """One run of one scenario with one seed.

    ``issues``: one row per case created (``None`` when the run recorded at level ``kpis``; a
    streamed run reads its Parquet file(s) when ``issues`` is first used); ``kpis``: tidy
    ``metric, scope, value, unit``; ``load``: utilisation and queue per staff pool per sampling
    interval; ``backlog``: open cases over time; ``manifest``: provenance (see
    :mod:`gridsim.results.manifest`); ``record``: how the cases were recorded (``level``,
    ``stream``); ``accumulator``: the run's :class:`~gridsim.results.kpis.KpiAccumulator`
    (resolution times and per-unit counts, whatever the level).
    """

    def __init__(self, scenario: Scenario, seed: int, issues: pd.DataFrame | None,
                 kpis: pd.DataFrame, load: pd.DataFrame, backlog: pd.DataFrame,
                 manifest: dict[str, Any], *, accumulator: KpiAccumulator | None = None,
                 issue_files: IssueFiles | None = None, spool: Path | None = None,
                 record: dict[str, Any] | None = None):
        self.scenario, self.seed = scenario, seed
        self._issues = issues
        self.kpis, self.load, self.backlog, self.manifest = kpis, load, backlog, manifest
        self.accumulator = accumulator
        self.issue_files = issue_files
        self.record = record or {"level": "issues", "stream": False}
        self._spool = spool
        if spool is not None:  # the temporary folder of streamed files lives as long as we do
            self._cleanup = weakref.finalize(self, shutil.rmtree, spool, ignore_errors=True)

    def __repr__(self) -> str:
        return (f"Result(scenario={self.scenario.name!r}, seed={self.seed}, "
                f"record={self.record})")

    @property
    def issues(self) -> pd.DataFrame | None:
        """One row per case (``None`` at record level ``kpis``)."""
        if self._issues is None and self.issue_files is not None:
            self._issues = read_issues(self.issue_files)
        return self._issues

    def kpi(self, metric: str, scope: str = "all") -> float:
        """One KPI value, e.g. ``result.kpi("resolution_time_mean", "lead=department")``."""
        return kpi(self.kpis, metric, scope)

    def resolution_times(self) -> pd.DataFrame:
        """Lead and resolution time (hours) of every closed case created after the warm-up."""
        if self.accumulator is not None:
            return self.accumulator.resolution_times()
        df = self.issues
        done = df[(df["state"] == "closed") & (df["t_created"] >= self.scenario.warmup.hours)]
        return done[["lead", "resolution_time"]].reset_index(drop=True)

    def pools(self) -> pd.DataFrame:
        """Mean utilisation and queue of every pool after the warm-up, most loaded first."""
        load = self.load[self.load["time"] > self.scenario.warmup.hours]
        g = load.groupby("pool", observed=True)
        out = pd.DataFrame({
            "kind": g["kind"].first(),
            "capacity": g["capacity"].first(),
            "utilisation": g["busy"].sum() / g["capacity_hours"].sum(),
            "queue_mean": g["queue"].mean(),
            "queue_max": g["queue"].max(),
        })
        return out.sort_values("utilisation", ascending=False)

    @property
    def bottleneck(self) -> dict[str, Any]:
        """The most utilised pool after the warm-up."""
        pools = self.pools()
        if pools.empty:
            return {"pool": None, "kind": None, "utilisation": float("nan")}
        top = pools.iloc[0]
        return {"pool": str(pools.index[0]), "kind": str(top["kind"]),
                "utilisation": float(top["utilisation"]), "queue_mean": float(top["queue_mean"])}

    def summary(self) -> dict[str, Any]:
        """The headline numbers (what ``summary.json`` holds)."""
        overall = self.kpis[self.kpis["scope"] == "all"]
        if self.accumulator is not None:
            created, states = self.accumulator.cases, self.accumulator.states()
        else:
            created, states = len(self.issues), self.issues["state"].value_counts().to_dict()
        return {
            "scenario": self.scenario.name,
            "policy": self.scenario.policy.name,
            "seed": self.seed,
            "horizon_h": self.scenario.horizon.hours,
            "warmup_h": self.scenario.warmup.hours,
            "issues_created": created,
            "states": states,
            "record": self.record,
            "kpis": dict(zip(overall["metric"], overall["value"], strict=True)),
            "bottleneck": self.bottleneck,
            "wall_time_s": self.manifest.get("wall_time_s"),
        }

    def write(self, out: str | Path, plot: bool = True) -> Path:
        """Write tables, plots, ``summary.json`` and ``manifest.json`` into ``out``, atomically.

        ``issues.parquet`` is written at record level ``issues`` only. A streamed run's file
        (or folder of part files) is moved there from its temporary folder (hard-linked or
        copied when it cannot be moved), and ``issues`` reads it from there afterwards.
        """
        out = Path(out)
        placed: list[Path] = []
        with atomic_dir(out) as tmp:
            if self.issue_files is not None:
                placed = self._place_issues(tmp)
            elif self._issues is not None:
                self._issues.to_parquet(tmp / "issues.parquet", index=False)
            self.kpis.to_csv(tmp / "kpis.csv", index=False)
            self.load.to_parquet(tmp / "load.parquet", index=False)
            self.backlog.to_csv(tmp / "backlog.csv", index=False)
            self.pools().to_csv(tmp / "pools.csv")
            write_json(tmp / "summary.json", self.summary())
            write_json(tmp / "manifest.json", self.manifest)
            if plot:
                plots.write_all(self, tmp / "plots")
        if placed:
            old = self.issue_files.paths
            self.issue_files.paths = [out / p.relative_to(tmp) for p in placed]
            if self._spool is not None:  # moved out of the temporary folder: drop it there
                for p in old:
                    Path(p).unlink(missing_ok=True)
                self._cleanup()
                self._spool = None
        return out

    def _place_issues(self, tmp: Path) -> list[Path]:
        files = self.issue_files
        if files.layout == "file":
            dest = [tmp / "issues.parquet"]
        else:
            (tmp / "issues.parquet").mkdir()
            dest = [tmp / "issues.parquet" / Path(p).name for p in files.paths]
        for src, dst in zip(files.paths, dest, strict=True):
            try:
                os.link(src, dst)  # same file system: no copy
            except OSError:
                shutil.copyfile(src, dst)
        return dest
