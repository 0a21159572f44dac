"""Targets of a staffing optimisation: stochastic constraints on KPIs, decided at a confidence.

A target is written ``KPI>=VALUE`` or ``KPI<=VALUE``, optionally ``@ SCOPE``:

* no scope: the run's overall KPI (``on_time_rate>=0.95``);
* a KPI scope as in ``kpis.csv`` (``@ category=noise``, ``@ lead=street``, ``@ stage=arrival``);
* a unit level and a name pattern (``@ street=*``, ``@ department=*sanitation``,
  ``@ pool=*/enforcement``): the column of ``units.csv`` for **every** unit it matches, each
  its own constraint (every street, not the mean of the streets). A pattern matches a unit's
  full name (``Riverside/s3``) or its last part (``s3``).

Each constraint's mean over replications gets a Student-t interval at the Bonferroni level that
keeps the family-wise confidence at ``level`` across all constraints and units: it is *met* when
the interval lies on the right side of the bound, *violated* when it lies on the wrong side,
and *undecided* otherwise (more replications are then added, up to the limit).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..arguments import SettingError, check_kpi
from ..experiments.stats import bonferroni_level, t_interval
from ..results.units import unit_columns
from ..scenario.errors import closest
from ..vocabulary import UNIT_LEVELS, canonical

LEVELS = ("district", *UNIT_LEVELS, "city_department")
"""The unit levels a target's scope may name (``@ street=*``)."""
MET, VIOLATED, UNDECIDED, NO_DATA = "met", "violated", "undecided", "no data"
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*([^@\s]+)\s*(?:@\s*(.+?))?\s*$")


