"""An experiment's results: replications of one or more points (scenario variants) on common
random numbers, and the tables, intervals and comparisons made from them.

:func:`~gridsim.experiments.run.replicate`, :func:`~gridsim.experiments.run.compare` and
:func:`~gridsim.experiments.run.sweep` make the points and run them
(:mod:`gridsim.experiments.run`); an :class:`Experiment` holds what they return.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results.units import unit_columns
from ..scenario import Scenario
from ..vocabulary import canonical, minimise
from .outputs import WORKER_COLUMNS
from .stats import (
    Best,
    Interval,
    bonferroni_level,
    paired_difference,
    select_best,
)
from .stats import t_interval as _t_interval
from .write import write_experiment

DEFAULT_KPI = "resolution_time_mean"
DEFAULT_PRECISION = 0.05
DEFAULT_MAX_REPLICATIONS = 200
MIN_SHARE = 0.5
"""A point is non-stationary when a pool's queue grows in this share of its replications."""


@dataclass
class Point:
    """One variant or one sweep point."""

    label: str
    params: dict[str, Any]
    scenario: Scenario


@dataclass
class Failure:
    point: str
    replication: int
    seed: int
    error: str

    def __str__(self) -> str:
        last = self.error.strip().splitlines()[-1] if self.error.strip() else "error"
        return f"point {self.point}, replication {self.replication}, seed {self.seed}: {last}"


