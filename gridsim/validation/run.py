"""Holding the model to published figures: run every check over replications, and (with
knockouts) again with the mechanism each check is evidence for switched off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiments import compare
from ..scenario import Scenario, load_scenario
from ..scenario.loader import bundled_scenario
from .calibrate import expand_path
from .checks import Check

KNOCKOUT_COLUMNS = ("knockout", "knockout_simulated", "knockout_low", "knockout_high",
                    "knockout_passed")
"""The columns :func:`run_checks` adds with ``knockouts=True`` (empty for checks without one)."""


@dataclass(frozen=True)
class Measured:
    """One check measured once: the simulated mean (or effect) and its 95 % interval."""

    mean: float
    low: float
    high: float
    n: int
    passed: bool


BASE = "scenario"
"""The label of the scenario as published in a runner's experiments (effect variants are
labelled by their check's id)."""


@dataclass
class Runner:
    """Runs checks with shared settings. The checks of one scenario under the same overrides
    (none, or one knockout) and replication count share one experiment on common random
    numbers: the scenario once, and the variant of each effect check beside it."""

    fast: bool = False
    replications: int | None = None
    seed: int | None = None
    workers: int | None = None
    client: Any = None

    def __post_init__(self) -> None:
        self._plans: dict[tuple, dict[str, Check]] = {}
        self._cache: dict[tuple, Any] = {}

    def replications_for(self, check: Check) -> int:
        return self.replications or (check.fast_replications if self.fast
                                     else check.replications)

    def plan(self, check: Check, overrides: dict[str, Any] | None = None) -> tuple:
        """Put ``check`` (under ``overrides``) in its shared experiment; returns its key."""
        key = (check.scenario, _key(overrides), self.replications_for(check))
        checks = self._plans.setdefault(key, {})
        if check.id not in checks:
            checks[check.id] = check
            self._cache.pop(key, None)  # planned after its experiment ran: run it again
        return key

    def _experiment(self, key: tuple, overrides: dict[str, Any] | None) -> Any:
        if key not in self._cache:
            checks = list(self._plans[key].values())
            base = _scenario(checks[0], overrides)
            variants = {c.id: _with(base, {**c.effect.set, **(overrides or {})})
                        for c in checks if c.effect is not None}
            self._cache[key] = compare({BASE: base, **variants}, replications=key[2],
                                       seed=self.seed, workers=self.workers,
                                       client=self.client)
        return self._cache[key]

    def measure(self, check: Check, overrides: dict[str, Any] | None = None) -> Measured:
        """``check`` on its scenario with ``overrides`` (a knockout) applied to every variant."""
        exp = self._experiment(self.plan(check, overrides), overrides)
        if check.effect is None:
            s = exp.summary
            hit = s[(s["point"] == BASE) & (s["metric"] == check.kpi)
                    & (s["scope"] == check.scope)]
            if hit.empty:
                raise KeyError(f"{check.id}: no KPI {check.kpi!r} with scope {check.scope!r}")
            r = hit.iloc[0]
            lo, hi = check.bounds()
            return Measured(r["mean"], r["low"], r["high"], int(r["n"]),
                            bool(lo <= r["mean"] <= hi))
        d = exp.contrast(check.id, BASE, check.kpi, check.scope)
        return Measured(d.mean, d.low, d.high, d.n, effect_passed(check, d.mean, d.low, d.high))

    def row(self, check: Check, knockout: bool = False) -> dict[str, Any]:
        """One row of the table: the check as published, and under its knockout if asked."""
        m = self.measure(check)
        row = _row(check, m)
        if knockout:
            k = self.measure(check, check.knockout) if check.knockout else None
            row |= {"knockout": knockout_text(check),
                    "knockout_simulated": k.mean if k else np.nan,
                    "knockout_low": k.low if k else np.nan,
                    "knockout_high": k.high if k else np.nan,
                    "knockout_passed": k.passed if k else None}
        return row


def effect_passed(check: Check, mean: float, low: float, high: float) -> bool:
    """An effect check passes when the 95 % interval of scenario − variant lies on the stated
    side of 0 and the mean difference clears ``min_effect`` (a practical size, not only a
    significant one)."""
    threshold = check.min_effect or 0.0
    if check.effect.direction == "lower":
        return bool(high < 0 and mean <= -threshold)
    return bool(low > 0 and mean >= threshold)


