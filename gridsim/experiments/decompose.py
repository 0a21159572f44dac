"""Which mechanism buys what: a KPI's difference between two scenarios shared out among the
mechanisms that differ between them.

The whistle halves the resolution time of the baseline; but it changes routing, joint work,
forwarding, report times, retries and returns at once. :func:`decompose` runs A with the
mechanisms (:mod:`gridsim.experiments.mechanisms`) switched to B's one at a time and in
combination, every coalition a variant of one experiment on common random numbers
(:func:`~gridsim.experiments.run.run_points`: the same seeds, workers or Dask, resume), and
gives each mechanism its Shapley value of the difference:

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (k − |S| − 1)! / k! · (v(S ∪ {i}) − v(S))

where v(S) is the KPI with the mechanisms in S switched. With k ≤ 5 mechanisms every one of
the 2^k coalitions runs (``method="factorial"``: exact); with more, orderings are sampled
(``method="shapley"``: k cyclic shifts of each random ordering, so each mechanism comes first
and last equally often) and φ_i is the mean of its marginal contributions along them; one given
``order`` gives the sequential decomposition along it (an asymmetric Shapley value).

Each replication gives its own decomposition, on its own seed; the interval of a contribution
is the Student-t interval over replications of these paired values. The contributions sum to
the total difference v(N) − v(∅) = B − A exactly, in every replication (efficiency).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arguments import SettingError, check_kpi
from ..results.io import atomic_write_text
from ..scenario import Scenario
from ..vocabulary import canonical, format_value, unit_of
from .experiment import DEFAULT_KPI, Experiment, Point
from .mechanisms import Mechanism, Pair
from .run import run_points
from .stats import Interval, t_interval

FACTORIAL_MAX = 5
"""Up to this many mechanisms the default method runs the full factorial."""
FACTORIAL_LIMIT = 10
"""The most mechanisms ``method="factorial"`` accepts (2^10 coalitions)."""
METHODS = ("auto", "factorial", "shapley", "sequential")
COLUMNS = ["mechanism", "contribution", "low", "high", "share", "alone", "settings"]


@dataclass
class Decomposition:
    """A KPI's difference B − A shared out among mechanisms.

    ``table``: one row per mechanism (``contribution`` and its interval ``low``, ``high``;
    ``share`` of the total; ``alone``: the effect of switching it alone on A, NaN where no
    ordering measured it; ``settings``: what it switches). ``per_replication``: each
    replication's contributions (one column per mechanism, and ``total``).
    """

    kpi: str
    unit: str
    method: str
    level: float
    a: str
    b: str
    a_mean: float
    b_mean: float
    total: Interval
    table: pd.DataFrame
    per_replication: pd.DataFrame
    mechanisms: list[Mechanism]
    orderings: int
    experiment: Experiment
    notes: list[str] = field(default_factory=list)

    def write_csv(self, path: str | Path) -> Path:
        """The table as CSV, with a last row for the total."""
        total = pd.DataFrame([{"mechanism": "total", "contribution": self.total.mean,
                               "low": self.total.low, "high": self.total.high, "share": 1.0,
                               "settings": f"{self.b} minus {self.a}"}])
        table = pd.concat([self.table, total], ignore_index=True)
        atomic_write_text(path, table.to_csv(index=False))
        return Path(path)


def decompose(a: Scenario, b: Scenario | None = None, kpi: str = DEFAULT_KPI,
              replications: int = 10, seed: int | None = None, *,
              policies: Sequence[str] | None = None,
              groups: Mapping[str, Iterable[str]] | None = None, method: str = "auto",
              permutations: int | None = None, order: Sequence[str] | None = None,
              scope: str = "all", level: float = 0.95, **kw: Any) -> Decomposition:
    """Share ``kpi``'s difference B − A among the mechanisms that differ between ``a`` and
    ``b`` (or between two ``policies`` of ``a``), with intervals over ``replications``.

    ``groups``: ``{name: [dotted path or policy mechanism, ...]}`` (a path covers everything
    below it) switched together; every other difference is grouped automatically.
    ``method``: ``auto`` (factorial up to :data:`FACTORIAL_MAX` mechanisms, else shapley),
    ``factorial``, ``shapley`` (``permutations`` orderings, default k) or ``sequential`` (along
    ``order``, every mechanism named once). ``kw`` goes to
    :func:`~gridsim.experiments.run.run_points` (``workers``, ``client``, ``out``,
    ``progress``, ...).
    """
    kpi = check_kpi(canonical(kpi), "kpi")
    a, b = _pair_of(a, b, policies)
    pair = Pair(a, b, groups)
    mechs = pair.mechanisms
    k = len(mechs)
    method, perms = _plan(method, k, mechs, permutations, order, seed if seed is not None
                          else a.seed)
    orderings = math.factorial(k) if method == "factorial" else len(perms)
    masks = list(range(2 ** k)) if method == "factorial" else sorted(
        {sum(1 << j for j in p[:n]) for p in perms for n in range(k + 1)})
    points = [Point(_label(m, mechs, k), {x.name: bool(m >> j & 1)
                                          for j, x in enumerate(mechs)},
                    pair.scenario([j for j in range(k) if m >> j & 1], _label(m, mechs, k)))
              for m in masks]
    if not isinstance(replications, int) or isinstance(replications, bool):
        raise SettingError(f"replications must be a whole number, got {replications!r}")
    exp = run_points("decompose", points, replications, seed, kpi=kpi, level=level, **kw)
    values = _values(exp, masks, kpi, scope)
    if len(values) < 2:
        raise SettingError(f"{len(values)} complete replication(s) of every coalition: an "
                           "interval needs two or more")
    full = 2 ** k - 1
    phi = _shapley(values, k) if method == "factorial" else _along(values, perms, k)
    per = pd.DataFrame(phi, columns=[m.name for m in mechs], index=values.index)
    per["total"] = values[full] - values[0]
    return _result(exp, pair, per, values, method, orderings, kpi, scope, level)


def _pair_of(a: Scenario, b: Scenario | None, policies: Sequence[str] | None
             ) -> tuple[Scenario, Scenario]:
    if policies is not None:
        if b is not None:
            raise SettingError("give B or two policies of A, not both")
        if len(policies) != 2 or policies[0] == policies[1]:
            raise SettingError(f"policies must name two different policies, got "
                               f"{list(policies)!r}")
        return (a.with_overrides({"policy.name": policies[0]}),
                a.with_overrides({"policy.name": policies[1]}))
    if b is None:
        raise SettingError("decompose needs B, or two policies of A")
    return a, b


def _plan(method: str, k: int, mechs: list[Mechanism], permutations: int | None,
          order: Sequence[str] | None, seed: int) -> tuple[str, list[tuple[int, ...]]]:
    """The method and the orderings it averages over (every one for the factorial)."""
    if method not in METHODS:
        raise SettingError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if order is not None and method in ("auto", "sequential"):
        names = [m.name for m in mechs]
        if sorted(order) != sorted(names):
            raise SettingError(f"order must name every mechanism once: {', '.join(names)}")
        return "sequential", [tuple(names.index(n) for n in order)]
    if method == "sequential":
        raise SettingError("method sequential needs an order of the mechanisms")
    if order is not None:
        raise SettingError(f"an order applies only to method sequential, not {method}")
    if method == "auto":
        method = "factorial" if k <= FACTORIAL_MAX else "shapley"
    if permutations is not None and method != "shapley":
        raise SettingError(f"permutations apply only to method shapley (this is {method}, "
                           f"{k} mechanisms)")
    if method == "factorial":
        if k > FACTORIAL_LIMIT:
            raise SettingError(f"{k} mechanisms: a factorial of 2^{k} coalitions is too many; "
                               "use method shapley")
        return method, []
    n = k if permutations is None else int(permutations)
    if n < 1:
        raise SettingError(f"permutations must be at least 1, got {permutations!r}")
    rng = np.random.default_rng([seed, 0x5A])
    perms: list[tuple[int, ...]] = []
    while len(perms) < n:
        base = rng.permutation(k)
        perms += [tuple(int(x) for x in np.roll(base, -s)) for s in range(k)]
    return method, perms[:n]


def _label(mask: int, mechs: list[Mechanism], k: int) -> str:
    if mask == 0:
        return "A"
    if mask == 2 ** k - 1:
        return "B"
    return "A + " + " + ".join(m.name for j, m in enumerate(mechs) if mask >> j & 1)


def _values(exp: Experiment, masks: list[int], kpi: str, scope: str) -> pd.DataFrame:
    """KPI values: one row per replication every coalition finished, one column per mask."""
    k = exp.kpis[(exp.kpis["metric"] == kpi) & (exp.kpis["scope"] == scope)]
    if k.empty:
        raise SettingError(f"no KPI {kpi!r} with scope {scope!r} in the runs")
    wide = k.pivot_table(index="replication", columns="point", values="value")
    labels = [p.label for p in exp.points]
    wide = wide.reindex(columns=labels).dropna()
    wide.columns = masks
    return wide


def _shapley(values: pd.DataFrame, k: int) -> np.ndarray:
    """Exact Shapley values per replication from every coalition's value."""
    v = values.to_numpy()
    phi = np.zeros((len(v), k))
    for i in range(k):
        for s in range(2 ** k):
            if s >> i & 1:
                continue
            size = bin(s).count("1")
            w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            phi[:, i] += w * (v[:, values.columns.get_loc(s | 1 << i)]
                              - v[:, values.columns.get_loc(s)])
    return phi


