"""The report of an experiment (a folder with ``experiment.json``): what the templates show.

Means and intervals come from ``summary.csv``, paired differences from ``differences.csv``, the
best point, bottlenecks and failures from ``experiment.json``, the most loaded units from
``most_loaded.csv``. The first point is the reference every other point is compared with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..vocabulary import DASH, format_percent, format_value, headline, is_missing, label, unit_of
from ..vocabulary import minimise as _minimise
from .appraisal import appraisal
from .folder import (
    BY_TITLES,
    LEVEL_TITLES,
    Cell,
    ReportError,
    all_kpis,
    difference_cell,
    duration,
    facts,
    kpi_cell,
    mtime,
    plots,
    read_csv,
    read_json,
    scenario_facts,
    stacked,
    table,
    value_cell,
    when,
)
from .stationarity import experiment_section
from .units import organisation

KIND_TITLES = {"compare": "Comparison", "sweep": "Parameter sweep",
               "replicate": "Replications"}


def experiment_context(folder: Path) -> dict[str, Any]:
    """Everything ``experiment.html.j2`` shows of the experiment in ``folder``."""
    meta = read_json(folder / "experiment.json")
    if not isinstance(meta, dict):
        raise ReportError(f"{folder}: experiment.json does not describe an experiment")
    summary = read_csv(folder / "summary.csv")
    if "kind" not in meta or summary is None:
        raise ReportError(f"{folder} holds an experiment that has not been written yet "
                          "(experiment.json has no results or summary.csv is missing); "
                          "finish it with Experiment.write() or rerun the command")
    kind = str(meta.get("kind"))
    points = meta.get("points") or []
    labels = [str(p.get("label")) for p in points] or [str(x) for x in
                                                        summary["point"].unique()]
    summary["point"] = summary["point"].astype(str)
    level = float(meta.get("level") or 0.95)
    scenarios = meta.get("scenarios") or {}

    units = read_csv(folder / "units.csv")
    per_point = {lb: scenario_facts(scenarios.get(lb) or {}) for lb in labels}
    per_point = {lb: f for lb, f in per_point.items() if f}
    return {
        "title": _title(kind, points, labels, folder),
        "facts": _design_facts(folder, meta, kind, labels, level),
        "design": table(["Point", "Scenario", "Policy", "Parameters"],
                        [[p.get("label"), p.get("scenario"), p.get("policy"),
                          ", ".join(f"{k}={v}" for k, v in (p.get("params") or {}).items())
                          or DASH] for p in points], "design", num_from=99),
        "scenarios": _scenario_table(per_point),
        "failures": _failures(meta.get("failures") or []),
        "kpis": _kpi_table(meta, summary, labels, kind, level),
        "n_text": _n_text(summary[summary["scope"] == "all"]),
        "level_text": f"{level:.0%}",
        "all_kpis": _all_kpis(summary, labels),
        "comparison": _comparison(folder, meta, labels, level) if len(labels) > 1 else None,
        "bottlenecks": _bottlenecks(meta.get("bottlenecks") or []),
        "stationarity": experiment_section(read_csv(folder / "stationarity.csv")),
        "loaded": _most_loaded(folder, labels),
        "organisation": organisation(units, labels, level, _overall(summary)),
        "appraisal": appraisal(summary, units, labels, level),
        "plots": plots(folder),
    }


def _overall(summary: pd.DataFrame) -> dict[str, dict[str, tuple]]:
    """Per point, the overall KPIs as ``(mean, low, high)``."""
    out: dict[str, dict[str, tuple]] = {}
    for r in summary[summary["scope"] == "all"].itertuples(index=False):
        lo, hi = (None, None) if is_missing(r.low) else (float(r.low), float(r.high))
        out.setdefault(str(r.point), {})[str(r.metric)] = (float(r.mean), lo, hi)
    return out


def _title(kind: str, points: list[dict], labels: list[str], folder: Path) -> str:
    names = list(dict.fromkeys(str(p.get("scenario")) for p in points if p.get("scenario")))
    what = KIND_TITLES.get(kind, kind.capitalize())
    scen = ", ".join(names) if names else folder.name
    if kind == "sweep":
        keys = list(dict.fromkeys(k for p in points for k in (p.get("params") or {})))
        return f"{what} of {', '.join(keys)}: {scen}" if keys else f"{what}: {scen}"
    if kind == "compare":
        return f"{what} of {len(labels)} variants: {scen}"
    return f"{what}: {scen}"


def _design_facts(folder: Path, meta: dict, kind: str, labels: list[str],
                  level: float) -> list[tuple[str, str]]:
    seeds = [str(s) for s in meta.get("seeds") or []]
    seeds_text = ", ".join(seeds[:5]) + (f", \u2026 ({len(seeds)} in all)"
                                         if len(seeds) > 5 else "")
    info = _reps_wall_time(folder)
    reps = meta.get("replications")
    return facts([
        ("Kind", KIND_TITLES.get(kind, kind)),
        ("Points", f"{len(labels)}"),
        ("Replications per point", str(reps) if reps is not None else None),
        ("Precision target", f"\u00b1{meta['precision']:.0%} relative half-width on "
                             f"{meta.get('kpi')}"
         if isinstance(meta.get("precision"), int | float) else None),
        ("Base seed", meta.get("seed")),
        ("Replication seeds", seeds_text or None),
        ("Confidence level", f"{level:.0%}"),
        ("Written", when(meta.get("finished") or meta.get("written") or meta.get("started"))
         or mtime(folder / "experiment.json")),
        ("Compute time", duration(info) if info else None),
        ("gridsim version", meta.get("gridsim_version")),
    ])


def _reps_wall_time(folder: Path) -> float:
    """Total wall time of the stored replications (seconds)."""
    total = 0.0
    for info in (folder / "reps").glob("*/info.json"):
        try:
            total += float(json.loads(info.read_text(encoding="utf-8")).get("wall_time_s") or 0)
        except (OSError, ValueError, TypeError):
            continue
    return total


def _scenario_table(per_point: dict[str, dict[str, str]]) -> dict[str, Any] | None:
    """One column per point; a fact shared by every point spans the columns."""
    if not per_point:
        return None
    labels = list(per_point)
    if len(labels) == 1:
        return {"single": True, "facts": list(per_point[labels[0]].items())}
    keys = list(dict.fromkeys(k for f in per_point.values() for k in f))
    rows = []
    for k in keys:
        values = [per_point[lb].get(k, DASH) for lb in labels]
        rows.append({"key": k, "values": values[:1] if len(set(values)) == 1 else values})
    return {"single": False, "labels": labels, "rows": rows}


def _failures(failures: list[dict]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for f in failures:
        err = str(f.get("error") or "").strip()
        last = err.splitlines()[-1] if err else "error"
        detail: Cell = {"kind": "details", "summary": last, "pre": err} if err else last
        rows.append([f.get("point"), str(f.get("replication", DASH)), str(f.get("seed", DASH)),
                     detail])
    return rows


def _kpi_table(meta: dict, summary: pd.DataFrame, labels: list[str], kind: str,
               level: float) -> dict[str, Any]:
    overall = summary[summary["scope"] == "all"]
    cell = {(r.point, r.metric): r for r in overall.itertuples(index=False)}
    best = meta.get("best") or {}
    heads: list[Cell] = ["KPI"]
    for lb in labels:
        badges = []
        if len(labels) > 1 and lb == labels[0] and kind != "replicate":
            badges.append({"text": "reference", "cls": "ns"})
        if len(labels) > 1 and best.get("clear") and best.get("point") == lb:
            badges.append({"text": "\u2605 best", "cls": "better"})
        heads.append({"kind": "point", "label": lb, "badges": badges})
    rows = []
    for m in headline(overall["metric"]):
        row: list[Cell] = [kpi_cell(m)]
        for lb in labels:
            r = cell.get((lb, m))
            row.append(DASH if r is None else value_cell(r.mean, unit_of(m), r.low, r.high,
                                                         level))
        rows.append(row)
    return table(heads, rows, "kpis wide")


def _n_text(overall: pd.DataFrame) -> str:
    ns = sorted({int(n) for n in overall["n"].dropna()}) if "n" in overall else []
    if len(ns) == 1:
        return f"{ns[0]} replications"
    return f"{ns[0]}\u2013{ns[-1]} replications" if ns else "the replications"


def _all_kpis(summary: pd.DataFrame, labels: list[str]) -> dict[str, Any] | None:
    if summary.empty:
        return None
    s = summary.copy()
    s["text"] = [format_value(v, unit_of(m)) for v, m in zip(s["mean"], s["metric"],
                                                             strict=True)]
    wide = s.pivot_table(index=["scope", "metric"], columns="point", values="text",
                         aggfunc="first", sort=False)
    wide = wide.reindex(columns=[lb for lb in labels if lb in wide.columns]).reset_index()
    wide.columns.name = None
    return all_kpis(wide, f"All KPIs, every scope: means ({len(wide)} rows)")


def _comparison(folder: Path, meta: dict, labels: list[str], level: float) -> dict[str, Any]:
    """The best point and the paired differences against the reference."""
    out: dict[str, Any] = {"best": None, "differences": None}
    best, kpi = meta.get("best"), meta.get("kpi") or ""
    if best and best.get("text"):
        better = "smaller" if meta.get("minimise", _minimise(kpi)) else "larger"
        out["best"] = {"text": best["text"], "is_clear": bool(best.get("clear")),
                       "how": f"Chosen on {label(kpi)} ({kpi}; {better} is better) by multiple "
                              "comparisons with the best on paired replications."}
    diffs = read_csv(folder / "differences.csv")
    if diffs is None or diffs.empty:
        return out
    diffs = diffs[diffs["scope"] == "all"].copy()
    diffs["point"] = diffs["point"].astype(str)
    ref = str(diffs["reference"].iloc[0]) if len(diffs) else labels[0]
    others = [lb for lb in labels if lb != ref and lb in set(diffs["point"])]
    cell = {(r.point, r.metric): r for r in diffs.itertuples(index=False)}
    per = sorted({float(x) for x in diffs["level"].dropna()})
    rows = []
    for m in headline(diffs["metric"]):
        if m == "cases":  # the same cases at every point (common random numbers)
            continue
        row: list[Cell] = [kpi_cell(m)]
        for lb in others:
            r = cell.get((lb, m))
            row.append(DASH if r is None else difference_cell(m, unit_of(m), r))
        rows.append(row)
    heads: list[Cell] = ["KPI", *(stacked(lb, f"minus {ref}") for lb in others)]
    out["differences"] = table(heads, rows, "differences wide")
    out["reference"] = ref
    out["per_text"] = f"{per[0]:.1%}".replace(".0%", "%") if len(per) == 1 else "adjusted"
    return out


def _bottlenecks(bott: list[dict]) -> dict[str, Any] | None:
    if not bott:
        return None
    rows = [[b.get("point"), b.get("unit"), b.get("kind"), format_percent(b.get("utilisation")),
             DASH if is_missing(b.get("utilisation_hw")) else
             f"\u00b1{float(b['utilisation_hw']) * 100:.0f} pp"] for b in bott]
    return table(["Point", "Pool", "Kind", "Utilisation", "\u00b1"], rows, "bottlenecks",
                 num_from=3)


def _most_loaded(folder: Path, labels: list[str]) -> list[dict[str, Any]]:
    """Per level, the top units of each point side by side (with interval half-widths)."""
    ml = read_csv(folder / "most_loaded.csv")
    if ml is None or ml.empty:
        return []
    ml["point"] = ml["point"].astype(str)
    order = [lv for lv in LEVEL_TITLES if lv in set(ml["level"])]
    order += sorted(set(ml["level"]) - set(order))
    points = [lb for lb in labels if lb in set(ml["point"])]
    out = []
    for lv in order:
        g = ml[ml["level"] == lv]
        by = str(g["by"].iloc[0]) if "by" in g else "utilisation"
        cell = {(r["point"], int(r["rank"])): r for _, r in g.iterrows()}
        rows = []
        for rank in sorted({int(r) for r in g["rank"]}):
            row: list[Cell] = [str(rank)]
            for lb in points:
                r = cell.get((lb, rank))
                row.append(DASH if r is None else stacked(str(r["unit"]), _load(r, by), "unit"))
            rows.append(row)
        out.append({"title": f"{LEVEL_TITLES.get(lv, lv.capitalize())} "
                             f"{BY_TITLES.get(by, 'by ' + by)}",
                    "table": table(["#", *points], rows, "loaded wide", num_from=99)})
    return out


def _load(r: pd.Series, by: str) -> str:
    v, hw = r.get(by), r.get(f"{by}_hw")
    if by == "utilisation":
        return format_percent(v) + ("" if is_missing(hw) else f" \u00b1{float(hw) * 100:.0f} pp")
    return (DASH if is_missing(v) else f"{float(v):,.1f} overdue") + (
        "" if is_missing(hw) else f" \u00b1{float(hw):,.1f}")
