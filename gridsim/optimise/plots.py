"""The frontier of a staffing optimisation: what each evaluated allocation costs against how
well it does on the targets.

Every candidate the search evaluated is a point: its cost (x, in the optimisation's cost unit)
against its estimate of a target's KPI (y; for a target every street must meet, the worst
street's), with the confidence interval as an error bar. Feasible, infeasible and undecided
candidates differ in both colour and marker (Okabe-Ito colours, safe for colour-blind readers),
the target's bound is a dashed line, the Pareto frontier of the first target (the best value
to be had for at most each cost) a step line, and the chosen allocation a star with its values.
With several targets there is one panel per target, on a shared cost axis.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..vocabulary import format_value, is_missing, label, unit_of

if TYPE_CHECKING:  # matplotlib is imported by the functions that draw (the report needs
    from matplotlib.axes import Axes  # this module's words without the second it takes)
    from matplotlib.figure import Figure

STATUS_STYLE: dict[str, dict[str, Any]] = {
    "feasible": {"color": "#0072B2", "marker": "o", "text": "feasible (meets every target)"},
    "infeasible": {"color": "#D55E00", "marker": "X", "text": "infeasible (misses a target)"},
    "undecided": {"color": "#7F7F7F", "marker": "^", "text": "undecided (too close to call)"},
}
"""How a candidate's status is drawn; the report's badges use the same colours and shapes."""
CHOSEN = "#1f2933"
SENSE = {">=": "\u2265", "<=": "\u2264", ">": ">", "<": "<", "==": "="}
MAX_PANELS = 4


def short_name(path: str) -> str:
    """A variable's path as a short name for a plot: ``streets.staff.enforcement`` ->
    ``enforcement``."""
    return path.rsplit(".", 1)[-1].replace("_", " ")


def target_text(target: dict[str, Any]) -> str:
    """A target in words: ``Closed on time ≥ 90.0% in every street``."""
    metric = str(target.get("metric"))
    bound = format_value(target.get("bound"), unit_of(metric))
    text = f"{label(metric)} {SENSE.get(str(target.get('sense')), target.get('sense'))} {bound}"
    scope = str(target.get("scope") or "")
    if "=" in scope:
        level, which = scope.split("=", 1)
        text += f" in every {level}" if which == "*" else f" in {level} {which}"
    return text


def cost_label(meta: dict[str, Any]) -> str:
    """The cost axis: ``cost (heads)``."""
    return f"cost ({meta.get('cost_unit') or 'cost units'})"


def _bool(s: pd.Series) -> pd.Series:
    """A column of flags as written to CSV (``True``/``False``, ``1``/``0``)."""
    return s.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def _panel(ax: Axes, candidates: pd.DataFrame, meta: dict[str, Any], k: int) -> None:
    """Target ``k`` against cost, every candidate with its interval."""
    from matplotlib.ticker import PercentFormatter, StrMethodFormatter

    target = meta["targets"][k]
    metric = str(target.get("metric"))
    unit = unit_of(metric)
    if f"t{k}_mean" not in candidates:
        ax.text(0.5, 0.5, f"no values of {target.get('text')} in the candidates table",
                transform=ax.transAxes, ha="center", va="center", color=CHOSEN)
        ax.set_title(target_text(target), loc="left", fontsize=10)
        return
    c = candidates.sort_values(["cost", "candidate"]).reset_index(drop=True)
    x = _dodged(c["cost"].astype(float))
    mean, low, high = (pd.to_numeric(c.get(f"t{k}_{x}", c[f"t{k}_mean"]), errors="coerce")
                       for x in ("mean", "low", "high"))
    status = c["status"].astype(str).where(c["status"].isin(list(STATUS_STYLE)), "undecided")
    for st, style in STATUS_STYLE.items():
        pick = (status == st).to_numpy()
        if not pick.any():
            continue
        m = mean[pick]
        err = np.vstack([(m - low[pick].fillna(m)).clip(lower=0),
                         (high[pick].fillna(m) - m).clip(lower=0)])
        ax.errorbar(x[pick], m, yerr=err, fmt=style["marker"], color=style["color"],
                    ecolor=style["color"], elinewidth=1.2, capsize=3, markersize=7,
                    alpha=0.9, zorder=3)
    if k == 0 and "frontier" in c:
        front = _bool(c["frontier"]).to_numpy()
        if front.any():
            ax.step(x[front], mean[front],
                    where="post", color="#56B4E9", lw=2, zorder=2)
    # cheap and good (top left; bottom left when smaller is better) is empty, or the search
    # would have chosen it; dear and bad (the opposite corner) nearly so: room for the labels
    up = -1 if str(target.get("sense")) in ("<=", "<") else 1
    bound = target.get("bound")
    if not is_missing(bound):
        ax.axhline(float(bound), color=CHOSEN, ls="--", lw=1.3, zorder=1)
        ax.annotate(f"target {SENSE.get(str(target.get('sense')), '')} "
                    f"{format_value(bound, unit)}", (0, float(bound)),
                    xycoords=("axes fraction", "data"), xytext=(4, 3 * up),
                    textcoords="offset points", ha="left", va="bottom" if up > 0 else "top",
                    fontsize=8.5, color=CHOSEN, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8})
    if k == 0:
        _mark_base(ax, c, x, mean, meta, up)
    chosen = np.flatnonzero(_bool(c["chosen"]).to_numpy()) if "chosen" in c else []
    if len(chosen):
        ch, xc, y = c.iloc[chosen[0]], x[chosen[0]], float(mean[chosen[0]])
        ax.scatter([xc], [y], marker="*", s=420, facecolor="none", edgecolor=CHOSEN,
                   linewidth=1.8, zorder=4)
        if k == 0:
            values = ", ".join(f"{short_name(v['path'])} {_int(ch.get(v['path']))}"
                               for v in meta.get("variables") or [] if v["path"] in ch)
            ax.annotate(f"chosen: {values}\n{amount(ch['cost'], _unit(meta))}"
                        f" \u00b7 {format_value(y, unit)}", (xc, y),
                        xytext=(0.02, 0.95 if up > 0 else 0.05), textcoords="axes fraction",
                        fontsize=9, fontweight="bold", color=CHOSEN, ha="left",
                        va="top" if up > 0 else "bottom",
                        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "#c8d0d9"},
                        arrowprops={"arrowstyle": "-", "color": CHOSEN, "lw": 1}, zorder=5)
    where = " (worst unit)" if target.get("per_unit") else ""
    scope = str(target.get("scope") or "")
    if target.get("per_unit") and "=" in scope:
        where = f" (worst {scope.split('=', 1)[0]})"
    hours = " (hours)" if unit == "h" else ""
    ax.set_ylabel(f"{label(metric)}{where}{hours}")
    ax.set_title(target_text(target), loc="left", fontsize=10)
    if unit == "share":
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 1,200,000, not 1.2e6
    ax.grid(alpha=0.3)


def _dodged(cost: pd.Series) -> np.ndarray:
    """Costs, with candidates of equal cost set a little apart so their bars do not hide each
    other (by 0.6% of the cost range each)."""
    span = float(cost.max() - cost.min()) or max(abs(float(cost.max())), 1.0)
    rank = cost.groupby(cost).cumcount()
    size = cost.groupby(cost).transform("size")
    return (cost + (rank - (size - 1) / 2) * span * 0.006).to_numpy()


def _mark_base(ax: Axes, c: pd.DataFrame, x: np.ndarray, mean: pd.Series,
               meta: dict[str, Any], up: int) -> None:
    """Label the scenario's own staffing (every variable at its base value), if evaluated."""
    variables = [v for v in meta.get("variables") or [] if v.get("path") in c]
    if not variables:
        return
    base = np.logical_and.reduce([pd.to_numeric(c[v["path"]], errors="coerce").to_numpy()
                                  == float(v.get("base", np.nan)) for v in variables])
    if base.any():
        i = int(np.flatnonzero(base)[0])
        ax.annotate("the scenario's staffing", (x[i], float(mean[i])),
                    xytext=(0.98, 0.05 if up > 0 else 0.95),
                    textcoords="axes fraction", ha="right", va="bottom" if up > 0 else "top",
                    fontsize=8.5, color=CHOSEN, zorder=5,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                          "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "color": CHOSEN, "lw": 0.8})


def amount(v: Any, unit: str, signed: bool = False) -> str:
    """A cost: a whole number without decimals (``24 heads``, ``−40 heads``), else as
    :func:`~gridsim.vocabulary.format_value` gives it."""
    if not is_missing(v) and float(v).is_integer():
        return f"{format_value(v, 'count', signed=signed)} {unit}".strip()
    return format_value(v, unit, signed=signed)


def _int(v: Any) -> str:
    """A staff number as written (``9``, not ``9.0``)."""
    return format_value(v, "count")


def _unit(meta: dict[str, Any]) -> str:
    return str(meta.get("cost_unit") or "")


def _legend(fig: Figure, candidates: pd.DataFrame, level: float) -> None:
    from matplotlib.lines import Line2D

    present = {st if st in STATUS_STYLE else "undecided"
               for st in candidates["status"].astype(str)}
    handles = [Line2D([], [], ls="none", marker=s["marker"], color=s["color"], markersize=7,
                      label=s["text"]) for st, s in STATUS_STYLE.items() if st in present]
    handles += [Line2D([], [], color="#56B4E9", lw=2, label="frontier (best for the cost)"),
                Line2D([], [], ls="none", marker="*", markersize=15, markerfacecolor="none",
                       markeredgecolor=CHOSEN, label="chosen"),
                Line2D([], [], color=CHOSEN, ls="--", label="target bound")]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 3),
               fontsize=8.5, frameon=False,
               title=f"bars: {level:.0%} confidence interval", title_fontsize=8.5)


