"""Which mechanism buys what, as one self-contained HTML page: the decomposition's table
(each mechanism's contribution to B − A with its interval and share) and a waterfall from A's
value to B's, a bar per mechanism with its interval, embedded as a ``data:`` URI."""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

from .._version import __version__
from ..experiments.decompose import Decomposition
from ..results.io import atomic_write_text
from ..results.outdir import check_file
from ..vocabulary import format_percent, format_value, label
from .html import GENERATOR, css, environment


def waterfall_png(d: Decomposition) -> bytes:
    """A waterfall from A's mean to B's: one bar per mechanism, its interval as a whisker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = d.table
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.45 * (len(t) + 2)), dpi=100)
    names = [d.a, *t["mechanism"], d.b]
    level = d.a_mean
    for y, (_, row) in enumerate(t.iterrows(), start=1):
        c = row["contribution"]
        ax.barh(y, c, left=level, color="#2b7a3d" if c < 0 else "#b3412a", height=0.6)
        ax.errorbar(level + c, y, xerr=[[c - row["low"]], [row["high"] - c]], fmt="none",
                    ecolor="black", capsize=3, lw=1)
        level += c
    ax.barh(0, d.a_mean, color="#777777", height=0.6)
    ax.barh(len(names) - 1, d.b_mean, color="#777777", height=0.6)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"{label(d.kpi)} ({d.unit})")
    ends = d.a_mean + t["contribution"].cumsum() - t["contribution"]
    lows, highs = ends + t["low"], ends + t["high"]
    lo, hi = min(d.a_mean, d.b_mean, *lows), max(d.a_mean, d.b_mean, *highs)
    pad = 0.1 * (hi - lo) or 1.0
    ax.set_xlim(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad)
    ax.set_title(f"{label(d.kpi)}: {d.a} to {d.b}, by mechanism ({d.level:.0%} intervals)",
                 fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def render_decomposition(d: Decomposition) -> str:
    """The page as an HTML string."""
    fmt = lambda v: format_value(v, d.unit, signed=True)  # noqa: E731
    rows = [{"mechanism": r.mechanism, "contribution": fmt(r.contribution),
             "interval": f"{fmt(r.low)} to {fmt(r.high)}",
             "share": format_percent(r.share), "alone": fmt(r.alone), "settings": r.settings}
            for r in d.table.itertuples()]
    png = base64.b64encode(waterfall_png(d)).decode("ascii")
    page = environment().get_template("decompose.html.j2").render(
        title=f"Which mechanism buys what: {d.a} against {d.b}", kicker="gridsim decomposition",
        lead=f"{label(d.kpi)}, {d.total.n} replications on common random numbers",
        nav=[("decomposition", "Decomposition"), ("plot", "Waterfall"), ("notes", "Notes")],
        css=css(), version=__version__, folder=d.experiment.folder or "(in memory)",
        now=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"), rows=rows,
        a=d.a, b=d.b, a_mean=format_value(d.a_mean, d.unit),
        b_mean=format_value(d.b_mean, d.unit), total=fmt(d.total.mean),
        total_interval=f"{fmt(d.total.low)} to {fmt(d.total.high)}", method=d.method,
        level=f"{d.level:.0%}", notes=d.notes, plot="data:image/png;base64," + png)
    return page.rstrip("\n") + "\n"


def write_decomposition(d: Decomposition, path: str | Path) -> Path:
    """Write the page to ``path`` (atomically; only over a page gridsim wrote)."""
    out = check_file(path, "--report", GENERATOR)
    atomic_write_text(out, render_decomposition(d))
    return out


__all__ = ["render_decomposition", "waterfall_png", "write_decomposition"]
