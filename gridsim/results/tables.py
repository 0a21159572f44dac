"""From a run's raw arrays to the DataFrames users read: ``issues``, ``load`` and ``backlog``.

All times are hours from the scenario start (t = 0 at midnight of ``calendar.start``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.lifecycle import SOURCES
from ..model.records import STATES
from ..model.simulation import RawRun
from ..policies import TIERS


def _cat(codes: np.ndarray, names: list[str] | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=list(names))


def issues_frame(raw: RawRun, report_deadline: float) -> pd.DataFrame:
    """One row per case created, whatever its state at the end."""
    c = raw.issues
    grid_names = [g[0] for g in raw.grids]
    units = pd.DataFrame(raw.grids, columns=["grid", "community", "street", "district"])
    g = c["grid"]
    df = pd.DataFrame({
        "issue_id": c["issue_id"],
        "category": _cat(c["category"], raw.categories),
        "lead": pd.Categorical(np.asarray(raw.leads, dtype=object)[c["category"]],
                               categories=["street", "department"]),
        "source": _cat(c["source"], SOURCES),
        "district": pd.Categorical(units["district"].to_numpy()[g]),
        "street": pd.Categorical(units["street"].to_numpy()[g]),
        "community": pd.Categorical(units["community"].to_numpy()[g]),
        "grid": _cat(g, grid_names),
        "start_tier": _cat(c["start_tier"], TIERS),
    })
    for name in c:
        if name.startswith("t_") or name in ("departments_reported", "escalations", "bounces",
                                             "reopens", "whistles", "deadline"):
            df[name] = c[name]
    solved = c["solved_tier"].astype(np.int32)
    df["solved_tier"] = pd.Categorical.from_codes(solved, categories=list(TIERS))
    df["two_way"] = c["two_way"].astype(bool)
    df["state"] = _cat(c["state"], STATES)
    df["resolution_time"] = df["t_closed"] - df["t_discovered"]
    df["lead_time"] = df["t_closed"] - df["t_created"]
    closed = df["state"] == "closed"
    df["on_time"] = pd.array(np.where(closed, df["t_closed"] <= df["deadline"], pd.NA),
                             dtype="boolean")
    df["report_time"] = df["t_dept_onsite"] - df["t_dept_called"]
    df["report_on_time"] = pd.array(
        np.where(df["report_time"].notna(), df["report_time"] <= report_deadline + 1e-9, pd.NA),
        dtype="boolean")
    return df.sort_values("issue_id", ignore_index=True)


def load_frame(raw: RawRun, interval: float) -> pd.DataFrame:
    """Utilisation and queue length of every staff pool per sampling interval.

    ``time`` is the start of the interval; ``queue`` its time-average number of waiting cases.
    ``busy`` counts staff-hours worked while on shift (work paused off shift is not counted);
    ``utilisation`` is busy over ``capacity_hours`` = capacity × on-shift hours (NaN when the pool
    is off shift), so a period's utilisation is ``busy.sum() / capacity_hours.sum()``.
    Meeting tiers (joint, city) have capacity 1 and ``utilisation`` is how full the agenda of
    their latest meeting was.
    """
    meters = pd.DataFrame(raw.meters, columns=["pool", "kind", "unit", "capacity"])
    L = raw.load
    m = L["meter"]
    meeting = meters["kind"].isin(["joint", "city"]).to_numpy()[m]
    on = L["on_shift"]
    busy = np.where(meeting, L["busy"], L["busy"] * on / interval)
    cap = meters["capacity"].to_numpy()[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where((on > 0) & (cap > 0), busy / (cap * np.where(meeting, interval, on)),
                        np.nan)
    return pd.DataFrame({
        "time": L["time"],
        "pool": pd.Categorical.from_codes(m.astype(np.int32), categories=list(meters["pool"])),
        "kind": pd.Categorical(meters["kind"].to_numpy()[m]),
        "unit": pd.Categorical(meters["unit"].to_numpy()[m]),
        "capacity": cap,
        "on_shift": on,
        "capacity_hours": cap * np.where(meeting, interval, on),
        "busy": busy,
        "utilisation": util,
        "queue": L["queue"] / interval,
    })


def backlog_frame(raw: RawRun) -> pd.DataFrame:
    """Open cases (created, not yet closed) at each sampling time."""
    return pd.DataFrame({"time": raw.backlog["time"], "open": raw.backlog["open"]})
