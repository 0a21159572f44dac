"""What one simulation run gives back: DataFrames, the bottleneck, and files on disk."""

from __future__ import annotations

import os
import shutil
import weakref
from pathlib import Path
from typing import Any

import pandas as pd

from ..scenario import Scenario
from .appraisal import appraisal_table
from .io import Scratch, atomic_dir, write_json
from .kpis import KpiAccumulator, kpi
from .outdir import RUN, FolderLock, check_out
from .ranking import rank_units
from .stationarity import growing, manifest_entry, stationarity
from .stream import EventFiles, IssueFiles, read_events, read_issues
from .units import case_units, organisation_of, with_load


class Result:
    """One run of one scenario with one seed.

    ``issues``: one row per case created (``None`` when the run recorded at level ``kpis``; a
    streamed run reads its Parquet file(s) when ``issues`` is first used); ``kpis``: tidy
    ``metric, scope, value, unit``; ``load``: utilisation and queue per staff pool per sampling
    interval; ``backlog``: open cases over time; ``manifest``: provenance (see
    :mod:`gridsim.results.manifest`); ``record``: how the cases were recorded (``level``,
    ``stream``); ``accumulator``: the run's :class:`~gridsim.results.kpis.KpiAccumulator`
    (resolution times and per-unit counts, whatever the level); ``events``: the event log, one
    row per state change of a case (record level ``events`` only, else ``None``; see
    :mod:`gridsim.model.trace`); ``workers()``: per grid, its grid workers' day (patrol hours,
    cases found on patrol, fixed on the spot, verifications), whatever the level.
    """

    def __init__(self, scenario: Scenario, seed: int, issues: pd.DataFrame | None,
                 kpis: pd.DataFrame, load: pd.DataFrame, backlog: pd.DataFrame,
                 manifest: dict[str, Any], *, accumulator: KpiAccumulator | None = None,
                 issue_files: IssueFiles | None = None, spool: Scratch | None = None,
                 record: dict[str, Any] | None = None, events: pd.DataFrame | None = None,
                 event_files: EventFiles | None = None, workers: pd.DataFrame | None = None):
        self.scenario, self.seed = scenario, seed
        self._issues = issues
        self._events = events
        self.event_files = event_files
        self.kpis, self.load, self.backlog, self._manifest = kpis, load, backlog, manifest
        self.accumulator = accumulator
        self._workers = workers
        self.issue_files = issue_files
        self.record = record or {"level": "issues", "stream": False}
        self._units: pd.DataFrame | None = None
        self._stationarity: pd.DataFrame | None = None
        self._spool = spool
        if spool is not None:  # the scratch folder of streamed files lives as long as we do
            self._cleanup = weakref.finalize(self, spool.close)

    @property
    def manifest(self) -> dict[str, Any]:
        """Provenance (:mod:`gridsim.results.manifest`), with the stationarity test's verdict
        (``stationarity``), computed when first asked for: the test loads scipy, which a run
        that is not looked at should not pay for."""
        if "stationarity" not in self._manifest:
            self._manifest["stationarity"] = manifest_entry(self.stationarity())
        return self._manifest

    def __repr__(self) -> str:
        return (f"Result(scenario={self.scenario.name!r}, seed={self.seed}, "
                f"record={self.record})")

    @property
    def issues(self) -> pd.DataFrame | None:
        """One row per case (``None`` at record level ``kpis``)."""
        if self._issues is None and self.issue_files is not None:
            self._issues = read_issues(self.issue_files)
        return self._issues

    @property
    def events(self) -> pd.DataFrame | None:
        """One row per state change of a case (``None`` unless record level ``events``),
        ordered by ``time``, then district, ``district_seq`` and ``step``; a streamed run reads
        its Parquet file(s) when ``events`` is first used."""
        if self._events is None and self.event_files is not None:
            self._events = read_events(self.event_files)
        return self._events

    def kpi(self, metric: str, scope: str = "all") -> float:
        """One KPI value, e.g. ``result.kpi("resolution_time_mean", "lead=department")``."""
        return kpi(self.kpis, metric, scope)

    def appraisal(self) -> pd.DataFrame:
        """The department appraisal table: one row per department (``<dept>``, over the
        districts; also ``<district>/<dept>`` when there are several), columns ``dept_calls``,
        ``report_rate``, ``dept_report_time_mean``, ``dept_report_on_time_rate``,
        ``cooperation_rate``, ``resolution_rate`` (see :mod:`gridsim.results.appraisal`)."""
        return appraisal_table(self.kpis)

    def resolution_times(self) -> pd.DataFrame:
        """Lead and resolution time (hours) of every closed case created after the warm-up."""
        if self.accumulator is not None:
            return self.accumulator.resolution_times()
        df = self.issues
        done = df[(df["state"] == "closed") & (df["t_created"] >= self.scenario.warmup.hours)]
        return done[["lead", "resolution_time"]].reset_index(drop=True)

    def pools(self) -> pd.DataFrame:
        """Mean utilisation and queue of every pool after the warm-up, most loaded first.

        ``utilisation`` is case work (what cases queue for); ``patrol`` the share of the grid
        workers' on-shift time spent patrolling (0 for other pools) and ``working`` the two
        together: the grid workers' whole day. ``jobs``: the jobs the pool took on after the
        warm-up (see :class:`~gridsim.model.pools.Meter`); ``wait_share``: the share of them
        that had to queue (the probability of waiting); ``wait_mean``: the mean wait in queue
        per job, clock hours (off-shift time included), by Little's law (the queue's
        case-hours over ``jobs``). Both are NaN without jobs (meetings count none)."""
        load = self.load[self.load["time"] > self.scenario.warmup.hours]
        g = load.groupby("pool", observed=True)
        cap_h = g["capacity_hours"].sum()
        util = g["busy"].sum() / cap_h
        out = pd.DataFrame({
            "kind": g["kind"].first(),
            "capacity": g["capacity"].first(),
            "utilisation": util,
            "queue_mean": g["queue"].mean(),
            "queue_max": g["queue"].max(),
        })
        if "patrol" in load:
            patrol = g["patrol"].sum() / cap_h
            out["patrol"] = patrol
            out["working"] = util + patrol
        if "jobs" in load:
            jobs = g["jobs"].sum()
            per_job = 1 / jobs.where(jobs > 0).astype(float)
            out["jobs"] = jobs
            out["wait_share"] = g["waited"].sum() * per_job
            out["wait_mean"] = g["queue"].sum() * self.scenario.record.load_interval.hours * per_job
        return out.sort_values("utilisation", ascending=False)

    def stationarity(self) -> pd.DataFrame:
        """Which pools' queues grow through the run (``stationarity.csv``): per pool, a
        Mann-Kendall trend test on batch means of its queue after the warm-up, Benjamini-
        Hochberg adjusted across pools, with the Theil-Sen slope in cases per day; ``growing``
        flags a significant and practically large growth (see
        :mod:`gridsim.results.stationarity`). Built from the load samples, which every record
        level keeps; empty (no rows) when the run has none."""
        if self._stationarity is None:
            self._stationarity = stationarity(self.load, self.scenario.warmup.hours,
                                              self.scenario.horizon.hours)
        return self._stationarity

    def workers(self) -> pd.DataFrame:
        """Per grid, its grid workers' day over the measured period (warm-up to horizon):
        ``workers`` (head count), ``on_shift_hours`` (staff-hours), ``case_hours`` (fixes on
        the spot and verifications), ``patrol_hours`` (the rest), ``patrol_share``, cases
        ``found`` on patrol, ``fixed_on_spot`` and ``verified``. Counters kept during the run
        (see :mod:`gridsim.model.workday`), so every record level has them."""
        if self._workers is None:
            raise ValueError("this result carries no grid workers' counters")
        return self._workers

    def units(self, level: str | None = None) -> pd.DataFrame:
        """What a planner reads per unit (``units.csv``): one row per district, street,
        community, grid, department and city department with cases (``parent``: the unit
        above), and one per staff pool (level ``pool``).

        Columns: ``level, unit, parent, kind`` (pool rows), ``cases``, ``closed``, ``due``,
        ``on_time_rate``, ``resolution_time_mean``, ``resolution_time_p90``, ``overdue_end``,
        ``open_end``, ``utilisation``, ``queue_mean``, ``wait_share``, ``wait_mean`` (see
        :mod:`gridsim.results.units` and :meth:`pools`). They
        come from the run's KPI accumulator, so they need no issue table (any record level) and
        are the same at every level, sharded or not. ``level`` keeps one level's rows.
        """
        acc = self.accumulator
        if acc is None:
            raise ValueError("per-unit counts need the run's KPI accumulator")
        if self._units is None:
            org = organisation_of(self.scenario, acc.names.categories if acc.names else [])
            meter_unit = self.load.drop_duplicates("pool").set_index("pool")["unit"]
            meter_unit.index = meter_unit.index.astype(str)
            self._units = with_load(case_units(acc, org), self.pools(), meter_unit.astype(str))
        out = self._units
        return out if level is None else out[out["level"] == level].reset_index(drop=True)

    def ranking(self, kpi: str = "on_time_rate", level: str = "street",
                n: int | None = None) -> pd.DataFrame:
        """The units of ``level`` from worst to best on ``kpi`` (a ``units.csv`` column; the
        better direction is the KPI catalogue's), with a ``rank`` column; ``n``: the first
        ``n`` only. ``result.ranking("resolution_time_p90", "department")``."""
        return rank_units(self.units(), kpi, level, n)

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
            "growing_pools": growing(self.stationarity()),
            "wall_time_s": self.manifest.get("wall_time_s"),
        }

    def write(self, out: str | Path, plot: bool = True) -> Path:
        """Write tables, plots, ``summary.json`` and ``manifest.json`` into ``out``, atomically.

        ``issues.parquet`` is written at record levels ``issues`` and ``events``, and
        ``events.parquet`` at level ``events``. A streamed run's files (or folders of part
        files) are moved there from its temporary folder (hard-linked or copied when they cannot
        be moved), and ``issues`` and ``events`` read them from there afterwards.

        ``out`` is replaced only if it is missing, empty or a run folder gridsim wrote (see
        :func:`gridsim.results.outdir.check_out`); anything else raises
        :class:`~gridsim.results.outdir.OutputError` and nothing is written, as it is when
        another process holds the folder's :class:`~gridsim.results.outdir.FolderLock`.
        """
        out = Path(out)
        real = check_out(out, RUN)  # links followed: a link to the folder stays a link
        placed: dict[str, list[Path]] = {}
        with FolderLock(real), atomic_dir(real) as tmp:
            if self.issue_files is not None:
                placed["issues"] = _place(self.issue_files, tmp / "issues.parquet")
            elif self._issues is not None:
                self._issues.to_parquet(tmp / "issues.parquet", index=False)
            if self.event_files is not None:
                placed["events"] = _place(self.event_files, tmp / "events.parquet")
            elif self._events is not None:
                self._events.to_parquet(tmp / "events.parquet", index=False)
            self.kpis.to_csv(tmp / "kpis.csv", index=False)
            self.load.to_parquet(tmp / "load.parquet", index=False)
            self.backlog.to_csv(tmp / "backlog.csv", index=False)
            self.pools().to_csv(tmp / "pools.csv")
            self.units().to_csv(tmp / "units.csv", index=False)
            if self._workers is not None:
                self._workers.to_csv(tmp / "workers.csv", index=False)
            write_json(tmp / "summary.json", self.summary())
            self.stationarity().to_csv(tmp / "stationarity.csv", index=False)
            write_json(tmp / "manifest.json", self.manifest)
            if plot:
                from . import plots  # matplotlib only when plotting

                plots.write_all(self, tmp / "plots")
        if placed:
            old = []
            for kind, files in (("issues", self.issue_files), ("events", self.event_files)):
                if kind in placed:
                    old += files.paths
                    files.paths = [out / p.relative_to(tmp) for p in placed[kind]]
            if self._spool is not None:  # moved out of the temporary folder: drop it there
                for p in old:
                    Path(p).unlink(missing_ok=True)
                self._cleanup()
                self._spool = None
        return out


def _place(files: IssueFiles | EventFiles, dest: Path) -> list[Path]:
    """Link (or copy) streamed ``files`` to ``dest``: the file, or a folder of the parts."""
    if files.layout == "file":
        targets = [dest]
    else:
        dest.mkdir()
        targets = [dest / Path(p).name for p in files.paths]
    for src, dst in zip(files.paths, targets, strict=True):
        try:
            os.link(src, dst)  # same file system: no copy
        except OSError:
            shutil.copyfile(src, dst)
    return targets
