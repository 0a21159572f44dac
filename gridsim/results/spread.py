"""How unequal the units of one run are: ``on_time_spread``, the highest street on-time rate
minus the lowest, from the per-grid counters :class:`~gridsim.results.units.UnitCounts` keeps
(so any record level, chunked, streamed or sharded, gives the same value).

Published on-time closure differs widely between the units of one city (Zhengzhou, one week of
2019: 98.22 % in the best district, 50.54 % in the Zhengdong New Area; ../shared/domain.md,
"Figures published elsewhere"), while copies of one street template differ only by binomial
noise: this KPI is what a check of that spread reads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .units import COUNTERS, UnitCounts

_DUE, _ON_TIME = list(COUNTERS).index("due"), list(COUNTERS).index("on_time")


def street_on_time_rates(units: UnitCounts) -> np.ndarray:
    """The on-time rate of every street with cases due (cohort cases, the one definition of on
    time), in the order of first appearance of the streets."""
    if not units.grids:
        return np.empty(0)
    keys = pd.Series([f"{g[3]}/{g[2]}" for g in units.grids])  # district/street
    codes, names = pd.factorize(keys)
    due = np.bincount(codes, weights=units.grid[:, _DUE], minlength=len(names))
    on_time = np.bincount(codes, weights=units.grid[:, _ON_TIME], minlength=len(names))
    some = due > 0
    return on_time[some] / due[some]


def on_time_spread(units: UnitCounts) -> float:
    """Highest minus lowest street on-time rate (NaN with fewer than two streets with cases
    due: one unit has no spread)."""
    rates = street_on_time_rates(units)
    return float(rates.max() - rates.min()) if len(rates) >= 2 else float("nan")