@dataclass
class Experiment:
    """Results of many replications of several points, with intervals and comparisons."""

    kind: str
    points: list[Point]
    seed: int
    replications: int
    tables: dict[str, pd.DataFrame]
    failures: list[Failure] = field(default_factory=list)
    level: float = 0.95
    kpi_name: str = DEFAULT_KPI
    precision: float | None = None
    folder: Path | None = None
    # with replications="auto": whether every point met ``precision`` (False when
    # max_replications stopped the search), and the worst relative half-width reached
    precision_reached: bool | None = None
    precision_achieved: float | None = None

    # ------------------------------------------------------------------ tables
    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.points]

    @property
    def design(self) -> pd.DataFrame:
        """One row per point: its label and the parameters that define it."""
        rows = [{"point": p.label, **p.params} for p in self.points]
        return pd.DataFrame(rows)

    @property
    def kpis(self) -> pd.DataFrame:
        """Tidy: point, replication, seed, metric, scope, value."""
        return self.tables["kpis"]

    @property
    def runs(self) -> pd.DataFrame:
        """One row per (point, replication) with every overall KPI as a column, plus the
        varied parameters."""
        k = self.kpis[self.kpis["scope"] == "all"]
        wide = k.pivot_table(index=["point", "replication", "seed"], columns="metric",
                             values="value", sort=False).reset_index()
        wide.columns.name = None
        wide = self.design.merge(wide, on="point", how="right")
        wide["point"] = pd.Categorical(wide["point"], categories=self.labels)
        return wide.sort_values(["point", "replication"], ignore_index=True)

    def samples(self, metric: str, scope: str = "all") -> dict[str, np.ndarray]:
        """Replication values of one KPI per point, ordered by replication."""
        k = self.kpis[(self.kpis["metric"] == canonical(metric)) & (self.kpis["scope"] == scope)]
        if k.empty:
            raise KeyError(f"no KPI {metric!r} with scope {scope!r}")
        k = k.sort_values("replication")
        return {label: k.loc[k["point"] == label, "value"].to_numpy() for label in self.labels}

    @property
    def summary(self) -> pd.DataFrame:
        """Mean and confidence interval of every KPI (every scope) at every point."""
        rows = []
        for (label, metric, scope), g in self.kpis.groupby(["point", "metric", "scope"],
                                                           sort=False):
            ci = _t_interval(g["value"], self.level)
            rows.append((label, metric, scope, ci.mean, ci.low, ci.high, ci.half_width, ci.n))
        out = pd.DataFrame(rows, columns=["point", "metric", "scope", "mean", "low", "high",
                                          "half_width", "n"])
        out["point"] = pd.Categorical(out["point"], categories=self.labels)
        return out.sort_values(["scope", "metric", "point"], ignore_index=True)

    @property
    def differences(self) -> pd.DataFrame:
        """Paired difference of every point against the first, per KPI, with intervals at the
        Bonferroni level that keeps the family-wise confidence at ``level``."""
        if len(self.points) < 2:
            return pd.DataFrame(columns=["point", "reference", "metric", "scope", "difference",
                                         "low", "high", "level", "significant"])
        ref = self.labels[0]
        per = bonferroni_level(self.level, len(self.points) - 1)
        k = self.kpis.set_index(["metric", "scope", "point", "replication"])["value"]
        rows = []
        for (metric, scope), g in k.groupby(level=["metric", "scope"], sort=False):
            g = g.droplevel(["metric", "scope"])
            if ref not in g.index.get_level_values("point"):
                continue
            a = g.xs(ref, level="point")
            for label in self.labels[1:]:
                if label not in g.index.get_level_values("point"):
                    continue
                b = g.xs(label, level="point")
                reps = a.index.intersection(b.index)
                d = paired_difference(a.loc[reps].to_numpy(), b.loc[reps].to_numpy(), per)
                sig = bool(d.low > 0 or d.high < 0)
                rows.append((label, ref, metric, scope, d.mean, d.low, d.high, per, sig))
        out = pd.DataFrame(rows, columns=["point", "reference", "metric", "scope", "difference",
                                          "low", "high", "level", "significant"])
        out["point"] = pd.Categorical(out["point"], categories=self.labels)
        return out

    def contrast(self, a: str, b: str, metric: str, scope: str = "all",
                 level: float | None = None) -> Interval:
        """Paired interval of ``b − a`` on one KPI, for any two points (e.g. two policies at
        the same staffing level of a sweep). ``level`` defaults to the experiment's; adjust it
        with :func:`~gridsim.experiments.stats.bonferroni_level` when making several."""
        samples = self.samples(metric, scope)
        return paired_difference(samples[a], samples[b], level or self.level)

    def best(self, kpi: str | None = None, scope: str = "all") -> Best:
        """Which point is best on ``kpi`` and whether it is better than all others."""
        kpi = kpi or self.kpi_name
        return select_best(self.samples(kpi, scope), minimise(kpi), self.level)

    def units(self, level: str | None = None) -> pd.DataFrame:
        """Every ``units.csv`` column per point and unit, averaged over replications, each
        with its interval half-width (``<column>_hw``, at the experiment's level); ``parent``
        and ``kind`` as in a run's table."""

        u = self.tables["units"]
        if level:
            u = u[u["level"] == level]
        cols = unit_columns(u)
        g = u.groupby(["point", "level", "unit"], sort=False, observed=True)
        values = u[cols].astype(float)
        vg = values.groupby([u["point"], u["level"], u["unit"]], sort=False, observed=True)
        out = vg.mean()
        out = out.join(_half_widths(vg, self.level).add_suffix("_hw")).reset_index()
        for col in ("parent", "kind"):
            if col in u:
                out[col] = g[col].first().to_numpy()
        out["point"] = pd.Categorical(out["point"], categories=self.labels)
        return out

    def workers(self) -> pd.DataFrame:
        """Per point and grid, its grid workers' day (patrol hours, cases found on patrol,
        fixed on the spot, verifications) averaged over replications, with interval
        half-widths (``_hw``)."""

        w = self.tables.get("workers")
        if w is None or w.empty:
            return pd.DataFrame()
        cols = list(WORKER_COLUMNS)
        g = w.groupby(["point", "street", "grid"], sort=False, observed=True)
        out = g[cols].mean()
        hw = g[cols].agg(lambda s: _t_interval(s, self.level).half_width)
        out = out.join(hw.add_suffix("_hw")).reset_index()
        out.insert(3, "workers", g["workers"].first().to_numpy())
        out["point"] = pd.Categorical(out["point"], categories=self.labels)
        return out

    def most_loaded(self, n: int = 5) -> pd.DataFrame:
        """Per point and level, the ``n`` units with the highest utilisation (pools) or the
        most overdue open cases at the end (grids, communities, streets, departments)."""
        u = self.units()
        out = []
        for (_, level), g in u.groupby(["point", "level"], observed=True, sort=False):
            col = "utilisation" if level == "pool" else "overdue_end"
            top = g.nlargest(n, col)
            out.append(top.assign(rank=range(1, len(top) + 1), by=col))
        return pd.concat(out, ignore_index=True) if out else u.head(0)

    def bottlenecks(self) -> pd.DataFrame:
        """The most utilised pool of each point."""
        pools = self.units("pool")
        idx = pools.groupby("point", observed=True)["utilisation"].idxmax().dropna()
        return pools.loc[idx, ["point", "unit", "kind", "utilisation", "utilisation_hw"]]

    def stationarity(self) -> pd.DataFrame:
        """Per point and pool, how often its queue grew through the run: ``replications``
        tested, ``flagged`` (``growing`` in that many), ``share`` flagged and the mean
        Theil-Sen ``slope_per_day`` (see :mod:`gridsim.results.stationarity`). Most flagged
        first within each point; empty when no replication kept the test."""
        st = self.tables.get("stationarity")
        cols = ["point", "unit", "kind", "replications", "flagged", "share", "slope_per_day"]
        if st is None or st.empty:
            return pd.DataFrame(columns=cols)
        g = st.assign(growing=st["growing"].astype(bool)).groupby(
            ["point", "unit"], sort=False, observed=True)
        out = pd.DataFrame({"kind": g["kind"].first(), "replications": g["growing"].size(),
                            "flagged": g["growing"].sum(),
                            "slope_per_day": g["slope_per_day"].mean()}).reset_index()
        out["share"] = out["flagged"] / out["replications"]
        out["point"] = pd.Categorical(out["point"], categories=self.labels)
        return out.sort_values(["point", "share", "slope_per_day"],
                               ascending=[True, False, False], ignore_index=True)[cols]

    def non_stationary(self, min_share: float = MIN_SHARE) -> pd.DataFrame:
        """The pools of :meth:`stationarity` flagged as growing in at least ``min_share`` of
        their point's replications: a point with any is not in a steady state, and its
        averages (and differences against it) depend on the horizon. A share below one half
        is at most a borderline pool (each replication's test flags a stationary pool with
        a probability of about 1 %)."""
        return non_stationary(self.stationarity(), min_share)

    def histogram(self) -> pd.DataFrame:
        """Resolution-time histogram per point and lead, mean count per replication."""
        h = self.tables["hist"]
        return h.groupby(["point", "lead", "bin"], sort=False)["count"].mean().reset_index()

    def daily(self) -> pd.DataFrame:
        """Daily utilisation per pool kind: mean and interval half-width over replications."""
        d = self.tables["daily"]
        g = d.groupby(["point", "day", "kind"], sort=False)["utilisation"]
        out = g.mean().rename("utilisation").to_frame()
        out["half_width"] = g.agg(lambda s: _t_interval(s, self.level).half_width)
        return out.reset_index()

    # ------------------------------------------------------------------ output
    def write(self, folder: str | Path | None = None, plot: bool = True) -> Path:
        """Write the tables (CSV and Parquet), plots and ``experiment.json`` into ``folder``."""
        return write_experiment(self, Path(folder or self.folder), plot=plot)


def non_stationary(st: pd.DataFrame, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """The rows of an :meth:`Experiment.stationarity` table (or its ``stationarity.csv``)
    flagged in at least ``min_share`` of the replications."""
    return st[(st["flagged"] > 0) & (st["share"] >= min_share)].reset_index(drop=True)


def _half_widths(g, level: float) -> pd.DataFrame:
    """Student-t half-widths of the mean per group and column (as
    :func:`~gridsim.experiments.stats.t_interval`, NaNs dropped; NaN below two values)."""
    from scipy import stats

    n = g.count()
    sd = g.std(ddof=1)
    t = stats.t.ppf(0.5 + level / 2, np.maximum(n.to_numpy() - 1, 1))
    h = t * sd.to_numpy() / np.sqrt(np.maximum(n.to_numpy(), 1))
    return pd.DataFrame(np.where(n.to_numpy() >= 2, h, np.nan), index=sd.index,
                        columns=sd.columns)
