"""What a planner reads per unit: ``units.csv``, one row per grid, community, street, district,
department, city department and staff pool, whatever the record level.

Picture the organisation as a tree: a district holds streets, a street communities, a community
grids; beside the streets the district's departments, and the city departments the 12345 front
end sends work orders to. Each case belongs to the grid where it arose, and so to the
community, street and district above it; a case that reached the departments (a whistle, a
department-led category) also belongs to the department that leads its category, and a work
order the hotline dispatched to a city department to that department. Each row of the table
gives, for one unit, statistics of its cases; ``parent`` names the unit above (the community of
a grid, the street of a community, the district of a street or a department), so a report can
draw the tree.

Two parts make the table, both lists you extend with one line:

- :data:`COUNTERS`: integer counters kept per unit while the clock runs (by
  :class:`UnitCounts`, inside :class:`~gridsim.results.kpis.KpiAccumulator`, so at record level
  ``kpis`` too, and mergeable across chunks and shards). A counter is a function of the record
  chunk and the case masks (:class:`Masks`) giving a boolean mask (cases counted) or integer
  values (summed).
- :data:`STATS`: the columns, each a :class:`UnitStat` computing one value per unit from the
  counters and the resolution times (:class:`UnitView`): ``UnitStat("satisfaction_rate",
  lambda u: u.ratio("satisfied", "surveyed"))`` adds a column once ``satisfied`` and
  ``surveyed`` are counters. ``levels`` limits a column to some levels (NaN elsewhere), e.g. a
  department appraisal score.

The mean and p90 resolution time of a unit come from the resolution times of its closed cases,
which the accumulator already keeps (sorted) with their category; it keeps each one's grid and
whether it reached the departments or a city department too (five bytes a case). Counting the
same rows in any chunks or shards gives bit-identical tables.

Cohorts: ``cases``, ``open_end`` and ``overdue_end`` count every case (warm-up included: load at
the end, as before); ``closed``, ``due``, ``on_time_rate`` and the resolution times count the
cases created after the warm-up, as the KPIs do, with the one definition of on time
(:func:`~gridsim.results.kpis.on_time_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.records import Chunk, RunNames

CITY_DEPT = 2
"""The ``dispatched_to`` code of a work order sent to a city department (``RECEIVERS``)."""
CALLED, CITY = 1, 2
"""Bits of a case's route: it reached the district departments; the hotline sent it to a city
department."""

CASE_LEVELS: tuple[str, ...] = ("district", "street", "community", "grid", "department",
                                "city_department")
"""The levels of ``units.csv`` whose rows count cases (the ``pool`` rows carry load only)."""


@dataclass(frozen=True, slots=True)
class Masks:
    """Per case of a chunk: what the accumulator already knows (boolean arrays)."""

    cohort: np.ndarray  # created after the warm-up
    closed: np.ndarray  # closed by the end (state closed)
    done: np.ndarray  # cohort & closed
    due: np.ndarray  # deadline within the run
    on_time: np.ndarray  # due and closed by its deadline
    open: np.ndarray  # not closed at the end
    overdue: np.ndarray  # open and due at the end


Counter = Callable[[Chunk, Masks], np.ndarray]

COUNTERS: dict[str, Counter] = {
    "cases": lambda c, m: np.ones(len(m.cohort), dtype=bool),
    "open_end": lambda c, m: m.open,
    "overdue_end": lambda c, m: m.overdue,
    "cohort": lambda c, m: m.cohort,
    "closed": lambda c, m: m.done,
    "due": lambda c, m: m.cohort & m.due,
    "on_time": lambda c, m: m.cohort & m.due & m.on_time,
}
"""Integer counters per unit, by name: a boolean mask of the cases counted, or integer values
summed (e.g. ``lambda c, m: np.where(m.cohort, c["reopens"], 0)``). Add one line per counter;
a column it needs must be in the record chunk at every level (``KPI_COLUMNS``)."""


class Times:
    """Sorted resolution times per unit: ``values`` grouped by unit, each group sorted, and
    each unit's ``start`` and ``count`` in it."""

    def __init__(self, values: np.ndarray, start: np.ndarray, count: np.ndarray):
        self.values, self.start, self.count = values, start, count

    def mean(self) -> np.ndarray:
        """Mean per unit (NaN without values)."""
        out = np.full(len(self.count), np.nan)
        some = self.count > 0
        if some.any():
            out[some] = np.add.reduceat(self.values, self.start[some]) / self.count[some]
        return out

    def quantile(self, q: float) -> np.ndarray:
        """The ``q`` quantile per unit, as :func:`numpy.quantile` (linear) computes it."""
        out = np.full(len(self.count), np.nan)
        some = self.count > 0
        if not some.any():
            return out
        n, s = self.count[some], self.start[some]
        virtual = q * (n - 1)
        lo = np.floor(virtual).astype(np.int64)
        hi = np.minimum(lo + 1, n - 1)
        t = virtual - lo
        a, b = self.values[s + lo], self.values[s + hi]
        diff = b - a
        out[some] = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
        return out


