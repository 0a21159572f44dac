"""Columnar record buffers: one row per case, one row per load sample.

Rows are appended as tuples and packed into NumPy column chunks every ``chunk`` rows, so memory
stays proportional to what is recorded and no pandas object exists inside the event loop.
:mod:`gridsim.results` turns the chunks into DataFrames.
"""

from __future__ import annotations

import numpy as np

from ..policies import TIERS

ISSUE_COLUMNS: tuple[tuple[str, str], ...] = (  # issue_id: the number within its district
    # until :func:`gridsim.model.simulation.number_issues` numbers cases across the run
    ("issue_id", "i8"), ("category", "i4"), ("source", "i1"), ("grid", "i4"),
    ("start_tier", "i1"), ("t_created", "f8"), ("t_discovered", "f8"), ("t_reported", "f8"),
    *((f"t_enter_{t}", "f8") for t in TIERS), *((f"t_leave_{t}", "f8") for t in TIERS),
    ("t_dept_called", "f8"), ("t_dept_onsite", "f8"), ("departments_reported", "i2"),
    ("t_solved", "f8"), ("t_closed", "f8"), ("solved_tier", "i1"), ("escalations", "i2"),
    ("bounces", "i2"), ("reopens", "i2"), ("whistles", "i2"), ("two_way", "i1"),
    ("deadline", "f8"), ("state", "i1"),
)
STATES = ("closed", "in_progress", "waiting")


class Recorder:
    """Accumulates issue rows and load samples in chunked columns."""

    def __init__(self, chunk: int = 65536):
        self.chunk = chunk
        self._rows: list[tuple] = []
        self.chunks: list[dict[str, np.ndarray]] = []
        self.n = 0

    def write(self, issue, now: float, state: int) -> None:
        """Record ``issue`` as it stands at ``now`` (closed, or open at the end)."""
        self._rows.append((
            issue.seq, issue.cat.index, issue.source, issue.grid.id, issue.start_tier,
            issue.t_created, issue.t_discovered, issue.t_reported, *issue.enter, *issue.leave,
            issue.t_called, issue.t_onsite, issue.n_depts, issue.t_solved,
            now if state == 0 else float("nan"), issue.solved_tier, issue.escalations,
            issue.bounces, issue.reopens, issue.whistles, issue.two_way, issue.deadline, state))
        self.n += 1
        if len(self._rows) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        cols = list(zip(*self._rows, strict=True))
        self.chunks.append({name: np.asarray(col, dtype=dt)
                            for (name, dt), col in zip(ISSUE_COLUMNS, cols, strict=True)})
        self._rows = []

    def columns(self) -> dict[str, np.ndarray]:
        """All rows so far as one array per column."""
        self.flush()
        if not self.chunks:
            return {name: np.empty(0, dtype=dt) for name, dt in ISSUE_COLUMNS}
        return {name: np.concatenate([c[name] for c in self.chunks]) for name, _ in ISSUE_COLUMNS}
