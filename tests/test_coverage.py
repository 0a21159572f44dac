"""Experiment intervals are honest: over many independent experiments on the M/M/c validation
scenario, the 95 % interval of mean resolution time covers Erlang C's W about 95 % of the time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from analytic import mmc_of
from scipy import stats

import gridsim
from gridsim.experiments import t_interval

MMC = Path(__file__).resolve().parents[1] / "scenarios" / "validation" / "mmc.yaml"


def _coverage(experiments: int, reps: int, horizon: str, warmup: str) -> tuple[int, float]:
    # at ρ = 0.9 and these lengths a replication's mean is close enough to normal for the
    # t-interval; the resolution time of this scenario is the community sojourn W
    s = gridsim.load_scenario(MMC, {"horizon": horizon, "warmup": warmup})
    w = mmc_of(s).w
    hits = 0
    for k in range(experiments):
        exp = gridsim.replicate(s, reps, seed=1000 + k, workers=1)
        ci = t_interval(exp.samples("resolution_time_mean")["mmc"])
        hits += ci.low <= w <= ci.high
    return hits, w


def test_intervals_cover_erlang_c_fast():
    """20 experiments of 4 short replications: P(binomial(20, 0.95) <= 15) = 1.6 %."""
    hits, _ = _coverage(20, 4, "400h", "40h")
    assert hits >= 16, f"{hits}/20 intervals covered W"


@pytest.mark.slow
def test_intervals_cover_erlang_c_at_the_nominal_rate():
    """100 experiments of 10 replications: coverage within 3 binomial standard errors of 95 %,
    and not far above it either (intervals that are too wide are also wrong)."""
    n = 100
    hits, _ = _coverage(n, 10, "2000h", "100h")
    se = np.sqrt(0.95 * 0.05 / n)
    assert abs(hits / n - 0.95) <= 3 * se, f"{hits}/{n}"
    assert stats.binomtest(hits, n, 0.95).pvalue > 0.001