class UnitView:
    """One level's units: counters (``u["due"]``) and resolution times (``u.times``)."""

    def __init__(self, level: str, counts: dict[str, np.ndarray], times: Times):
        self.level, self.counts, self.times = level, counts, times

    def __getitem__(self, name: str) -> np.ndarray:
        return self.counts[name]

    def ratio(self, num: str, den: str) -> np.ndarray:
        """``num / den`` per unit (NaN where ``den`` is 0)."""
        a, b = self.counts[num], self.counts[den]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


@dataclass(frozen=True)
class UnitStat:
    """One column of ``units.csv``: its name, how to compute it per unit, the levels it
    applies to (None: all) and, for a name the KPI catalogue does not know, which direction
    is better (-1 smaller, +1 larger; :mod:`gridsim.results.ranking` asks
    :func:`gridsim.vocabulary.direction` first)."""

    name: str
    compute: Callable[[UnitView], np.ndarray]
    levels: tuple[str, ...] | None = None
    better: int = 0


STATS: list[UnitStat] = [
    UnitStat("cases", lambda u: u["cases"]),
    UnitStat("closed", lambda u: u["closed"]),
    UnitStat("due", lambda u: u["due"]),
    UnitStat("on_time_rate", lambda u: u.ratio("on_time", "due")),
    UnitStat("resolution_time_mean", lambda u: u.times.mean()),
    UnitStat("resolution_time_p90", lambda u: u.times.quantile(0.9)),
    UnitStat("overdue_end", lambda u: u["overdue_end"], better=-1),
    UnitStat("open_end", lambda u: u["open_end"], better=-1),
]
"""The case columns of ``units.csv``, in order (``utilisation``, ``queue_mean``, ``wait_share``
and ``wait_mean`` follow, from the staff pools). Add one line per column."""

LOAD_COLUMNS: dict[str, int] = {"utilisation": 0, "queue_mean": -1, "wait_share": -1,
                                "wait_mean": -1}
"""The load columns after :data:`STATS`, with their better direction."""


