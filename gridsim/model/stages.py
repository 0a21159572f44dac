"""Timing a case's stages against their limits (立案 · 派遣 · 到场 · 处置 · 核查结案).

Each stage runs between two of the case's timestamps (slots of
:class:`~gridsim.model.case.Issue`, record columns of the same names):

============  ============== =================  =============================================
stage         from           to                 the ``to`` moment is
============  ============== =================  =============================================
filing        ``t_uploaded`` ``t_filed``        the street centre has triaged it: it enters
                                                its first tier (a 12345 work order sent
                                                straight to a department: at once)
dispatch      ``t_filed``    ``t_received``     the handling unit has it: in a team's or a
                                                meeting's queue, the first department
                                                reached through the district (in turn), the
                                                departments called (jointly)
arrival       ``t_received`` ``t_on_site``      someone is on site: a team (community,
                                                street, city department) starts the work, a
                                                department's first crew arrives (jointly:
                                                the last one), the first of these
handling      ``t_on_site``  ``t_solved``       solved (the last time: rework included)
verification  ``t_solved``   ``t_verified``     the grid worker verified it (it closes)
============  ============== =================  =============================================

Each boundary is the first time it happens (a case sent back to the centre or escalated is
not filed or received again), except the last two, which belong to the final solution.

A stage's limit (:mod:`gridsim.scenario.stages`) counts from its start, on its own shift; the
stage is *due* when that time falls within the run, and on time when it ended by then (a due
stage not ended, the case open at the end, is late). A stage whose due time lies beyond the
end is undecided, as for the case's own deadline (:func:`gridsim.results.kpis.on_time_of`); a
stage the case never went through (fixed on the spot, settled on the call, closed unverified
in a grid without a worker) does not count.

:class:`StageClock` decides this once per case, when its row is written (closed, or open at
the end), as two bits per stage of the ``stage_status`` record column (:data:`LATE`,
:data:`ON_TIME`; 0: not counted). Without any limit in the scenario nothing is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..plan import Plan
from ..scenario.stages import stage_limits, stage_shift
from ..vocabulary import STAGES

LATE, ON_TIME = 1, 2
"""The codes of one stage in ``stage_status`` (two bits per stage, :data:`STAGES` order)."""
BITS = 2
MASK = (1 << BITS) - 1


def stage_code(status: Any, k: int) -> Any:
    """Stage ``k``'s code (0, :data:`LATE`, :data:`ON_TIME`) in ``status`` (ints or arrays)."""
    return (status >> (BITS * k)) & MASK


STAGE_FLAGS: tuple[str, ...] = tuple(f"{stage}_on_time" for stage in STAGES)
"""The issue table's columns of the stage codes: True on time, False late, empty not counted."""


def stage_flags(status: np.ndarray) -> dict[str, pd.arrays.BooleanArray]:
    """The issue table's :data:`STAGE_FLAGS` columns of a ``stage_status`` record column."""
    out = {}
    for k, name in enumerate(STAGE_FLAGS):
        code = stage_code(status.astype(np.int64), k)
        out[name] = pd.array(np.where(code == 0, pd.NA, code == ON_TIME), dtype="boolean")
    return out


def stage_status(df: pd.DataFrame) -> np.ndarray:
    """The ``stage_status`` record column back from an issue table's :data:`STAGE_FLAGS`
    (zeros where a table has none: written before stage limits existed)."""
    out = np.zeros(len(df), dtype=np.int64)
    for k, name in enumerate(STAGE_FLAGS):
        if name in df:
            flag = df[name].astype("boolean")
            code = np.where(flag.isna().to_numpy(), 0,
                            np.where(flag.fillna(False).to_numpy(dtype=bool), ON_TIME, LATE))
            out |= code.astype(np.int64) << (BITS * k)
    return out.astype(np.int16)


def bounds(issue: Any) -> tuple[float, ...]:
    """The six boundaries of ``issue``'s stages, in order (NaN: not reached)."""
    return (issue.t_uploaded, issue.t_filed, issue.t_received, issue.t_on_site,
            issue.t_solved, issue.t_verified)


class StageClock:
    """Per category and stage, the ``start -> due time`` function of its limit, and the
    ``stage_status`` of a case when its row is written."""

    def __init__(self, plan: Plan):
        s = plan.scenario
        self.horizon = s.horizon.hours
        later = plan.calendars.later
        self.due: list[tuple[Callable[[float], float] | None, ...]] = [
            tuple(None if limit is None else later(limit, stage_shift(s, name, stage))
                  for stage, limit in zip(STAGES, stage_limits(s, name), strict=True))
            for name in s.categories]

    def status(self, issue: Any, ended: bool) -> int:
        """``issue``'s stage codes, two bits per stage; ``ended``: the case closed (a stage
        it never finished was skipped), else it is open at the horizon."""
        dues = self.due[issue.cat.index]
        t = bounds(issue)
        out = 0
        horizon = self.horizon
        for k, due in enumerate(dues):
            if due is None:
                continue
            start, end = t[k], t[k + 1]
            if start != start or (ended and end != end):
                continue
            d = due(start)
            if d <= horizon:
                out |= (ON_TIME if end <= d else LATE) << (BITS * k)
        return out


def stage_clock(plan: Plan) -> StageClock | None:
    """The scenario's :class:`StageClock`, or None when no category has a stage limit."""
    s = plan.scenario
    if all(x is None for name in s.categories for x in stage_limits(s, name)):
        return None
    return StageClock(plan)
