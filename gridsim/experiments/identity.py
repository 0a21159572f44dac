"""What identifies an experiment's results: the seed of each replication and the fingerprint
(kind, seed, draws version, each point's resolved scenario) a results folder is matched by."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..model.streams import DRAWS_VERSION
from ..scenario import scenario_hash


def replication_seed(base: int, replication: int) -> int:
    """The seed of replication ``replication``: a child of ``SeedSequence(base)``."""
    ss = np.random.SeedSequence(base, spawn_key=(replication,))
    return int(ss.generate_state(1, np.uint64)[0] >> 1)  # a 63-bit non-negative int


def experiment_fingerprint(kind: str, points: list[Any], seed: int) -> dict[str, Any]:
    """What identifies an experiment's results: kind, seed, draws version, each scenario."""
    return {"kind": kind, "seed": seed, "draws_version": DRAWS_VERSION,
            "points": [{"label": p.label, "params": p.params,
                        "scenario_sha256": scenario_hash(p.scenario)} for p in points]}
