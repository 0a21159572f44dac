"""The words of the domain and the catalogue of KPIs, in one place every layer reads.

A case (the code's :class:`~gridsim.model.lifecycle.Issue`) is found on a grid worker's patrol
or comes in on the 12345 hotline, is triaged at the street centre and is solved at one of the
*tiers* below, lowest first. Its *lead* says who owns it: the street or a district department.
Every name a scenario, a column or a KPI uses for these things is spelled here once; the other
modules import it, and this module imports nothing of gridsim.

The KPI catalogue (:data:`KPIS`) gives each KPI its unit, the direction in which it improves,
a label and a one-line description. The CLI, the HTML report, the experiments (which point is
best) and the KPI code read it, so a new KPI is added here once. :func:`format_value` and
:func:`format_interval` write a KPI value in its unit for people (``94.5%``, ``20.9 h``,
``+4.2 pp``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

# ---------------------------------------------------------------------------- domain words
TIERS: tuple[str, ...] = ("grid", "community", "street", "district", "joint", "city")
"""Where a case can be solved, lowest first: on the spot by the grid worker, the community,
the street (enforcement team or office), district departments, the district joint consultation
(联席会议), city coordination."""

BACKLOG_TIERS: tuple[str, ...] = TIERS[1:]
"""The tiers an open case can wait at when a run starts (an initial backlog)."""

WHISTLE_RANGE: tuple[str, ...] = ("street", "district", "joint", "city")
"""Bazhong's "whistle range" (001): the cases that went to tier 2 (the street) or above."""

ABOVE_STREET: tuple[str, ...] = ("joint", "city")
"""The tiers above the street's command (Bazhong's tiers 3 and 4, 001): a case that reaches one
has left the street (大事不出街道, "big matters do not leave the street"). The departments a street
whistles work under its call, so the district tier is not among them."""

SOURCES: tuple[str, ...] = ("patrol", "hotline", "above", "units", "camera")
"""Where cases come from: found by a grid worker's patrol, a resident's 12345 hotline call, handed
down from above, collected from units in the area (Bazhong's three paths, 001), flagged by a
camera (video patrol, Xi'an's monitoring points, 003)."""

LEADS: tuple[str, ...] = ("street", "department")
"""Who owns a category's cases: the street, or a district department (the street whistles)."""

STREET_UNITS: tuple[str, ...] = ("enforcement", "office")
"""Which street team works a street-led case: the comprehensive enforcement team or an office."""

POOL_KINDS: tuple[str, ...] = ("grid_worker", "community", "centre", "enforcement", "office",
                               "department", "joint", "city", "call_taker", "city_department")
"""Kinds of staff pool, as in ``result.load`` and ``pools.csv``."""

UNIT_LEVELS: tuple[str, ...] = ("pool", "department", "street", "community", "grid")
"""The levels of the per-unit tables (``units.csv``, ``most_loaded.csv``), top down."""

STATES: tuple[str, ...] = ("closed", "in_progress", "waiting", "abandoned", "rejected")
"""A case's state when the clock stops (the codes of the ``state`` record column); a case is
``abandoned`` when its caller gave up on the 12345 queue (hotline front end only), ``rejected``
when the street centre refused to file it at triage (不予立案; a suspended case is ``waiting``)."""

REJECTION_REASONS: tuple[str, ...] = ("out_of_scope", "invalid")
"""Why the street centre refuses to file a case (不予立案): outside the platform's scope, or an
invalid report (the codes of the ``rejected`` record column; -1: filed)."""

RECEIVERS: tuple[str, ...] = ("street", "district_department", "city_department")
"""Where the 12345 front end dispatches a work order (the ``to=`` scope of ``dispatch_share``,
the codes of the ``dispatched_to`` record column)."""

RECORD_LEVELS: tuple[str, ...] = ("issues", "events", "kpis")
"""What a run keeps: a row per case, a row per case and per transition, or the KPIs only."""

ROW_LEVELS: tuple[str, ...] = ("issues", "events")
"""The record levels that keep case rows (and can stream them to Parquet)."""

STAGES: tuple[str, ...] = ("filing", "dispatch", "arrival", "handling", "verification")
"""The stages of digital city management a case's time is split into, each with its own limit
(``stage_limits``): filed (立案), dispatched (派遣), reached on site, handled (处置), verified
and closed (核查/结案). The ``stage=`` scope of ``stage_on_time_rate`` and ``stage_time_mean``."""


