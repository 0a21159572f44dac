"""The staffing optimiser against exhaustive search, on a problem whose answer is known.

The Jackson tandem (``scenarios/validation/jackson.yaml``: a community pool of c1 staff, then,
for 40 % of cases, the street's enforcement team of c2) with c1 = 7..11 and c2 = 4..8 (25
allocations), community staff costing 1 and enforcement 1.5, and the target
``resolution_time_mean <= 1.75 h``. The Jackson network's formula (each station M/M/c) gives
the true cheapest allocation meeting it: c1 = 9, c2 = 6 (cost 18, W = 1.7145 h). For each base
seed, the search (``method="search"``) and exhaustive search (``method="exhaustive"``: every
allocation replicated until decided, by the same rule) are run; the row reports how often each
found the true answer and the replications each spent (pilot and search, no confirmation).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

TRUTH = (9, 6)
VARY = ["streets.staff.community_per_community=7..11", "streets.staff.enforcement=4..8"]
TARGET = "resolution_time_mean<=1.75"


def run(seeds: int, horizon: str, workers: int = 2) -> list[dict[str, Any]]:
    """One row per method: hits, mean replications and wall time over ``seeds`` base seeds."""
    import gridsim
    from gridsim.optimise import optimise

    path = Path(__file__).resolve().parents[1] / "scenarios" / "validation" / "jackson.yaml"
    scenario = gridsim.load_scenario(path).with_overrides({"horizon": horizon})
    rows = []
    for method in ("search", "exhaustive"):
        hits, reps, wall = 0, [], 0.0
        for seed in range(seeds):
            t0 = time.perf_counter()
            o = optimise(scenario, VARY, [TARGET], prices={"community": 1, "enforcement": 1.5},
                         replications=5, confirm=0, seed=seed, workers=workers, method=method)
            wall += time.perf_counter() - t0
            found = tuple(o.chosen.values())
            hits += found == TRUTH
            reps.append(o.replications["pilot"] + o.replications["search"])
        rows.append({"benchmark": "optimiser", "name": method, "seeds": seeds, "hits": hits,
                     "replications_mean": sum(reps) / len(reps), "replications": reps,
                     "wall_s": wall, "horizon": horizon})
    return rows
