"""Streamed issue tables: case rows written to Parquet chunk by chunk as the clock runs.

With ``record.stream: true`` a run keeps no case rows in memory: :class:`IssueWriter` turns
every record chunk into the user-facing rows (:func:`gridsim.results.tables.issue_rows`) and
writes them as one row group. The KPIs are then computed from the file(s), reading one row
group at a time and only the columns they need (:func:`accumulate_files`), and
:func:`read_issues` loads the table when it is asked for.

Layout: an unsharded run writes one file; a sharded run writes one part file per shard
(``part-000.parquet``, ...), and its results folder holds them in a folder named
``issues.parquet``; ``pandas.read_parquet`` reads both. Rows are in the order cases were
closed (then the cases still open at the end), per part; ``issue_id`` is empty (``<NA>``)
because numbering needs every row sorted by creation time: ``(district, district_seq)``
identifies a case, and :func:`read_issues` numbers and orders the rows exactly as an in-memory
run does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..model.records import Chunk, RunNames, empty_chunk
from ..model.trace import EVENTS, empty_events
from ..vocabulary import LEADS, RECEIVERS, REJECTION_REASONS, SOURCES, STATES, TIERS
from .chunks import KPI_COLUMNS, chunk_from_frame
from .kpis import KpiAccumulator
from .tables import event_rows, issue_rows, unit_codes


class IssueWriter:
    """A sink of :func:`gridsim.model.simulation.run_model`: each record chunk becomes one row
    group of the Parquet file ``path``."""

    def __init__(self, path: str | Path, report_deadline: float, horizon: float):
        self.path = Path(path)
        self.report_deadline, self.horizon = report_deadline, horizon
        self.names: RunNames | None = None
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def begin(self, names: RunNames) -> None:
        self.names = names
        self._units = unit_codes(names)

    def frame(self, chunk: Chunk) -> pd.DataFrame:
        return issue_rows(chunk, self.names, self.report_deadline, self.horizon, self._units)

    def empty(self) -> Chunk:
        return empty_chunk()

    def add(self, chunk: Chunk) -> None:
        df = self.frame(chunk)
        if self._writer is None:
            table = pa.Table.from_pandas(df, preserve_index=False)
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.path, self._schema)
        else:
            table = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
        self._writer.write_table(table, row_group_size=max(len(df), 1))
        self.rows += len(df)

    def end(self) -> None:
        if self._writer is None:  # no case at all: an empty file with the columns
            self.add(self.empty())
        self._writer.close()


class EventWriter(IssueWriter):
    """A trace sink of :func:`gridsim.model.simulation.run_model` (record level ``events``):
    each chunk of the event log becomes one row group of the Parquet file ``path``, rows in the
    order they were logged, ``issue_id`` empty."""

    def __init__(self, path: str | Path):
        super().__init__(path, float("nan"), float("nan"))

    def frame(self, chunk: Chunk) -> pd.DataFrame:
        return event_rows(chunk, self.names, self._units)

    def empty(self) -> Chunk:
        return empty_events()


def accumulate_files(paths: Sequence[str | Path], acc: KpiAccumulator) -> KpiAccumulator:
    """Feed ``acc`` the issue rows of Parquet ``paths``, one row group at a time, reading only
    the columns the KPIs need."""
    for path in paths:
        pf = pq.ParquetFile(path)
        for i in range(pf.num_row_groups):
            batch = pf.read_row_group(i, columns=list(KPI_COLUMNS)).to_pandas()
            acc.add(chunk_from_frame(batch, acc.names))
    return acc


@dataclass
class IssueFiles:
    """Where a streamed run's issue rows are, and what :func:`read_issues` needs to give the
    in-memory table back: category names, districts in scenario order, grids in run order."""

    paths: list[Path]
    layout: str  # "file" (one file) or "parts" (one per shard)
    categories: list[str]
    districts: list[str]
    grids: list[str]


def _as_categorical(s: pd.Series, categories: Sequence) -> pd.Series:
    categories = list(categories)
    if isinstance(s.dtype, pd.CategoricalDtype):
        if list(s.cat.categories) == categories:
            return s
        return s.cat.set_categories(categories)
    return pd.Series(pd.Categorical(s.astype(object), categories=categories), index=s.index,
                     name=s.name)


def read_issues(files: IssueFiles) -> pd.DataFrame:
    """The streamed issue table, numbered and ordered as an in-memory run's ``issues``.

    Loads every row: use it when the table fits in memory.
    """
    frames = [pd.read_parquet(p) for p in files.paths]
    fixed = {"category": files.categories, "lead": LEADS, "source": SOURCES,
             "grid": files.grids, "start_tier": TIERS, "solved_tier": TIERS, "state": STATES,
             "dispatched_to": RECEIVERS, "rejected": REJECTION_REASONS}
    for level in ("district", "street", "community"):
        fixed[level] = _present(frames, level)
    df, district = _combined(frames, fixed, files.districts)
    order = np.lexsort((df["district_seq"].to_numpy(), district, df["t_created"].to_numpy()))
    df = df.take(order).reset_index(drop=True)
    df["issue_id"] = np.arange(len(df), dtype=np.int64)
    return df


def _present(frames: list[pd.DataFrame], level: str) -> list[str]:
    """The units of ``level`` present in the part frames, sorted (unused categories of a
    part are dropped from it on the way)."""
    present: set = set()
    for f in frames:
        col = f[level]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = f[level] = col.cat.remove_unused_categories()
            present.update(col.cat.categories)
        else:
            present.update(col.dropna().unique())
    return sorted(present)


def _combined(frames: list[pd.DataFrame], fixed: dict[str, Sequence[str]],
              districts: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The part frames as one, with the same categories in every part, and each row's
    district by its place in ``districts`` (scenario order)."""
    for f in frames:
        for col, cats in fixed.items():
            f[col] = _as_categorical(f[col], cats)
    df = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    order_of = {name: i for i, name in enumerate(districts)}
    d = df["district"]
    return df, np.array([order_of[c] for c in d.cat.categories], dtype=np.int64)[d.cat.codes]


@dataclass
class EventFiles:
    """Where a streamed run's event log is (record level ``events``), and what
    :func:`read_events` needs: districts in scenario order, unit names by code."""

    paths: list[Path]
    layout: str  # "file" (one file) or "parts" (one per shard)
    districts: list[str]
    units: list[str]


def read_events(files: EventFiles) -> pd.DataFrame:
    """The streamed event log, numbered and ordered as an in-memory run's ``events``.

    Cases are numbered from their ``created`` rows exactly as :func:`read_issues` numbers the
    issue table (creation time, district, ``district_seq``). Loads every row.
    """
    frames = [pd.read_parquet(p) for p in files.paths]
    fixed = {"district": _present(frames, "district"), "event": EVENTS, "tier": TIERS,
             "unit": files.units}
    df, district = _combined(frames, fixed, files.districts)
    seq = df["district_seq"].to_numpy()
    time = df["time"].to_numpy()
    # number the cases from their creation rows: by (time, district, district_seq)
    made = np.flatnonzero((df["event"] == "created").to_numpy())
    counts = np.bincount(district[made], minlength=len(files.districts))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    ids = np.empty(len(made), dtype=np.int64)
    numbered = made[np.lexsort((seq[made], district[made], time[made]))]
    ids[first[district[numbered]] + seq[numbered]] = np.arange(len(made), dtype=np.int64)
    order = np.lexsort((df["step"].to_numpy(), seq, district, time))
    df = df.take(order).reset_index(drop=True)
    df["issue_id"] = ids[first[district[order]] + seq[order]]
    return df
