"""What one simulation run gives back: DataFrames, the bottleneck, and files on disk."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..scenario import Scenario
from . import plots
from .io import atomic_dir, write_json
from .kpis import kpi


@dataclass
class Result:
    """One run of one scenario with one seed.

    ``issues``: one row per case created; ``kpis``: tidy ``metric, scope, value, unit``;
    ``load``: utilisation and queue per staff pool per sampling interval; ``backlog``: open
    cases over time; ``manifest``: provenance (see :mod:`gridsim.results.manifest`).
    """

    scenario: Scenario
    seed: int
    issues: pd.DataFrame
    kpis: pd.DataFrame
    load: pd.DataFrame
    backlog: pd.DataFrame
    manifest: dict[str, Any] = field(repr=False)

    def kpi(self, metric: str, scope: str = "all") -> float:
        """One KPI value, e.g. ``result.kpi("resolution_time_mean", "lead=department")``."""
        return kpi(self.kpis, metric, scope)

    def pools(self) -> pd.DataFrame:
        """Mean utilisation and queue of every pool after the warm-up, most loaded first."""
        load = self.load[self.load["time"] > self.scenario.warmup.hours]
        g = load.groupby("pool", observed=True)
        out = pd.DataFrame({
            "kind": g["kind"].first(),
            "capacity": g["capacity"].first(),
            "utilisation": g["busy"].sum() / g["capacity_hours"].sum(),
            "queue_mean": g["queue"].mean(),
            "queue_max": g["queue"].max(),
        })
        return out.sort_values("utilisation", ascending=False)

    @property
    def bottleneck(self) -> dict[str, Any]:
        """The most utilised pool after the warm-up."""
        pools = self.pools()
        if pools.empty:
            return {"pool": None, "kind": None, "utilisation": float("nan")}
        top = pools.iloc[0]
        return {"pool": str(pools.index[0]), "kind": str(top["kind"]),
                "utilisation": float(top["utilisation"]), "queue_mean": float(top["queue_mean"])}

    def summary(self) -> dict[str, Any]:
        """The headline numbers (what ``summary.json`` holds)."""
        overall = self.kpis[self.kpis["scope"] == "all"]
        return {
            "scenario": self.scenario.name,
            "policy": self.scenario.policy.name,
            "seed": self.seed,
            "horizon_h": self.scenario.horizon.hours,
            "warmup_h": self.scenario.warmup.hours,
            "issues_created": len(self.issues),
            "states": self.issues["state"].value_counts().to_dict(),
            "kpis": dict(zip(overall["metric"], overall["value"], strict=True)),
            "bottleneck": self.bottleneck,
            "wall_time_s": self.manifest.get("wall_time_s"),
        }

    def write(self, out: str | Path, plot: bool = True) -> Path:
        """Write tables, plots, ``summary.json`` and ``manifest.json`` into ``out``, atomically."""
        out = Path(out)
        with atomic_dir(out) as tmp:
            self.issues.to_parquet(tmp / "issues.parquet", index=False)
            self.kpis.to_csv(tmp / "kpis.csv", index=False)
            self.load.to_parquet(tmp / "load.parquet", index=False)
            self.backlog.to_csv(tmp / "backlog.csv", index=False)
            self.pools().to_csv(tmp / "pools.csv")
            write_json(tmp / "summary.json", self.summary())
            write_json(tmp / "manifest.json", self.manifest)
            if plot:
                plots.write_all(self, tmp / "plots")
        return out
