"""The case states' KPIs (extension 延期, suspension 挂账, rejection 不予立案, supervision 督办),
counted chunk by chunk for :class:`~gridsim.results.kpis.KpiAccumulator` over its scope
columns (all, categories, sources, leads): ``on_time_rate_extended``, ``extension_rate``,
``suspension_rate``, ``rejection_rate`` (also by reason), ``supervision_rate`` and
``supervisions``.

The rules (README, "Case states"): a rejected case is not filed, so the rates of filed cases
(and ``resolution_rate``) leave it out; a case ever suspended leaves the cases due of both
on-time rates; ``on_time_rate_extended`` counts the same cases due as ``on_time_rate`` (by
the original deadline) and calls one on time when it closed by its extended deadline, so it is
never below ``on_time_rate``.
"""

from __future__ import annotations

import numpy as np

from ..model.records import Chunk, RunNames
from ..vocabulary import LEADS, REJECTION_REASONS, SOURCES, STATES

REJECTED = STATES.index("rejected")
# rows of StateCounts.scope
_REJECTED, _EXTENDED, _SUSPENDED, _SUPERVISED, _ON_TIME_EXT = range(5)


class StateCounts:
    """Per scope column: cases rejected, extended, suspended, supervised, and on time by the
    extended deadline; supervisions and rejections by reason in all."""

    def __init__(self) -> None:
        self.scope = np.zeros((5, 0), dtype=np.int64)
        self.supervisions = 0
        self.reasons = np.zeros(len(REJECTION_REASONS), dtype=np.int64)

    def begin(self, width: int) -> None:
        """Counters for ``width`` scope columns (before the first chunk)."""
        self.scope = np.zeros((5, width), dtype=np.int64)

    def add(self, c: Chunk, cohort: np.ndarray, due: np.ndarray, closed: np.ndarray,
            keys: np.ndarray) -> None:
        """Count one chunk's cohort. ``keys(mask)`` gives the scope columns of the cases in
        ``mask``, as the accumulator bins them; ``due`` excludes suspended cases already."""
        rejected = cohort & (c["state"] == REJECTED)
        with np.errstate(invalid="ignore"):
            ext = cohort & due & closed & (c["t_closed"] <= c["deadline_extended"])
        for row, mask in ((_REJECTED, rejected), (_EXTENDED, cohort & (c["extensions"] > 0)),
                          (_SUSPENDED, cohort & (c["suspensions"] > 0)),
                          (_SUPERVISED, cohort & (c["supervisions"] > 0)), (_ON_TIME_EXT, ext)):
            self.scope[row] += keys(mask)
        self.supervisions += int(c["supervisions"][cohort].sum(dtype=np.int64))
        reason = c["rejected"][rejected].astype(np.int64)
        self.reasons += np.bincount(reason[reason >= 0], minlength=len(REJECTION_REASONS))

    def merge(self, other: StateCounts) -> None:
        """Add another accumulator's counts (shards, replications)."""
        if not self.scope.size:
            self.scope = other.scope.copy()
        elif other.scope.size:
            self.scope = self.scope + other.scope
        self.supervisions += other.supervisions
        self.reasons = self.reasons + other.reasons

    def rejected(self, width: int) -> np.ndarray:
        """Rejected cases per scope column (zeros before any chunk)."""
        return self.scope[_REJECTED] if self.scope.shape[1] else np.zeros(width, np.int64)

    def rows(self, cases: np.ndarray, due: np.ndarray,
             names: RunNames) -> list[tuple[str, str, float]]:
        """``(metric, scope, value)`` rows; ``cases`` and ``due``: the cohort's cases and
        cases due per scope column."""
        width = len(cases)
        s = self.scope if self.scope.shape[1] else np.zeros((5, width), dtype=np.int64)
        labels = ["all", *(f"category={c}" for c in names.categories),
                  *(f"source={x}" for x in SOURCES), *(f"lead={x}" for x in LEADS)]
        out: list[tuple[str, str, float]] = []

        def ratio(a: int, b: int) -> float:
            return a / b if b else np.nan

        for k, label in enumerate(labels):
            n = int(cases[k])
            if not n and k:
                continue
            filed = n - int(s[_REJECTED, k])
            out += [
                ("on_time_rate_extended", label, ratio(int(s[_ON_TIME_EXT, k]), int(due[k]))),
                ("extension_rate", label, ratio(int(s[_EXTENDED, k]), filed)),
                ("suspension_rate", label, ratio(int(s[_SUSPENDED, k]), filed)),
                ("rejection_rate", label, ratio(int(s[_REJECTED, k]), n)),
                ("supervision_rate", label, ratio(int(s[_SUPERVISED, k]), filed)),
            ]
            if k == 0:
                out.append(("supervisions", "all", float(self.supervisions)))
                out += [("rejection_rate", f"reason={r}", ratio(int(self.reasons[i]), n))
                        for i, r in enumerate(REJECTION_REASONS)]
        return out
