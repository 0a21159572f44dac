"""Reading a results folder for the report, and the small pieces every page shows.

The report reads only files (never a live run): ``manifest.json`` and the tables of a run, or
``experiment.json`` and the tables of an experiment. A folder that is neither, or a file that
cannot be read, is a :class:`ReportError` naming the folder and the file.

The pieces built here are plain data (dicts, lists, strings) for the Jinja2 templates in
``templates/``: a *cell* is a string or a dict with a ``kind`` the ``cell`` macro renders.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..results.outdir import folder_kind as written_by
from ..vocabulary import (
    DASH,
    direction,
    format_days,
    format_interval,
    format_value,
    is_mechanism,
    is_missing,
    label,
    practical_threshold,
    unit_of,
)

Cell = str | dict[str, Any]

PLOT_TITLES = {
    "resolution_time": "Resolution time",
    "tier_shares": "Where cases are solved (share per tier)",
    "load_by_pool": "Staff utilisation per street (small multiples)",
    "backlog": "Open cases over time",
    "kpi_vs_parameter": "KPI against the varied parameter",
}
LEVEL_TITLES = {
    "pool": "Staff pools",
    "department": "Departments",
    "street": "Streets",
    "community": "Communities",
    "grid": "Grids",
}
BY_TITLES = {"utilisation": "by utilisation", "overdue_end": "by overdue open cases at the end"}


class ReportError(ValueError):
    """The folder is not a results folder gridsim can report on."""


# ---------------------------------------------------------------------------- reading
def read_json(path: Path) -> Any:
    """The JSON in ``path``; a :class:`ReportError` if it cannot be read."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportError(f"{path.parent} is not a readable gridsim results folder: "
                          f"cannot read {path.name} ({err})") from None


def read_csv(path: Path) -> pd.DataFrame | None:
    """The table in ``path``, or ``None`` when it is missing or unreadable (a section less)."""
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None


def folder_kind(folder: str | Path) -> str:
    """``"experiment"`` or ``"run"``; :class:`ReportError` for anything else."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder} is not a gridsim results folder: no such folder")
    kind = written_by(folder)  # by content: a file that merely has the name is not enough
    if kind is not None:
        return kind
    raise ReportError(f"{folder} is not a gridsim results folder: it holds neither "
                      "experiment.json (written by compare, replicate or sweep) nor "
                      "manifest.json (written by run)")


def plots(folder: Path) -> list[dict[str, str]]:
    """Every PNG under ``plots/`` as a ``data:`` URI with its title and file name."""
    figures = []
    root = folder / "plots"
    for png in sorted(root.rglob("*.png")) if root.is_dir() else []:
        data = png.read_bytes()
        if not data.startswith(b"\x89PNG"):
            continue
        figures.append({
            "uri": data_uri(data),
            "title": PLOT_TITLES.get(png.stem, png.stem.replace("_", " ").capitalize()),
            "name": png.relative_to(folder).as_posix(),
        })
    return figures


def data_uri(png: bytes) -> str:
    """A PNG image as a ``data:`` URI, to embed in the page."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def when(ts: str | None) -> str | None:
    """An ISO time stamp as ``2026-03-01 14:05 UTC``."""
    if not ts:
        return None
    try:
        t = dt.datetime.fromisoformat(ts)
    except ValueError:
        return ts
    return t.strftime("%Y-%m-%d %H:%M") + (" UTC" if t.utcoffset() == dt.timedelta(0) else "")


def mtime(path: Path) -> str | None:
    """When ``path`` was last written, as :func:`when` gives it."""
    try:
        t = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    except OSError:
        return None
    return t.strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: Any) -> str | None:
    """Seconds for people: ``12.3 s``, ``4.5 min``, ``2.0 h``."""
    if is_missing(seconds):
        return None
    s = float(seconds)
    if s < 90:
        return f"{s:.1f} s"
    if s < 5400:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def scenario_facts(sc: dict[str, Any]) -> dict[str, str]:
    """What a planner needs to know of a resolved scenario (as dumped to JSON)."""
    if not sc:
        return {}
    template = sc.get("streets") or {}
    districts = streets = 0
    for d in sc.get("districts") or []:
        copies = int(d.get("count", 1) or 1)
        local = d.get("streets") or template
        districts += copies
        streets += copies * int(local.get("count", template.get("count", 1)) or 0)
    policy = sc.get("policy") or {}
    return {
        "Scenario": sc.get("name", DASH),
        "Description": sc.get("description") or DASH,
        "Policy": policy.get("name", DASH) if isinstance(policy, dict) else str(policy),
        "Horizon": str(sc.get("horizon", DASH)),
        "Warm-up": str(sc.get("warmup", DASH)),
        "Districts": str(districts),
        "Streets": str(streets),
        "Categories": str(len(sc.get("categories") or {})),
        "Departments": str(len(sc.get("departments") or {})),
        "Calendar starts": str((sc.get("calendar") or {}).get("start", DASH)),
    }


