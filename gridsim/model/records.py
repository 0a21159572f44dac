"""Columnar record buffers: one row per case.

Rows are packed into a float64 buffer as they are written and cut into NumPy column chunks
every ``chunk`` rows, so no pandas object (and no per-row Python object) exists inside the
event loop. Each chunk (a dict of equal-length arrays, one per :data:`ISSUE_COLUMNS` entry)
is handed to every sink (a KPI accumulator, a Parquet writer: see :mod:`gridsim.results`) and
kept only when the run keeps its rows in memory (``keep``), so memory is bounded by one chunk
when it does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from struct import Struct
from typing import Any

import numpy as np
import pandas as pd

from ..vocabulary import TIERS

ISSUE_COLUMNS: tuple[tuple[str, str], ...] = (
    # district_seq: the case's number within its district, in order of creation (with the
    # district it identifies a case whether the run was sharded or not)
    ("district_seq", "i8"), ("category", "i4"), ("source", "i1"), ("grid", "i4"),
    ("start_tier", "i1"), ("t_created", "f8"), ("t_discovered", "f8"), ("t_uploaded", "f8"),
    *((f"t_enter_{t}", "f8") for t in TIERS), *((f"t_leave_{t}", "f8") for t in TIERS),
    ("t_dept_called", "f8"), ("t_dept_onsite", "f8"), ("departments_reported", "i2"),
    ("t_solved", "f8"), ("t_closed", "f8"), ("solved_tier", "i1"), ("escalations", "i2"),
    ("bounces", "i2"), ("reopens", "i2"), ("whistles", "i2"), ("two_way", "i1"),
    ("deadline", "f8"), ("state", "i1"),
    # duplicates: later reports of the same problem merged at triage (the discovery race)
    ("duplicates", "i4"), ("returns", "i2"), ("dispatched_to", "i1"),
    ("back_to_centre", "i2"),  # times sent back to the street centre for re-dispatch
    # stage limits (gridsim.model.stages): the stage boundaries the columns above lack, and
    # two bits per stage (0: not counted, 1: late, 2: on time)
    ("t_filed", "f8"), ("t_received", "f8"), ("t_on_site", "f8"), ("t_verified", "f8"),
    ("stage_status", "i2"),
    # case states (gridsim.model.states): deadline extensions (延期) and the deadline after
    # them, suspensions (挂账) and hours suspended, supervisions (督办), the reason it was not
    # filed (不予立案: vocabulary.REJECTION_REASONS; -1 filed)
    ("extensions", "i2"), ("deadline_extended", "f8"), ("suspensions", "i2"),
    ("suspended_hours", "f8"), ("supervisions", "i2"), ("rejected", "i1"),
    # the resident's side (gridsim.model.resident): closed and solved in fact (0: open, ended
    # otherwise or closed with an explanation); the handler's first contact and whether it was
    # within the response limit (-1: not recorded); callbacks made; the last answer given
    # (1 satisfied, 0 not, -1 no answer); reopens by a callback (included in reopens)
    ("solved_in_fact", "i1"), ("t_contacted", "f8"), ("response", "i1"), ("callbacks", "i2"),
    ("satisfied", "i1"), ("callback_reopens", "i2"),
)

STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("t_uploaded", "f8"), ("t_filed", "f8"), ("t_received", "f8"), ("t_on_site", "f8"),
    ("t_solved", "f8"), ("t_verified", "f8"), ("stage_status", "i2"))
"""The columns the stage KPIs read (at the end of :data:`KPI_COLUMNS`)."""

KPI_COLUMNS: tuple[tuple[str, str], ...] = tuple(
    (name, dt) for name, dt in ISSUE_COLUMNS
    if name not in ("district_seq", "start_tier", "t_uploaded", "departments_reported",
                    "t_solved", "returns", "back_to_centre", "suspended_hours", "t_contacted",
                    "callback_reopens") and not name.startswith("t_leave_")
    and (name, dt) not in STAGE_COLUMNS) + STAGE_COLUMNS
"""The columns :class:`~gridsim.results.kpis.KpiAccumulator` reads (record level ``kpis``)."""

Chunk = dict[str, np.ndarray]
ENDED = (0, 3, 4)
"""The ``state`` codes of cases that ended (closed; abandoned by the caller on the 12345 queue;
not filed at triage): their ``t_closed`` is when they ended."""


@dataclass(frozen=True)
class RunNames:
    """What the codes in a chunk stand for: category names and leads (by ``category`` code),
    ``(grid, community, street, district)`` names (by ``grid`` code) and unit names."""

    categories: list[str]
    leads: list[str]
    grids: list[tuple[str, str, str, str]]
    units: list[str] = field(default_factory=list)
    """Pools and meetings by ``unit`` code of the event log (record level ``events`` only)."""


def _columns(table: np.ndarray, columns: tuple[tuple[str, str], ...]) -> Chunk:
    """A float64 ``(rows, columns)`` table as one contiguous typed copy per column (codes,
    counts and case numbers are far below 2**53, so exact in float64)."""
    return {name: table[:, k].astype(dt) for k, (name, dt) in enumerate(columns)}


def known_bool(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean column: ``values`` where ``known``, else ``<NA>`` (built from the two
    arrays directly: no object array in between)."""
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), ~np.asarray(known, dtype=bool))


def empty_chunk(columns: tuple[tuple[str, str], ...] = ISSUE_COLUMNS) -> Chunk:
    return {name: np.empty(0, dtype=dt) for name, dt in columns}