def _scenario(check: Check, overrides: dict[str, Any] | None = None) -> Scenario:
    return overridden(bundled_scenario(check.scenario), overrides or {})


def overridden(scenario: Scenario | Path, overrides: dict[str, Any]) -> Scenario:
    """``scenario`` (or the file) with ``overrides`` applied, a ``*`` in a path matching every
    key at its level (a knockout); a bad path or value raises ScenarioError."""
    s = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return _with(s, overrides) if overrides else s


def _with(s: Scenario, overrides: dict[str, Any]) -> Scenario:
    data = s.to_data()
    concrete = {p: v for path, v in overrides.items() for p in expand_path(data, path)}
    return s.with_overrides(concrete)


def _key(overrides: dict[str, Any] | None) -> str:
    return repr(sorted((overrides or {}).items()))


def run_check(check: Check, fast: bool = False, replications: int | None = None,
              seed: int | None = None, knockout: bool = False, workers: int | None = None,
              client: Any = None) -> dict[str, Any]:
    """Run one check (and, with ``knockout``, again under its knockout): one row of
    :func:`run_checks`'s table as a dict."""
    return Runner(fast, replications, seed, workers, client).row(check, knockout)


def run_checks(checks: list[Check], fast: bool = False, replications: int | None = None,
               seed: int | None = None, workers: int | None = None, client: Any = None,
               progress: Callable[[str], None] | None = None,
               knockouts: bool = False) -> pd.DataFrame:
    """Run ``checks`` (sharing replications between value checks of the same scenario) and
    return one row per check: published value, simulated mean and interval, tolerance,
    pass/fail. With ``knockouts`` each check that names a knockout is run again with it applied
    (to both variants of an effect check): the columns :data:`KNOCKOUT_COLUMNS`."""
    runner = Runner(fast, replications, seed, workers, client)
    for check in checks:  # first plan, so that checks of one scenario share one experiment
        runner.plan(check)
        if knockouts and check.knockout:
            runner.plan(check, check.knockout)
    rows = []
    for check in checks:
        if progress:
            progress(check.id)
        rows.append(runner.row(check, knockouts))
    return pd.DataFrame(rows)


def _row(check: Check, m: Measured) -> dict[str, Any]:
    if check.effect is None:
        lo, hi = check.bounds()
        tolerance = f"{lo:.4g} … {hi:.4g}"
    else:
        tolerance = _effect_text(check)
    return {"check": check.id, "kind": check.kind, "source": check.source,
            "kpi": check.kpi if check.scope == "all" else f"{check.kpi} [{check.scope}]",
            "published": check.value if check.effect is None else check.effect.direction,
            "simulated": m.mean, "low": m.low, "high": m.high, "n": m.n,
            "tolerance": tolerance, "passed": m.passed, "mechanism": check.mechanism,
            "known_failure": check.known_failure}


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`run_checks` table that count as failures: missed figures that are
    not declared known failures (``known_failure`` in metrics.yaml)."""
    known = table["known_failure"].fillna("").astype(bool) if "known_failure" in table else False
    return table[~table["passed"] & ~known]


def survivors(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a ``knockouts=True`` table whose check still passes under its knockout: a
    check that cannot fail when its mechanism is switched off is no evidence for it."""
    if "knockout_passed" not in table:
        return table.iloc[:0]
    return table[table["knockout_passed"].fillna(False).astype(bool)]


def knockout_text(check: Check) -> str:
    """The knockout as ``path=value`` pairs (empty when the check has none)."""
    return ", ".join(f"{p}={v}" for p, v in (check.knockout or {}).items())


def _effect_text(check: Check) -> str:
    changes = check.effect.set
    by = f" by ≥ {check.min_effect:g}" if check.min_effect else ""
    if len(changes) == 1:
        (path, value), = changes.items()
        return f"{check.effect.direction}{by} than with {path}={value}"
    return f"{check.effect.direction}{by} than with {len(changes)} changes (metrics.yaml)"
