"""How long a scenario's warm-up should be, from replicated runs that start empty.

:func:`study_warmup` runs the scenario with no warm-up, reads each replication's open cases per
day (:func:`open_cases_per_day`) and hands the series to :func:`~.stats.suggest_warmup` (MSER-5,
or MSER-5 on Welch's moving average). ``gridsim warmup`` prints its answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..arguments import SettingError, check_count
from ..scenario import Scenario
from .experiment import Experiment
from .run import replicate
from .stats import suggest_warmup

METHODS = ("mser5", "welch")


@dataclass(frozen=True)
class WarmupSuggestion:
    """A suggested warm-up and what it was read from."""

    hours: float
    method: str
    replications: int
    series: np.ndarray
    """Open cases at the end of each day: one row per replication, one column per day."""

    @property
    def days(self) -> float:
        return self.hours / 24.0


def open_cases_per_day(exp: Experiment) -> np.ndarray:
    """The open cases at the end of each day of every replication of ``exp`` (one row each)."""
    daily = exp.tables["daily"].drop_duplicates(["replication", "day"])
    return daily.pivot(index="replication", columns="day", values="open").to_numpy()


def study_warmup(scenario: Scenario, replications: int = 5, seed: int | None = None,
                 method: str = "mser5", *, workers: int | None = None, client: Any = None,
                 progress: Callable[[int, int], None] | None = None) -> WarmupSuggestion:
    """Suggest a warm-up for ``scenario`` from ``replications`` runs of it without one."""
    if method not in METHODS:
        raise SettingError(f"method {method!r} is not one of {', '.join(METHODS)}")
    check_count(replications, "replications")
    exp = replicate(scenario.with_overrides({"warmup": "0d"}), replications, seed,
                    workers=workers, client=client, progress=progress)
    series = open_cases_per_day(exp)
    return WarmupSuggestion(suggest_warmup(series, 24.0, method), method, exp.replications,
                            series)
