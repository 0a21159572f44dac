"""The organisation as a planner reads it: a heat map, a ranking and the department appraisal.

A district is drawn as a block: its name on top, then one row per street (the street's own cell,
then its communities), then its departments. Each cell is coloured by one KPI of the per-unit
table (``units.csv`` of a run, ``units.csv`` of an experiment with ``_hw`` half-widths per point)
and carries the value, its interval and the cases in its hover text; the same numbers are in a
table beneath. A planner picks the KPI with a row of buttons (radio inputs and CSS: the page has
no scripts). An experiment gets one panel per point, coloured on one scale, so the same street
can be compared across variants at a glance.

The table is read as it comes: a KPI column that is missing or empty is left out, the ``parent``
of a unit is derived from its path (``Riverside/s0/c0`` lies in ``Riverside/s0``) when the column
is absent, and a district's own value is its ``district`` row or, for a single district, the
overall KPI. The ranking lists each level's units weakest first (the direction is the KPI
catalogue's; for a KPI without one, highest first). The department appraisal table (report rate,
report time, on-time report, cooperation, resolution) comes from the KPI rows with scope
``department=...`` or else from the department rows of the unit table.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..vocabulary import DASH, KPIS, format_interval, format_value, is_missing, label, unit_of
from .folder import Cell, stacked, table, value_cell

HEAT_KPIS: tuple[str, ...] = (
    "on_time_rate", "resolution_time_mean", "resolution_time_p90", "satisfaction_rate",
    "resolution_rate", "report_rate", "cooperation_rate", "response_rate", "overdue_end",
    "open_end", "utilisation", "cases", "queue_mean")
"""The unit-table columns the heat map can colour by, in the order of its buttons (the first
present is the default)."""

UNIT_COLUMNS: dict[str, tuple[str, int, str]] = {
    "overdue_end": ("cases", -1, "Overdue open cases at the end"),
    "open_end": ("cases", -1, "Open cases at the end"),
    "utilisation": ("share", 0, "Utilisation of the unit's staff"),
    "queue_mean": ("cases", -1, "Mean queue"),
    "cases": ("cases", 0, "Cases"),
}
"""Unit, direction and label of the unit-table columns that are not KPIs of the catalogue."""

EXPECTED: dict[str, tuple[str, int, str]] = {
    "satisfaction_rate": ("share", 1, "Satisfied at the callback"),
    "report_rate": ("share", 1, "Department report rate"),
    "cooperation_rate": ("share", 1, "Department cooperation"),
    "response_rate": ("share", 1, "Response rate"),
}
"""Unit, direction and label of per-unit KPIs issue 16 adds, until the catalogue has them (the
catalogue's entry wins)."""

MAX_COMMUNITIES = 400
"""Above this many communities (per point) the heat map draws the streets only; the ranking
still lists the weakest communities and ``units.csv`` has them all."""

HEAT_LEVELS: tuple[str, ...] = ("district", "street", "community", "department",
                                "city_department")
RANK_LEVELS: tuple[tuple[str, str, int], ...] = (
    ("street", "Streets", 12), ("community", "Communities", 10),
    ("department", "Departments", 12))
"""The levels ranked, their titles and how many units of each are listed."""

MIN_SPAN: dict[str, float] = {"share": 0.05, "h": 5.0, "cases": 2.0, "count": 2.0}
"""The narrowest colour scale by unit (5 pp, 5 h, 2 cases: five times the practical threshold
for shares and times), so that noise between near-equal units is not painted red and blue."""

# colour-blind-safe diverging scale (worse -> better) and a sequential one (low -> high)
_DIVERGING = ((0.0, (215, 48, 39)), (0.5, (255, 255, 191)), (1.0, (69, 117, 180)))
_SEQUENTIAL = ((0.0, (239, 243, 255)), (1.0, (8, 81, 156)))


def kpi_meta(name: str) -> tuple[str, int, str]:
    """Unit, direction and label of a unit-table column."""
    if name in UNIT_COLUMNS:
        return UNIT_COLUMNS[name]
    if name in KPIS:
        k = KPIS[name]
        return k.unit, k.better, k.label
    if name in EXPECTED:
        return EXPECTED[name]
    return unit_of(name), 0, label(name)


def parent_of(unit: str) -> str:
    """The unit above ``unit`` in its path (``""`` at the top)."""
    return unit.rsplit("/", 1)[0] if "/" in unit else ""


def short(unit: str) -> str:
    """The last part of a unit's path, for a cell."""
    return unit.rsplit("/", 1)[-1].replace("_", " ")


def normalise(units: pd.DataFrame | None, points: list[str] | None = None) -> pd.DataFrame:
    """The unit table with a ``point`` (``""`` for a run) and a ``parent`` on every row."""
    if units is None or units.empty or "level" not in units or "unit" not in units:
        return pd.DataFrame(columns=["point", "level", "unit", "parent"])
    u = units.copy()
    u["point"] = u["point"].astype(str) if "point" in u else ""
    if points:
        u = u[u["point"].isin(points)]
    u["unit"] = u["unit"].astype(str)
    u["level"] = u["level"].astype(str)
    derived = u["unit"].map(parent_of)
    if "parent" in u:
        u["parent"] = u["parent"].where(u["parent"].notna(), derived).astype(str)
    else:
        u["parent"] = derived
    return u.reset_index(drop=True)


def available(u: pd.DataFrame) -> list[str]:
    """The heat-map KPIs with a value on some street, community or department."""
    shown = u[u["level"].isin(HEAT_LEVELS)]
    return [k for k in HEAT_KPIS if k in shown and pd.to_numeric(shown[k], errors="coerce")
            .notna().any()]


# ---------------------------------------------------------------------------- colour
def _mix(stops: tuple, t: float) -> tuple[int, int, int]:
    t = min(max(t, 0.0), 1.0)
    for (a, ca), (b, cb) in zip(stops, stops[1:], strict=False):
        if t <= b:
            f = (t - a) / (b - a) if b > a else 0.0
            return tuple(round(x + (y - x) * f) for x, y in zip(ca, cb, strict=True))  # type: ignore[return-value]
    return stops[-1][1]


def colour(v: Any, lo: float, hi: float, better: int) -> str:
    """CSS for a cell: background from the scale, text dark or light to stay readable."""
    if is_missing(v):
        return "background:#eef1f4;color:#5f6b7a"
    t = 0.5 if hi <= lo else (float(v) - lo) / (hi - lo)
    if better < 0:
        t = 1 - t
    r, g, b = _mix(_DIVERGING if better else _SEQUENTIAL, t)
    light = 0.299 * r + 0.587 * g + 0.114 * b < 140
    return f"background:rgb({r},{g},{b});color:{'#fff' if light else '#1f2933'}"


def _scales(u: pd.DataFrame, kpi: str, unit: str) -> dict[str, tuple[float, float]]:
    """Colour range per level, over every point: shares on one scale, others per level."""
    vals = pd.to_numeric(u[kpi], errors="coerce")
    span = MIN_SPAN.get(unit, 0.0)
    out = {}
    for level in HEAT_LEVELS:
        sel = vals[u["level"].isin(HEAT_LEVELS if unit == "share" else (level,))].dropna()
        if len(sel):
            lo, hi = float(sel.min()), float(sel.max())
            if hi - lo < span:  # a spread below what a planner acts on stays one colour
                mid = (lo + hi) / 2
                lo, hi = mid - span / 2, mid + span / 2
            out[level] = (lo, hi)
    return out


# ---------------------------------------------------------------------------- values
def unit_value(row: Any, kpi: str) -> tuple[float, float | None, float | None]:
    """Value, low and high of ``kpi`` on a unit row (no interval without ``kpi_hw``)."""
    v, hw = row.get(kpi), row.get(f"{kpi}_hw")
    if is_missing(v):
        return math.nan, None, None
    if is_missing(hw):
        return float(v), None, None
    return float(v), float(v) - float(hw), float(v) + float(hw)


def _hover(unit: str, kpi: str, v: float, lo: float | None, hi: float | None,
           cases: Any, level: float | None) -> str:
    u = kpi_meta(kpi)[0]
    text = f"{unit}: {kpi_meta(kpi)[2]} {format_value(v, u)}"
    if lo is not None:
        text += f" ({level or 0.95:.0%} CI {format_interval(lo, hi, u)})"
    elif level is not None and not is_missing(v):
        text += " (no interval)"
    if not is_missing(cases) and kpi != "cases":
        text += f"; {float(cases):,.0f} cases"
    return text


def _cell(row: Any, kpi: str, scale: tuple[float, float] | None, level: float | None,
          name: str | None = None) -> dict[str, str]:
    unit, better, _ = kpi_meta(kpi)
    v, lo, hi = unit_value(row, kpi)
    lo_s, hi_s = scale or (0.0, 0.0)
    return {"name": name or short(str(row["unit"])), "unit": str(row["unit"]),
            "v": format_value(v, unit),
            "title": _hover(str(row["unit"]), kpi, v, lo, hi, row.get("cases"), level),
            "style": colour(v, lo_s, hi_s, better)}


class _Tree:
    """The unit rows of one table indexed for drawing: per point, the districts, each
    district's streets and departments, each street's communities (rows as dicts)."""

    def __init__(self, u: pd.DataFrame) -> None:
        self.named: dict[tuple[str, str], dict] = {}
        self.streets: dict[tuple[str, str], list[dict]] = {}
        self.depts: dict[tuple[str, str], list[dict]] = {}
        self.comms: dict[tuple[str, str], list[dict]] = {}
        self.districts: dict[str, list[str]] = {}
        for r in u[u["level"].isin(HEAT_LEVELS)].to_dict("records"):
            key = (r["point"], r["parent"])
            if r["level"] == "district":
                self.named[(r["point"], r["unit"])] = r
            elif r["level"] == "street":
                self.streets.setdefault(key, []).append(r)
            elif r["level"] == "community":
                self.comms.setdefault(key, []).append(r)
            else:
                self.depts.setdefault(key, []).append(r)
            if r["level"] in ("district", "street", "department", "city_department"):
                d = r["unit"] if r["level"] == "district" else r["parent"]
                names = self.districts.setdefault(r["point"], [])
                if d not in names:
                    names.append(d)


def _panel(tree: _Tree, point: str, kpi: str, scales: dict, level: float | None,
           overall: dict[str, tuple[float, float | None, float | None]]) -> dict[str, Any]:
    """One point's picture of the organisation: district blocks of streets and departments."""
    districts = tree.districts.get(point, [])
    blocks = []
    for d in districts:
        if (point, d) in tree.named:
            head = _cell(tree.named[(point, d)], kpi, scales.get("district"), level,
                         name=d or "district")
        elif len(districts) == 1 and kpi in overall:
            v, lo, hi = overall[kpi]
            row = {"unit": d or "district", kpi: v,
                   f"{kpi}_hw": None if lo is None or hi is None else (hi - lo) / 2}
            head = _cell(row, kpi, scales.get("district", scales.get("street")), level,
                         name=d or "district")
            head["title"] += " (the district's overall KPI)"
        else:
            head = {"name": d or "district", "unit": d, "v": "", "title": d,
                    "style": "background:#eef1f4;color:#1f2933"}
        rows = [{"cell": _cell(s, kpi, scales.get("street"), level),
                 "communities": [_cell(c, kpi, scales.get("community"), level)
                                 for c in tree.comms.get((point, s["unit"]), [])]}
                for s in tree.streets.get((point, d), [])]
        blocks.append({"head": head, "streets": rows,
                       "departments": [_cell(r, kpi, scales.get(r["level"]), level)
                                       for r in tree.depts.get((point, d), [])]})
    return {"point": point, "blocks": blocks}


def _legend(kpi: str, scales: dict) -> dict[str, Any]:
    unit, better, _ = kpi_meta(kpi)
    plural = {"street": "streets", "community": "communities", "department": "departments"}
    ranges = [f"{plural[lv]} {format_value(scales[lv][0], unit)} to "
              f"{format_value(scales[lv][1], unit)}" for lv in plural if lv in scales]
    if unit == "share" and scales:
        lo, hi = next(iter(scales.values()))
        ranges = [f"{format_value(lo, unit)} to {format_value(hi, unit)}, one scale for "
                  "every level"]
    stops = _DIVERGING if better else _SEQUENTIAL  # worse -> better, low -> high
    grad = ",".join(f"rgb{c}" for _, c in stops)
    ends = ("worse", "better") if better else ("lower", "higher")
    return {"gradient": f"background:linear-gradient(90deg,{grad})", "left": ends[0],
            "right": ends[1], "ranges": "; ".join(ranges)}


def _ranking(u: pd.DataFrame, points: list[str], kpi: str,
             level: float | None) -> list[dict[str, Any]]:
    """Per level, each point's units weakest first (highest first without a direction)."""
    unit, better, _ = kpi_meta(kpi)
    out = []
    for lv, title, n in RANK_LEVELS:
        g = u[(u["level"] == lv) & pd.to_numeric(u[kpi], errors="coerce").notna()]
        if g.empty:
            continue
        cols = []
        for pt in points:
            gp = g[g["point"] == pt].copy()
            gp["_v"] = pd.to_numeric(gp[kpi], errors="coerce")
            cols.append(gp.sort_values(["_v", "unit"], ascending=[better > 0, True]).head(n))
        depth = max(len(c) for c in cols)
        rows: list[list[Cell]] = []
        for i in range(depth):
            row: list[Cell] = [str(i + 1)]
            for c in cols:
                if i >= len(c):
                    row += [DASH] if points != [""] else [DASH, DASH]
                    continue
                r = c.iloc[i]
                v, lo, hi = unit_value(r, kpi)
                sub = format_value(v, unit)
                if lo is not None:
                    sub += f" \u00b1{format_value((hi - lo) / 2, unit, signed=False)}".replace(
                        "%", " pp")
                if points == [""]:  # a run: unit and value side by side
                    row += [{"kind": "stacked", "main": str(r["unit"]), "sub": "",
                             "cls": "unit"}, sub]
                else:
                    row.append(stacked(str(r["unit"]), sub, "unit"))
            rows.append(row)
        order = "weakest first" if better else "highest first"
        out.append({"title": f"{title}, {order}" + (f" (the {n} weakest)" if better and
                                                    depth == n else ""),
                    "table": table(["#", *(points if points != [""] else ["Unit", "Value"])],
                                   rows, "ranking", num_from=2 if points == [""] else 99)})
    return out


def _values(records: list[dict], points: list[str], kpi: str,
            level: float | None) -> dict[str, Any]:
    """Every unit's value and interval, in the heat map's order (a folded table)."""
    unit = kpi_meta(kpi)[0]
    order = {lv: i for i, lv in enumerate(HEAT_LEVELS)}
    idx = {(r["point"], r["level"], r["unit"]): r for r in records}
    keys = sorted({(lv, un) for _, lv, un in idx}, key=lambda k: (order.get(k[0], 99), k[1]))
    rows: list[list[Cell]] = []
    for lv, un in keys:
        row: list[Cell] = [stacked(un, lv, "unit")]
        for pt in points:
            r = idx.get((pt, lv, un))
            if r is None:
                row.append(DASH)
                continue
            v, lo, hi = unit_value(r, kpi)
            row.append(value_cell(v, unit, lo, hi, level))
        rows.append(row)
    heads: list[Cell] = ["Unit", *(points if points != [""] else ["Value"])]
    return {"summary": f"Every unit's value{' and interval' if level else ''} "
                       f"({len(rows)} units)",
            "table": table(heads, rows, "unit-values wide")}


def organisation(units: pd.DataFrame | None, points: list[str] | None = None,
                 level: float | None = None,
                 overall: dict[str, dict[str, tuple]] | None = None) -> dict[str, Any] | None:
    """The heat map, ranking and values of ``units`` for the template (``None``: no table).

    ``points`` are the experiment's point labels (``None`` for a run), ``level`` its
    confidence level (``None``: a single run, no intervals), ``overall`` per point the overall
    KPIs as ``(value, low, high)`` (the district's own value when there is one district).
    """
    u = normalise(units, points)
    kpis = available(u)[:16]  # the style sheet switches up to 16 views
    if u.empty or not kpis or not (u["level"] == "street").any():
        return None
    pts = points or [""]
    for c in [*kpis, *(f"{k}_hw" for k in kpis), "cases"]:
        if c in u:
            u[c] = pd.to_numeric(u[c], errors="coerce")
    per_point = (u["level"] == "community").sum() / len(pts)
    drawn = u[u["level"] != "community"] if per_point > MAX_COMMUNITIES else u
    tree = _Tree(drawn)
    records = drawn[drawn["level"].isin(HEAT_LEVELS)].to_dict("records")
    views = []
    for i, kpi in enumerate(kpis):
        unit, better, lab = kpi_meta(kpi)
        scales = _scales(u, kpi, unit)
        views.append({
            "kpi": kpi, "label": lab, "first": i == 0,
            "panels": [_panel(tree, pt, kpi, scales, level, (overall or {}).get(pt, {}))
                       for pt in pts],
            "legend": _legend(kpi, scales),
            "ranking": _ranking(u, pts, kpi, level),
            "values": _values(records, pts, kpi, level),
        })
    return {"views": views, "multi": len(pts) > 1,
            "communities_left_out": int(per_point) if drawn is not u else 0,
            "absent": [k for k in HEAT_KPIS[:8] if k not in kpis]}
