"""The working calendar as a scenario writes it: start date, weekend, public holidays, 调休
workdays and the named shifts pools work (resolved into clock hours by
:mod:`gridsim.plan.calendar`)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import Field, field_validator

from .base import Strict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class Shift(Strict):
    """When a pool works: on which days, and which clock ranges on those days."""

    days: Literal["workdays", "all"] | list[Literal[WEEKDAYS]] = "workdays"  # type: ignore[valid-type]
    hours: list[str] = Field(default_factory=lambda: ["00:00-24:00"], min_length=1)

    @field_validator("hours")
    @classmethod
    def _ranges(cls, v: list[str]) -> list[str]:
        last = -1.0
        for r in v:
            m = _RANGE.match(r.strip())
            if not m:
                raise ValueError(f"cannot read time range {r!r}: write e.g. '08:30-12:00'")
            a = int(m[1]) + int(m[2]) / 60
            b = int(m[3]) + int(m[4]) / 60
            if not 0 <= a < b <= 24:
                raise ValueError(f"time range {r!r} must start before it ends, within 00:00-24:00")
            if a < last:
                raise ValueError(f"time ranges must be in order and not overlap ({r!r})")
            last = b
        return v

    def ranges(self) -> list[tuple[float, float]]:
        """Clock ranges in hours of the day."""
        out = []
        for r in self.hours:
            m = _RANGE.match(r.strip())
            out.append((int(m[1]) + int(m[2]) / 60, int(m[3]) + int(m[4]) / 60))
        return out


def _default_shifts() -> dict[str, Shift]:
    return {
        "office": Shift(days="workdays", hours=["08:30-12:00", "13:30-17:30"]),
        "always": Shift(days="all", hours=["00:00-24:00"]),
        "patrol": Shift(days="all", hours=["08:00-12:00", "14:00-18:00"]),
    }


class CalendarSpec(Strict):
    """The working calendar: start date (t = 0 at midnight), weekend, public holidays."""

    start: dt.date = dt.date(2026, 1, 5)
    weekend: list[Literal[WEEKDAYS]] = ["sat", "sun"]  # type: ignore[valid-type]
    holidays: list[str] = Field(default_factory=list, description="dates or 'from..to' ranges")
    extra_workdays: list[dt.date] = Field(default_factory=list,
                                          description="weekend days worked (调休)")
    shifts: dict[str, Shift] = Field(default_factory=_default_shifts)

    @field_validator("holidays")
    @classmethod
    def _dates(cls, v: list[Any]) -> list[str]:
        out = []
        for item in v:
            text = str(item)
            try:
                parts = [dt.date.fromisoformat(p.strip()) for p in text.split("..")]
            except ValueError:
                raise ValueError(f"cannot read holiday {text!r}: write '2026-10-01' or "
                                 "'2026-10-01..2026-10-07'") from None
            if len(parts) > 2 or parts[0] > parts[-1]:
                raise ValueError(f"holiday range {text!r} must be 'from..to' with from <= to")
            if (parts[-1] - parts[0]).days >= 366:
                raise ValueError(f"holiday range {text!r} is longer than a year")
            out.append(text)
        return out

    def holiday_dates(self) -> set[dt.date]:
        days: set[dt.date] = set()
        for text in self.holidays:
            parts = [dt.date.fromisoformat(p.strip()) for p in text.split("..")]
            first, last = parts[0], parts[-1]  # counted, not stepped past: 9999-12-31 is a date
            days.update(first + dt.timedelta(days=k) for k in range((last - first).days + 1))
        return days
