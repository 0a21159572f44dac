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

:class:`StageClock` decides this for a chunk of case rows at once, when it is packed (a case's
row is written when it closes, or at the end if it is still open), as two bits per stage of the
``stage_status`` record column (:data:`LATE`, :data:`ON_TIME`; 0: not counted), on arrays and
with the calendar's own arithmetic. Without any limit in the scenario nothing is computed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from ..plan import Plan
from ..plan.calendar import Calendars, ShiftCalendar
from ..scenario.stages import stage_limits, stage_shift
from ..units import Duration
from ..vocabulary import STAGES
from .records import known_bool

BOUNDS = ("t_uploaded", "t_filed", "t_received", "t_on_site", "t_solved", "t_verified")
"""The record columns the stages run between (stage ``k``: ``BOUNDS[k]`` to ``BOUNDS[k+1]``)."""
ENDED = (0, 3)
"""The ``state`` codes of cases that ended (as :data:`gridsim.model.records.ENDED`)."""
LATE, ON_TIME = 1, 2
"""The codes of one stage in ``stage_status`` (two bits per stage, :data:`STAGES` order)."""
BITS = 2
MASK = (1 << BITS) - 1


def stage_code(status: np.ndarray, k: int) -> np.ndarray:
    """Stage ``k``'s code (0, :data:`LATE`, :data:`ON_TIME`) in ``status`` (ints or arrays)."""
    return (status >> (BITS * k)) & MASK


STAGE_FLAGS: tuple[str, ...] = tuple(f"{stage}_on_time" for stage in STAGES)
"""The issue table's columns of the stage codes: True on time, False late, empty not counted."""


def stage_flags(status: np.ndarray) -> dict[str, pd.arrays.BooleanArray]:
    """The issue table's :data:`STAGE_FLAGS` columns of a ``stage_status`` record column."""
    out = {}
    for k, name in enumerate(STAGE_FLAGS):
        code = stage_code(status.astype(np.int64), k)
        out[name] = known_bool(code == ON_TIME, code != 0)
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


class StageClock:
    """Per category and stage, the ``start -> due time`` function of its limit (on arrays),
    and the ``stage_status`` column of a packed record chunk (:meth:`fill`)."""

    def __init__(self, plan: Plan):
        s = plan.scenario
        self.horizon = s.horizon.hours
        self.due: list[tuple[tuple[int, Callable[[np.ndarray], np.ndarray]], ...]] = [
            tuple((k, vector_due(plan.calendars, limit, stage_shift(s, name, stage)))
                  for k, (stage, limit) in enumerate(zip(STAGES, stage_limits(s, name),
                                                         strict=True)) if limit is not None)
            for name in s.categories]

    def fill(self, chunk: dict[str, np.ndarray]) -> None:
        """Set ``chunk["stage_status"]`` from its stage boundaries: two bits per stage of each
        case (closed: a stage it never finished was skipped; open: its row is written at the
        horizon)."""
        cat = chunk["category"]
        ended = np.isin(chunk["state"], ENDED)
        t = [chunk[name] for name in BOUNDS]
        out = np.zeros(len(cat), dtype=np.int64)
        horizon = self.horizon
        for c, dues in enumerate(self.due):
            if not dues:
                continue
            mine = cat == c
            if not mine.any():
                continue
            for k, due in dues:
                start, end = t[k], t[k + 1]
                rows = mine & ~np.isnan(start) & ~(ended & np.isnan(end))
                if not rows.any():
                    continue
                d = due(start[rows])
                counted = d <= horizon
                code = np.where(end[rows] <= d, ON_TIME, LATE)
                out[rows] |= np.where(counted, code, 0).astype(np.int64) << (BITS * k)
        chunk["stage_status"] = out.astype(np.int16)


def vector_due(calendars: Calendars, d: Duration, shift: str) -> Callable[[np.ndarray],
                                                                          np.ndarray]:
    """``t -> calendars.after(t, d, shift)`` on arrays, with the same arithmetic (so the same
    floats) as :meth:`~gridsim.plan.calendar.Calendars.later`."""
    if d.unit == "wd":
        offsets = np.asarray(calendars.days.offsets(d.value))
        last = calendars.days.n_days - 1
        beyond = d.value * 24 * 7 / 5

        def working_days(t: np.ndarray) -> np.ndarray:
            day = np.floor_divide(t, 24)
            inside = day <= last
            idx = np.clip(np.where(inside, day, 0), 0, None).astype(np.int64)
            return np.where(inside, t + offsets[idx], t + beyond)

        return working_days
    if d.unit == "wh":
        return partial(_advance, calendars.shifts[shift], d.value)
    hours = d.hours
    return lambda t: t + hours


def _advance(cal: ShiftCalendar, work: float, t: np.ndarray) -> np.ndarray:
    """:meth:`~gridsim.plan.calendar.ShiftCalendar.advance` of each of ``t``, step for step."""
    if cal.always or work <= 0 or not cal.ends:
        return t + work
    starts, ends = np.asarray(cal.starts), np.asarray(cal.ends)
    cum, cum_end = np.asarray(cal.cum), np.asarray(cal.cum_end)
    n = len(ends)
    i = np.searchsorted(ends, t, side="right")
    beyond = i >= n
    i = np.minimum(i, n - 1)
    s = starts[i]
    tt = np.where(t < s, s, t)
    end = tt + work
    target = cum[i] + (tt - s) + work
    j = np.maximum(np.searchsorted(cum_end, target, side="left"), i)
    over = j >= n
    j = np.minimum(j, n - 1)
    out = np.where(over, ends[-1] + (target - cum_end[-1]), starts[j] + (target - cum[j]))
    out = np.where(end <= ends[i], end, out)
    return np.where(beyond, t + work, out)


def stage_clock(plan: Plan) -> StageClock | None:
    """The scenario's :class:`StageClock`, or None when no category has a stage limit."""
    s = plan.scenario
    if all(x is None for name in s.categories for x in stage_limits(s, name)):
        return None
    return StageClock(plan)
