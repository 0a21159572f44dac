"""The 12345 front end's KPIs, from the counters its desks keep while the clock runs.

Consultations are calls, not cases, so these KPIs come from the front end's own counts of the
requests made after the warm-up (:data:`~gridsim.model.hotline.COUNTERS`, summed over districts
and shards as pool loads are), not from the case rows. The rows are added only when the scenario
has a front end, so other scenarios' KPI tables are as before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..vocabulary import KPIS, RECEIVERS


def call_kpis(c: dict[str, float]) -> list[tuple[str, str, float]]:
    """``(metric, scope, value)`` rows of the front end's KPIs from its counters ``c``."""

    def ratio(a: float, b: float) -> float:
        return a / b if b else np.nan

    orders = c["orders"]
    delivered = sum(c[f"to_{k}"] for k in RECEIVERS)
    rows = [
        ("answered_on_call_share", "all", ratio(c["settled"], c["answered"])),
        ("call_answer_wait_mean", "all", ratio(c["wait_sum"], c["answered"])),
        ("call_abandon_rate", "all", ratio(c["hung_up"], c["attempts"])),
    ]
    rows += [("dispatch_share", f"to={k}", ratio(c[f"to_{k}"], delivered)) for k in RECEIVERS]
    rows += [("return_rate", "all", ratio(c["returned"], orders)),
             ("returns_per_case", "all", ratio(c["returns"], orders))]
    return rows


def with_call_kpis(kpis: pd.DataFrame, counts: dict[str, float] | None) -> pd.DataFrame:
    """``kpis`` with the front end's rows appended (unchanged when ``counts`` is None)."""
    if counts is None:
        return kpis
    extra = pd.DataFrame(call_kpis(counts), columns=["metric", "scope", "value"])
    extra["value"] = extra["value"].astype(float)
    extra["unit"] = [KPIS[m].unit for m in extra["metric"]]
    return pd.concat([kpis, extra], ignore_index=True)
