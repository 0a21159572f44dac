"""The report of a single run (a folder with ``manifest.json``): what the templates show.

KPI values come from ``kpis.csv`` (or ``summary.json`` when it is missing), the bottleneck from
``summary.json`` (or the busiest pool of ``pools.csv``), the most loaded units from ``pools.csv``
and ``units.csv``. Nothing is recomputed from the case rows, so a run recorded at level
``kpis`` gets the same page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..vocabulary import DASH, format_percent, format_value, headline, is_missing, unit_of
from .appraisal import appraisal
from .folder import (
    BY_TITLES,
    LEVEL_TITLES,
    ReportError,
    all_kpis,
    duration,
    facts,
    kpi_cell,
    plots,
    read_csv,
    read_json,
    scenario_facts,
    table,
    value_cell,
    when,
)
from .stationarity import run_section
from .units import organisation


def run_context(folder: Path) -> dict[str, Any]:
    """Everything ``run.html.j2`` shows of the run in ``folder``."""
    manifest = read_json(folder / "manifest.json")
    if not isinstance(manifest, dict):
        raise ReportError(f"{folder}: manifest.json does not describe a run")
    summary_path = folder / "summary.json"
    summary = read_json(summary_path) if summary_path.is_file() else {}
    sc = manifest.get("scenario") or {}
    name = sc.get("name") or manifest.get("scenario_name") or folder.name
    policy = (sc.get("policy") or {}).get("name") or summary.get("policy")

    kpis = _kpis(folder, summary)
    overall = kpis[kpis["scope"] == "all"].drop_duplicates("metric").set_index("metric")
    rows = [[kpi_cell(m), value_cell(overall.at[m, "value"], overall.at[m, "unit"] or unit_of(m))]
            for m in headline(overall.index)]

    f = scenario_facts(sc)
    f.pop("Scenario", None)
    overrides = manifest.get("overrides") or {}
    created = manifest.get("issues_created")
    run_facts = facts([
        ("Scenario", name), *f.items(),
        ("Scenario file", manifest.get("scenario_file")),
        ("Overrides", ", ".join(f"{k}={v}" for k, v in overrides.items()) or None),
        ("Seed", manifest.get("seed", summary.get("seed"))),
        ("Cases created", f"{created:,}" if isinstance(created, int) else None),
        ("Run started", when(manifest.get("started"))),
        ("Wall time", duration(manifest.get("wall_time_s"))),
        ("gridsim version", manifest.get("gridsim_version")),
        ("Scenario SHA-256", (manifest.get("scenario_sha256") or "")[:16] or None),
    ])

    pools = read_csv(folder / "pools.csv")
    units = read_csv(folder / "units.csv")
    here = {m: (float(overall.at[m, "value"]), None, None) for m in overall.index
            if not is_missing(overall.at[m, "value"])}
    return {
        "title": f"Simulation run: {name}" + (f" ({policy})" if policy else ""),
        "facts": run_facts,
        "kpis": table(["KPI", "Value"], rows, "kpis") if rows else None,
        "all_kpis": all_kpis(pd.DataFrame({
            "scope": kpis["scope"], "metric": kpis["metric"],
            "value": [format_value(v, u) for v, u in zip(kpis["value"], kpis["unit"],
                                                         strict=True)],
        }), f"All KPIs, every scope ({len(kpis)} rows)"),
        "bottleneck": _bottleneck(name, summary, pools),
        "stationarity": run_section(read_csv(folder / "stationarity.csv")),
        "loaded": _most_loaded(folder, pools),
        "organisation": organisation(units, None, None, {"": here}),
        "appraisal": appraisal(kpis, units),
        "plots": plots(folder),
    }


def _kpis(folder: Path, summary: dict[str, Any]) -> pd.DataFrame:
    """``kpis.csv``, or the overall KPIs in ``summary.json``, with a unit on every row."""
    kpis = read_csv(folder / "kpis.csv")
    if kpis is None and summary.get("kpis"):
        kpis = pd.DataFrame({"metric": list(summary["kpis"]), "scope": "all",
                             "value": list(summary["kpis"].values())})
    if kpis is None:
        kpis = pd.DataFrame(columns=["metric", "scope", "value", "unit"])
    if "unit" not in kpis:
        kpis["unit"] = kpis["metric"].map(unit_of)
    kpis["unit"] = kpis["unit"].fillna("").astype(str)
    return kpis


def _bottleneck(name: str, summary: dict[str, Any],
                pools: pd.DataFrame | None) -> dict[str, Any] | None:
    b = summary.get("bottleneck") or {}
    if not b.get("pool") and pools is not None and not pools.empty:
        top = pools.sort_values("utilisation", ascending=False).iloc[0]
        b = {"pool": top["pool"], "kind": top["kind"], "utilisation": top["utilisation"],
             "queue_mean": top.get("queue_mean")}
    if not b.get("pool"):
        return None
    return table(["Run", "Pool", "Kind", "Utilisation", "Mean queue"],
                 [[name, b["pool"], b.get("kind"), format_percent(b.get("utilisation")),
                   format_value(b.get("queue_mean"), "")]], "bottlenecks", num_from=3)


def _most_loaded(folder: Path, pools: pd.DataFrame | None, n: int = 5) -> list[dict[str, Any]]:
    """Titled tables: the busiest pools, then each level's units by overdue cases at the end."""
    out: list[dict[str, Any]] = []
    if pools is not None and not pools.empty:
        top = pools.sort_values("utilisation", ascending=False).head(n)
        rows = [[str(i), p["pool"], p["kind"], str(p.get("capacity", DASH)),
                 format_percent(p["utilisation"]), format_value(p.get("queue_mean"), ""),
                 format_value(p.get("queue_max"), "")]
                for i, (_, p) in enumerate(top.iterrows(), start=1)]
        out.append({"title": f"{LEVEL_TITLES['pool']} {BY_TITLES['utilisation']}",
                    "table": table(["#", "Pool", "Kind", "Staff", "Utilisation", "Mean queue",
                                    "Max queue"], rows, "loaded", num_from=3)})
    units = read_csv(folder / "units.csv")
    if units is None or units.empty:
        return out
    for level in ("department", "street", "community", "grid"):
        top = units[units["level"] == level].sort_values(
            ["overdue_end", "open_end", "cases"], ascending=False).head(n)
        if top.empty:
            continue
        rows = [[str(i), str(r.unit), f"{int(r.cases):,}", f"{int(r.open_end):,}",
                 f"{int(r.overdue_end):,}"]
                for i, r in enumerate(top.itertuples(), start=1)]
        out.append({"title": f"{LEVEL_TITLES[level]} {BY_TITLES['overdue_end']}",
                    "table": table(["#", "Unit", "Cases", "Open at end", "Overdue at end"],
                                   rows, "loaded", num_from=2)})
    return out
