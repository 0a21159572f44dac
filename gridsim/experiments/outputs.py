"""What one replication keeps: small tables, so thousands of replications fit in memory and on
disk. The full issue table of a replication is not kept (rerun its seed to get it): replications
run at record level ``kpis`` whatever the scenario says, and every table here comes from the KPI
accumulator (counts per unit, resolution times) and the load samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..results.result import Result
from ..vocabulary import LEADS

HIST_EDGES = np.logspace(-2, 4, 61)
"""Resolution-time histogram bins (hours, 36 s to 417 days), the same for every run."""

TABLES = ("kpis", "units", "hist", "daily", "workers", "stationarity")


def replication_outputs(result: Result) -> dict[str, pd.DataFrame]:
    """The tables an experiment keeps from one run."""
    return {
        "kpis": result.kpis[["metric", "scope", "value"]],
        "units": result.units(),
        "hist": resolution_histogram(result),
        "daily": daily_load(result),
        "workers": workers_table(result),
        "stationarity": result.stationarity()[list(STATIONARITY_COLUMNS)],
    }


STATIONARITY_COLUMNS = ("unit", "kind", "slope_per_day", "p_adjusted", "growing")
"""What an experiment keeps of each replication's stationarity test
(:meth:`~gridsim.results.result.Result.stationarity`)."""


WORKER_COLUMNS = ("on_shift_hours", "case_hours", "patrol_hours", "patrol_share", "found",
                  "fixed_on_spot", "verified")
"""What an experiment keeps of each grid's workers' day (``Result.workers``)."""


def workers_table(result: Result) -> pd.DataFrame:
    """Per grid, its grid workers' day (:meth:`~gridsim.results.result.Result.workers`)."""
    w = result.workers()
    out = w[["grid", "street", "workers", *WORKER_COLUMNS]].copy()
    out[["grid", "street"]] = out[["grid", "street"]].astype(str)
    return out


def resolution_histogram(result: Result) -> pd.DataFrame:
    """Counts of resolution times (warm-up excluded) per lead on :data:`HIST_EDGES`."""
    done = result.resolution_times()
    rows = []
    for lead in LEADS:
        t = done.loc[done["lead"] == lead, "resolution_time"].to_numpy()
        counts, _ = np.histogram(np.clip(t, HIST_EDGES[0], HIST_EDGES[-1]), HIST_EDGES)
        rows.append(pd.DataFrame({"lead": lead, "bin": np.arange(len(counts)), "count": counts}))
    return pd.concat(rows, ignore_index=True)


def daily_load(result: Result) -> pd.DataFrame:
    """Daily utilisation per kind of pool and the open cases at the end of each day."""
    load = result.load
    day = (load["time"] // 24).astype(int)
    g = load.groupby([day, "kind"], observed=True)[["busy", "capacity_hours"]].sum()
    util = (g["busy"] / g["capacity_hours"].where(g["capacity_hours"] > 0)).rename("utilisation")
    out = util.reset_index().rename(columns={"time": "day"})
    backlog = result.backlog
    b = backlog.groupby((backlog["time"] // 24).astype(int) - (backlog["time"] % 24 == 0))["open"]
    open_end = b.last().rename("open").reset_index().rename(columns={"time": "day"})
    out = out.merge(open_end, on="day", how="left")
    out["kind"] = out["kind"].astype(str)
    return out
