"""Holding the model to published figures: run every check over replications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..experiments import compare, replicate
from ..scenario import Scenario, load_scenario
from ..scenario.loader import bundled_scenario
from .checks import Check


@dataclass
class Outcome:
    check: Check
    mean: float
    low: float
    high: float
    n: int
    passed: bool
    note: str = ""


def _scenario(check: Check) -> Scenario:
    return load_scenario(bundled_scenario(check.scenario))


def run_checks(checks: list[Check], fast: bool = False, replications: int | None = None,
               seed: int | None = None, workers: int | None = None, client: Any = None,
               progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run ``checks`` (sharing replications between checks of the same scenario) and return
    one row per check: published value, simulated mean and interval, tolerance, pass/fail."""
    cache: dict[tuple, Any] = {}
    rows = []
    for check in checks:
        n = replications or (check.fast_replications if fast else check.replications)
        if progress:
            progress(check.id)
        if check.effect is None:
            key = (check.scenario, n)
            if key not in cache:
                cache[key] = replicate(_scenario(check), n, seed, workers=workers,
                                       client=client)
            exp = cache[key]
            s = exp.summary
            hit = s[(s["metric"] == check.kpi) & (s["scope"] == check.scope)]
            if hit.empty:
                raise KeyError(f"{check.id}: no KPI {check.kpi!r} with scope {check.scope!r}")
            r = hit.iloc[0]
            lo, hi = check.bounds()
            passed = bool(lo <= r["mean"] <= hi)
            rows.append(_row(check, r["mean"], r["low"], r["high"], int(r["n"]), passed,
                             f"{lo:.4g} … {hi:.4g}"))
        else:
            base = _scenario(check)
            variant = base.with_overrides(check.effect.set)
            exp = compare({"scenario": base, "variant": variant}, replications=n, seed=seed,
                          workers=workers, client=client)
            d = exp.contrast("variant", "scenario", check.kpi, check.scope)
            passed = d.high < 0 if check.effect.direction == "lower" else d.low > 0
            rows.append(_row(check, d.mean, d.low, d.high, d.n, bool(passed),
                             _effect_text(check)))
    return pd.DataFrame(rows)


def _row(check: Check, mean, low, high, n, passed, tolerance: str) -> dict[str, Any]:
    return {"check": check.id, "kind": check.kind, "source": check.source,
            "kpi": check.kpi if check.scope == "all" else f"{check.kpi} [{check.scope}]",
            "published": check.value if check.effect is None else check.effect.direction,
            "simulated": mean, "low": low, "high": high, "n": n, "tolerance": tolerance,
            "passed": passed, "mechanism": check.mechanism,
            "known_failure": check.known_failure}


def failures(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a :func:`run_checks` table that count as failures: missed figures that are
    not declared known failures (``known_failure`` in metrics.yaml)."""
    known = table["known_failure"].fillna("").astype(bool) if "known_failure" in table else False
    return table[~table["passed"] & ~known]


def _effect_text(check: Check) -> str:
    changes = check.effect.set
    if len(changes) == 1:
        (path, value), = changes.items()
        return f"{check.effect.direction} than with {path}={value}"
    return f"{check.effect.direction} than with {len(changes)} changes (metrics.yaml)"
