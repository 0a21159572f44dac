"""What a run keeps of its cases (``record``), and the one place its level is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from ..units import Duration, PositiveClockDuration
from ..vocabulary import RECORD_LEVELS, ROW_LEVELS
from .base import Strict


class Recording(Strict):
    """What a run keeps of its cases (the load samples are always kept)."""

    load_interval: PositiveClockDuration = Field(Duration(1, "h"),
                                                 description="load sampling interval")
    level: Literal[RECORD_LEVELS] = Field(  # type: ignore[valid-type]
        "issues", description="issues: one row per case (result.issues, issues.parquet); "
        "events: the case rows plus one row per state change of a case (result.events, "
        "events.parquet); kpis: only the KPIs and per-unit counts, computed chunk by chunk as "
        "the clock runs (bounded memory, no issue table)")
    stream: bool = Field(
        False, description="with level issues or events: write the case rows (and the event "
        "log) to Parquet chunk by chunk instead of keeping them in memory (KPIs are computed "
        "from the files)")
    chunk: Annotated[int, Field(ge=1, le=1_048_576)] = Field(
        65536, description="case (and event) rows packed per chunk (and per Parquet row group "
        "when streaming)")

    @field_validator("load_interval")
    @classmethod
    def _positive_interval(cls, v: Duration) -> Duration:
        if v.hours <= 0:
            raise ValueError(f"must be a positive duration (got {v})")
        return v

    @model_validator(mode="after")
    def _stream_needs_rows(self) -> Recording:
        if self.stream and self.level not in ROW_LEVELS:
            raise ValueError(f"stream writes the case rows, so it needs level 'issues' or "
                             f"'events' (got level '{self.level}'); drop stream or use level "
                             f"issues or events")
        return self


@dataclass(frozen=True)
class RecordPlan:
    """How a run records its cases, decoded once from ``record.level`` and ``record.stream``
    (:meth:`of`) and handed to everything that needs to know (the runner, the model's
    recorders, the size estimate, the result's manifest)."""

    level: str
    """``issues``, ``events`` or ``kpis``."""
    stream: bool
    """The case rows (and the event log) go to Parquet chunk by chunk, not to memory."""
    chunk: int
    """Rows packed per chunk."""

    @classmethod
    def of(cls, record: Recording, level: str | None = None) -> RecordPlan:
        """``record`` at ``level`` (default: its own): a level without case rows ignores
        ``stream``. A level that is not one of :data:`~gridsim.vocabulary.RECORD_LEVELS` is a
        ``ValueError``."""
        level = record.level if level is None else level
        if level not in RECORD_LEVELS:
            raise ValueError(f"record level {level!r} is not one of {', '.join(RECORD_LEVELS)}")
        return cls(level, level in ROW_LEVELS and record.stream, record.chunk)

    @property
    def rows(self) -> bool:
        """The run has an issue table (``result.issues``, ``issues.parquet``)."""
        return self.level in ROW_LEVELS

    @property
    def kpis_only(self) -> bool:
        """Rows carry only the columns the KPI accumulator reads, and are dropped."""
        return not self.rows

    @property
    def events(self) -> bool:
        """The event log is kept: one row per state change of a case."""
        return self.level == "events"

    @property
    def keep_rows(self) -> bool:
        """The case rows (and the event log) are kept in memory."""
        return self.rows and not self.stream
