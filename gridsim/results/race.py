"""The discovery race's KPIs: who reported each case first, how long a problem stayed unseen,
duplicates and fixes on the spot, counted chunk by chunk for :class:`~gridsim.results.kpis.
KpiAccumulator` (source shares, ``discovery_delay_mean``, ``duplicate_rate``,
``on_spot_share``)."""

from __future__ import annotations

import numpy as np

from ..model.records import Chunk, RunNames
from ..vocabulary import SOURCES

DELAY_SCALE = 2 ** 20
"""Discovery delays are summed as integer multiples of 1/DELAY_SCALE hours (3.4 ms), so
their mean is exact whatever the chunking (a float sum depends on the order)."""


class RaceCounts:
    """Per scope (all, categories, sources, leads: the accumulator's scope columns), cases
    reported and their summed delay (scaled integers); duplicates, patrol finds and those fixed
    on the spot."""

    def __init__(self) -> None:
        self.found = np.zeros(0, dtype=np.int64)
        self.delay = np.zeros(0, dtype=np.int64)
        self.counts = {"duplicates": 0, "patrol_found": 0, "on_spot": 0}

    def begin(self, width: int) -> None:
        """Counters for ``width`` scope columns (before the first chunk)."""
        self.found = np.zeros(width, dtype=np.int64)
        self.delay = np.zeros(width, dtype=np.int64)

    def add(self, c: Chunk, cohort: np.ndarray, done: np.ndarray, cat: np.ndarray,
            src: np.ndarray, lead: np.ndarray, n_cat: int) -> None:
        """Count one chunk's cases of the cohort (delays, duplicates, on the spot)."""
        delay = c["t_discovered"] - c["t_created"]
        found = cohort & ~np.isnan(delay)
        ticks = np.rint(delay[found] * DELAY_SCALE).astype(np.int64)
        keys = np.concatenate([np.zeros(len(ticks), dtype=np.int64), 1 + cat[found],
                               1 + n_cat + src[found],
                               1 + n_cat + len(SOURCES) + lead[found]])
        np.add.at(self.found, keys, 1)
        np.add.at(self.delay, keys, np.tile(ticks, 4))
        dup = c.get("duplicates")
        if dup is not None:
            self.counts["duplicates"] += int(dup[found].sum(dtype=np.int64))
        patrol = found & (src == 0)
        self.counts["patrol_found"] += np.count_nonzero(patrol)
        self.counts["on_spot"] += np.count_nonzero(patrol & done & (c["solved_tier"] == 0))

    def merge(self, other: RaceCounts) -> None:
        """Add another accumulator's counts (shards, replications)."""
        self.found = self.found + other.found
        self.delay = self.delay + other.delay
        for k, v in other.counts.items():
            self.counts[k] += v

    def rows(self, cases: np.ndarray, names: RunNames) -> list[tuple[str, str, float]]:
        """``(metric, scope, value)`` rows; ``cases``: the cohort's cases per scope column."""
        n, n_cat = int(cases[0]), len(names.categories)
        found = self.found if len(self.found) else np.zeros(len(cases), dtype=np.int64)
        delay = self.delay if len(self.delay) else found

        def mean_delay(k: int) -> float:
            return int(delay[k]) / DELAY_SCALE / int(found[k]) if found[k] else np.nan

        rows = [("discovery_delay_mean", "all", mean_delay(0))]
        for k, source in enumerate(SOURCES):
            col = 1 + n_cat + k
            rows.append(("source_share", f"source={source}",
                         int(cases[col]) / n if n else np.nan))
            if found[col]:
                rows.append(("discovery_delay_mean", f"source={source}", mean_delay(col)))
        for k, category in enumerate(names.categories):
            if found[1 + k]:
                rows.append(("discovery_delay_mean", f"category={category}",
                             mean_delay(1 + k)))
        dup = self.counts["duplicates"]
        reports = int(found[0]) + dup
        rows.append(("duplicate_rate", "all", dup / reports if reports else np.nan))
        patrol = self.counts["patrol_found"]
        rows.append(("on_spot_share", "all", self.counts["on_spot"] / patrol if patrol
                     else np.nan))
        return rows
