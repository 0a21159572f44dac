"""The department appraisal table (街道吹哨、部门报到: report rate, cooperation, resolution), from
the counters each department keeps while the clock runs (:mod:`gridsim.model.appraisal`).

Calls, arrivals and joint visits are not case rows, so these KPIs come from the run's own
integer counters of cases created after the warm-up (``RawRun.departments``, summed over
districts and shards as the 12345 front end's are): the same at every record level. Scopes:

- ``all``: ``dept_calls``, ``report_rate``, ``cooperation_rate`` over every district department;
- ``department=<dept>``: one department summed over the districts, with
  ``dept_report_time_mean`` and ``dept_report_on_time_rate`` (each arrival timed from the call
  it answered; scope ``all`` of those two keeps its meaning: a case's first arrival from its
  first call) and ``resolution_rate`` (of the cases it led, in turn or jointly, the share a visit
  of its solved: the overall ``resolution_rate``'s "share of cases resolved", counted where the
  department worked);
- ``department=<district>/<dept>``: the same per district, when there is more than one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.appraisal import COUNTERS, TICKS
from ..vocabulary import KPIS

APPRAISAL = ("dept_calls", "report_rate", "dept_report_time_mean", "dept_report_on_time_rate",
             "cooperation_rate", "resolution_rate")
"""The columns of the appraisal table, in order (:func:`appraisal_table`)."""

_I = {name: i for i, name in enumerate(COUNTERS)}


def _ratio(a: int, b: int) -> float:
    return a / b if b else np.nan


def _scores(k: list[int]) -> list[tuple[str, float]]:
    return [("dept_calls", float(k[_I["calls"]])),
            ("report_rate", _ratio(k[_I["answered"]], k[_I["calls"]])),
            ("dept_report_time_mean", _ratio(k[_I["report_ticks"]], k[_I["reports"]] * TICKS)),
            ("dept_report_on_time_rate", _ratio(k[_I["reports_on_time"]], k[_I["reports"]])),
            ("cooperation_rate", _ratio(k[_I["cooperated"]], k[_I["joint"]])),
            ("resolution_rate", _ratio(k[_I["solved"]], k[_I["cases"]]))]


def _sum(rows: list[list[int]]) -> list[int]:
    return [sum(col) for col in zip(*rows, strict=True)] if rows else [0] * len(COUNTERS)


def dept_kpis(counts: dict[str, list[int]] | None) -> list[tuple[str, str, float]]:
    """``(metric, scope, value)`` rows from the departments' counters (keyed
    ``<district>/<dept>``, in district order)."""
    counts = counts or {}
    total = dict(_scores(_sum(list(counts.values()))))
    rows = [(m, "all", total[m]) for m in ("dept_calls", "report_rate", "cooperation_rate")]
    by_dept: dict[str, list[list[int]]] = {}
    districts = []
    for key, k in counts.items():
        district, dept = key.rsplit("/", 1)
        by_dept.setdefault(dept, []).append(k)
        if district not in districts:
            districts.append(district)
    for dept, ks in by_dept.items():
        rows += [(m, f"department={dept}", v) for m, v in _scores(_sum(ks))]
    if len(districts) > 1:
        for key, k in counts.items():
            rows += [(m, f"department={key}", v) for m, v in _scores(k)]
    return rows


def with_dept_kpis(kpis: pd.DataFrame, counts: dict[str, list[int]] | None) -> pd.DataFrame:
    """``kpis`` with the departments' rows appended."""
    extra = pd.DataFrame(dept_kpis(counts), columns=["metric", "scope", "value"])
    extra["value"] = extra["value"].astype(float)
    extra["unit"] = [KPIS[m].unit for m in extra["metric"]]
    return pd.concat([kpis, extra], ignore_index=True)


def appraisal_table(kpis: pd.DataFrame) -> pd.DataFrame:
    """The appraisal table of a KPI table: one row per ``department=`` scope, one column per
    KPI of :data:`APPRAISAL` (NaN where a department had none)."""
    rows = kpis[kpis["scope"].str.startswith("department=") & kpis["metric"].isin(APPRAISAL)]
    if rows.empty:
        return pd.DataFrame(columns=["department", *APPRAISAL])
    rows = rows.assign(department=rows["scope"].str.slice(len("department=")))
    order = list(dict.fromkeys(rows["department"]))
    table = rows.pivot(index="department", columns="metric", values="value")
    table = table.reindex(index=order, columns=list(APPRAISAL)).reset_index()
    table.columns.name = None
    return table
