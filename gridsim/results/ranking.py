"""Ranking the units of a ``units.csv`` table, worst first, by a column's better direction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..vocabulary import direction
from .units import LOAD_COLUMNS, STATS


def better_of(column: str) -> int:
    """The better direction of a ``units.csv`` column: the KPI catalogue's, else its
    :class:`UnitStat`'s (0: neither)."""
    d = direction(column)
    if d:
        return d
    for s in STATS:
        if s.name == column:
            return s.better
    return LOAD_COLUMNS.get(column, 0)


def rank_units(units: pd.DataFrame, kpi: str = "on_time_rate", level: str = "street",
               n: int | None = None) -> pd.DataFrame:
    """The units of ``level`` from worst to best on column ``kpi`` of a ``units.csv`` table
    (better direction from the KPI catalogue, see :func:`better_of`); units without a value
    last. ``rank`` counts from 1; ``n`` keeps the first ``n``."""
    if kpi not in units.columns:
        raise KeyError(f"units.csv has no column {kpi!r}; columns: "
                       f"{', '.join(c for c in units.columns if c not in ('level', 'unit'))}")
    better = better_of(kpi)
    if better == 0:
        raise ValueError(f"{kpi!r} has no better direction to rank units by")
    rows = units[units["level"] == level]
    if rows.empty:
        levels = sorted(set(units["level"].astype(str)))
        raise KeyError(f"no units at level {level!r}; levels: {', '.join(levels)}")
    out = rows.sort_values([kpi, "unit"], ascending=[better > 0, True], na_position="last",
                           kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out if n is None else out.head(n)
