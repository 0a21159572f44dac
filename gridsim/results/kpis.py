"""Key performance indicators of one run, as a tidy table (``metric, scope, value, unit``).

Cases created during the warm-up (and an initial backlog) are excluded from every KPI except
``backlog_end``, which counts all cases still open when the clock stops. Resolution time runs
from discovery (found on patrol, or the resident's call) to closure, the span a resident waits.

There is one implementation, :class:`KpiAccumulator`: it is fed the record chunks of a run
(dicts of NumPy columns, see :mod:`gridsim.model.records`) one at a time, in any order and in
any number of pieces, and pieces of one run merge. Counts are kept as integers; only the values
exact means and quantiles need are kept per case (the resolution time of each closed case with
its category and source codes, about a dozen bytes, and each department report time). Means and
quantiles are computed from the *sorted* values, so the KPIs are bit-identical however the rows
were chunked, streamed or sharded.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..model.records import Chunk, RunNames
from ..vocabulary import (
    ABOVE_STREET,
    KPIS,
    LEADS,
    SOURCES,
    STATES,
    TIERS,
    WHISTLE_RANGE,
    canonical,
)
from .chunks import chunk_from_frame, names_of
from .race import RaceCounts
from .resident import ResidentCounts
from .spread import on_time_spread
from .stages import StageCounts
from .states import REJECTED, StateCounts
from .units import Masks, UnitCounts

SOLVED_TIERS = TIERS
GROUPS = ("category", "source", "lead")

# per-scope counters (rows of KpiAccumulator._scope)
_CASES, _CLOSED, _DUE, _ON_TIME = range(4)


def on_time_of(deadline: np.ndarray, t_closed: np.ndarray, closed: np.ndarray,
            horizon: float, excluded: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """The one definition of "on time", used by the KPIs, the issue table and ``units.csv``.

    A case is *due* when its deadline falls within the run (``deadline <= horizon``); a due case
    is on time when it was closed by its deadline, and late otherwise (closed after it, or still
    open at the end: overdue). A case whose deadline lies beyond the end is undecided: counting
    it would favour the cases that happened to close quickly. A case in ``excluded`` (ever
    suspended, 挂账) is never due. Returns ``(due, on_time)``.
    """
    with np.errstate(invalid="ignore"):
        due = deadline <= horizon
        if excluded is not None:
            due &= ~excluded
        return due, due & closed & (t_closed <= deadline)


class KpiAccumulator:
    """Mergeable, chunk-wise KPIs of one run.

    ``add(chunk)`` counts a chunk of record rows; ``merge(other)`` adds another accumulator of
    the same run (other chunks, or other districts: a shard); ``kpis()`` gives the KPI table.
    The category names, leads and grids come from ``names`` (or :meth:`begin`, so an
    accumulator can be a sink of :func:`gridsim.model.simulation.run_model`).

    It also keeps what ``units.csv`` needs per unit (:class:`~gridsim.results.units.UnitCounts`),
    so the per-unit tables need no issue table.
    """

    def __init__(self, warmup: float, horizon: float, report_deadline: float,
                 names: RunNames | None = None):
        self.warmup, self.horizon, self.report_deadline = warmup, horizon, report_deadline
        self.names: RunNames | None = None
        self._scope = np.zeros((4, 0), dtype=np.int64)
        self._solved = np.zeros(len(TIERS), dtype=np.int64)
        self._entered = np.zeros(len(TIERS), dtype=np.int64)
        self._in_range = 0
        self._in_range_closed = 0
        self._left_street = 0
        self._sums = {"whistles": 0, "escalations": 0, "bounces": 0, "two_way": 0}
        self._reopened = 0
        self._report_on_time = 0
        self._states = np.zeros(len(STATES), dtype=np.int64)
        self._rt: list[np.ndarray] = []
        self._rt_cat: list[np.ndarray] = []
        self._rt_src: list[np.ndarray] = []
        self._report: list[np.ndarray] = []
        self._sorted: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._race = RaceCounts()  # the discovery race's counters
        self._stages = StageCounts()  # stage limits: per stage, due, on time, durations
        self._units = UnitCounts()  # units.csv: counters per unit (gridsim.results.units)
        self._case_states = StateCounts()  # extension, suspension, rejection, supervision
        self._resident = ResidentCounts()  # the resident's side (gridsim.results.resident)
        if names is not None:
            self.begin(names)

    # ------------------------------------------------------------------ feeding
    def begin(self, names: RunNames) -> None:
        """Set what the codes stand for (before the first chunk)."""
        self.names = names
        n_cat = len(names.categories)
        self._lead = np.array([LEADS.index(x) for x in names.leads], dtype=np.int64)
        self._scope = np.zeros((4, 1 + n_cat + len(SOURCES) + len(LEADS)), dtype=np.int64)
        self._race.begin(self._scope.shape[1])
        self._stages.begin(n_cat)
        self._case_states.begin(self._scope.shape[1])
        self._resident.begin(self._scope.shape[1])
        self._units.begin(names)

    def end(self) -> None:
        """Nothing to finish (the sink protocol of ``run_model``)."""

    def add(self, c: Chunk) -> None:
        """Count one chunk of record rows."""
        if self.names is None:
            raise RuntimeError("KpiAccumulator.add before begin(names)")
        self._sorted = None
        n_cat = len(self.names.categories)
        cat = c["category"].astype(np.int64)
        src = c["source"].astype(np.int64)
        state = c["state"]
        closed = state == 0
        t_closed = c["t_closed"]
        due, on_time = on_time_of(c["deadline"], t_closed, closed, self.horizon,
                                  c["suspensions"] > 0)
        cohort = c["t_created"] >= self.warmup
        done = cohort & closed

        # per scope: all, each category, each source, each lead
        lead = self._lead[cat]
        for row, mask in ((_CASES, cohort), (_CLOSED, done), (_DUE, cohort & due),
                          (_ON_TIME, cohort & due & on_time)):
            self._scope[row] += np.concatenate([
                [np.count_nonzero(mask)], np.bincount(cat[mask], minlength=n_cat),
                np.bincount(src[mask], minlength=len(SOURCES)),
                np.bincount(lead[mask], minlength=len(LEADS))])

        self._race.add(c, cohort, done, cat, src, lead, n_cat)
        self._stages.add(c, cohort, cat, self.horizon)

        def keys(mask: np.ndarray) -> np.ndarray:
            return np.concatenate([
                [np.count_nonzero(mask)], np.bincount(cat[mask], minlength=n_cat),
                np.bincount(src[mask], minlength=len(SOURCES)),
                np.bincount(lead[mask], minlength=len(LEADS))])

        self._case_states.add(c, cohort, due, closed, keys)
        self._resident.add(c, cohort, done, cat, src, lead, n_cat)
        solved = c["solved_tier"][done].astype(np.int64)
        self._solved += np.bincount(solved[solved >= 0], minlength=len(TIERS))
        in_range = np.zeros(len(cat), dtype=bool)
        left = np.zeros(len(cat), dtype=bool)
        for i, tier in enumerate(TIERS[1:], start=1):
            entered = ~np.isnan(c[f"t_enter_{tier}"]) & cohort
            self._entered[i] += np.count_nonzero(entered)
            if tier in WHISTLE_RANGE:
                in_range |= entered
            if tier in ABOVE_STREET:
                left |= entered
        self._left_street += np.count_nonzero(left)
        self._in_range += np.count_nonzero(in_range)
        self._in_range_closed += np.count_nonzero(in_range & closed)
        for col in ("whistles", "escalations", "bounces"):
            self._sums[col] += int(c[col][cohort].sum(dtype=np.int64))
        self._sums["two_way"] += np.count_nonzero(c["two_way"][cohort])
        self._reopened += np.count_nonzero(c["reopens"][done] > 0)
        self._states += np.bincount(state.astype(np.int64), minlength=len(STATES))

        self._rt.append(t_closed[done] - c["t_discovered"][done])
        self._rt_cat.append(cat[done].astype(np.int16))
        self._rt_src.append(src[done].astype(np.int8))
        report = (c["t_dept_onsite"] - c["t_dept_called"])[cohort]
        report = report[~np.isnan(report)]
        self._report.append(report)
        self._report_on_time += np.count_nonzero(report <= self.report_deadline + 1e-9)

        # per unit (every case, warm-up included: load and fairness at the end)
        open_ = ~closed & (state != REJECTED)
        overdue = open_ & due
        self._units.add(c, Masks(cohort, closed, done, due, on_time, open_, overdue), cat)

    def add_all(self, chunks: Iterable[Chunk]) -> KpiAccumulator:
        for chunk in chunks:
            self.add(chunk)
        return self

    def merge(self, other: KpiAccumulator) -> KpiAccumulator:
        """Add ``other``'s counts to this one (in place; returns self).

        Both must count the same run (same categories). If they count the same grids (chunks
        of one run) the per-grid counts add up; if not, ``other`` is another shard and its
        grids are appended after this one's (merge shards in district order).
        """
        if other.names is None:
            return self
        if self.names is None:
            self.begin(RunNames(other.names.categories, other.names.leads, []))
        if other.names.categories != self.names.categories:
            raise ValueError("cannot merge KPIs of runs with different categories")
        self._sorted = None
        self._scope += other._scope
        self._solved += other._solved
        self._entered += other._entered
        self._in_range += other._in_range
        self._in_range_closed += other._in_range_closed
        self._left_street += other._left_street
        for k, v in other._sums.items():
            self._sums[k] += v
        self._reopened += other._reopened
        self._report_on_time += other._report_on_time
        self._race.merge(other._race)
        self._stages.merge(other._stages)
        self._case_states.merge(other._case_states)
        self._resident.merge(other._resident)
        self._states += other._states
        self._rt += other._rt
        self._rt_cat += other._rt_cat
        self._rt_src += other._rt_src
        self._report += other._report
        self._units.merge(other._units)
        if other.names.grids != self.names.grids:
            self.names = RunNames(self.names.categories, self.names.leads,
                                  [*self.names.grids, *other.names.grids])
        return self

    # ------------------------------------------------------------------ reading
    def _values(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Resolution times of closed cohort cases, sorted, with their category and source
        codes; and the sorted department report times."""
        if self._sorted is None:
            rt = np.concatenate(self._rt) if self._rt else np.empty(0)
            cat = np.concatenate(self._rt_cat) if self._rt_cat else np.empty(0, np.int16)
            src = np.concatenate(self._rt_src) if self._rt_src else np.empty(0, np.int8)
            order = np.argsort(rt, kind="stable")
            report = np.sort(np.concatenate(self._report)) if self._report else np.empty(0)
            self._rt, self._rt_cat, self._rt_src = [rt[order]], [cat[order]], [src[order]]
            self._units.reorder(order)
            self._report = [report]
            self._sorted = (self._rt[0], self._rt_cat[0], self._rt_src[0], report)
        return self._sorted

    @property
    def cases(self) -> int:
        """Every case recorded (warm-up included)."""
        return int(self._states.sum())

    def states(self) -> dict[str, int]:
        """Cases per state at the end, most frequent first."""
        pairs = sorted(zip(STATES, self._states.tolist(), strict=True), key=lambda p: -p[1])
        return dict(pairs)

    def resolution_times(self) -> pd.DataFrame:
        """Resolution time (hours) and lead of every closed case created after the warm-up,
        sorted by resolution time."""
        rt, cat, _, _ = self._values()
        lead = np.asarray(LEADS, dtype=object)[self._lead[cat.astype(np.int64)]] \
            if len(cat) else np.empty(0, dtype=object)
        return pd.DataFrame({"lead": pd.Categorical(lead, categories=list(LEADS)),
                             "resolution_time": rt})

    def kpis(self) -> pd.DataFrame:
        """All KPIs; ``scope`` is ``all`` or ``<group>=<value>``."""
        names = self.names or RunNames([], [], [])
        rt, rt_cat, rt_src, report = self._values()
        scope = self._scope if self._scope.shape[1] else np.zeros(
            (4, 1 + len(SOURCES) + len(LEADS)), dtype=np.int64)
        n_cat = len(names.categories)
        rows: list[tuple[str, str, float]] = []
        rejected = self._case_states.rejected(scope.shape[1])
        solved = self._resident.solved(scope.shape[1])  # closed and solved in fact
        rows += [(m, "all", v)
                 for m, v in self._block(scope[:, 0], rt, solved[0], int(rejected[0]))]
        rows.append(("on_time_spread", "all", on_time_spread(self._units)))

        n, n_closed = int(scope[_CASES, 0]), int(scope[_CLOSED, 0])
        for i, tier in enumerate(SOLVED_TIERS):
            share = int(self._solved[i]) / n_closed if n_closed else np.nan
            rows.append((f"solved_share_{tier}", "all", share))
        for i, tier in enumerate(SOLVED_TIERS):
            rows.append((f"solved_count_{tier}", "all", float(self._solved[i])))
        # the funnel: how far up the tiers cases went (Bazhong's "whistle range" is tiers 2-4,
        # i.e. the street and above)
        for i, tier in enumerate(SOLVED_TIERS[1:], start=1):
            rows.append((f"entered_share_{tier}", "all",
                         int(self._entered[i]) / n if n else np.nan))
        in_range = self._in_range
        rows += [
            ("whistle_range_count", "all", float(in_range)),
            ("whistle_range_share", "all", in_range / n if n else np.nan),
            ("whistle_range_solved_share", "all",
             self._in_range_closed / in_range if in_range else np.nan),
            ("left_street_share", "all", self._left_street / n if n else np.nan),
        ]

        def per_case(col: str) -> float:
            return self._sums[col] / n if n else np.nan

        rows += [
            ("whistles", "all", float(self._sums["whistles"])),
            ("whistles_per_case", "all", per_case("whistles")),
            ("escalations_per_case", "all", per_case("escalations")),
            ("reroutes_per_case", "all", per_case("bounces")),
            ("reopen_rate", "all", self._reopened / n_closed if n_closed else np.nan),
            ("two_way_dispatch_share", "all", per_case("two_way")),
        ]
        rows += [
            ("dept_report_time_mean", "all", float(report.mean()) if len(report) else np.nan),
            ("dept_report_on_time_rate", "all",
             self._report_on_time / len(report) if len(report) else np.nan),
        ]
        states = self._states
        rows += [
            ("backlog_end", "all", float(states[1] + states[2])),
            ("backlog_end_waiting", "all", float(states[2])),
            ("backlog_end_in_progress", "all", float(states[1])),
        ]
        rows += self._race.rows(scope[_CASES], names)
        groups = (("category", names.categories, rt_cat, 1),
                  ("source", SOURCES, rt_src, 1 + n_cat),
                  ("lead", LEADS, self._lead[rt_cat.astype(np.int64)] if n_cat else rt_cat,
                   1 + n_cat + len(SOURCES)))
        for group, values, codes, first in groups:
            for k, value in enumerate(values):
                col = scope[:, first + k]
                if col[_CASES]:
                    rows += [(m, f"{group}={value}", v) for m, v in self._block(
                        col, rt[codes == k], solved[first + k], int(rejected[first + k]))]
        rows += self._stages.rows(names)
        rows += self._case_states.rows(scope[_CASES], scope[_DUE], names)
        rows += self._resident.rows(scope[_CASES], scope[_CLOSED], names)
        out = pd.DataFrame(rows, columns=["metric", "scope", "value"])
        out["value"] = out["value"].astype(float)
        out["unit"] = [KPIS[m].unit for m in out["metric"]]  # every KPI is in the catalogue
        return out

    @staticmethod
    def _block(col: np.ndarray, rt: np.ndarray, solved: int, rejected: int = 0
               ) -> list[tuple[str, float]]:
        """The KPIs that make sense for any subset of cases (``rt`` sorted; ``solved``: its
        cases closed and solved in fact; ``rejected`` cases, not filed, leave the resolution
        rate)."""
        n, closed, due, on_time = (int(x) for x in col)
        rows: list[tuple[str, float]] = [("cases", float(n))]
        rows += _time_stats(rt)
        rows.append(("on_time_rate", on_time / due if due else np.nan))
        filed = n - rejected
        rows.append(("resolution_rate", int(solved) / filed if filed else np.nan))  # in fact
        return rows


