"""Output analysis for replications: intervals, paired comparisons, the best variant, how many
replications are enough, and how long the warm-up should be.

Everything here works on plain arrays of replication outputs (one value per replication), so it
knows nothing of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean with its two-sided ``level`` Student-t confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def relative_precision(self) -> float:
        """Half-width over |mean| (Hoad, Robinson & Davies' precision)."""
        return self.half_width / abs(self.mean) if self.mean else float("inf")


def t_interval(values, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of independent replication outputs (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Interval(mean, np.nan, np.nan, 1)
    sd = float(x.std(ddof=1))
    from scipy import stats  # imported when first needed: it takes a second to load

    h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / np.sqrt(n)
    return Interval(mean, mean - h, mean + h, n)


def paired_difference(a, b, level: float = 0.95) -> Interval:
    """Interval of mean(b − a) over replications paired by seed (common random numbers)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("paired samples must have the same length")
    return t_interval(b - a, level)


def bonferroni_level(level: float, comparisons: int) -> float:
    """Per-comparison confidence level that keeps the family-wise level at ``level``."""
    return 1 - (1 - level) / max(comparisons, 1)


@dataclass(frozen=True)
class Best:
    """Multiple comparisons with the best (Hsu), Bonferroni-adjusted, on paired replications."""

    variant: str
    clear: bool
    """True when the best is better than every other variant at the family-wise level."""
    level: float
    ties: tuple[str, ...]
    """Variants that cannot be told apart from the best at that level."""

    def __str__(self) -> str:
        if self.clear:
            return (f"{self.variant} is best, better than every other variant "
                    f"(family-wise confidence {self.level:.0%})")
        return (f"{self.variant} has the best mean, but cannot be told apart from "
                f"{', '.join(self.ties)} at family-wise confidence {self.level:.0%}")


def select_best(samples: dict[str, np.ndarray], minimise: bool = True,
                level: float = 0.95) -> Best:
    """The variant with the best mean, and whether it is better than all the others.

    Each other variant is compared with the leader by a paired t-interval at the Bonferroni
    level ``1 − (1 − level)/(k − 1)``; the leader is "clear" when every interval excludes 0.
    """
    names = list(samples)
    means = {k: float(np.nanmean(v)) for k, v in samples.items()}
    lead = min(names, key=means.get) if minimise else max(names, key=means.get)
    if len(names) == 1:
        return Best(lead, True, level, ())
    per = bonferroni_level(level, len(names) - 1)
    ties = []
    for other in names:
        if other == lead:
            continue
        d = paired_difference(samples[lead], samples[other], per)  # other − lead
        better = d.low > 0 if minimise else d.high < 0
        if not better:
            ties.append(other)
    return Best(lead, not ties, level, tuple(ties))


def replications_needed(values, precision: float, level: float = 0.95, n_min: int = 3,
                        look_ahead: int = 5) -> int | None:
    """Hoad, Robinson & Davies' replications algorithm on the outputs so far, in order.

    Returns the number of replications at which the relative half-width first fell within
    ``precision`` and stayed there for the next ``look_ahead`` replications (the look-ahead
    guards against stopping on a chance dip), or None if that has not happened yet.
    The look-ahead grows with the candidate ``n`` as in the paper (``kLimit`` for n ≤ 100,
    then ``n·kLimit/100``).
    """
    x = np.asarray(values, dtype=float)
    for n in range(max(n_min, 2), len(x) + 1):
        if t_interval(x[:n], level).relative_precision > precision:
            continue
        k = look_ahead if n <= 100 else int(np.ceil(n * look_ahead / 100))
        if n + k > len(x):
            return None
        if all(t_interval(x[:m], level).relative_precision <= precision
               for m in range(n + 1, n + k + 1)):
            return n
    return None


# ---------------------------------------------------------------------------- warm-up
def mser(series, batch: int = 5) -> int:
    """MSER-``batch`` truncation point (in observations) of one output series.

    Averages the series in batches of ``batch`` and picks the deletion point d (searched over
    the first half) minimising the squared standard error of the remaining batch means,
    ``var(Z[d:]) / (n − d)`` (White 1997; Hoad, Robinson & Davies 2010).
    """
    y = np.asarray(series, dtype=float)
    m = len(y) // batch
    if m < 4:
        return 0
    z = y[: m * batch].reshape(m, batch).mean(axis=1)
    best_d, best = 0, np.inf
    for d in range(m // 2):
        rest = z[d:]
        stat = rest.var() / len(rest)
        if stat < best:
            best_d, best = d, stat
    return best_d * batch


def welch(series_by_rep, window: int) -> np.ndarray:
    """Welch's moving average of the mean across replications (one row per replication).

    Plot it and read the warm-up where the curve flattens; :func:`suggest_warmup` automates
    the reading with MSER-5 on the averaged series.
    """
    y = np.nanmean(np.atleast_2d(np.asarray(series_by_rep, dtype=float)), axis=0)
    out = np.empty_like(y)
    for i in range(len(y)):
        w = min(window, i, len(y) - 1 - i)
        out[i] = y[i - w: i + w + 1].mean()
    return out


def suggest_warmup(series_by_rep, interval: float, method: str = "mser5") -> float:
    """A warm-up length (in the series' time units) from replicated output series.

    ``method="mser5"``: MSER-5 on the mean across replications; ``"welch"``: MSER-5 applied to
    Welch's moving average (window 5% of the series), which smooths a noisy single series.
    """
    y = np.nanmean(np.atleast_2d(np.asarray(series_by_rep, dtype=float)), axis=0)
    if method == "welch":
        y = welch(y, max(1, len(y) // 20))
    elif method != "mser5":
        raise ValueError(f"unknown warm-up method {method!r}: use 'mser5' or 'welch'")
    return mser(y, 5) * interval
