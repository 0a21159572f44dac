"""An initial backlog: today's real open cases, so a run starts from the current queue.

The CSV named by ``initial_backlog`` has one row per open case::

    category,district,street,community,grid,tier,age
    garbage_overflow,Riverside,0,2,5,community,3d
    illegal_construction,Riverside,4,,,district,45d

``street``, ``community`` and ``grid`` are indexes within their parent (community and grid may be
left empty: the first one is used); ``tier`` is where the case waits now; ``age`` how long it has
been open, in clock time (working time is refused: the calendar starts at the run's start, so
working hours before it cannot be counted). Districts repeated with ``count`` are named
``<name>-<k>``. The file is UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8"), and
separated by commas or, when the header has no comma, by semicolons (Excel in locales with a
decimal comma). Each row is validated by :class:`BacklogRow`; problems name their line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..units import parse_age
from ..vocabulary import BACKLOG_TIERS
from .errors import Problem, ScenarioError, closest, problems_from_validation
from .expand import expand

if TYPE_CHECKING:
    from .schema import Scenario

COLUMNS = ("category", "district", "street", "community", "grid", "tier", "age")
REQUIRED = ("category", "district", "street", "tier", "age")
MAX_BYTES = 256 * 2**20
"""Largest backlog file read (256 MiB, some millions of cases); larger files are refused."""


@dataclass(frozen=True, slots=True)
class BacklogCase:
    """One open case at the start of the run."""

    category: str
    district: str
    street: int
    community: int
    grid: int
    tier: str
    age_hours: float


Index = Annotated[int, Field(ge=0)]


class BacklogRow(BaseModel):
    """One row of the backlog CSV, as written (empty community/grid: the first one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    category: str = Field(min_length=1)
    district: str = Field(min_length=1)
    street: Index
    community: Index = 0
    grid: Index = 0
    tier: Literal[BACKLOG_TIERS]  # type: ignore[valid-type]
    age: float = Field(description="hours open at the start")

    @field_validator("community", "grid", mode="before")
    @classmethod
    def _empty_is_first(cls, v: object) -> object:
        return 0 if isinstance(v, str) and not v.strip() else v

    @field_validator("age", mode="before")
    @classmethod
    def _clock_age(cls, v: object) -> float:
        d = parse_age(v.strip() if isinstance(v, str) else v)
        if d.is_working_time:
            raise ValueError(f"age '{d}' is working time, which cannot be counted before the "
                             f"run's start (the calendar begins there): write clock time, "
                             f"e.g. '3d' or '36h'")
        return d.hours


def _text(path: Path, source: str) -> str:
    """The file's text, or a ScenarioError saying in one line why it cannot be read."""
    def fail(msg: str) -> ScenarioError:
        return ScenarioError(source, [Problem("file", msg)])

    try:
        if path.is_dir():
            raise fail("is a folder, not a CSV file")
        if path.stat().st_size > MAX_BYTES:
            raise fail(f"file is {path.stat().st_size / 2**20:.0f} MiB; backlog files are "
                       f"limited to {MAX_BYTES // 2**20} MiB")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail("backlog file not found") from None
    except OSError as e:
        raise fail(f"cannot read file: {e.strerror or e}") from None
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise fail("UTF-16 text: save the file as 'CSV UTF-8'")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise fail(f"binary content (a NUL byte at byte {nul}): expected a UTF-8 text CSV")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise fail(f"not UTF-8 text (byte {e.start}): save the file as 'CSV UTF-8'") from None
    if not text.strip():
        raise fail(f"file is empty: expected a header line '{','.join(COLUMNS)}'")
    return text


def read_rows(path: str | Path) -> list[tuple[int, BacklogRow]]:
    """The backlog file's rows with their line numbers; raise :class:`ScenarioError` listing
    every row that is malformed (wrong field count, bad value)."""
    path = Path(path)
    source = str(path)
    text = _text(path, source)
    first = text.splitlines()[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    if len(header) == 1 and header[0] not in COLUMNS:
        raise ScenarioError(source, [Problem("", f"cannot find the columns in the header "
                                                 f"{first[:60]!r}: separate "
                                                 f"{', '.join(COLUMNS)} by commas", 1)])
    problems = []
    for h in header:
        if h not in COLUMNS:
            hint = closest(h, list(COLUMNS))
            problems.append(Problem(f"column {h!r}", "unknown column" + (
                f" (did you mean '{hint}'?)" if hint else f"; expected {', '.join(COLUMNS)}"), 1))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(Problem("", f"missing column(s): {', '.join(missing)}; expected "
                                    f"{', '.join(COLUMNS)}", 1))
    if problems:
        raise ScenarioError(source, problems)
    rows = []
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(Problem("", f"cannot read row: {e}", reader.line_num))
            break
        n = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            problems.append(Problem("", f"row has {len(fields)} field(s), the header has "
                                        f"{len(header)} ({delimiter.join(header)})", n))
            continue
        try:
            rows.append((n, BacklogRow.model_validate(dict(zip(header, fields, strict=True)))))
        except ValidationError as e:
            problems += [Problem(f"column {q.path}", q.message, n)
                         for q in problems_from_validation(e, BacklogRow, {})]
    if problems:
        raise ScenarioError(source, problems)
    return rows


def read_backlog(path: str | Path, scenario: Scenario) -> list[BacklogCase]:
    """Read and check the backlog CSV against the scenario; raise :class:`ScenarioError`."""
    source = str(path)
    plans = {p.name: p for p in expand(scenario)}
    districts = list(plans)
    cats = list(scenario.categories)
    cases, problems = [], []
    for n, row in read_rows(path):
        def bad(col: str, msg: str, n: int = n) -> None:
            problems.append(Problem(f"column {col}", msg, n))

        for col, value, options in (("category", row.category, cats),
                                    ("district", row.district, districts)):
            if value not in options:
                hint = closest(value, options)
                bad(col, f"unknown {col} '{value}'" + (f" (did you mean '{hint}'?)"
                                                       if hint else ""))
        if row.district in plans:
            streets = plans[row.district].streets
            if row.street >= len(streets):
                bad("street", f"street {row.street} out of range (0..{len(streets) - 1})")
            else:
                s = streets[row.street]
                if row.community >= s.communities:
                    bad("community", f"community {row.community} out of range "
                                     f"(0..{s.communities - 1})")
                if row.grid >= s.grids_per_community:
                    bad("grid", f"grid {row.grid} out of range (0..{s.grids_per_community - 1})")
        cases.append(BacklogCase(row.category, row.district, row.street, row.community, row.grid,
                                 row.tier, row.age))
    if problems:
        raise ScenarioError(source, problems)
    return cases
