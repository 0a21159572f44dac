"""Per-unit variants of the categories: a street or community whose parameters differ
(:mod:`gridsim.scenario.profiles`) gets its own list of :class:`~.case.CategoryRuntime`
objects, one per category with the same ``index`` (the category's code), and the cases created
there carry the unit's variant as ``issue.cat``. Every piece of the lifecycle that reads
``issue.cat.solve``, ``.reopen``, ``.on_spot`` ... sees the unit's values with no change.

The work-time scale multiplies the case's own work draws when it is created (and a repeated
visit's fresh draw), so common random numbers hold: a slower unit works the same cases, longer.
Problem rates per unit change the arrival streams (:func:`unit_rates`): a street's rate is the
sum of its communities' and, when communities differ, a case's grid is drawn in proportion to
its community's rate of the case's category.

A plain-valued field added to :class:`~gridsim.scenario.unitparams.UnitParams` (and so to
profiles and every unit) replaces the :class:`~.case.CategoryRuntime` attribute of the same
name in the unit's variant with no code here; :data:`SPECIAL` ones are translated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..scenario.unitparams import UNIT_TIERS
from ..vocabulary import TIERS
from .case import CategoryRuntime
from .org import Organisation, Street

SCALED = tuple(t in UNIT_TIERS for t in TIERS)
SPECIAL = ("solve", "work_scale", "rate_scale", "rates")
"""Parameters that do not replace the runtime attribute of the same name as they are."""


def variant(base: CategoryRuntime, params: dict[str, Any]) -> CategoryRuntime:
    """``base`` with a unit's ``params`` (one category's entry of a resolved
    :data:`~gridsim.scenario.profiles.Flat`)."""
    if not params:
        return base
    v = copy.copy(base)
    solve = params.get("solve")
    if solve:
        v.solve = (1.0, *(solve.get(t, p) for t, p in zip(TIERS[1:], base.solve[1:],
                                                          strict=True)))
    for key, value in params.items():  # reopen, on_spot, any attribute of the same name
        if key not in SPECIAL and hasattr(base, key):
            setattr(v, key, value)
    scale = params.get("work_scale")
    if scale is not None and scale != 1:
        v.work_scale = tuple(scale if s else 1.0 for s in SCALED)
    v.rate_scale = params.get("rate_scale")
    v.rates = params.get("rates")
    return v


def attach_variants(cats: list[CategoryRuntime], org: Organisation) -> None:
    """Give every community whose street or own parameters differ its variant list."""
    for street in org.streets:
        if not street.params:
            continue
        own, comm = street.params
        made: dict[int, list[CategoryRuntime]] = {}
        for k, community in enumerate(street.communities):
            flat = comm.get(k, own)
            if not flat:
                continue
            key = id(flat)
            if key not in made:
                made[key] = [variant(c, flat.get(c.name, {})) for c in cats]
            community.cats = made[key]


def unit_rates(street: Street, cats: list[CategoryRuntime], base: list[float],
               rate: Callable[[CategoryRuntime], float]
               ) -> tuple[list[float], np.ndarray | None]:
    """A street stream's per-category rates with its units' parameters, and (when its
    communities' rates differ) each category's cumulative grid weights, ``[category, grid]``.

    ``base``: the rates without unit parameters (returned as they are when no unit of the street
    changes a rate: bit-identical); ``rate(variant)``: the street's rate of ``variant``'s
    category had the whole street that variant.
    """
    lists = [c.cats for c in street.communities]
    if all(v is None or all(x.rate_scale is None and x.rates is None for x in v) for v in lists):
        return base, None
    n_grids = len(street.grids)
    # per community, per category: the street-wide rate had every grid this community's values
    per = np.array([[rate(x) for x in (v or cats)] for v in lists])  # [community, category]
    if np.all(per == per[0]):
        return per[0].tolist(), None
    sizes = np.array([len(c.grids) for c in street.communities], dtype=float)
    share = sizes / n_grids
    rates = (per * share[:, None]).sum(axis=0)
    owner = np.repeat(np.arange(len(lists)), sizes.astype(np.int64))  # community of each grid
    weights = per[owner].T  # [category, grid]: every grid of a community weighs the same
    total = weights.sum(axis=1, keepdims=True)
    cum = np.cumsum(np.where(total > 0, weights / np.where(total > 0, total, 1), 1 / n_grids),
                    axis=1)
    cum[:, -1] = 1.0 + 1e-12
    return rates.tolist(), cum


def pick_grids(cum: np.ndarray, cats: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Grid indices for cases of categories ``cats``, drawn by ``u`` from each category's
    cumulative grid weights ``cum``."""
    grids = np.empty(len(cats), dtype=np.int64)
    for c in np.unique(cats):
        m = cats == c
        grids[m] = np.searchsorted(cum[c], u[m], side="right")
    return np.minimum(grids, cum.shape[1] - 1)