# ---------------------------------------------------------------------------- KPI catalogue
Unit = Literal["cases", "count", "h", "share", "per case"]
Better = Literal[-1, 0, 1]


@dataclass(frozen=True, slots=True)
class Kpi:
    """One KPI: its column name, unit, the direction in which it improves, and words for people.

    ``better`` is -1 when a smaller value is better, +1 when a larger one is, 0 when neither
    (a share of work at one tier is a design choice, not a score). ``mechanism`` marks a count
    that is a policy's own means (whistles blown, two-way dispatches): more is neither better
    nor worse, so its ``better`` is 0. ``practical`` is the smallest difference a planner acts
    on, in the KPI's unit (:data:`PRACTICAL` by unit unless set): a smaller effect is "no
    practical difference" in the report even when it is significant.
    """

    name: str
    unit: Unit
    better: Better
    label: str
    description: str
    mechanism: bool = False
    practical: float | None = None

    def format(self, value: Any, signed: bool = False) -> str:
        """``value`` in this KPI's unit (see :func:`format_value`)."""
        return format_value(value, self.unit, signed)


def _catalogue() -> dict[str, Kpi]:
    rows: list[tuple[str, Unit, Better, str, str]] = [
        ("cases", "cases", 0, "Cases counted (created after the warm-up)",
         "Cases created after the warm-up: the cohort every other KPI but the backlog counts."),
        ("resolution_time_mean", "h", -1, "Resolution time, mean",
         "Hours from discovery (patrol or call) to closure, over closed cases."),
        ("resolution_time_median", "h", -1, "Resolution time, median",
         "The median of the resolution time of closed cases."),
        ("resolution_time_p90", "h", -1, "Resolution time, 90th percentile",
         "Nine closed cases in ten took at most this long."),
        ("resolution_time_p95", "h", -1, "Resolution time, 95th percentile",
         "Nineteen closed cases in twenty took at most this long."),
        ("on_time_rate", "share", 1, "Closed on time",
         "Of the cases due by the end, the share closed by their deadline."),
        ("resolution_rate", "share", 1, "Solved by the end",
         "The share of cases closed and solved in fact when the clock stops (解决率; a case "
         "closed with an explanation is closed, not solved: see closure_rate)."),
        ("on_time_spread", "share", -1, "On-time spread across streets",
         "The highest street on-time rate minus the lowest, over the streets with cases due: "
         "how unequal the units are (Zhengzhou's districts differ by 48 points)."),
    ]
    for tier in TIERS:
        rows.append((f"solved_share_{tier}", "share", 0, f"Solved at {tier} tier",
                     f"Of the closed cases, the share solved at the {tier} tier."))
    for tier in TIERS:
        rows.append((f"solved_count_{tier}", "cases", 0, f"Solved at {tier} tier, cases",
                     f"Closed cases solved at the {tier} tier."))
    for tier in TIERS[1:]:
        rows.append((f"entered_share_{tier}", "share", 0, f"Reached the {tier} tier",
                     f"The share of cases that reached the {tier} tier at some point."))
    rows += [
        ("whistle_range_count", "cases", 0, "Cases in the whistle range",
         "Cases that reached the street tier or above (Bazhong's whistle range)."),
        ("whistle_range_share", "share", 0, "Share in the whistle range",
         "The share of cases that reached the street tier or above."),
        ("whistle_range_solved_share", "share", 1, "Whistle-range cases solved",
         "Of the cases in the whistle range, the share closed by the end."),
        ("left_street_share", "share", 0, "Left the street",
         "The share of cases that reached the joint consultation or the city coordination "
         "(tiers above the street; Bazhong's motto 大事不出街道)."),
        ("whistles", "count", -1, "Whistles blown",
         "Times a street called district departments to a case (吹哨)."),
        ("whistles_per_case", "per case", -1, "Whistles per case",
         "Whistles blown, divided by the cases counted."),
        ("escalations_per_case", "per case", -1, "Escalations per case",
         "Moves of a case to a higher tier, divided by the cases counted."),
        ("reroutes_per_case", "per case", -1, "Reroutes per case",
         "Times a case was sent back or on to another unit, divided by the cases counted."),
        ("reopen_rate", "share", -1, "Reopened after closing",
         "Of the closed cases, the share reopened at least once (failed verification)."),
        ("two_way_dispatch_share", "share", 0, "Two-way dispatch share",
         "The share of cases a department dispatched down to the street (双向派单)."),
        ("dept_report_time_mean", "h", -1, "Department report time, mean",
         "Hours from a whistle to the departments' arrival on site (报到)."),
        ("dept_report_on_time_rate", "share", 1, "Department reports on time",
         "The share of department arrivals within the policy's report deadline."),
        ("backlog_end", "cases", -1, "Open cases at the end",
         "Every case still open when the clock stops (warm-up cases included)."),
        ("backlog_end_waiting", "cases", -1, "Open cases at the end, waiting",
         "Open cases at the end that wait in a queue."),
        ("backlog_end_in_progress", "cases", -1, "Open cases at the end, in progress",
         "Open cases at the end that someone is working on."),
        ("discovery_delay_mean", "h", -1, "Discovery delay, mean",
         "Hours from a problem arising to its first report, over cases reported."),
        ("source_share", "share", 0, "Share by source",
         "The share of cases whose first report came from the scope's source (source=...)."),
        ("duplicate_rate", "share", -1, "Duplicate reports",
         "Of all reports received, the share that repeated an open case (merged at triage)."),
        ("on_spot_share", "share", 0, "Fixed on the spot",
         "Of the cases found on patrol, the share the finder fixed on the spot (举手之劳)."),
        # stage limits (categories.<c>.stage_limits; README "Stage limits")
        ("stage_on_time_rate", "share", 1, "Stage done within its limit",
         "Of the cases whose stage (scope stage=filing|dispatch|arrival|handling|verification) "
         "fell due by the end, the share that finished it within the stage's limit."),
        ("stage_time_mean", "h", -1, "Stage duration, mean",
         "Hours a stage (scope stage=...) took, over the cases that finished it by the end."),
        # case states: extension, suspension, rejection, supervision (gridsim.model.states)
        ("on_time_rate_extended", "share", 1, "Closed on time, extended deadline",
         "Of the cases due by the end (original deadline), the share closed by their extended "
         "deadline (延期 granted; never below on_time_rate)."),
        ("extension_rate", "share", 0, "Cases extended",
         "Of the cases filed, the share whose deadline was extended at least once (延期)."),
        ("suspension_rate", "share", -1, "Cases suspended",
         "Of the cases filed, the share suspended at least once (挂账); they leave on_time_rate."),
        ("rejection_rate", "share", 0, "Cases not filed",
         "Of the cases counted, the share the street centre refused to file at triage (不予立案; "
         "scope reason=out_of_scope|invalid by reason)."),
        ("supervision_rate", "share", -1, "Cases supervised",
         "Of the cases filed, the share supervised at least once (overdue while open)."),
        ("supervisions", "count", -1, "Supervisions",
         "Times an overdue case was supervised (督办: a priority boost or an escalation)."),
        # the resident's side (gridsim.results.resident; the last three only with resident:)
        ("closure_rate", "share", 1, "Closed by the end",
         "The share of cases closed when the clock stops, solved in fact or with an "
         "explanation."),
        ("closed_unsolved_rate", "share", -1, "Closed with an explanation",
         "Of the closed cases, the share closed with an explanation, not solved in fact."),
        ("response_rate", "share", 1, "12345 response in time",
         "Of the 12345 work orders closed, the share whose handler contacted the caller within "
         "the response limit (响应率)."),
        ("callback_reach_rate", "share", 1, "12345 callbacks answered",
         "Of the cases called back after closure, the share whose resident answered a callback."),
        ("satisfaction_rate", "share", 1, "Residents satisfied",
         "Of the residents who answered the callback, the share satisfied (满意率; a case's "
         "last answer)."),
        # the 12345 front end (only when hotline.front_end is set)
        ("answered_on_call_share", "share", 0, "12345 requests settled on the call",
         "Of the 12345 requests answered (consultations and problems), the share settled on "
         "the call."),
        ("call_answer_wait_mean", "h", -1, "12345 wait to answer, mean",
         "Hours an answered 12345 call waited in the queue."),
        ("call_abandon_rate", "share", -1, "12345 calls abandoned",
         "Of the 12345 calls (redials included), the share whose caller hung up in the queue."),
        ("dispatch_share", "share", 0, "12345 work orders by receiver",
         "Of the 12345 work orders dispatched, the share that ended at each kind of unit "
         "(scope to=street|district_department|city_department)."),
        ("return_rate", "share", -1, "12345 work orders returned",
         "Of the 12345 work orders dispatched, the share returned (退单) at least once."),
        ("returns_per_case", "per case", -1, "12345 returns per work order",
         "Returns (退单) of 12345 work orders, divided by the work orders dispatched."),
        # department behaviour and appraisal (issue 16: 街道吹哨、部门报到; scopes all and
        # department=...; also dept_report_*, resolution_rate per department)
        ("dept_calls", "count", 0, "Calls to departments",
         "Times a street called a district department to a case (each department of a whistle "
         "counts; calls again after no answer too)."),
        ("report_rate", "share", 1, "Department report rate",
         "Of the calls to district departments, the share they answered (报到率)."),
        ("cooperation_rate", "share", 1, "Department cooperation",
         "Of the departments' places on whistled joint visits, the share where the department "
         "did its part (配合度)."),
    ]
    return {r[0]: _judged(Kpi(*r)) for r in rows}


