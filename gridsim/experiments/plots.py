"""Figures of an experiment: distributions side by side, tier shares and load with intervals,
open cases over the calendar, and a KPI against a swept parameter.

Titles name the scenario and the points, shares are in percent, the time axis is in calendar
dates with the warm-up and holidays marked, and the load is drawn per street for each kind of
pool (small multiples) rather than averaged over the streets.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from ..results.plots import MAX_PANELS, calendar_axis, days_axis, when
from ..vocabulary import POOL_KINDS, TIERS, unit_of
from ..vocabulary import label as kpi_label
from .outputs import HIST_EDGES


def _names(exp) -> str:
    """The scenario(s) and the points, for a title."""
    scen = ", ".join(dict.fromkeys(p.scenario.name for p in exp.points))
    pts = ", ".join(exp.labels)
    return f"{scen}: {pts}" if len(pts) < 70 else f"{scen}: {len(exp.labels)} points"


def resolution_time(exp, ax=None):
    """Resolution-time distribution of each point (mean histogram over replications)."""
    ax = ax or plt.subplots(figsize=(8, 4.5))[1]
    h = exp.histogram().groupby(["point", "bin"], observed=True, sort=False)["count"].sum()
    centres = np.sqrt(HIST_EDGES[:-1] * HIST_EDGES[1:]) / 24
    for label in exp.labels:
        if label in h.index.get_level_values("point"):
            counts = h.xs(label, level="point").reindex(range(len(centres)), fill_value=0)
            total = counts.sum()
            ax.step(centres, counts / total if total else counts, where="mid", label=label)
    ax.set_xscale("log")
    days_axis(ax)
    ax.set_xlabel("resolution time (from discovery to closure)")
    ax.set_ylabel("share of closed cases")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"Resolution-time distribution\n{_names(exp)}")
    ax.legend(fontsize="small")
    return ax


def tier_shares(exp, ax=None):
    """Share solved at each tier per point, with confidence intervals."""
    ax = ax or plt.subplots(figsize=(8, 4.5))[1]
    s = exp.summary
    s = s[(s["scope"] == "all") & s["metric"].str.startswith("solved_share_")]
    width = 0.8 / max(len(exp.labels), 1)
    x = np.arange(len(TIERS))
    for i, label in enumerate(exp.labels):
        rows = s[s["point"] == label].set_index("metric").reindex(
            [f"solved_share_{t}" for t in TIERS])
        ax.bar(x + i * width, rows["mean"].fillna(0), width,
               yerr=rows["half_width"].fillna(0), capsize=2, label=label)
    ax.set_xticks(x + width * (len(exp.labels) - 1) / 2, TIERS)
    ax.set_ylabel("share of closed cases")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(f"Where cases are solved ({exp.level:.0%} CI)\n{_names(exp)}")
    ax.legend(fontsize="small")
    return ax


def load_by_street(exp, fig: Figure) -> Figure:
    """Mean utilisation of every pool with its interval: one panel per kind of pool, one bar
    group per street (or department), one bar per point."""
    pools = exp.units("pool").copy()
    pools["kind"] = pools["kind"].astype(str)
    pools["unit"] = pools["unit"].astype(str)
    order = {k: i for i, k in enumerate(POOL_KINDS)}
    per_street = sorted((k for k, g in pools.groupby("kind") if g["unit"].nunique() > 1),
                        key=lambda k: order.get(k, 99))
    rest = pools[~pools["kind"].isin(per_street)]
    panels = [(k.replace("_", " "), pools[pools["kind"] == k]) for k in per_street]
    if not rest.empty:
        panels.append(("other pools", rest))
    n = max(len(panels), 1)
    cols = 2 if n > 1 else 1
    rows = int(np.ceil(n / cols))
    height = 2.6 * rows + 1.2
    fig.set_size_inches(6.2 * cols, height)
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    width = 0.8 / max(len(exp.labels), 1)
    for ax, (name, g) in zip(axes.flat, panels, strict=False):
        where = g["unit"].str.rsplit("/", n=1).str[0]  # the street of a street's pool
        clash = where.groupby(g["point"].astype(str)).apply(lambda w: w.duplicated().any())
        if name == "other pools" or clash.any():
            where = g["unit"]  # several pools of the kind per unit: each its own bar group
        g = g.assign(where=where)
        order = g.groupby("where")["utilisation"].mean().sort_values(ascending=False)
        shown = sorted(order.index[:MAX_PANELS + 4], key=str)
        x = np.arange(len(shown))
        for i, lb in enumerate(exp.labels):
            p = g[g["point"] == lb].set_index("where").reindex(shown)
            ax.bar(x + i * width, p["utilisation"].fillna(0), width,
                   yerr=p["utilisation_hw"].fillna(0), capsize=2, label=lb)
        ticks = [str(w).split("/", 1)[-1].replace("_", " ") for w in shown]
        long = max((len(t) for t in ticks), default=0) > 4
        ax.set_xticks(x + width * (len(exp.labels) - 1) / 2, ticks, rotation=30 if long else 0,
                      ha="right" if long else "center", fontsize=8)
        more = f" (busiest {len(shown)} of {len(order)})" if len(shown) < len(order) else ""
        ax.set_title(f"{name}{more}", fontsize=10, loc="left")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(axis="y", alpha=0.3)
        ax.set_ylim(0, 1)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize="small",
               frameon=False)
    fig.suptitle(f"Mean utilisation per pool, by street ({exp.level:.0%} CI)\n{_names(exp)}",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.45 / height, 1, 1))
    return fig


def backlog(exp, ax=None):
    """Open cases at the end of each day: mean over replications per point, with its interval
    as a band; dates, the warm-up and the holidays of the first point's scenario."""
    ax = ax or plt.subplots(figsize=(9, 4.5))[1]
    d = exp.tables["daily"].drop_duplicates(["point", "replication", "day"])
    sc = exp.points[0].scenario
    for lb in exp.labels:
        g = d[d["point"] == lb].groupby("day")["open"]
        mean, sd, n = g.mean(), g.std(), g.count()
        hw = 1.96 * sd / np.sqrt(n.where(n > 1))
        t = when(sc, (mean.index.to_numpy() + 1) * 24)
        line = ax.plot(t, mean, lw=1.2, label=lb)[0]
        ax.fill_between(t, mean - hw.fillna(0), mean + hw.fillna(0), alpha=0.2, lw=0,
                        color=line.get_color())
    calendar_axis(ax, sc)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("open cases at the end of the day")
    ax.grid(alpha=0.3)
    ax.set_title(f"Open cases over time (mean over replications, band ±1.96 standard errors)\n"
                 f"{_names(exp)}")
    ax.legend(fontsize="small", loc="upper left")
    return ax