class ChunkedRows:
    """Rows packed as they are written into a float64 buffer, and cut into column chunks
    (``COLUMNS``) every ``chunk`` rows.

    A row goes straight into the buffer (``struct.pack_into``: one C call converts its values),
    so no Python tuple or float outlives the call that wrote it, and a chunk is then one
    ``frombuffer`` and a typed copy per column. ``keep``: keep every chunk (:meth:`columns`
    gives them all); otherwise chunks only go to the ``sinks`` (callables taking a chunk) and
    are dropped. Subclasses say what a row is: a case (:class:`Recorder`) or a state change
    (the event log of :mod:`gridsim.model.trace`).
    """

    COLUMNS: tuple[tuple[str, str], ...] = ()
    stages: Any = None
    """Sets a case chunk's ``stage_status`` when it is packed (a run's
    :class:`~gridsim.model.stages.StageClock`; None: no stage limits, all 0)."""

    def __init__(self, chunk: int = 65536, keep: bool = True,
                 sinks: list[Callable[[Chunk], None]] | None = None):
        self.chunk = chunk
        self.keep = keep
        self.sinks: list[Callable[[Chunk], None]] = list(sinks or [])
        row = Struct("=" + "d" * len(self.COLUMNS))
        self._width = row.size
        self._pack = row.pack_into
        self._buf = bytearray(self._width * min(chunk, 4096))
        self._at = 0  # bytes written into _buf
        self.chunks: list[Chunk] = []
        self.n = 0

    def _room(self) -> int:
        """Where the next row goes in the buffer (a full chunk is flushed first); the caller
        packs it there at once: ``self._pack(self._buf, self._room(), *values)``."""
        at = self._at
        if at == len(self._buf):
            if at == self._width * self.chunk:
                self.flush()
                at = 0
            else:  # double the buffer, up to one chunk
                self._buf.extend(bytes(min(at, self._width * self.chunk - at)))
        self._at = at + self._width
        self.n += 1
        return at

    def flush(self) -> None:
        """Pack the pending rows into a chunk and hand it on."""
        if not self._at:
            return
        rows = self._at // self._width
        table = np.frombuffer(self._buf, dtype=np.float64, count=rows * len(self.COLUMNS))
        chunk = _columns(table.reshape(rows, len(self.COLUMNS)), self.COLUMNS)
        self._at = 0
        if self.stages is not None:
            self.stages.fill(chunk)
        for sink in self.sinks:
            sink(chunk)
        if self.keep:
            self.chunks.append(chunk)

    def columns(self) -> Chunk:
        """All rows so far as one array per column (only when ``keep``)."""
        if not self.keep:
            raise RuntimeError("this recorder does not keep its rows (record.level or stream)")
        self.flush()
        if not self.chunks:
            return empty_chunk(self.COLUMNS)
        if len(self.chunks) == 1:
            return self.chunks[0]
        out = {name: np.concatenate([c[name] for c in self.chunks]) for name, _ in self.COLUMNS}
        self.chunks = [out]
        return out


class Recorder(ChunkedRows):
    """Case rows (:data:`ISSUE_COLUMNS`), one per case when it closes or the run ends."""

    COLUMNS = ISSUE_COLUMNS

    def write(self, issue, now: float, state: int) -> None:
        """Record ``issue`` as it stands at ``now`` (closed, or open at the end)."""
        self._pack(
            self._buf, self._room(), issue.seq, issue.cat.index, issue.source, issue.grid.id,
            issue.start_tier, issue.t_created, issue.t_discovered, issue.t_uploaded,
            *issue.enter, *issue.leave,
            issue.t_called, issue.t_onsite, issue.n_depts, issue.t_solved,
            now if state in ENDED else float("nan"), issue.solved_tier, issue.escalations,
            issue.bounces, issue.reopens, issue.whistles, issue.two_way, issue.deadline, state,
            issue.duplicates, issue.returns, issue.dispatched_to, issue.back_to_centre,
            issue.t_filed, issue.t_received, issue.t_on_site, issue.t_verified, 0,
            *((0, issue.deadline, 0, 0.0, 0, -1) if issue.st is None else issue.st.row(now)),
            issue.solved_in_fact if state == 0 else 0, issue.t_contacted, issue.response,
            issue.callbacks, issue.satisfied, issue.callback_reopens)


def _kpi_states(st) -> tuple:
    """The state columns of :data:`KPI_COLUMNS` (no ``suspended_hours``)."""
    return (st.extensions, st.deadline2, st.suspensions, st.supervisions, st.rejected)


class KpiRecorder(Recorder):
    """Records only :data:`KPI_COLUMNS` (record level ``kpis``): two thirds of the values per
    case, for sinks that compute KPIs and keep no rows."""

    COLUMNS = KPI_COLUMNS

    def write(self, issue, now: float, state: int) -> None:
        self._pack(
            self._buf, self._room(), issue.cat.index, issue.source, issue.grid.id, issue.t_created,
            issue.t_discovered, *issue.enter, issue.t_called, issue.t_onsite,
            now if state in ENDED else float("nan"),
            issue.solved_tier, issue.escalations, issue.bounces, issue.reopens, issue.whistles,
            issue.two_way, issue.deadline, state, issue.duplicates, issue.dispatched_to,
            *((0, issue.deadline, 0, 0, -1) if issue.st is None else _kpi_states(issue.st)),
            issue.solved_in_fact if state == 0 else 0, issue.response, issue.callbacks,
            issue.satisfied,
            issue.t_uploaded, issue.t_filed, issue.t_received, issue.t_on_site, issue.t_solved,
            issue.t_verified, 0)