# the report's badges (issue 16): a policy's own mechanism has no direction; practical thresholds
MECHANISMS: frozenset[str] = frozenset({"whistles", "whistles_per_case", "two_way_dispatch_share"})
"""KPIs that count a policy's own mechanism (吹哨, 双向派单): a change is reported, not judged."""

PRACTICAL: dict[str, float] = {"share": 0.01, "h": 1.0, "per case": 0.01}
"""The practical threshold by unit (assumption): 1 percentage point for a share, 1 hour for a
time, 0.01 per case for a rate per case; counts have none (any significant change counts)."""


def _judged(k: Kpi) -> Kpi:
    """``k`` with its mechanism flag and practical threshold from the tables above."""
    mech = k.mechanism or k.name in MECHANISMS
    return dataclasses.replace(k, mechanism=mech, better=0 if mech else k.better,
                               practical=k.practical if k.practical is not None
                               else PRACTICAL.get(k.unit))


KPIS: dict[str, Kpi] = _catalogue()
"""Every KPI of ``kpis.csv`` by name, in the order of the table."""

RENAMED: dict[str, str] = {
    "issues": "cases",
    "whistles_per_issue": "whistles_per_case",
    "escalations_per_issue": "escalations_per_case",
    "reroutes_per_issue": "reroutes_per_case",
}
"""KPI names of gridsim 0.1 and their names now (still accepted where a KPI is looked up)."""