def load(exp, ax=None):
    """Mean utilisation per pool kind and point, with interval bars."""
    ax = ax or plt.subplots(figsize=(9, 4.5))[1]
    pools = exp.units("pool")
    kinds = sorted(pools["kind"].dropna().unique())
    width = 0.8 / max(len(exp.labels), 1)
    x = np.arange(len(kinds))
    for i, label in enumerate(exp.labels):
        p = pools[pools["point"] == label].groupby("kind")
        ax.bar(x + i * width, p["utilisation"].mean().reindex(kinds).fillna(0), width,
               yerr=p["utilisation_hw"].mean().reindex(kinds).fillna(0), capsize=2, label=label)
    ax.set_xticks(x + width * (len(exp.labels) - 1) / 2, kinds, rotation=20)
    ax.set_ylabel("mean utilisation")
    ax.set_title("Load by pool kind (mean over units, 95% CI)")
    ax.legend(fontsize="small")
    return ax


def kpi_vs_parameter(exp, kpi: str, ax=None):
    """A KPI (mean and CI) against the first varied parameter, one line per other combination."""
    ax = ax or plt.subplots(figsize=(8, 4.5))[1]
    design = exp.design
    params = [c for c in design.columns if c != "point"]
    s = exp.summary
    s = s[(s["metric"] == kpi) & (s["scope"] == "all")].merge(design, on="point")
    x = params[0] if params else "point"
    others = params[1:]
    groups = s.groupby(others, sort=False) if others else [((), s)]
    for key, g in groups:
        g = g.sort_values(x)
        label = ", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(key), strict=False))
        xs = g[x].astype(str) if g[x].dtype == object else g[x]
        ax.errorbar(xs, g["mean"], yerr=g["half_width"], marker="o", capsize=3,
                    label=label or None)
    ax.set_xlabel(x)
    ax.set_ylabel(f"{kpi_label(kpi)} ({kpi})")
    if unit_of(kpi) == "share":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    ax.set_title(f"{kpi_label(kpi)} ({exp.level:.0%} CI)\n{_names(exp)}")
    if others:
        ax.legend(fontsize="small")
    return ax


def write_all(exp, folder, kpi: str) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"resolution_time.png": resolution_time, "tier_shares.png": tier_shares,
               "backlog.png": backlog}
    if exp.kind == "sweep":
        figures["kpi_vs_parameter.png"] = lambda e, ax: kpi_vs_parameter(e, kpi, ax)
    paths = []
    for name, draw in figures.items():
        fig = Figure(figsize=(9, 4.5))  # no pyplot: no global state, any backend
        draw(exp, fig.add_subplot())
        fig.tight_layout()
        tmp = folder / f".{name}.tmp.png"
        fig.savefig(tmp, dpi=100)
        tmp.replace(folder / name)
        paths.append(folder / name)
    fig = load_by_street(exp, Figure())
    tmp = folder / ".load_by_pool.png.tmp.png"
    fig.savefig(tmp, dpi=100)
    tmp.replace(folder / "load_by_pool.png")
    paths.append(folder / "load_by_pool.png")
    return paths
