"""The validation report's plot: published against simulated, one row per check (forest style).

Each row has its own axis in the check's unit, since the checks of one city mix counts, shares
and hours. A value check shows the accepted band (published value ± tolerance) and the
published value; an effect check shows 0 and the side of it the published direction asks for.
On both, the simulated mean with its 95% interval, coloured by the verdict, and beneath it the
result under the check's knockout when knockouts were run.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

COLOURS = {"pass": "#17693f", "fail": "#b3261e", "known": "#9a5b00"}
"""Verdict colours, as the style sheet's --good, --bad and --warn."""
BAND = "#9fc3e0"
KNOCKOUT = "#5f6b7a"


@dataclass(frozen=True)
class Estimate:
    """A simulated mean and its interval (any of them may be NaN: nothing is drawn)."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class PlotRow:
    """One check as the plot draws it, in the KPI's unit (shares as fractions)."""

    label: str
    unit: str
    verdict: str
    simulated: Estimate
    published: float | None = None
    band: tuple[float, float] | None = None
    direction: str | None = None
    knockout: Estimate | None = None


def _scale(unit: str) -> tuple[float, str]:
    """The factor to the axis unit and the axis label's unit."""
    return {"share": (100.0, "%"), "h": (1.0, "hours"), "per case": (1.0, "per case")}.get(
        unit, (1.0, "count"))


def _finite(*values: float | None) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _draw_estimate(ax, e: Estimate, k: float, y: float, colour: str, hollow: bool) -> None:
    if not _finite(e.mean):
        return
    lo = e.low if _finite(e.low) else e.mean
    hi = e.high if _finite(e.high) else e.mean
    err = [[max(e.mean - lo, 0.0) * k], [max(hi - e.mean, 0.0) * k]]
    ax.errorbar([e.mean * k], [y], xerr=err, fmt="o",
                color=colour, ecolor=colour, capsize=4, elinewidth=2, markersize=7,
                markerfacecolor="white" if hollow else colour, markeredgewidth=2)


def _limits(r: PlotRow, k: float) -> tuple[float, float]:
    """The x range: everything drawn, and 0 for an effect, with a margin."""
    values = _finite(r.simulated.mean, r.simulated.low, r.simulated.high, r.published)
    if r.band:
        values += _finite(*r.band)
    if r.knockout:
        values += _finite(r.knockout.mean, r.knockout.low, r.knockout.high)
    if r.direction:
        values.append(0.0)
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = (hi - lo) * 0.12 or abs(hi) * 0.1 or 1.0
    return (lo - pad) * k, (hi + pad) * k


def forest(rows: list[PlotRow], title: str) -> bytes:
    """The rows as one PNG (one panel per check, stacked)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig = Figure(figsize=(11, 0.9 + 1.1 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, r in zip(axes, rows, strict=True):
        k, unit = _scale(r.unit)
        x0, x1 = _limits(r, k)
        ax.set_xlim(x0, x1)
        if r.band:
            ax.axvspan(r.band[0] * k, r.band[1] * k, color=BAND, alpha=0.55, lw=0)
        if r.published is not None:
            ax.axvline(r.published * k, color="#1f2933", lw=1.5, ls="--")
        if r.direction:
            ax.axvline(0, color="#1f2933", lw=1.2)
            if r.direction == "lower":
                ax.axvspan(x0, 0, color=BAND, alpha=0.55, lw=0)
            else:
                ax.axvspan(0, x1, color=BAND, alpha=0.55, lw=0)
            unit = f"difference, scenario \u2212 variant ({unit})"
        two = r.knockout is not None
        _draw_estimate(ax, r.simulated, k, 0.35 if two else 0.0, COLOURS[r.verdict], False)
        if r.knockout is not None:
            _draw_estimate(ax, r.knockout, k, -0.35, KNOCKOUT, True)
        ax.set_ylim(-0.9, 0.9)
        ax.set_yticks([])
        ax.set_title(r.label, loc="left", fontsize=9.5)
        ax.set_xlabel(unit, fontsize=8.5, labelpad=1)
        ax.tick_params(axis="x", labelsize=8.5)
        for side in ("left", "right", "top"):
            ax.spines[side].set_visible(False)
    handles = [Patch(color=BAND, alpha=0.55, label="accepted (band, or side of 0)")]
    if any(r.published is not None for r in rows):
        handles.append(Line2D([], [], color="#1f2933", ls="--", label="published value"))
    handles += [Line2D([], [], color=COLOURS[v], marker="o", label=text) for v, text in
                (("pass", "simulated, 95% CI: pass"), ("fail", "fail"),
                 ("known", "known failure"))]
    if any(r.knockout is not None for r in rows):
        handles.append(Line2D([], [], color=KNOCKOUT, marker="o", markerfacecolor="white",
                              label="under its knockout"))
    fig.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize=8.5,
               frameon=False, title=title, title_fontproperties={"weight": "bold", "size": 10.5})
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()