def frontier(candidates: pd.DataFrame, meta: dict[str, Any], ax: Axes | None = None) -> Axes:
    """The first target against cost on ``ax`` (a new figure's when ``None``)."""
    from matplotlib.figure import Figure

    if ax is None:
        ax = Figure(figsize=(9, 5), layout="constrained").add_subplot()
    _panel(ax, candidates, meta, 0)
    ax.set_xlabel(cost_label(meta))
    return ax


def frontier_figure(candidates: pd.DataFrame, meta: dict[str, Any]) -> Figure:
    """Every target (up to :data:`MAX_PANELS`) against cost, one panel each, with a legend
    and a title naming the scenario."""
    from matplotlib.figure import Figure

    n = min(max(len(meta.get("targets") or []), 1), MAX_PANELS)
    fig = Figure(figsize=(9.5, 1.6 + 3.4 * n), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    for k, ax in enumerate(axes):
        _panel(ax, candidates, meta, k)
    axes[-1].set_xlabel(cost_label(meta))
    name = (meta.get("scenario") or {}).get("name") or ""
    fig.suptitle(f"Staffing allocations evaluated: cost against the targets"
                 f"{': ' + name if name else ''}\n{len(candidates)} allocations, each on "
                 "common random numbers", fontsize=11)
    _legend(fig, candidates, float(meta.get("level") or 0.95))
    return fig


def write_frontier(candidates: pd.DataFrame, meta: dict[str, Any], folder: str | Path) -> Path:
    """Write ``plots/frontier.png`` into ``folder`` (through a temporary file) and return it."""
    plots = Path(folder) / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    fig = frontier_figure(candidates, meta)
    path = plots / "frontier.png"
    tmp = plots / ".frontier.tmp.png"
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)
    return path
