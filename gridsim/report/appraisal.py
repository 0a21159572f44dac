"""The department appraisal table of the HTML report: per district department, the scores the
street appraises it on (report rate, report time, on-time report, cooperation, resolution), from
the KPI rows (scope ``department=...``) or from the per-unit table, with their intervals."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ..vocabulary import DASH
from .folder import Cell, stacked, table, value_cell
from .units import kpi_meta, normalise, short, unit_value

APPRAISAL: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Report rate", ("report_rate",)),
    ("Report time", ("dept_report_time_mean", "report_time_mean")),
    ("On-time report", ("dept_report_on_time_rate", "report_on_time_rate")),
    ("Cooperation", ("cooperation_rate",)),
    ("Resolution", ("resolution_rate",)),
)
"""The columns of the department appraisal table and the KPI names each may be written as."""


def _scope_rows(kpis: pd.DataFrame | None) -> pd.DataFrame:
    """KPI rows with scope ``department=...``, as point, unit, metric, value, low, high."""
    cols = ["point", "unit", "metric", "value", "low", "high"]
    if kpis is None or kpis.empty or "scope" not in kpis:
        return pd.DataFrame(columns=cols)
    d = kpis[kpis["scope"].astype(str).str.startswith("department=")].copy()
    if d.empty:
        return pd.DataFrame(columns=cols)
    d["unit"] = d["scope"].astype(str).str.split("=", n=1).str[1]
    d["point"] = d["point"].astype(str) if "point" in d else ""
    if "mean" in d:
        d["value"] = d["mean"]
    for c in ("low", "high"):
        if c not in d:
            d[c] = math.nan
    return d[cols]


def appraisal(kpis: pd.DataFrame | None, units: pd.DataFrame | None,
              points: list[str] | None = None,
              level: float | None = None) -> dict[str, Any] | None:
    """The department appraisal table, or ``None`` when neither source has its KPIs."""
    scoped = _scope_rows(kpis)
    u = normalise(units, points)
    u = u[u["level"] == "department"].copy() if not u.empty else u
    for _, names in APPRAISAL:
        for c in (n for name in names for n in (name, f"{name}_hw")):
            if c in u:
                u[c] = pd.to_numeric(u[c], errors="coerce")
    found: dict[str, tuple[str, str]] = {}  # column title -> (metric, source)
    for title, names in APPRAISAL:
        for n in names:
            if n in set(scoped["metric"]):
                found[title] = (n, "kpis")
                break
            if n in u and pd.to_numeric(u[n], errors="coerce").notna().any():
                found[title] = (n, "units")
                break
    if not any(t in found for t in ("Report rate", "Cooperation", "On-time report")):
        return None
    pts = points or [""]
    used = {source for _, source in found.values()}  # a department once, from what is shown
    names = list(dict.fromkeys([*(scoped["unit"] if "kpis" in used else []),
                                *(u["unit"] if "units" in used else [])]))
    sidx = {(r.point, r.unit, r.metric): r for r in scoped.itertuples()}
    uidx = {(r["point"], r["unit"]): r for r in u.to_dict("records")}
    rows: list[list[Cell]] = []
    for name in names:
        for pt in pts:
            row: list[Cell] = [stacked(short(name), name, "")] if pt == "" else [
                stacked(short(name), pt, "")]
            for title, _ in APPRAISAL:
                if title not in found:
                    continue
                metric, source = found[title]
                unit = kpi_meta(metric)[0]
                if source == "kpis":
                    r = sidx.get((pt, name, metric))
                    row.append(DASH if r is None else value_cell(
                        r.value, unit, r.low, r.high, level))
                else:
                    r = uidx.get((pt, name))
                    if r is None:
                        row.append(DASH)
                        continue
                    v, lo, hi = unit_value(r, metric)
                    row.append(value_cell(v, unit, lo, hi, level))
            rows.append(row)
    heads: list[Cell] = ["Department", *({"kind": "kpi", "label": t, "name": found[t][0]}
                                         for t, _ in APPRAISAL if t in found)]
    missing = [t.lower() for t, _ in APPRAISAL if t not in found]
    return {"table": table(heads, rows, "appraisal wide"), "missing": missing}
