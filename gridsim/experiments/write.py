"""Writing an experiment's tables, plots and description into its results folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..results.io import Scratch, atomic_write_text, write_json
from ..results.manifest import organisation
from ..results.outdir import EXPERIMENT, FolderLock, check_out
from ..vocabulary import minimise
from .identity import experiment_fingerprint, replication_seed
from .store import ExperimentMismatch


def _frame(df: pd.DataFrame, path: Path) -> None:
    """CSV and Parquet side by side, each written through a scratch file."""
    atomic_write_text(path.with_suffix(".csv"), df.to_csv(index=False))
    with Scratch(path.parent) as scratch:
        df.to_parquet(scratch / "new.parquet", index=False)
        (scratch / "new.parquet").replace(path.with_suffix(".parquet"))


def write_experiment(exp, folder: Path, plot: bool = True) -> Path:
    """Write ``exp`` into ``folder`` (missing, empty or this experiment's own: see
    :func:`~gridsim.results.outdir.check_out`), holding the folder's lock meanwhile."""
    fingerprint = json.loads(json.dumps(experiment_fingerprint(exp.kind, exp.points, exp.seed)))
    check_out(folder, EXPERIMENT)
    with FolderLock(folder):
        folder.mkdir(parents=True, exist_ok=True)
        _write(exp, folder, fingerprint, plot)
    return folder


def _write(exp, folder: Path, fingerprint: dict, plot: bool) -> None:
    _frame(exp.runs, folder / "runs")
    _frame(exp.kpis, folder / "kpis_long")
    _frame(exp.summary, folder / "summary")
    _frame(exp.differences, folder / "differences")
    units = exp.units()
    _frame(units, folder / "units")
    _frame(exp.most_loaded(), folder / "most_loaded")
    _frame(exp.stationarity(), folder / "stationarity")
    workers = exp.workers()
    if not workers.empty:
        _frame(workers, folder / "workers")
    meta_path = folder / "experiment.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    if meta.get("fingerprint", fingerprint) != fingerprint:
        raise ExperimentMismatch(f"{folder} holds results of a different experiment; "
                                 "write this one into another folder")
    meta["fingerprint"] = fingerprint
    best = exp.best() if exp.kpis.size else None
    meta.update({
        "gridsim_version": __version__,
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": exp.kind,
        "points": [{"label": p.label, "params": p.params, "scenario": p.scenario.name,
                    "policy": p.scenario.policy.name} for p in exp.points],
        "replications": exp.replications,
        "precision": exp.precision,
        # with --replications auto: False when --max-replications stopped the search first
        "precision_reached": exp.precision_reached,
        "precision_achieved": exp.precision_achieved,
        "kpi": exp.kpi_name,
        "minimise": minimise(exp.kpi_name),
        "level": exp.level,
        "seed": exp.seed,
        "seeds": [replication_seed(exp.seed, r) for r in range(exp.replications)],
        "best": None if best is None else {"point": best.variant, "clear": best.clear,
                                           "ties": list(best.ties), "text": str(best)},
        "bottlenecks": exp.bottlenecks().to_dict("records"),
        "non_stationary": exp.non_stationary().to_dict("records"),
        "failures": [vars(f) for f in exp.failures],
        "scenarios": {p.label: p.scenario.to_data() for p in exp.points},
        "organisation": {p.label: organisation(p.scenario) for p in exp.points},
    })
    write_json(meta_path, meta)
    if plot:
        from . import plots  # matplotlib only when plotting

        plots.write_all(exp, folder / "plots", exp.kpi_name)
