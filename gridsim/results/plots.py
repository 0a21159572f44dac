"""The four standard figures of a run, written as PNG beside its tables.

Written for a planner: the time axis is in calendar dates (the scenario's calendar start is
t = 0), the warm-up is shaded grey and public holidays pale red, shares are in percent, the load
is drawn per street (small multiples, one panel per street and one for the district's own
pools) and every title names the scenario and its policy.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..vocabulary import TIERS

MAX_PANELS = 12
"""At most this many street panels in the load figure (the busiest streets)."""


def when(scenario: Any, hours: Any) -> Any:
    """Clock hours since the start as calendar date-times (numbers for matplotlib)."""
    start = np.datetime64(scenario.calendar.start, "h")
    return start + np.round(np.asarray(hours, dtype=float)).astype("timedelta64[h]")


def calendar_axis(ax, scenario: Any, t0: float = 0.0, t1: float | None = None) -> None:
    """Dates on the x axis, the warm-up shaded and the holidays marked, for hours t0..t1."""
    t1 = scenario.horizon.hours if t1 is None else t1
    start = scenario.calendar.start
    warm = scenario.warmup.hours
    if warm > t0:
        ax.axvspan(when(scenario, t0), when(scenario, min(warm, t1)), color="0.85", alpha=0.6,
                   lw=0, label="warm-up (not counted)", zorder=0)
    first, last = start + dt.timedelta(hours=t0), start + dt.timedelta(hours=t1)
    days = sorted(d for d in scenario.calendar.holiday_dates() if first <= d <= last)
    runs: list[list[dt.date]] = []
    for d in days:  # consecutive holidays as one band
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    for i, r in enumerate(runs):
        ax.axvspan(np.datetime64(r[0], "h"), np.datetime64(r[-1] + dt.timedelta(days=1), "h"),
                   color="#f4b6b0", alpha=0.45, lw=0, zorder=0,
                   label="public holiday" if i == 0 else None)
    loc = mdates.AutoDateLocator(maxticks=8)
    fmt = mdates.ConciseDateFormatter(loc)
    fmt.offset_formats = ["", "%Y", "%Y", "%Y", "%Y-%m-%d", "%Y-%m-%d"]
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(fmt)
    ax.set_xlim(when(scenario, t0), when(scenario, t1))


DURATIONS = ((1 / 1440, "1 min"), (1 / 24, "1 h"), (8 / 24, "8 h"), (1.0, "1 day"),
             (7.0, "1 week"), (30.0, "30 days"), (365.0, "1 year"))


def days_axis(ax) -> None:
    """Ticks a planner reads (1 h, 1 day, 1 week) on a log axis in days (limits kept)."""
    lim = ax.get_xlim()
    ax.set_xticks([d for d, _ in DURATIONS], [t for _, t in DURATIONS])
    ax.minorticks_off()
    ax.set_xlim(lim)


def title(scenario: Any, what: str) -> str:
    """``what`` with the scenario and policy it shows."""
    return f"{what}\n{scenario.name}, policy {scenario.policy.name}"


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
        ax.set_xlim(bins[0], bins[-1])
        days_axis(ax)
        ax.legend()
    ax.set_xlabel("resolution time (from discovery to closure)")
    ax.set_ylabel("cases")
    ax.set_title("Resolution time")
    return ax


def tier_shares(kpis: pd.DataFrame, ax=None):
    """Share of closed cases solved at each tier."""
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    rows = kpis[(kpis["scope"] == "all") & kpis["metric"].str.startswith("solved_share_")]
    shares = rows.set_index("metric")["value"].reindex([f"solved_share_{t}" for t in TIERS])
    bars = ax.bar(list(TIERS), shares.fillna(0).to_numpy(), color="#2f6690")
    ax.bar_label(bars, labels=[f"{v:.0%}" if v == v else "" for v in shares], fontsize=8)
    ax.set_ylabel("share of closed cases")
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
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


def backlog(backlog: pd.DataFrame, ax=None, scenario: Any = None):
    """Open cases over time (with ``scenario``: on calendar dates, warm-up and holidays)."""
    ax = ax or plt.subplots(figsize=(8, 4))[1]
    if scenario is None:
        ax.plot(backlog["time"] / 24, backlog["open"], lw=1)
        ax.set_xlabel("day")
        ax.set_title("Backlog")
    else:
        ax.plot(when(scenario, backlog["time"]), backlog["open"], lw=1.2, color="#2f6690",
                label="open cases")
        calendar_axis(ax, scenario)
        ax.set_title(title(scenario, "Open cases over time"))
        ax.legend(fontsize="small", loc="upper left")
    ax.set_ylabel("open cases")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return ax


def load_by_street(load: pd.DataFrame, fig: Figure, scenario: Any) -> Figure:
    """Small multiples of utilisation (percent; weekly, daily over six weeks or less): one panel
    per street, with a line per kind of pool, and one for the pools above the streets
    (departments, joint meeting, 12345, city)."""
    step = 7 if scenario.horizon.hours > 42 * 24 else 1
    every = "weekly" if step == 7 else "daily"
    period = (load["time"] // (24 * step)).astype(int).rename("period")
    agg = load.groupby([period, load["unit"], load["kind"]], observed=True)[
        ["busy", "capacity_hours"]].sum().reset_index()  # small: periods x pools, not hours
    agg = agg[agg["capacity_hours"] > 0]
    agg["unit"], agg["kind"] = agg["unit"].astype(str), agg["kind"].astype(str)
    unit = agg["unit"]
    street_units = sorted(u for u in unit.unique() if u.count("/") == 1)
    busy = agg.groupby("unit")[["busy", "capacity_hours"]].sum()
    util = busy["busy"] / busy["capacity_hours"]
    shown = street_units
    if len(street_units) > MAX_PANELS:
        shown = sorted(util.reindex(street_units).nlargest(MAX_PANELS).index)
    others = ~unit.isin(street_units)
    panels = [(u, agg[unit == u]) for u in shown]
    if others.any():
        panels.append(("district and city pools", agg[others]))
    n = len(panels)
    cols = 3 if n > 4 else max(n, 1)
    rows = int(np.ceil(n / cols))
    height = 2.4 * rows + 1.3
    fig.set_size_inches(4.2 * cols, height)
    kinds = sorted(agg["kind"].unique())
    colours = dict(zip(kinds, plt.get_cmap("tab10").colors, strict=False))
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    for ax, (name, part) in zip(axes.flat, panels, strict=False):
        g = part.groupby(["period", "kind"])[["busy", "capacity_hours"]].sum()
        u = (g["busy"] / g["capacity_hours"]).unstack()
        for kind in u.columns:
            ax.plot(when(scenario, (u.index.to_numpy() + 0.5) * 24 * step), u[kind], lw=1.2,
                    marker="." if step == 7 else None, ms=3, color=colours[kind],
                    label=kind.replace("_", " "))
        calendar_axis(ax, scenario)
        ax.set_title(name, fontsize=10, loc="left")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    ax0 = axes.flat[0]
    ax0.set_ylim(0, 1)
    handles, labels = [], []
    for ax in axes.flat[:n]:
        for h, lb in zip(*ax.get_legend_handles_labels(), strict=True):
            if lb not in labels:
                handles.append(h)
                labels.append(lb)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize="small",
               frameon=False)
    more = (f" (the {len(shown)} busiest of {len(street_units)} streets)"
            if len(shown) < len(street_units) else "")
    fig.suptitle(f"Staff utilisation per street, {every}{more}\n{scenario.name}, policy "
                 f"{scenario.policy.name}", fontsize=11)
    fig.tight_layout(rect=(0, 0.55 / height, 1, 1))
    return fig


def write_all(result, folder: Path) -> list[Path]:
    """Write the four figures of ``result`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    sc = result.scenario
    figures = {  # the histogram from the resolution times the KPIs kept: any record level
        "resolution_time.png": lambda ax: resolution_time_hist(result.resolution_times(), ax),
        "tier_shares.png": lambda ax: tier_shares(result.kpis, ax),
        "backlog.png": lambda ax: backlog(result.backlog, ax, sc),
    }
    names = {"resolution_time.png": "Resolution time (cases created after the warm-up)",
             "tier_shares.png": "Where cases are solved (share of closed cases)"}
    paths = []
    for name, draw in figures.items():
        fig = Figure(figsize=(8, 4.5))  # no pyplot: no global state, any backend
        ax = draw(fig.add_subplot())
        if name in names:
            ax.set_title(title(sc, names[name]))
        fig.tight_layout()
        fig.savefig(folder / name, dpi=100)
        paths.append(folder / name)
    fig = load_by_street(result.load, Figure(), sc)
    fig.savefig(folder / "load_by_pool.png", dpi=100)
    paths.append(folder / "load_by_pool.png")
    return paths
