"""Figures of an experiment: distributions side by side, tier shares and load with intervals,
and a KPI against a swept parameter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..vocabulary import TIERS
from .outputs import HIST_EDGES


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
    ax.set_xlabel("resolution time (days)")
    ax.set_ylabel("share of closed cases")
    ax.set_title("Resolution-time distribution")
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
    ax.set_title("Where cases are solved (95% CI)")
    ax.legend(fontsize="small")
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
    ax.set_ylabel(kpi)
    ax.set_title(f"{kpi} (95% CI)")
    if others:
        ax.legend(fontsize="small")
    return ax


def write_all(exp, folder, kpi: str) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"resolution_time.png": resolution_time, "tier_shares.png": tier_shares,
               "load_by_pool.png": load}
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
    return paths
