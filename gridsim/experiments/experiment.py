"""Replications of one or more scenario variants on common random numbers.

:func:`replicate`, :func:`compare` and :func:`sweep` all build a list of *points* (a label, the
parameters that define it, a resolved scenario) and hand them to :func:`run_points`, which runs
every (point, replication) pair. Replication ``r`` of every point uses the same seed, spawned from
the base seed by ``SeedSequence``, so variants see the same arrivals and per-case draws and their
differences can be paired.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arguments import SettingError, check_experiment, check_policies
from ..parallel.executors import Executor, default_workers
from ..scenario import Scenario
from ..scenario.size import check_size
from ..vocabulary import canonical, minimise
from .identity import experiment_fingerprint, replication_seed
from .outputs import TABLES
from .stats import (
    Best,
    Interval,
    bonferroni_level,
    paired_difference,
    replications_needed,
    select_best,
)
from .stats import t_interval as _t_interval
from .store import Store, warn_note
from .tasks import Outcome, Task, run_task
from .write import write_experiment

DEFAULT_KPI = "resolution_time_mean"
DEFAULT_PRECISION = 0.05
DEFAULT_MAX_REPLICATIONS = 200


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
        """Load and fairness per unit, averaged over replications (with interval half-widths)."""
        u = self.tables["units"]
        if level:
            u = u[u["level"] == level]
        cols = ["cases", "open_end", "overdue_end", "utilisation", "queue_mean"]
        g = u.groupby(["point", "level", "unit"], sort=False, observed=True)
        out = g[cols].mean()
        hw = g[cols].agg(lambda s: _t_interval(s, self.level).half_width)
        out = out.join(hw.add_suffix("_hw")).reset_index()
        out["kind"] = g["kind"].first().to_numpy()
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


# ---------------------------------------------------------------------- running
ProgressFn = Callable[[int, int], None]


def run_points(kind: str, points: list[Point], replications: int | str = 10,
               seed: int | None = None, *, precision: float | None = None,
               kpi: str = DEFAULT_KPI, max_replications: int | None = None,
               level: float = 0.95, workers: int | None = None, client: Any = None,
               out: str | Path | None = None, progress: ProgressFn | None = None,
               note: Callable[[str], None] | None = None,
               allow_large: bool = False) -> Experiment:
    """Run every point ``replications`` times (or ``"auto"``: until ``kpi``'s relative
    half-width is within ``precision`` (default 0.05) at every point, by Hoad, Robinson &
    Davies' algorithm, or ``max_replications`` (default 200) are done).

    With ``out``, each finished replication is stored there and a rerun resumes (``out`` must
    be missing, empty or this experiment's folder: see :mod:`gridsim.results.outdir`).
    ``note(text)`` hears what resuming found (how many replications were done, which stored
    ones were unreadable and are simulated again); by default each is a
    :class:`~gridsim.experiments.store.ResumeNote` warning. A bad value raises
    :class:`~gridsim.arguments.SettingError` before anything runs; each point's
    size is checked first (replications record KPIs only), as :func:`gridsim.simulate` does,
    unless ``allow_large``.
    """
    if not points:
        raise SettingError("nothing to run: no points")
    kpi = canonical(kpi)  # a KPI name of gridsim 0.1 is read as its new name
    check_experiment(replications, seed, precision, kpi, max_replications, level, workers)
    for p in points:
        check_size(p.scenario, "kpis", allow_large)
    seed = points[0].scenario.seed if seed is None else int(seed)
    auto = replications == "auto"
    if auto:
        precision = DEFAULT_PRECISION if precision is None else float(precision)
        max_replications = max_replications or DEFAULT_MAX_REPLICATIONS
        target = min(3, max_replications)
    else:
        target = int(replications)
    # connect (a Dask scheduler may be unreachable) before the folder is made or locked
    with Executor(workers, client, fn=run_task) as executor:
        store = Store(out, experiment_fingerprint(kind, points, seed)) if out is not None \
            else None
        try:
            return _run_points(kind, points, target, auto, seed, precision, kpi,
                               max_replications, level, workers, executor, store, progress,
                               note or warn_note)
        finally:
            if store:
                store.close()


def _run_points(kind, points, target, auto, seed, precision, kpi, max_replications, level,
                workers, executor, store, progress, note) -> Experiment:
    results = store.resume(len(points), target, auto, note) if store else {}
    failures: list[Failure] = []
    batch = max(workers or default_workers(), 1)
    scenario_data = [p.scenario.to_data() for p in points]
    reached = None
    while True:
        tasks = [Task(i, r, replication_seed(seed, r), scenario_data[i])
                 for r in range(target) for i in range(len(points))
                 if (i, r) not in results]
        done = len(points) * target - len(tasks)
        if progress:
            progress(done, len(points) * target)
        for outcome in executor.run(tasks):
            _collect(outcome, points, results, failures, store)
            done += 1
            if progress:
                progress(done, len(points) * target)
        if not auto:
            break
        needed = _needed(points, results, target, kpi, precision, level)
        if needed is not None:
            target, reached = needed, True
            break
        if target >= max_replications:
            reached = False
            break
        target = min(max_replications, target + batch)
    tables = _tables(points, results, target, seed)
    return Experiment(kind, points, seed, target, tables, failures, level, kpi,
                      precision if auto else None, store.folder if store else None, reached,
                      _achieved(points, results, target, kpi, level) if auto else None)


def _achieved(points, results, target, kpi, level) -> float:
    """The worst relative half-width of ``kpi`` over the points, on ``target`` replications."""
    return float(np.max([_t_interval(_point_values(results, i, target, kpi), level)
                         .relative_precision for i in range(len(points))]))


def _collect(outcome: Outcome, points: list[Point], results: dict, failures: list,
             store: Store | None) -> None:
    t = outcome.task
    if outcome.error is not None:
        failures.append(Failure(points[t.point].label, t.replication, t.seed, outcome.error))
        return
    results[(t.point, t.replication)] = outcome.tables
    if store:
        store.save(t.point, t.replication, outcome.tables,
                   {"point": points[t.point].label, "replication": t.replication,
                    "seed": t.seed, "wall_time_s": round(outcome.wall_time, 3)})


def _needed(points, results, target, kpi, precision, level) -> int | None:
    """Replications needed so every point meets the precision, or None if not yet."""
    worst = 0
    for i in range(len(points)):
        n = replications_needed(_point_values(results, i, target, kpi), precision, level)
        if n is None:
            return None
        worst = max(worst, n)
    return worst


def _point_values(results: dict, point: int, target: int, kpi: str) -> list[float]:
    return [_kpi_value(results[(point, r)]["kpis"], kpi) for r in range(target)
            if (point, r) in results]


def _kpi_value(kpis: pd.DataFrame, metric: str, scope: str = "all") -> float:
    hit = kpis[(kpis["metric"] == metric) & (kpis["scope"] == scope)]
    if hit.empty:
        raise KeyError(f"no KPI {metric!r}")
    return float(hit["value"].iloc[0])


def _tables(points: list[Point], results: dict, n: int,
            seed: int) -> dict[str, pd.DataFrame]:
    out = {}
    for name in TABLES:
        frames = []
        for (i, r), tables in sorted(results.items()):
            if r >= n:
                continue
            df = tables[name].copy()
            df.insert(0, "seed", replication_seed(seed, r))
            df.insert(0, "replication", r)
            df.insert(0, "point", points[i].label)
            frames.append(df)
        out[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out


# ---------------------------------------------------------------------- public API
def replicate(scenario: Scenario, replications: int | str = 10, seed: int | None = None,
              **kw) -> Experiment:
    """Independent replications of one scenario (``replications="auto"`` with ``precision``)."""
    return run_points("replicate", [Point(scenario.name, {}, scenario)], replications, seed,
                      **kw)


def compare(variants: Scenario | dict[str, Scenario] | Sequence[Scenario],
            policies: Sequence[str] | None = None, replications: int | str = 10,
            seed: int | None = None, **kw) -> Experiment:
    """Compare variants on common random numbers: several scenarios, several policies of one
    scenario, or both (every scenario under every policy). The first variant is the reference
    of the paired differences."""
    policies = check_policies(policies)
    if isinstance(variants, Scenario):
        variants = {variants.name: variants}
    elif not isinstance(variants, dict):
        variants = {s.name: s for s in variants}
    points = []
    for name, s in variants.items():
        if policies:
            for pol in policies:
                label = pol if len(variants) == 1 else f"{name}/{pol}"
                params = {"scenario": name, "policy.name": pol}
                points.append(Point(label, params, s.with_overrides({"policy.name": pol})))
        else:
            points.append(Point(name, {"scenario": name}, s))
    if len({p.label for p in points}) != len(points):
        raise SettingError("variant names must be distinct")
    return run_points("compare", points, replications, seed, **kw)


def sweep(scenario: Scenario, vary: dict[str, Sequence[Any]], replications: int | str = 10,
          seed: int | None = None, **kw) -> Experiment:
    """Every combination of the values in ``vary`` (dotted paths, as ``--set``)."""
    if not vary:
        raise SettingError("sweep needs at least one parameter to vary")
    keys = list(vary)
    points = []
    for combo in itertools.product(*(vary[k] for k in keys)):
        params = dict(zip(keys, combo, strict=True))
        label = ", ".join(f"{k}={v}" for k, v in params.items())
        points.append(Point(label, params, scenario.with_overrides(params)))
    return run_points("sweep", points, replications, seed, **kw)
