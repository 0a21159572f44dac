"""Running replications of one or more scenario variants on common random numbers.

:func:`replicate`, :func:`compare` and :func:`sweep` all build a list of *points* (a label, the
parameters that define it, a resolved scenario) and hand them to :func:`run_points`, which runs
every (point, replication) pair. Replication ``r`` of every point uses the same seed, spawned from
the base seed by ``SeedSequence``, so variants see the same arrivals and per-case draws and their
differences can be paired.
"""


from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arguments import SettingError, check_experiment, check_policies
from ..parallel.executors import Executor, default_workers
from ..scenario import Scenario
from ..scenario.size import check_size
from ..vocabulary import canonical
from .experiment import (
    DEFAULT_KPI,
    DEFAULT_MAX_REPLICATIONS,
    DEFAULT_PRECISION,
    Experiment,
    Failure,
    Point,
)
from .identity import experiment_fingerprint, replication_seed
from .outputs import TABLES
from .stats import replications_needed
from .stats import t_interval as _t_interval
from .store import Store, warn_note
from .tasks import Outcome, Task, run_task

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