# ---------------------------------------------------------------------------- counting
class UnitCounts:
    """Counters per grid, and per district and category for the cases that reached the
    departments and those sent to city departments; plus, aligned with the accumulator's
    resolution times, each closed cohort case's grid code and route bits."""

    def __init__(self) -> None:
        self.grids: list[tuple[str, str, str, str]] = []
        self.districts: list[str] = []
        self.n_cat = 0
        self.grid = np.zeros((0, len(COUNTERS)), dtype=np.int64)
        self.dept = np.zeros((0, 0, len(COUNTERS)), dtype=np.int64)
        self.city = np.zeros((0, 0, len(COUNTERS)), dtype=np.int64)
        self._gdist = np.zeros(0, dtype=np.int64)
        self.rt_grid: list[np.ndarray] = []
        self.rt_route: list[np.ndarray] = []

    def begin(self, names: RunNames) -> None:
        self.grids = list(names.grids)
        self.n_cat = len(names.categories)
        self.districts = list(dict.fromkeys(g[3] for g in self.grids))
        index = {d: i for i, d in enumerate(self.districts)}
        self._gdist = np.array([index[g[3]] for g in self.grids], dtype=np.int64)
        k = len(COUNTERS)
        self.grid = np.zeros((len(self.grids), k), dtype=np.int64)
        self.dept = np.zeros((len(self.districts), self.n_cat, k), dtype=np.int64)
        self.city = np.zeros_like(self.dept)

    def add(self, c: Chunk, m: Masks, cat: np.ndarray) -> None:
        """Count one chunk (``cat``: category codes as int64)."""
        grid = c["grid"].astype(np.int64)
        called = ~np.isnan(c["t_dept_called"])
        to = c.get("dispatched_to")
        city = to == CITY_DEPT if to is not None else np.zeros(len(grid), dtype=bool)
        key = self._gdist[grid] * self.n_cat + cat
        n_key = len(self.districts) * self.n_cat
        scopes = [(self.grid, grid, None)]
        for table, sel in ((self.dept, called), (self.city, city)):
            if sel.any():
                scopes.append((table.reshape(n_key, -1), key[sel], sel))
        for j, counter in enumerate(COUNTERS.values()):
            v = counter(c, m)
            for table, codes, sel in scopes:
                table[:, j] += _count(codes, v if sel is None else v[sel], len(table))
        done = m.done
        self.rt_grid.append(c["grid"][done].astype(np.int32))
        self.rt_route.append((called[done] * CALLED + city[done] * CITY).astype(np.int8))

    def reorder(self, order: np.ndarray) -> None:
        """Put the per-case arrays in the accumulator's sorted order of resolution times."""
        g = np.concatenate(self.rt_grid) if self.rt_grid else np.empty(0, np.int32)
        r = np.concatenate(self.rt_route) if self.rt_route else np.empty(0, np.int8)
        self.rt_grid, self.rt_route = [g[order]], [r[order]]

    def merge(self, other: UnitCounts) -> None:
        """Add ``other``'s counts: the same grids (chunks of one run), or other districts (a
        shard, appended)."""
        if other.grids == self.grids:
            self.grid += other.grid
            self.dept += other.dept
            self.city += other.city
            self.rt_grid += other.rt_grid
            self.rt_route += other.rt_route
            return
        offset, n_dist = len(self.grids), len(self.districts)
        self.grids += other.grids
        self.districts += other.districts
        self._gdist = np.concatenate([self._gdist, other._gdist + n_dist])
        self.n_cat = other.n_cat
        self.grid = np.concatenate([self.grid, other.grid])
        self.dept = np.concatenate([self.dept, other.dept])
        self.city = np.concatenate([self.city, other.city])
        self.rt_grid += [(g.astype(np.int64) + offset).astype(np.int32) for g in other.rt_grid]
        self.rt_route += other.rt_route


