"""Key performance indicators of one run, as a tidy table (``metric, scope, value, unit``).

Cases created during the warm-up (and an initial backlog) are excluded from every KPI except
``backlog_end``, which counts all cases still open when the clock stops. Resolution time runs
from discovery (found on patrol, or the resident's call) to closure, the span a resident waits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..policies import TIERS

SOLVED_TIERS = TIERS
GROUPS = ("category", "source", "lead")


def _time_stats(rt: pd.Series) -> list[tuple[str, float, str]]:
    v = rt.to_numpy(dtype=float)
    if len(v) == 0:
        return [(f"resolution_time_{k}", np.nan, "h") for k in ("mean", "median", "p90", "p95")]
    q50, q90, q95 = np.quantile(v, [0.5, 0.9, 0.95])
    return [("resolution_time_mean", float(v.mean()), "h"),
            ("resolution_time_median", float(q50), "h"),
            ("resolution_time_p90", float(q90), "h"),
            ("resolution_time_p95", float(q95), "h")]


def _rate(mask: pd.Series | np.ndarray, of: pd.Series | np.ndarray) -> float:
    n = int(np.sum(of))
    return float(np.sum(np.asarray(mask) & np.asarray(of)) / n) if n else np.nan


def _block(df: pd.DataFrame, horizon: float) -> list[tuple[str, float, str]]:
    """The KPIs that make sense for any subset of cases."""
    closed = (df["state"] == "closed").to_numpy()
    n = len(df)
    rows: list[tuple[str, float, str]] = [("issues", float(n), "cases")]
    rows += _time_stats(df.loc[closed, "resolution_time"])
    due = (df["deadline"] <= horizon).to_numpy()
    on_time = (df["t_closed"] <= df["deadline"]).to_numpy()
    rows.append(("on_time_rate", _rate(on_time, due), "share"))
    rows.append(("resolution_rate", closed.mean() if n else np.nan, "share"))
    return rows


def compute_kpis(issues: pd.DataFrame, warmup: float, horizon: float,
                 report_deadline: float) -> pd.DataFrame:
    """All KPIs of one run; ``scope`` is ``all`` or ``<group>=<value>``."""
    rows: list[tuple[str, str, float, str]] = []
    cohort = issues[issues["t_created"] >= warmup]
    rows += [(m, "all", v, u) for m, v, u in _block(cohort, horizon)]

    closed = cohort[cohort["state"] == "closed"]
    n_closed = len(closed)
    counts = closed["solved_tier"].value_counts()
    for tier in SOLVED_TIERS:
        share = counts.get(tier, 0) / n_closed if n_closed else np.nan
        rows.append((f"solved_share_{tier}", "all", float(share), "share"))
    for tier in SOLVED_TIERS:
        rows.append((f"solved_count_{tier}", "all", float(counts.get(tier, 0)), "cases"))
    n = len(cohort)
    # the funnel: how far up the tiers cases went (Bazhong's "whistle range" is tiers 2-4,
    # i.e. the street and above)
    for tier in SOLVED_TIERS[1:]:
        entered = cohort[f"t_enter_{tier}"].notna()
        rows.append((f"entered_share_{tier}", "all", float(entered.mean()) if n else np.nan,
                     "share"))
    whistle_range = np.zeros(n, dtype=bool)
    for tier in ("street", "district", "joint", "city"):
        whistle_range |= cohort[f"t_enter_{tier}"].notna().to_numpy()
    in_range = int(whistle_range.sum())
    rows += [
        ("whistle_range_count", "all", float(in_range), "cases"),
        ("whistle_range_share", "all", in_range / n if n else np.nan, "share"),
        ("whistle_range_solved_share", "all",
         float((cohort["state"].to_numpy()[whistle_range] == "closed").mean())
         if in_range else np.nan, "share"),
    ]

    def per_issue(col: str) -> float:
        return float(cohort[col].sum() / n) if n else np.nan

    rows += [
        ("whistles", "all", float(cohort["whistles"].sum()), "count"),
        ("whistles_per_issue", "all", per_issue("whistles"), "per case"),
        ("escalations_per_issue", "all", per_issue("escalations"), "per case"),
        ("reroutes_per_issue", "all", per_issue("bounces"), "per case"),
        ("reopen_rate", "all",
         float((closed["reopens"] > 0).mean()) if n_closed else np.nan, "share"),
        ("two_way_dispatch_share", "all", float(cohort["two_way"].mean()) if n else np.nan,
         "share"),
    ]
    called = cohort["report_time"].dropna()
    rows += [
        ("dept_report_time_mean", "all", float(called.mean()) if len(called) else np.nan, "h"),
        ("dept_report_on_time_rate", "all",
         float((called <= report_deadline + 1e-9).mean()) if len(called) else np.nan, "share"),
    ]
    still_open = issues["state"] != "closed"
    rows += [
        ("backlog_end", "all", float(still_open.sum()), "cases"),
        ("backlog_end_waiting", "all", float((issues["state"] == "waiting").sum()), "cases"),
        ("backlog_end_in_progress", "all", float((issues["state"] == "in_progress").sum()),
         "cases"),
    ]
    for group in GROUPS:
        for value, sub in cohort.groupby(group, observed=True, sort=True):
            rows += [(m, f"{group}={value}", v, u) for m, v, u in _block(sub, horizon)]
    out = pd.DataFrame(rows, columns=["metric", "scope", "value", "unit"])
    out["value"] = out["value"].astype(float)
    return out


def kpi(kpis: pd.DataFrame, metric: str, scope: str = "all") -> float:
    """One KPI's value (``kpi(result.kpis, "resolution_time_mean", "lead=department")``)."""
    hit = kpis[(kpis["metric"] == metric) & (kpis["scope"] == scope)]
    if hit.empty:
        raise KeyError(f"no KPI {metric!r} with scope {scope!r}")
    return float(hit["value"].iloc[0])
