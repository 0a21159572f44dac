"""Durations with units, as planners write them: ``30min``, ``4h``, ``3d``, ``2w``, ``5wd``.

The simulation clock counts **hours** from the scenario's start. Calendar units (``s``, ``min``,
``h``, ``d``, ``w``) convert to hours directly. Working-time units (``wd``: working days, ``wh``:
working hours) only make sense against a working calendar: "5 working days from a Friday
afternoon" ends on the next Friday afternoon when there is no holiday in between. Such durations
are kept symbolic and resolved by the model's calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_HOURS_PER_UNIT = {"s": 1 / 3600, "min": 1 / 60, "h": 1.0, "d": 24.0, "w": 168.0}
_NOMINAL_HOURS = {**_HOURS_PER_UNIT, "wd": 24.0, "wh": 1.0}
MAX_DURATION_HOURS = 100 * 8766.0
"""Longest duration accepted anywhere (100 years; working days count as 24 h, working hours as
1 h): the clock, the calendar and the deadlines stay finite and cheap."""
MAX_AGE_HOURS = 10 * 8766.0
"""Oldest backlog age accepted (10 years): see :func:`parse_age`."""
_WORKING_UNITS = ("wd", "wh")
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-z]+)\s*$")
_ALIASES = {"m": "min", "mins": "min", "minute": "min", "minutes": "min", "hr": "h",
            "hrs": "h", "hour": "h", "hours": "h", "day": "d", "days": "d", "week": "w",
            "weeks": "w", "sec": "s", "second": "s", "seconds": "s"}


@dataclass(frozen=True, slots=True)
class Duration:
    """A non-negative length of time: a number and a unit."""

    value: float
    unit: str

    @property
    def is_working_time(self) -> bool:
        """True for ``wd``/``wh``, which need a working calendar to become clock hours."""
        return self.unit in _WORKING_UNITS

    @property
    def hours(self) -> float:
        """Clock hours; only defined for calendar units."""
        if self.is_working_time:
            raise ValueError(f"{self} is working time: resolve it with a working calendar")
        return self.value * _HOURS_PER_UNIT[self.unit]

    def __str__(self) -> str:
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"{v}{self.unit}"


def parse_duration(text: Any) -> Duration:
    """Parse ``"30min"``, ``"4h"``, ``"5wd"``; a bare number is rejected (units are required)."""
    if isinstance(text, Duration):
        return text
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"expected a duration such as '30min', '4h', '3d' or '5wd', got {text!r}")
    if isinstance(text, int | float):
        if text == 0:
            return Duration(0.0, "h")
        raise ValueError(f"duration {text!r} has no unit: write e.g. '{text}h' or '{text}d'")
    m = _PATTERN.match(text.lower())
    if not m:
        raise ValueError(f"cannot read duration {text!r}: write a number and a unit, "
                         "e.g. '30min', '4h', '3d', '2w', '5wd' (working days), '6wh'")
    value, unit = float(m.group(1)), _ALIASES.get(m.group(2), m.group(2))
    if unit not in _HOURS_PER_UNIT and unit not in _WORKING_UNITS:
        raise ValueError(f"unknown time unit {m.group(2)!r} in {text!r}: use s, min, h, d, w, "
                         "wd (working days) or wh (working hours)")
    if unit == "wd" and not value.is_integer():
        raise ValueError(f"working days are whole days ({text!r}): write working hours for "
                         "part of a day, e.g. '12wh'")
    nominal = value * _NOMINAL_HOURS[unit]
    if not nominal <= MAX_DURATION_HOURS:  # also catches inf and nan
        raise ValueError(f"duration {text!r} is longer than the limit of 100 years")
    return Duration(value, unit)


def parse_age(text: Any) -> Duration:
    """A backlog case's age (``"45d"``), at most :data:`MAX_AGE_HOURS` (10 years) old.

    For the backlog row reader: an age beyond that is a slip (a number in the wrong unit, a
    date pasted into the column), not a case that has waited for a decade."""
    d = parse_duration(text)
    if d.value * _NOMINAL_HOURS[d.unit] > MAX_AGE_HOURS:
        raise ValueError(f"age {text!r} is older than the limit of 10 years")
    return d


def _parse_clock_duration(text: Any) -> Duration:
    d = parse_duration(text)
    if d.is_working_time:
        raise ValueError(f"{text!r} is working time; this value needs clock time (min, h, d, w)")
    return d


def _parse_positive_clock_duration(text: Any) -> Duration:
    d = _parse_clock_duration(text)
    if d.hours <= 0:
        raise ValueError(f"must be a positive duration (got {text!r}): an interval of zero "
                         "never advances the clock")
    return d


def _json_schema(units: tuple[str, ...], positive: bool) -> dict[str, Any]:
    """JSON Schema of what :func:`parse_duration` accepts for these units: a number and a
    unit in any letter case (with the aliases), and a bare ``0`` unless ``positive``."""
    def nocase(word: str) -> str:
        return "".join(f"[{c}{c.upper()}]" for c in word)

    names = sorted({*units, *(a for a, u in _ALIASES.items() if u in units)} - {"wd"}, key=len,
                   reverse=True)
    number = r"[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?"
    nonzero = r"(?=\s*[0-9.]*[1-9])" if positive else ""
    alternatives = rf"{number}\s*({'|'.join(map(nocase, names))})"
    if "wd" in units:  # working days are whole
        alternatives = rf"({alternatives}|[0-9]+(\.0*)?\s*{nocase('wd')})"
    text = {"type": "string",
            "pattern": rf"^{nonzero}\s*{alternatives}\s*$",
            "examples": ["30min", "4h", "3d"] + (["5wd", "6wh"] if "wd" in units else [])}
    if positive:
        return {**text, "description": "a positive duration: a number and a unit"}
    return {"anyOf": [text, {"const": 0}],
            "description": "a duration: a number and a unit (a bare 0 is allowed)"}


_CLOCK_UNITS = tuple(_HOURS_PER_UNIT)
DURATION_SCHEMA = _json_schema(_CLOCK_UNITS + _WORKING_UNITS, positive=False)
CLOCK_SCHEMA = _json_schema(_CLOCK_UNITS, positive=False)
POSITIVE_CLOCK_SCHEMA = _json_schema(_CLOCK_UNITS, positive=True)

DurationField = Annotated[Duration, BeforeValidator(parse_duration),
                          PlainSerializer(str, return_type=str), WithJsonSchema(DURATION_SCHEMA)]
"""A pydantic field type for any duration (clock or working time)."""

ClockDuration = Annotated[Duration, BeforeValidator(_parse_clock_duration),
                          PlainSerializer(str, return_type=str), WithJsonSchema(CLOCK_SCHEMA)]
"""A pydantic field type for clock durations only (work times, delays, horizons)."""

PositiveClockDuration = Annotated[Duration, BeforeValidator(_parse_positive_clock_duration),
                                  PlainSerializer(str, return_type=str),
                                  WithJsonSchema(POSITIVE_CLOCK_SCHEMA)]
"""A clock duration that must be positive: intervals (a meeting ``every``, a patrol interval,
a rate's period, the horizon, the load sampling interval)."""