@dataclass(frozen=True)
class Target:
    """One target: ``metric sense bound`` over ``scope`` (a KPI scope or ``level=pattern``)."""

    metric: str
    sense: str
    bound: float
    scope: str = "all"
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        """``"on_time_rate>=0.9 @ street=*"`` -> a target; a malformed text is a
        :class:`~gridsim.arguments.SettingError`."""
        m = _TARGET.match(str(text))
        if not m:
            raise SettingError(f"--target {text!r} must look like KPI>=VALUE or KPI<=VALUE, "
                               "optionally followed by '@ SCOPE' (e.g. 'on_time_rate>=0.9 @ "
                               "street=*')")
        metric, sense, raw, scope = m.groups()
        try:
            bound = float(raw)
        except ValueError:
            raise SettingError(f"--target {text!r}: {raw!r} is not a number") from None
        if not np.isfinite(bound):
            raise SettingError(f"--target {text!r}: the bound must be a finite number")
        scope = (scope or "all").replace(" ", "")
        return cls(canonical(metric), sense, bound, scope, str(text).strip())

    @property
    def level(self) -> str | None:
        """The unit level of a per-unit target, else None."""
        head = self.scope.partition("=")[0]
        return head if head in LEVELS else None

    @property
    def pattern(self) -> str:
        return self.scope.partition("=")[2] or "*"

    @property
    def per_unit(self) -> bool:
        return self.level is not None

    @property
    def maximise(self) -> bool:
        """True for a lower bound (``>=``): more is better."""
        return self.sense == ">="

    def __str__(self) -> str:
        scope = "" if self.scope == "all" else f" @ {self.scope}"
        return f"{self.metric}{self.sense}{self.bound:g}{scope}"

    # ------------------------------------------------------------------ values
    def values(self, tables: dict[str, pd.DataFrame]) -> dict[str, float]:
        """This target's value per unit (``"all"`` or the KPI scope for a KPI target) in one
        replication's tables (``kpis``, ``units``)."""
        if not self.per_unit:
            k = tables["kpis"]
            hit = k[(k["metric"] == self.metric) & (k["scope"] == self.scope)]
            return {self.scope: float(hit["value"].iloc[0]) if len(hit) else np.nan}
        u = tables["units"]
        u = u[u["level"] == self.level]
        names = u["unit"].astype(str)
        last = names.str.rsplit("/", n=1).str[-1]
        hit = u[names.map(lambda n: fnmatch.fnmatchcase(n, self.pattern))
                | last.map(lambda n: fnmatch.fnmatchcase(n, self.pattern))]
        return dict(zip(hit["unit"].astype(str), hit[self.metric].astype(float), strict=True))

    def check(self, tables: dict[str, pd.DataFrame]) -> None:
        """Refuse a target that names a KPI, column, scope or unit the scenario's runs do not
        have (:class:`~gridsim.arguments.SettingError`, with the closest valid name)."""
        if not self.per_unit:
            check_kpi(self.metric, f"--target {self.text or self}: KPI")
            k = tables["kpis"]
            scopes = sorted(set(k.loc[k["metric"] == self.metric, "scope"]))
            if self.scope not in scopes:
                head = self.scope.partition("=")[0]
                if "=" in self.scope and head not in {s.partition("=")[0] for s in scopes}:
                    levels = ", ".join(LEVELS)
                    hint = closest(head, list(LEVELS))
                    raise SettingError(f"--target {self.text or self}: no scope or unit level "
                                       f"{head!r}" + (f" (did you mean '{hint}'?)" if hint else
                                                      f"; unit levels: {levels}"))
                hint = closest(self.scope, scopes)
                raise SettingError(f"--target {self.text or self}: the KPI has no scope "
                                   f"{self.scope!r}" + (f" (did you mean '{hint}'?)" if hint
                                                        else ""))
            return
        u = tables["units"]
        cols = unit_columns(u)
        if self.metric not in cols:
            hint = closest(self.metric, cols)
            raise SettingError(f"--target {self.text or self}: units have no column "
                               f"{self.metric!r}" + (f" (did you mean '{hint}'?)" if hint else
                                                     f"; columns: {', '.join(cols)}"))
        if not self.values(tables):
            units = u.loc[u["level"] == self.level, "unit"].astype(str).tolist()
            some = ", ".join(units[:5]) + (", ..." if len(units) > 5 else "")
            raise SettingError(f"--target {self.text or self}: no {self.level} matches "
                               f"{self.pattern!r}" + (f" (the {self.level} units: {some})"
                                                      if units else ""))

    def status(self, low: float, high: float, mean: float) -> str:
        """Met, violated or undecided, from an interval of the mean (NaN: undecided)."""
        if np.isnan(mean):  # no replication had a value (no case due in the unit)
            return NO_DATA
        if np.isnan(low):  # one replication: no interval yet
            return UNDECIDED
        if self.maximise:
            return MET if low >= self.bound else VIOLATED if high < self.bound else UNDECIDED
        return MET if high <= self.bound else VIOLATED if low > self.bound else UNDECIDED

    def slack(self, mean: float) -> float:
        """How far the mean is on the right side of the bound (negative: the wrong side)."""
        return mean - self.bound if self.maximise else self.bound - mean


def parse_targets(items: list[str | Target]) -> list[Target]:
    out = [t if isinstance(t, Target) else Target.parse(t) for t in items]
    seen = [str(t) for t in out]
    for t in seen:
        if seen.count(t) > 1:
            raise SettingError(f"--target {t}: given twice")
    return out


def judge(targets: list[Target], samples: list[dict[tuple[int, str], float]],
          level: float) -> pd.DataFrame:
    """Every constraint (target, unit) over the replications' values ``samples[r][(k, unit)]``:
    ``target`` (index), ``unit``, ``mean``, ``low``, ``high``, ``bound``, ``status``, at the
    family-wise ``level`` (Bonferroni across all constraints)."""
    keys = sorted({key for s in samples for key in s})
    per = bonferroni_level(level, max(len(keys), 1))
    rows = []
    for k, unit in keys:
        t = targets[k]
        ci = t_interval([s.get((k, unit), np.nan) for s in samples], per)
        rows.append((k, unit, ci.mean, ci.low, ci.high, t.bound, t.status(ci.low, ci.high,
                                                                            ci.mean)))
    return pd.DataFrame(rows, columns=["target", "unit", "mean", "low", "high", "bound",
                                       "status"])


def overall(judged: pd.DataFrame) -> str:
    """A candidate's status from its constraints: violated if any is, met if all are."""
    st = set(judged["status"]) - {NO_DATA}
    if VIOLATED in st:
        return "infeasible"
    if st <= {MET}:
        return "feasible"
    return "undecided"