HEADLINE: tuple[str, ...] = (
    "cases", "resolution_time_mean", "resolution_time_median", "resolution_time_p90",
    "resolution_time_p95", "on_time_rate", "resolution_rate",
    *(f"solved_share_{t}" for t in TIERS), "whistles", "dept_report_time_mean",
    "dept_report_on_time_rate", "reroutes_per_case", "reopen_rate", "response_rate",
    "satisfaction_rate", "extension_rate", "suspension_rate", "backlog_end")
"""The KPIs a planner reads first, in reading order (CLI tables, the report)."""


def canonical(name: str) -> str:
    """The current name of KPI ``name`` (an old name from :data:`RENAMED` is translated)."""
    return RENAMED.get(name, name)


def kpi_info(name: str) -> Kpi:
    """The catalogue entry of ``name``; a :class:`KeyError` names the closest KPI."""
    found = KPIS.get(canonical(name))
    if found is None:
        near = difflib.get_close_matches(name, list(KPIS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise KeyError(f"no KPI named {name!r}{hint}")
    return found


UNIT_COLUMNS: dict[str, tuple[Unit, Better, str]] = {
    "wait_share": ("share", -1, "Probability of waiting (jobs that queued)"),
    "wait_mean": ("h", -1, "Mean wait in queue"),
}
"""Unit, direction and label of columns of the per-unit and pool tables (``units.csv``,
``pools.csv``) that are not KPIs of the catalogue; :func:`unit_of`, :func:`direction` and
:func:`label` fall back to them."""


_UNIT_COLUMN_KPIS: dict[str, Kpi] = {
    name: Kpi(name, unit, better, text, text, practical=PRACTICAL.get(unit))
    for name, (unit, better, text) in UNIT_COLUMNS.items()}


def _lookup(name: str) -> Kpi | None:
    k = KPIS.get(canonical(name))
    return _UNIT_COLUMN_KPIS.get(name) if k is None else k


def unit_of(name: str) -> str:
    """The unit of KPI ``name`` (``""`` for a name the catalogue does not know)."""
    k = _lookup(name)
    return k.unit if k else ""


def direction(name: str) -> int:
    """-1 when a smaller value of ``name`` is better, +1 when larger, 0 when neither/unknown."""
    k = _lookup(name)
    return k.better if k else 0


def practical_threshold(name: str) -> float | None:
    """The smallest difference of KPI ``name`` a planner acts on (``None``: any difference)."""
    k = _lookup(name)
    return k.practical if k else None


def is_mechanism(name: str) -> bool:
    """Whether KPI ``name`` counts a policy's own mechanism (no better or worse)."""
    k = _lookup(name)
    return bool(k and k.mechanism)


def minimise(name: str) -> bool:
    """Whether a smaller value of KPI ``name`` is better (when choosing the best point)."""
    return direction(name) < 0


def label(name: str) -> str:
    """The KPI's label for people (a made-up one for a name the catalogue does not know)."""
    k = _lookup(name)
    return k.label if k else name.replace("_", " ").capitalize()


def headline(available: Iterable[str]) -> list[str]:
    """The :data:`HEADLINE` KPIs present in ``available``, in reading order."""
    avail = set(available)
    return [m for m in HEADLINE if m in avail]


# ---------------------------------------------------------------------------- numbers for people
MINUS = "\u2212"
DASH = "\u2014"


def is_missing(v: Any) -> bool:
    """True for ``None``, NaN and anything that is not a number."""
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def _sign(s: str, v: float, signed: bool) -> str:
    s = s.replace("-", MINUS)
    if signed and v > 0 and not s.startswith("+"):
        s = "+" + s
    return s


def _num(v: float) -> str:
    """About three significant figures, with thousands separators."""
    a = abs(v)
    if a >= 100 or a == 0:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    return f"{v:,.2f}"


def _parts(v: float, unit: str, signed: bool) -> tuple[str, str]:
    """A number and its unit suffix."""
    if unit == "share":
        return _sign(f"{v * 100:.1f}", v, signed), (" pp" if signed else "%")
    if unit == "h":
        return _sign(_num(v), v, signed), " h"
    if unit in ("cases", "count"):
        s = f"{v:,.0f}" if float(v).is_integer() else _num(v)
        return _sign(s, v, signed), ""
    if unit == "per case":
        return _sign(f"{v:.3f}", v, signed), ""
    return _sign(_num(v), v, signed), (f" {unit}" if unit else "")


def format_value(v: Any, unit: str, signed: bool = False) -> str:
    """``94.5%``, ``20.9 h``, ``3,806``; ``+4.2 pp`` and ``−5.76 h`` when ``signed``."""
    if is_missing(v):
        return DASH
    n, suffix = _parts(float(v), unit, signed)
    return n + suffix


def format_days(hours: Any, signed: bool = False) -> str:
    """Hours as days: ``0.87 d``."""
    if is_missing(hours):
        return DASH
    return _sign(_num(float(hours) / 24), float(hours), signed) + " d"


def format_interval(low: Any, high: Any, unit: str, signed: bool = False) -> str:
    """``19.8 to 22.0 h``, ``93.1 to 95.9%``, ``−3.1 to +0.4 pp``."""
    if is_missing(low) or is_missing(high):
        return DASH
    a, suffix = _parts(float(low), unit, signed)
    b, _ = _parts(float(high), unit, signed)
    return f"{a} to {b}{suffix}"


def format_percent(v: Any) -> str:
    """A share as a whole percentage: ``87%``."""
    return DASH if is_missing(v) else f"{float(v) * 100:.0f}%"


def format_kpi(v: Any, unit: str, signed: bool = False) -> str:
    """A KPI value on one line, hours also in days: ``20.9 h (0.87 d)``, ``94.5%``."""
    text = format_value(v, unit, signed)
    if unit == "h" and not is_missing(v):
        text += f" ({format_days(v, signed)})"
    return text
