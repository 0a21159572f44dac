"""The four standard figures of a run, written as PNG beside its tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..vocabulary import TIERS


def resolution_time(issues: pd.DataFrame, warmup: float, ax=None):
    """Histogram of resolution time (days, log scale) for street- and department-led cases."""
    done = issues[(issues["state"] == "closed") & (issues["t_created"] >= warmup)]
    return resolution_time_hist(done[["lead", "resolution_time"]], ax)


def resolution_time_hist(done: pd.DataFrame, ax=None):
    """The histogram of :func:`resolution_time` from ``lead, resolution_time`` rows of closed
    cases (``result.resolution_times()``: no issue table needed)."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    days = done["resolution_time"] / 24
    if len(days):
        lo = max(days[days > 0].min(), 1e-3) if (days > 0).any() else 1e-3
        bins = np.logspace(np.log10(lo), np.log10(max(days.max(), lo * 10)), 50)
        for lead, sub in done.groupby("lead", observed=True):
            ax.hist(sub["resolution_time"] / 24, bins=bins, alpha=0.6, label=f"{lead}-led")
        ax.set_xscale("log")
        ax.legend()
    ax.set_xlabel("resolution time (days, from discovery to closure)")
    ax.set_ylabel("cases")
    ax.set_title("Resolution time")
    return ax


def tier_shares(kpis: pd.DataFrame, ax=None):
    """Share of closed cases solved at each tier."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    rows = kpis[(kpis["scope"] == "all") & kpis["metric"].str.startswith("solved_share_")]
    shares = rows.set_index("metric")["value"].reindex([f"solved_share_{t}" for t in TIERS])
    ax.bar(list(TIERS), shares.fillna(0).to_numpy())
    ax.set_ylabel("share of closed cases")
    ax.set_ylim(0, 1)
    ax.set_title("Where cases are solved")
    return ax


def load_by_kind(load: pd.DataFrame, ax=None):
    """Daily utilisation of each kind of pool (all units of the kind together)."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    day = (load["time"] // 24).astype(int)
    g = load.groupby([day, "kind"], observed=True)[["busy", "capacity_hours"]].sum()
    util = (g["busy"] / g["capacity_hours"].where(g["capacity_hours"] > 0)).unstack("kind")
    for kind in util.columns:
        ax.plot(util.index, util[kind], label=str(kind), lw=1)
    ax.set_xlabel("day")
    ax.set_ylabel("utilisation")
    ax.set_title("Load by pool kind")
    ax.legend(fontsize="small", ncol=2)
    return ax


def backlog(backlog: pd.DataFrame, ax=None):
    """Open cases over time."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    ax.plot(backlog["time"] / 24, backlog["open"], lw=1)
    ax.set_xlabel("day")
    ax.set_ylabel("open cases")
    ax.set_title("Backlog")
    return ax


def write_all(result, folder: Path) -> list[Path]:
    """Write the four figures of ``result`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {  # the histogram from the resolution times the KPIs kept: any record level
        "resolution_time.png": lambda ax: resolution_time_hist(result.resolution_times(), ax),
        "tier_shares.png": lambda ax: tier_shares(result.kpis, ax),
        "load_by_pool.png": lambda ax: load_by_kind(result.load, ax),
        "backlog.png": lambda ax: backlog(result.backlog, ax),
    }
    paths = []
    for name, draw in figures.items():
        fig = Figure(figsize=(8, 4.5))  # no pyplot: no global state, any backend
        draw(fig.add_subplot())
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        paths.append(folder / name)
    return paths
