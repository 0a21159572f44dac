"""The stationarity section of a report: which pools' queues grow through the run, from
``stationarity.csv`` (a run's, :mod:`gridsim.results.stationarity`, or an experiment's, the
share of replications that flagged each pool)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..experiments.experiment import MIN_SHARE, non_stationary
from ..results.stationarity import ALPHA, BATCHES
from ..vocabulary import format_percent, format_value
from .folder import table

HOW = (f"Each pool's queue after the warm-up, cut into {BATCHES} batches: a Mann-Kendall trend "
       "test on the batch means, Benjamini-Hochberg adjusted across pools, with the Theil-Sen "
       f"slope. A pool is growing when its adjusted p is below {ALPHA} and its queue grows "
       "over the run by more than its staff (or one case): it is not in a steady state, so "
       "its averages depend on the horizon.")
NOT_TESTED = ("Not tested: this folder has no stationarity.csv (written by a gridsim without "
              "the test, or the run kept no load samples after the warm-up).")


def run_section(st: pd.DataFrame | None) -> dict[str, Any]:
    """The growing pools of ``stationarity.csv`` (a table), or a note: all stationary, or not
    tested (no file: a folder written before the test existed, or no load samples)."""
    if st is None or st.empty:
        return {"how": HOW, "table": None, "note": NOT_TESTED}
    grow = st[st["growing"].astype(bool)]
    if grow.empty:
        return {"how": HOW, "table": None,
                "note": f"All {len(st)} pools stationary: no queue grows through the run."}
    rows = [[r.unit, r.kind, str(r.capacity), format_value(r.queue_first, ""),
             format_value(r.queue_last, ""), f"{r.slope_per_day:+.2f}",
             f"{r.p_adjusted:.1g}"] for r in grow.itertuples()]
    return {"how": HOW,
            "note": f"{len(grow)} of {len(st)} pools have a queue that grows through the run: "
                    "their averages depend on the horizon.",
            "table": table(["Pool", "Kind", "Staff", "Queue, first batch", "Queue, last batch",
                            "Slope (cases/day)", "Adjusted p"], rows, "growing", num_from=2)}


def experiment_section(st: pd.DataFrame | None, min_share: float = MIN_SHARE) -> dict[str, Any]:
    """The pools of an experiment's ``stationarity.csv`` flagged as growing in at least
    ``min_share`` of their point's replications (a table), or a note."""
    how = HOW + (" Per point, the share of its replications in which each pool was flagged; "
                 f"a point is non-stationary when a pool is flagged in {min_share:.0%} of them "
                 "or more.")
    if st is None or st.empty:
        return {"how": how, "table": None, "note": NOT_TESTED}
    bad = non_stationary(st, min_share)
    if bad.empty:
        return {"how": how, "table": None,
                "note": "Every point stationary: no pool's queue grows in half of the "
                        "replications or more."}
    rows = [[str(r.point), r.unit, r.kind, f"{int(r.flagged)}/{int(r.replications)}",
             format_percent(r.share), f"{r.slope_per_day:+.2f}"] for r in bad.itertuples()]
    points = ", ".join(dict.fromkeys(str(p) for p in bad["point"]))
    return {"how": how,
            "note": f"Non-stationary: {points}. Their averages, and differences against them, "
                    "depend on the horizon.",
            "table": table(["Point", "Pool", "Kind", "Flagged", "Share", "Slope (cases/day)"],
                           rows, "growing", num_from=3)}
