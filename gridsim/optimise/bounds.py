"""Where the search starts: queueing bounds on each variable's head count.

From a pilot run (every variable at the top of its range, so no pool is saturated and the
work measured is the work offered), each pool's offered load is its busy staff-hours over its
on-shift hours: ``a = utilisation x head count``, in staff. A pool with ``c <= a`` staff cannot
keep up (its queue grows without bound), so ``floor(a) + 1`` is the least that is stable; the
first guess is the least ``c`` whose Erlang C probability of waiting (M/M/c with offered load
``a``) is at most ``wait`` (0.5 by default: about the square-root staffing rule; a target on
``wait_share`` at that pool sets it). A variable that sizes several pools (a street template:
one pool per street) takes the largest of their bounds, scaled by how many heads one step of
the variable adds to each pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_WAIT = 0.5
"""The Erlang C probability of waiting of the first guess, without a wait target."""


def erlang_b(c: int, a: float) -> float:
    """Erlang B blocking probability of ``c`` servers at offered load ``a`` (recursive, stable)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c at offered load ``a`` (1 when ``c <= a``)."""
    if c <= a:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def least_servers(a: float, wait: float = DEFAULT_WAIT) -> int:
    """The least ``c`` with ``erlang_c(c, a) <= wait`` (at least ``floor(a) + 1``)."""
    c = math.floor(a) + 1
    while erlang_c(c, a) > wait:
        c += 1
    return c


@dataclass(frozen=True)
class Bound:
    """One variable's start: offered load of its most loaded pool and the values it implies."""

    path: str
    offered_load: float
    """Offered load (staff) of the variable's most loaded pool, per head one step adds."""
    least_stable: float | int
    erlang_c_guess: float | int


def pool_loads(load: pd.DataFrame, warmup: float) -> pd.Series:
    """Offered load (busy staff-hours per on-shift hour) of every pool after the warm-up."""
    after = load[load["time"] >= warmup]
    g = after.groupby("pool", observed=True)
    return (g["busy"].sum() / g["on_shift"].sum()).replace([np.inf], np.nan).fillna(0.0)