def _time_stats(v: np.ndarray) -> list[tuple[str, float]]:
    if len(v) == 0:
        return [(f"resolution_time_{k}", np.nan) for k in ("mean", "median", "p90", "p95")]
    q50, q90, q95 = np.quantile(v, [0.5, 0.9, 0.95])
    return [("resolution_time_mean", float(v.mean())),
            ("resolution_time_median", float(q50)),
            ("resolution_time_p90", float(q90)),
            ("resolution_time_p95", float(q95))]


def compute_kpis(issues: pd.DataFrame, warmup: float, horizon: float,
                 report_deadline: float) -> pd.DataFrame:
    """All KPIs of an issue table (``result.issues`` or a read ``issues.parquet``), e.g. with
    another warm-up. Runs use :class:`KpiAccumulator` directly."""
    names = names_of(issues)
    acc = KpiAccumulator(warmup, horizon, report_deadline, names)
    acc.add(chunk_from_frame(issues, names))
    return acc.kpis()


def kpi(kpis: pd.DataFrame, metric: str, scope: str = "all") -> float:
    """One KPI's value (``kpi(result.kpis, "resolution_time_mean", "lead=department")``).

    A KPI name of gridsim 0.1 (``whistles_per_issue``) is read as its new name."""
    hit = kpis[(kpis["metric"] == canonical(metric)) & (kpis["scope"] == scope)]
    if hit.empty:
        raise KeyError(f"no KPI {metric!r} with scope {scope!r}")
    return float(hit["value"].iloc[0])
