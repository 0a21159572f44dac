"""A district department's behaviour under the street's calls and its appraisal record: the
state of :mod:`gridsim.policies.appraisal`'s rule, kept in the department runtime.

Each department of each district has one :class:`DeptState`: its base ``report_rate`` and
``cooperation`` (the scenario's), its current ones and travel-time factor (moved by the
policy's appraisal), running counts the street scores it on (every case), and the integer
counters of the KPIs (cases created after the warm-up, :data:`COUNTERS`), which
:func:`gridsim.results.appraisal.dept_kpis` turns into the appraisal table. Counters are
integers (report times in ticks of 1/:data:`TICKS` hours), so shards and replications add up
exactly.
"""

from __future__ import annotations

from typing import Any

TICKS = 2 ** 20
"""Report times are summed as integer multiples of 1/TICKS hours (3.4 ms)."""

COUNTERS = ("calls", "answered", "reports", "report_ticks", "reports_on_time", "joint",
            "cooperated", "cases", "solved")
"""The KPI counters of one department (``RawRun.departments`` rows): calls made to it; calls it
answered; its arrivals on site measured and their summed report time (ticks) and how many were
within the policy's report deadline; joint visits it was on, and those where it did its part;
the cases it led (in turn or jointly) and those a visit of its solved."""


class DeptState:
    """One department of one district: behaviour, running record, KPI counters."""

    __slots__ = ("name", "r0", "c0", "report_rate", "cooperation", "travel", "n_calls",
                 "n_answered", "n_joint", "n_cooperated", "n_cases", "n_solved", "k")

    def __init__(self, name: str, report_rate: float, cooperation: float):
        self.name = name
        self.r0 = self.report_rate = report_rate
        self.c0 = self.cooperation = cooperation
        self.travel = 1.0
        self.n_calls = self.n_answered = self.n_joint = self.n_cooperated = 0
        self.n_cases = self.n_solved = 0
        self.k = [0] * len(COUNTERS)

    def refresh(self, appraisal: Any) -> None:
        """Move behaviour by the appraisal's rule from the running scores."""
        prior = appraisal.prior

        def score(good: int, n: int) -> float:
            return (good + prior) / (n + prior) if n + prior else 1.0

        pressure = appraisal.pressure(score(self.n_answered, self.n_calls),
                                      score(self.n_cooperated, self.n_joint),
                                      score(self.n_solved, self.n_cases))
        self.report_rate, self.cooperation, self.travel = appraisal.behaviour(
            self.r0, self.c0, pressure)

    def scores(self) -> dict[str, float]:
        """The running scores (every case, warm-up included; NaN before any)."""
        def ratio(a: int, b: int) -> float:
            return a / b if b else float("nan")
        return {"report_rate": ratio(self.n_answered, self.n_calls),
                "cooperation_rate": ratio(self.n_cooperated, self.n_joint),
                "resolution_rate": ratio(self.n_solved, self.n_cases)}