def _count(codes: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Per code: the cases where ``v`` is true (a mask) or the sum of ``v`` (integers)."""
    if v.dtype == bool:
        return np.bincount(codes[v], minlength=n)
    return np.bincount(codes, weights=v, minlength=n).astype(np.int64)


# ---------------------------------------------------------------------------- the table
@dataclass
class Organisation:
    """What the case rows don't say about the units: each category's lead department and the
    city department owning it (``None``), and whether that crew is per district."""

    lead_department: list[str]
    city_department: list[str | None]
    city_per_district: list[bool]


def organisation_of(scenario, categories: list[str]) -> Organisation:
    """The :class:`Organisation` of ``scenario`` for the run's ``categories`` (in code order)."""
    cats = scenario.categories
    owner: dict[str, tuple[str, bool]] = {}
    for name, spec in scenario.city_departments.items():
        for c in spec.categories:
            owner[c] = (name, spec.per_district)
    return Organisation([cats[c].departments[0] for c in categories],
                        [owner[c][0] if c in owner else None for c in categories],
                        [owner[c][1] if c in owner else False for c in categories])


def case_units(acc, org: Organisation) -> pd.DataFrame:
    """The case rows of ``units.csv`` (every level of :data:`CASE_LEVELS`) from a
    :class:`~gridsim.results.kpis.KpiAccumulator`: ``level, unit, parent`` and the
    :data:`STATS` columns; units without cases are left out."""
    rt, rt_cat = acc._values()[:2]
    u: UnitCounts = acc._units
    rt_grid = u.rt_grid[0] if u.rt_grid else np.empty(0, np.int32)
    rt_route = u.rt_route[0] if u.rt_route else np.empty(0, np.int8)
    frames = []
    grids = pd.DataFrame(u.grids, columns=["grid", "community", "street", "district"])
    parents = {"district": None, "street": "district", "community": "street",
               "grid": "community"}
    for level, parent in parents.items():
        codes, names = pd.factorize(grids[level], sort=True)
        parent_of = (np.full(len(names), "", dtype=object) if parent is None else
                     grids[parent].groupby(codes).first().to_numpy(dtype=object))
        counts = _sum_rows(u.grid, codes, len(names))
        unit_of = codes[rt_grid.astype(np.int64)] if len(rt_grid) else np.empty(0, np.int64)
        frames.append(_level(level, np.asarray(names, dtype=object), parent_of, counts,
                             _times(rt, unit_of, len(names))))
    districts = np.asarray(u.districts, dtype=object)
    n_d, n_cat = len(districts), u.n_cat
    rt_dist = u._gdist[rt_grid.astype(np.int64)] if len(rt_grid) else np.empty(0, np.int64)
    key_d = np.repeat(np.arange(n_d), n_cat)
    key_c = np.tile(np.arange(n_cat), n_d)
    dept_names = np.array([f"{districts[d]}/{org.lead_department[c]}"
                           for d, c in zip(key_d, key_c, strict=True)], dtype=object)
    city_names = np.array([
        "" if org.city_department[c] is None else
        f"{districts[d]}/city_{org.city_department[c]}" if org.city_per_district[c] else
        f"city/{org.city_department[c]}" for d, c in zip(key_d, key_c, strict=True)],
        dtype=object)
    city_parent = np.array(["" if not org.city_per_district[c] else districts[d]
                            for d, c in zip(key_d, key_c, strict=True)], dtype=object)
    for level, names_k, parent_k, table, bit in (
            ("department", dept_names, districts[key_d] if n_d else dept_names,
             u.dept, CALLED),
            ("city_department", city_names, city_parent, u.city, CITY)):
        keep = names_k != ""
        codes, names = pd.factorize(names_k[keep], sort=True)
        full = np.full(len(names_k), -1, dtype=np.int64)
        full[keep] = codes
        parent_of = pd.Series(parent_k[keep]).groupby(codes).first().to_numpy(dtype=object) \
            if len(codes) else np.empty(0, dtype=object)
        flat = table.reshape(n_d * n_cat, len(COUNTERS))
        counts = _sum_rows(flat[keep], codes, len(names))
        sel = (rt_route & bit) > 0
        unit_of = np.full(len(rt), -1, dtype=np.int64)
        if sel.any():
            unit_of[sel] = full[rt_dist[sel] * n_cat + rt_cat[sel].astype(np.int64)]
        frames.append(_level(level, np.asarray(names, dtype=object), parent_of, counts,
                             _times(rt, unit_of, len(names))))
    out = pd.concat(frames, ignore_index=True)
    return out[out["cases"] > 0].reset_index(drop=True)


def _sum_rows(table: np.ndarray, codes: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Counter rows of ``table`` summed per unit code: ``{counter: per unit}``."""
    per = np.zeros((n, len(COUNTERS)), dtype=np.int64)
    if len(codes):
        np.add.at(per, codes, table)
    return {name: per[:, j] for j, name in enumerate(COUNTERS)}


def _times(rt: np.ndarray, unit: np.ndarray, n: int) -> Times:
    """The sorted resolution times ``rt`` grouped by ``unit`` (-1: none), each group sorted."""
    sel = unit >= 0
    unit, v = unit[sel], rt[sel]
    # rt is sorted, so a stable sort by unit keeps each group sorted (radix sort below 2**16)
    order = np.argsort(unit.astype(np.uint16) if n <= 1 << 16 else unit, kind="stable")
    count = np.bincount(unit, minlength=n)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return Times(v[order], start, count)


def _level(level: str, names: np.ndarray, parents: np.ndarray, counts: dict[str, np.ndarray],
           times: Times) -> pd.DataFrame:
    view = UnitView(level, counts, times)
    cols: dict[str, object] = {"level": level, "unit": names, "parent": parents}
    for s in STATS:
        if s.levels is None or level in s.levels:
            cols[s.name] = s.compute(view)
        else:
            cols[s.name] = np.full(len(names), np.nan)
    return pd.DataFrame(cols)


def with_load(units: pd.DataFrame, pools: pd.DataFrame, meter_unit: pd.Series) -> pd.DataFrame:
    """``units`` with ``utilisation``, ``queue_mean``, ``wait_share`` and ``wait_mean`` from
    the staff pools (:meth:`~gridsim.results.result.Result.pools`), and a ``pool`` row per pool
    (``kind``; ``parent``: the unit it is metered for).

    A department or city department has its own pool; a street or a district the utilisation
    of the busiest pool in it (its bottleneck), the mean queue of all its pools summed (cases
    waiting there) and the waits of all its pools' jobs together: ``wait_share`` the share of
    its pools' jobs that queued and ``wait_mean`` their mean wait (each pool's value weighted
    by its jobs; NaN without jobs); communities and grids have no pool of their own (NaN).
    """
    names = pools.index.astype(str)
    util = pd.Series(pools["utilisation"].to_numpy(), index=names)
    queue = pd.Series(pools["queue_mean"].to_numpy(), index=names)
    w = pools.reindex(columns=["jobs", "wait_share", "wait_mean"]).astype(float)  # NaN: absent
    w.index = names
    jobs = w["jobs"]
    waits = {c: w[c] for c in ("wait_share", "wait_mean")}
    out = units.copy()
    out["kind"] = np.nan
    out["utilisation"] = np.nan
    out["queue_mean"] = np.nan
    for c in waits:
        out[c] = np.nan
    own = out["level"].isin(["department", "city_department"])
    # (astype: a run without department rows maps an empty column of strings)
    out.loc[own, "utilisation"] = out.loc[own, "unit"].map(util).astype(float)
    out.loc[own, "queue_mean"] = out.loc[own, "unit"].map(queue).astype(float)
    for c, v in waits.items():
        out.loc[own, c] = out.loc[own, "unit"].map(v).astype(float)
    for level in ("street", "district"):
        rows = out["level"] == level
        for i in np.flatnonzero(rows.to_numpy()):
            prefix = out.at[i, "unit"] + "/"
            inside = names.str.startswith(prefix)
            if inside.any():
                out.at[i, "utilisation"] = float(util[inside].max())
                out.at[i, "queue_mean"] = float(queue[inside].sum())
                n = jobs[inside]
                if n.sum() > 0:
                    for c, v in waits.items():
                        out.at[i, c] = float((v[inside] * n).where(n > 0, 0.0).sum() / n.sum())
    parent = pd.Series(meter_unit.reindex(names).to_numpy(dtype=object), index=names)
    parent = parent.where(parent != names, "").fillna("")
    pool_rows = pd.DataFrame({"level": "pool", "unit": names, "parent": parent.to_numpy(),
                              "kind": pools["kind"].astype(str).to_numpy(),
                              "utilisation": util.to_numpy(), "queue_mean": queue.to_numpy(),
                              **{c: v.to_numpy() for c, v in waits.items()}})
    counts = [c for c in units.columns if pd.api.types.is_integer_dtype(units[c])]
    out = pd.concat([out, pool_rows], ignore_index=True)
    for c in counts:  # counts stay integers beside the pool rows' blanks
        out[c] = out[c].astype("Int64")
    stats = [s.name for s in STATS]
    return out[["level", "unit", "parent", "kind", *stats, *LOAD_COLUMNS]]


def unit_columns(units: pd.DataFrame) -> list[str]:
    """The numeric columns of a ``units.csv`` table present in ``units`` (what experiments
    average over replications), in table order."""
    known = [s.name for s in STATS] + list(LOAD_COLUMNS)
    return [c for c in known if c in units.columns]
