"""The resident's side in the results: the issue table's columns and the KPIs of Beijing's
three rates (三率), counted chunk by chunk for :class:`~gridsim.results.kpis.KpiAccumulator`.

- ``resolution_rate`` (解决率, in :meth:`KpiAccumulator._block`): of the cases counted, the share
  *solved in fact* by the end: closed, and not closed with an explanation. Before closure with
  an explanation existed every closed case was solved, so this is the same number gridsim
  always reported under that name; ``closure_rate`` is the share closed, solved or not.
- ``closed_unsolved_rate``: of the closed cases, the share closed with an explanation.
- ``response_rate`` (响应率): of the 12345 work orders closed, the share whose handler contacted
  the caller within ``resident.response.limit`` of receiving the order.
- ``callback_reach_rate``: of the cases called back, the share whose resident answered.
- ``satisfaction_rate`` (满意率): of the residents who answered a callback, the share satisfied
  (a case's last answer counts: after a reopen, the answer to the later callback).

Beijing reads all three rates from its callbacks; the simulator knows the truth, so response
and resolution are counted over the cases, satisfaction over the answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.records import Chunk, RunNames, known_bool
from ..vocabulary import LEADS, SOURCES

_SOLVED, _RESPONDED, _IN_TIME, _CALLED, _ANSWERED, _SATISFIED = range(6)


def _flag(codes: np.ndarray) -> pd.arrays.BooleanArray:
    """-1/0/1 codes as a nullable boolean (NA for -1)."""
    return known_bool(codes == 1, codes >= 0)


def resident_columns(df: dict | pd.DataFrame, c: Chunk) -> None:
    """Add the resident's columns of chunk ``c`` to the issue table's columns ``df``."""
    df["solved_in_fact"] = c["solved_in_fact"].astype(bool)
    df["response"] = _flag(c["response"])
    df["callbacks"] = c["callbacks"]
    df["satisfied"] = _flag(c["satisfied"])
    df["callback_reopens"] = c["callback_reopens"]


def resident_codes(df: pd.DataFrame, state: np.ndarray) -> Chunk:
    """The resident's record columns back from an issue table (a table without them: every
    closed case solved in fact, nothing recorded)."""
    n = len(df)

    def codes(col: str) -> np.ndarray:
        if col not in df:
            return np.full(n, -1, dtype=np.int8)
        v = df[col].astype("boolean")
        return np.where(v.isna(), -1, v.fillna(False).astype(int)).astype(np.int8)

    solved = (df["solved_in_fact"].to_numpy(dtype=bool) if "solved_in_fact" in df
              else state == 0)
    return {"solved_in_fact": solved.astype(np.int8), "response": codes("response"),
            "satisfied": codes("satisfied"),
            "callbacks": (df["callbacks"].to_numpy(dtype=np.int64) if "callbacks" in df
                          else np.zeros(n, dtype=np.int64))}


CONDITIONAL = ("response_rate", "callback_reach_rate", "satisfaction_rate")
"""The resident's KPIs reported only where something was counted (a scenario with resident:)."""


class ResidentCounts:
    """Per scope column of the accumulator (all, categories, sources, leads): cases closed and
    solved in fact, work orders with a response and those in time, cases called back, answered,
    satisfied."""

    def __init__(self) -> None:
        self.counts = np.zeros((6, 0), dtype=np.int64)

    def begin(self, width: int) -> None:
        self.counts = np.zeros((6, width), dtype=np.int64)

    def add(self, c: Chunk, cohort: np.ndarray, done: np.ndarray, cat: np.ndarray,
            src: np.ndarray, lead: np.ndarray, n_cat: int) -> None:
        """Count one chunk's cases of the cohort."""
        response, satisfied = c["response"], c["satisfied"]
        masks = (done & (c["solved_in_fact"] == 1), done & (response >= 0),
                 done & (response == 1), cohort & (c["callbacks"] > 0),
                 cohort & (satisfied >= 0), cohort & (satisfied == 1))
        for row, mask in enumerate(masks):
            self.counts[row] += np.concatenate([
                [np.count_nonzero(mask)], np.bincount(cat[mask], minlength=n_cat),
                np.bincount(src[mask], minlength=len(SOURCES)),
                np.bincount(lead[mask], minlength=len(LEADS))])

    def merge(self, other: ResidentCounts) -> None:
        if other.counts.shape[1]:
            self.counts = self.counts + other.counts if self.counts.shape[1] else \
                other.counts.copy()

    def solved(self, width: int) -> np.ndarray:
        """Cases closed and solved in fact, per scope column."""
        return self.counts[_SOLVED] if self.counts.shape[1] else np.zeros(width, np.int64)

    def rows(self, cases: np.ndarray, closed: np.ndarray,
             names: RunNames) -> list[tuple[str, str, float]]:
        """``(metric, scope, value)`` rows; ``cases``, ``closed``: per scope column."""
        k = self.counts if self.counts.shape[1] else np.zeros((6, len(cases)), np.int64)
        scopes = [(0, "all"), *((1 + i, f"category={c}") for i, c in enumerate(names.categories)),
                  *((1 + len(names.categories) + i, f"source={s}")
                    for i, s in enumerate(SOURCES))]

        def ratio(a: int, b: int) -> float:
            return int(a) / int(b) if b else np.nan

        rows: list[tuple[str, str, float]] = []
        for metric, num, den, always in (  # the last three: CONDITIONAL
                ("closure_rate", closed, cases, True),
                ("closed_unsolved_rate", closed - k[_SOLVED], closed, True),
                ("response_rate", k[_IN_TIME], k[_RESPONDED], False),
                ("callback_reach_rate", k[_ANSWERED], k[_CALLED], False),
                ("satisfaction_rate", k[_SATISFIED], k[_ANSWERED], False)):
            for col, scope in scopes:
                if den[col] or (always and col == 0):
                    rows.append((metric, scope, ratio(num[col], den[col])))
        return rows
