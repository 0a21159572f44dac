"""The stage KPIs, counted chunk by chunk for :class:`~gridsim.results.kpis.KpiAccumulator`:
``stage_on_time_rate`` (of the stages due by the end, the share done within their limit) and
``stage_time_mean`` (hours per stage, over the cases that finished it by the end), each with
scope ``stage=<stage>`` and ``stage=<stage>,category=<category>``.

The stages and their codes are :mod:`gridsim.model.stages`'s. Durations are summed as integer
ticks (as the discovery delays are: :data:`~gridsim.results.race.DELAY_SCALE`), so the means
are the same whatever the chunking, streaming or sharding.
"""

from __future__ import annotations

import numpy as np

from ..model.records import Chunk, RunNames
from ..model.stages import BOUNDS, ON_TIME, stage_code
from ..vocabulary import STAGES
from .race import DELAY_SCALE

_DUE, _ON_TIME, _DONE, _TICKS = range(4)


class StageCounts:
    """Per stage and scope column (0: all, 1 + k: category k): stages due, on time, finished
    and their summed duration (ticks), over the cases of the cohort."""

    def __init__(self) -> None:
        self.counts = np.zeros((4, len(STAGES), 0), dtype=np.int64)

    def begin(self, n_cat: int) -> None:
        """Counters for ``n_cat`` categories (before the first chunk)."""
        self.counts = np.zeros((4, len(STAGES), 1 + n_cat), dtype=np.int64)

    def add(self, c: Chunk, cohort: np.ndarray, cat: np.ndarray, horizon: float) -> None:
        """Count one chunk's cases of the cohort (``cat``: their category codes)."""
        status = c["stage_status"].astype(np.int64)
        width = self.counts.shape[2]
        key = 1 + cat
        for k in range(len(STAGES)):
            code = stage_code(status, k)
            start, end = c[BOUNDS[k]], c[BOUNDS[k + 1]]
            with np.errstate(invalid="ignore"):
                done = cohort & (end <= horizon) & ~np.isnan(start)
            for row, mask in ((_DUE, cohort & (code != 0)), (_ON_TIME, cohort & (code == ON_TIME)),
                              (_DONE, done)):
                per = np.bincount(key[mask], minlength=width)
                per[0] = np.count_nonzero(mask)
                self.counts[row, k] += per
            ticks = np.rint((end[done] - start[done]) * DELAY_SCALE).astype(np.int64)
            summed = np.zeros(width, dtype=np.int64)
            np.add.at(summed, key[done], ticks)
            summed[0] = ticks.sum(dtype=np.int64)
            self.counts[_TICKS, k] += summed

    def merge(self, other: StageCounts) -> None:
        """Add another accumulator's counts (shards, replications)."""
        if other.counts.shape[2]:
            self.counts = other.counts.copy() if not self.counts.shape[2] else \
                self.counts + other.counts

    def rows(self, names: RunNames) -> list[tuple[str, str, float]]:
        """``(metric, scope, value)`` rows for the stages and categories with any case."""
        rows: list[tuple[str, str, float]] = []
        if not self.counts.shape[2]:
            return rows
        due, on_time, done, ticks = self.counts
        scopes = ["", *(f",category={c}" for c in names.categories)]
        for k, stage in enumerate(STAGES):
            for j, suffix in enumerate(scopes):
                scope = f"stage={stage}{suffix}"
                if due[k, j]:
                    rows.append(("stage_on_time_rate", scope, int(on_time[k, j]) / int(due[k, j])))
                if done[k, j]:
                    rows.append(("stage_time_mean", scope,
                                 int(ticks[k, j]) / DELAY_SCALE / int(done[k, j])))
        return rows
