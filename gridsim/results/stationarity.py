"""Stationarity: which staff pools' queues grow through the run.

A run's averages (utilisation, resolution time) describe a steady state only if there is one.
When a pool is overloaded its queue grows for the whole run and every average depends on the
horizon. :func:`stationarity` tests each pool's queue series (``Result.load``: the time-average
number of waiting cases per sampling interval) after the warm-up:

1. **Batch means.** The measured period (warm-up to horizon) is cut into ``batches`` (25)
   consecutive batches of equal length and the queue averaged in each: the hourly series is
   strongly autocorrelated, the batch means nearly independent, so a trend test on them keeps
   its level (a test on hourly samples would flag any slow wander).
2. **Mann-Kendall.** Kendall's tau of the batch means against their index
   (:func:`scipy.stats.kendalltau`), one-sided p-value for an increasing trend.
3. **Benjamini-Hochberg.** A district has dozens of pools: the p-values are adjusted across
   them (:func:`scipy.stats.false_discovery_control`) so the share of false flags among the
   flagged pools stays near ``alpha``.
4. **Theil-Sen slope** of the batch means against time (:func:`scipy.stats.theilslopes`), in
   cases per day; ``growth`` is that slope times the measured days.

A pool is ``growing`` when its adjusted p is below ``alpha`` (0.01) **and** its queue grows over
the measured period by more than ``threshold`` = max(1, capacity) cases. Why both: with long
runs a trend test finds trends nobody would care about (a queue creeping from 0.2 to 0.4 cases
over a year); and a queue that grows by fewer cases than the pool has staff adds less than
about one mean work time to the wait at the end (Little's law at saturation: a queue of ``c``
extra cases before ``c`` servers is one round of work), too little to move a KPI a planner
reads. A pool flagged by this test is not in a steady state: its averages depend on the
horizon and comparisons with it are partly built in. Pools that never queue (a constant
series) have ``p = 1``; a series too short for ``MIN_BATCHES`` batches is not tested (``p`` is
NaN, not flagged).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

BATCHES = 25
"""Batches of the measured period (batch means; 20-30 is the usual advice)."""
ALPHA = 0.01
"""Benjamini-Hochberg level of the trend test."""
MIN_BATCHES = 8
"""Fewer batch means than this (a very short run) are not tested."""
COLUMNS = ["unit", "kind", "capacity", "batches", "queue_first", "queue_last", "slope_per_day",
           "growth", "threshold", "tau", "p", "p_adjusted", "growing"]
"""The columns of :func:`stationarity` (and of ``stationarity.csv``)."""


def stationarity(load: pd.DataFrame | None, warmup_h: float, horizon_h: float,
                 batches: int = BATCHES, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per pool of ``load`` (``Result.load``): the trend test described above.

    Columns (:data:`COLUMNS`): ``unit`` (the pool), ``kind``, ``capacity``, ``batches`` used,
    ``queue_first`` and ``queue_last`` (first and last batch mean), ``slope_per_day`` (Theil-Sen,
    cases per day), ``growth`` (slope times the measured days), ``threshold`` (the growth that
    counts), ``tau``, ``p`` (one-sided, increasing), ``p_adjusted`` (Benjamini-Hochberg) and
    ``growing``. Most growing first. An empty frame when ``load`` is missing or empty.
    """
    if load is None or load.empty:
        return pd.DataFrame(columns=COLUMNS)
    days = (horizon_h - warmup_h) / 24.0
    after = load[load["time"] >= warmup_h]
    codes = pd.factorize(after["pool"])[0]
    order = np.argsort(codes, kind="stable")  # pool by pool, each in sampling order
    times = after["time"].to_numpy(float)[order]
    queue = after["queue"].to_numpy(float)[order]
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    meta = after[["pool", "kind", "capacity"]].iloc[order[starts]]
    rows = []
    for a, b, (pool, kind, cap) in zip(starts, np.r_[starts[1:], len(order)],
                                       meta.itertuples(index=False), strict=True):
        o = np.argsort(times[a:b], kind="stable")
        rows.append({"unit": str(pool), "kind": str(kind), "capacity": int(cap),
                     **_trend(times[a:b][o], queue[a:b][o], batches, days)})
    out = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("p_adjusted", "growing")])
    out["threshold"] = np.maximum(1.0, out["capacity"].astype(float))
    out["p_adjusted"] = adjust(out["p"].to_numpy(float))
    out["growing"] = (out["p_adjusted"] < alpha) & (out["growth"] > out["threshold"])
    return out.sort_values(["growing", "growth"], ascending=False, ignore_index=True)[COLUMNS]


def _trend(t: np.ndarray, q: np.ndarray, batches: int, days: float) -> dict[str, Any]:
    """Batch means of one queue series, their Mann-Kendall p and Theil-Sen slope."""
    n = min(batches, len(q))
    nan = float("nan")
    if n < MIN_BATCHES:
        return {"batches": n, "queue_first": nan, "queue_last": nan, "slope_per_day": nan,
                "growth": nan, "tau": nan, "p": nan}
    means = np.array([b.mean() for b in np.array_split(q, n)])
    mid = np.array([b.mean() for b in np.array_split(t, n)]) / 24.0  # batch centres, days
    if np.ptp(means) == 0:  # never queued (or a constant queue): nothing grows
        tau, p, slope = 0.0, 1.0, 0.0
    else:
        from scipy import stats  # deferred: scipy takes a second to load

        tau, p = stats.kendalltau(np.arange(n), means, alternative="greater")
        slope = stats.theilslopes(means, mid).slope
    return {"batches": n, "queue_first": float(means[0]), "queue_last": float(means[-1]),
            "slope_per_day": float(slope), "growth": float(slope * days), "tau": float(tau),
            "p": float(p)}


def adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values of ``p``; NaN (untested) stay NaN and do not count
    as tests."""
    out = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        from scipy import stats

        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def growing(table: pd.DataFrame) -> list[str]:
    """The growing pools of a :func:`stationarity` table."""
    return [str(u) for u in table.loc[table["growing"].astype(bool), "unit"]]


def growing_lines(table: pd.DataFrame) -> list[str]:
    """One line per growing pool of a :func:`stationarity` table (empty when none grows)."""
    return [f"{r.unit} ({r.kind}): queue grows {r.slope_per_day:+.2f} cases/day "
            f"({r.queue_first:.1f} -> {r.queue_last:.1f}, adjusted p {r.p_adjusted:.1g})"
            for r in table[table["growing"].astype(bool)].itertuples()]


def manifest_entry(table: pd.DataFrame, batches: int = BATCHES,
                   alpha: float = ALPHA) -> dict[str, Any]:
    """What ``manifest.json`` records of the test: the method, how many pools were tested and
    the growing ones (pool, kind, slope per day, adjusted p)."""
    if table.empty:
        return {"tested": False, "reason": "no load samples after the warm-up"}
    grow = table[table["growing"].astype(bool)]
    return {
        "tested": True,
        "method": f"Mann-Kendall on {batches} batch means of each pool's queue after the "
                  f"warm-up, Benjamini-Hochberg at {alpha}, Theil-Sen slope; growing when "
                  "adjusted p < alpha and growth over the run > max(1, staff) cases",
        "pools": int(len(table)),
        "growing": [{"unit": r.unit, "kind": r.kind, "slope_per_day": round(r.slope_per_day, 4),
                     "p_adjusted": r.p_adjusted} for r in grow.itertuples()],
    }