def facts(items: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Key/value pairs with the empty ones left out."""
    return [(k, str(v)) for k, v in items if v is not None and v != ""]


# ---------------------------------------------------------------------------- cells
def kpi_cell(metric: str) -> Cell:
    """A KPI's label with its column name beneath."""
    return {"kind": "kpi", "label": label(metric), "name": metric}


def value_cell(v: Any, unit: str, low: Any = None, high: Any = None,
               level: float | None = None) -> Cell:
    """A value in its unit (hours also in days); with ``level``, its confidence interval."""
    subs = []
    if unit == "h" and not is_missing(v):
        subs.append({"text": format_days(v), "ci": False})
    if level is not None:
        ci = format_interval(low, high, unit)
        if ci == DASH:
            ci = "no interval (n < 2)" if not is_missing(v) else ""
        if ci:
            subs.append({"text": f"{level:.0%} CI {ci}", "ci": True})
    return {"kind": "value", "v": format_value(v, unit), "subs": subs, "badge": None}


def verdict(metric: str, difference: float, significant: bool) -> dict[str, str]:
    """A badge: not significant; a change of a policy's own mechanism (no direction);
    significant but smaller than the KPI's practical threshold (no practical difference); or
    significant and better, worse or (no direction) changed."""
    if not significant:
        return {"text": "not significant", "cls": "ns"}
    if is_mechanism(metric):
        return {"text": "\u25cf changed \u00b7 policy's mechanism", "cls": "changed"}
    thr = practical_threshold(metric)
    if thr is not None and abs(float(difference)) < thr:
        below = format_value(thr, unit_of(metric), signed=True).lstrip("+")
        return {"text": f"no practical difference (< {below})", "cls": "ns"}
    d = direction(metric)
    if d == 0:
        return {"text": "\u25cf significant", "cls": "changed"}
    if (1 if difference > 0 else -1) == d:
        return {"text": "\u25b2 significant \u00b7 better", "cls": "better"}
    return {"text": "\u25bc significant \u00b7 worse", "cls": "worse"}


def difference_cell(metric: str, unit: str, r: Any) -> Cell:
    """A paired difference, its interval and its verdict."""
    subs = []
    if unit == "h":
        subs.append({"text": format_days(r.difference, signed=True), "ci": False})
    subs.append({"text": format_interval(r.low, r.high, unit, signed=True), "ci": True})
    return {"kind": "value", "v": format_value(r.difference, unit, signed=True), "subs": subs,
            "badge": verdict(metric, r.difference, bool(r.significant))}


def stacked(main: str, sub: str, cls: str = "") -> Cell:
    """Two lines: ``main`` (with class ``cls``) and a muted ``sub``."""
    return {"kind": "stacked", "main": main, "sub": sub, "cls": cls}


def table(head: list[Cell], rows: list[list[Cell]], cls: str = "",
          num_from: int = 1) -> dict[str, Any]:
    """A table in a horizontally scrolling box; columns from ``num_from`` on are numbers."""
    return {"head": head, "rows": rows, "cls": cls, "num_from": num_from}


def all_kpis(df: pd.DataFrame, summary: str) -> dict[str, Any] | None:
    """Every row of a KPI table (already formatted), folded away under ``summary``."""
    if df.empty:
        return None
    head = [str(c) for c in df.columns]
    rows = [[DASH if is_missing(x) and not isinstance(x, str) else str(x) for x in row]
            for row in df.itertuples(index=False, name=None)]
    return {"summary": summary, "table": table(head, rows, "all-kpis", num_from=2)}