def _along(values: pd.DataFrame, perms: list[tuple[int, ...]], k: int) -> np.ndarray:
    """Mean marginal contributions along the orderings, per replication."""
    v = values.to_numpy()
    col = {m: values.columns.get_loc(m) for m in values.columns}
    phi = np.zeros((len(v), k))
    for p in perms:
        mask = 0
        for i in p:
            phi[:, i] += v[:, col[mask | 1 << i]] - v[:, col[mask]]
            mask |= 1 << i
    return phi / len(perms)


def _result(exp: Experiment, pair: Pair, per: pd.DataFrame, values: pd.DataFrame, method: str,
            orderings: int, kpi: str, scope: str, level: float) -> Decomposition:
    mechs = pair.mechanisms
    total = t_interval(per["total"], level)
    rows = []
    for j, m in enumerate(mechs):
        ci = t_interval(per[m.name], level)
        alone = values[1 << j] - values[0] if 1 << j in values.columns else None
        rows.append((m.name, ci.mean, ci.low, ci.high,
                     ci.mean / total.mean if total.mean else np.nan,
                     float(alone.mean()) if alone is not None else np.nan, m.settings))
    table = pd.DataFrame(rows, columns=COLUMNS)
    notes = [_method_note(method, orderings, len(mechs))]
    if not (total.low > 0 or total.high < 0):
        notes.append(f"the total difference is not significant at {level:.0%}: shares of it "
                     "are not meaningful")
    alone = table["alone"]
    if alone.notna().all() and total.mean:
        gap = total.mean - float(alone.sum())
        unit = unit_of(kpi)
        notes.append("switched alone on A the mechanisms add up to "
                     f"{format_value(float(alone.sum()), unit, True)}; the remaining "
                     f"{format_value(gap, unit, True)} comes from their interactions, shared "
                     "out by the Shapley weights")
    if exp.failures:
        notes.append(f"{len(exp.failures)} run(s) failed: their replications are left out")
    a, b = (pair.a.name, pair.b.name) if pair.a.name != pair.b.name else \
        pair.names if pair.names[0] != pair.names[1] else ("A", "B")
    return Decomposition(kpi, unit_of(kpi), method, level, a, b,
                         float(values[0].mean()), float(values[2 ** len(mechs) - 1].mean()),
                         total, table, per.reset_index(), mechs, orderings, exp, notes)


def _method_note(method: str, orderings: int, k: int) -> str:
    if method == "factorial":
        return (f"full factorial: all {2 ** k} coalitions of {k} mechanisms, exact Shapley "
                "values (every ordering weighted equally)")
    if method == "sequential":
        return ("sequential along the given order (an asymmetric Shapley value): another "
                "order gives other shares wherever mechanisms interact")
    return (f"Shapley values estimated on {orderings} sampled orderings of {k} mechanisms; the "
            "intervals cover replication noise for these orderings, not the sampling of the "
            "orderings (compare a run with more --permutations)")


__all__ = ["Decomposition", "FACTORIAL_MAX", "METHODS", "decompose"]
