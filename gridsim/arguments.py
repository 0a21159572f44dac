"""Checks of the values that steer a run or an experiment (not the scenario's).

Seeds, worker counts, replication counts, the precision of ``replications="auto"``, the KPI it
watches, the policies of a comparison: a bad one is refused with a :class:`SettingError` before
any replication runs, in the user's words (which value, what is wrong, the closest valid KPI).
The Python API (:func:`~gridsim.replicate`, :func:`~gridsim.compare`, :func:`~gridsim.sweep`,
:func:`~gridsim.simulate`) and the command line use the same checks; the command line prints the
message as one line and exits with status 2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from numbers import Integral, Real
from typing import Any

from .model.hotline import COUNTERS
from .results import resident
from .results.appraisal import dept_kpis
from .results.hotline import call_kpis
from .results.kpis import KpiAccumulator
from .scenario.errors import closest
from .vocabulary import canonical


class SettingError(ValueError):
    """A value given to a run or an experiment that cannot work (the message says why)."""


def _whole(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise SettingError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        bound = "non-negative" if minimum == 0 else f"at least {minimum}"
        raise SettingError(f"{name} must be {bound}, got {value}")
    return int(value)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """A seed is a whole number ≥ 0 (NumPy's ``SeedSequence``), or None for the scenario's."""
    return None if seed is None else _whole(seed, name, 0)


def check_workers(workers: Any, name: str = "workers") -> int | None:
    """At least one local process, or None for one per core."""
    return None if workers is None else _whole(workers, name, 1)


def check_count(value: Any, name: str) -> int:
    """A count of replications, evaluations, ...: a whole number ≥ 1."""
    return _whole(value, name, 1)


def check_replications(replications: Any, name: str = "replications") -> int | str:
    """A whole number ≥ 1, or ``"auto"`` (until the precision is reached)."""
    if replications == "auto":
        return "auto"
    if isinstance(replications, str):
        raise SettingError(f"{name} must be a whole number or 'auto', got {replications!r}")
    return check_count(replications, name)


def check_fraction(value: Any, name: str, example: str) -> float:
    """A number strictly between 0 and 1 (a relative precision, a confidence level)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < float(value) < 1 \
            or math.isnan(float(value)):
        raise SettingError(f"{name} must be a number between 0 and 1 (exclusive), e.g. "
                           f"{example}, got {value!r}")
    return float(value)


@cache
def kpi_names() -> tuple[str, ...]:
    """The overall KPIs a run reports (``scope == "all"``), as the accumulator names them,
    and those of the 12345 front end (reported when a scenario has one)."""
    k = KpiAccumulator(0.0, 1.0, 1.0).kpis()
    calls = [m for m, scope, _ in call_kpis(dict.fromkeys(COUNTERS, 0.0)) if scope == "all"]
    depts = [m for m, scope, _ in dept_kpis(None) if scope == "all"]
    return (*k.loc[k["scope"] == "all", "metric"], *resident.CONDITIONAL, *calls, *depts)


def check_kpi(kpi: Any, name: str = "kpi") -> str:
    """One of :func:`kpi_names`; a misspelt one gets the closest valid name."""
    names = kpi_names()
    if isinstance(kpi, str) and canonical(kpi) in names:  # a 0.1 name is read as its new one
        return canonical(kpi)
    hint = closest(str(kpi), list(names))
    raise SettingError(f"{name} {kpi!r} is not a KPI" + (
        f" (did you mean '{hint}'?)" if hint else f"; the KPIs are {', '.join(names)}"))


def check_policies(policies: Sequence[str] | None, name: str = "policies") -> list[str] | None:
    """Policy names of a comparison: none empty, none twice (which are valid is the scenario's
    check)."""
    if policies is None:
        return None
    if isinstance(policies, str):
        raise SettingError(f"{name} must be a list of policy names, got the string {policies!r}")
    out = []
    for p in policies:
        if not isinstance(p, str) or not p.strip():
            raise SettingError(f"{name}: an empty policy name in {list(policies)!r}")
        if p.strip() in out:
            raise SettingError(f"{name}: {p.strip()!r} is listed twice")
        out.append(p.strip())
    return out


def check_experiment(replications: Any, seed: Any, precision: Any, kpi: Any,
                     max_replications: Any, level: Any, workers: Any) -> None:
    """Every value :func:`~gridsim.experiments.run.run_points` takes, checked together
    so a mistake is reported before the first replication."""
    auto = check_replications(replications) == "auto"
    check_seed(seed)
    check_workers(workers)
    check_kpi(kpi)
    check_fraction(level, "level", "0.95")
    if precision is not None:
        if not auto:
            raise SettingError("precision applies only with replications='auto' "
                               "(--replications auto)")
        check_fraction(precision, "precision", "0.05 for ±5 %")
    if max_replications is not None:
        if not auto:
            raise SettingError("max_replications applies only with replications='auto' "
                               "(--replications auto)")
        check_count(max_replications, "max_replications")
