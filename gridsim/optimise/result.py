"""What an optimisation returns: the chosen allocation, the candidates it evaluated (the
cost-versus-KPI frontier), which constraint binds where, the confirmation on fresh seeds, and
the folder it writes (``optimum.yaml``, tables, the frontier plot, the report's data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiments.store import ExperimentMismatch
from ..results.io import atomic_write_text, write_json
from ..results.outdir import EXPERIMENT, FolderLock, check_out
from ..scenario import Scenario
from ..validation.checks import dump_yaml
from .costs import Costs
from .evaluate import Candidate
from .search import Outcome
from .targets import MET, NO_DATA, Target
from .variables import Space


@dataclass
class Optimisation:
    """The result of :func:`gridsim.optimise`."""

    base: Scenario
    space: Space
    targets: list[Target]
    costs: Costs
    outcome: Outcome
    candidates_: list[Candidate]
    seed: int
    level: float
    replications: dict[str, int]
    var_pools: list[set[str]]
    budget: float | None = None
    objective: Target | None = None
    folder: Path | None = None
    fingerprint: dict[str, Any] | None = None
    """What identifies the search's results (its folder's ``experiment.json``)."""

    # ------------------------------------------------------------------ the answer
    @property
    def chosen(self) -> dict[str, Any]:
        """The chosen value of every decision variable."""
        return dict(self.outcome.chosen.values)

    @property
    def scenario(self) -> Scenario:
        """The base scenario with the chosen allocation: runnable as it is."""
        return self.outcome.chosen.scenario

    @property
    def feasible(self) -> bool:
        """Whether the chosen allocation was shown to meet every target (in the search)."""
        return self.outcome.feasible

    @property
    def confirmed(self) -> bool | None:
        """Whether no target was shown missed on the fresh seeds (None without them)."""
        conf = self.outcome.confirmation
        if conf is None:
            return None
        return bool((conf.judged["status"] != "violated").all())

    @property
    def cost(self) -> float:
        return self.outcome.chosen.cost

    # ------------------------------------------------------------------ tables
    @property
    def candidates(self) -> pd.DataFrame:
        """One row per candidate evaluated: cost, head count, replications, status, whether
        chosen or on the frontier, each variable's value, and per target ``k`` the mean,
        interval, status and unit of its tightest constraint (``t{k}_...``)."""
        rows = []
        chosen = self.outcome.chosen
        for c in self.candidates_:
            if c.judged is None:
                continue
            row: dict[str, Any] = {"candidate": c.id, "label": self.space.label(c.point),
                                   "cost": c.cost, "heads": c.heads,
                                   "replications": c.replications, "status": c.status,
                                   "chosen": c is chosen, "frontier": False, **c.values}
            for k, t in enumerate(self.targets):
                tight = _tightest(t, c.judged[c.judged["target"] == k])
                row.update({f"t{k}_mean": tight.get("mean", np.nan),
                            f"t{k}_low": tight.get("low", np.nan),
                            f"t{k}_high": tight.get("high", np.nan),
                            f"t{k}_status": tight.get("status", NO_DATA),
                            f"t{k}_unit": tight.get("unit", "")})
            rows.append(row)
        out = pd.DataFrame(rows)
        if not out.empty and self.targets:
            out["frontier"] = _frontier(out, self.targets[0])
        return out

    @property
    def constraints(self) -> pd.DataFrame:
        """Every constraint (target, unit) of every candidate: mean, interval, bound, status."""
        frames = [c.judged.assign(candidate=c.id) for c in self.candidates_
                  if c.judged is not None]
        if not frames:
            return pd.DataFrame(columns=["candidate", "target", "unit", "mean", "low", "high",
                                         "bound", "status"])
        out = pd.concat(frames, ignore_index=True)
        out["target"] = out["target"].map(lambda k: str(self.targets[k]))
        return out[["candidate", "target", "unit", "mean", "low", "high", "bound", "status"]]

    @property
    def confirmation(self) -> pd.DataFrame:
        """The chosen allocation on fresh seeds: per target and unit, mean, interval, bound,
        and whether it is met (``met``: shown met; ``status`` says met, violated or
        undecided)."""
        conf = self.outcome.confirmation
        cols = ["target", "unit", "mean", "low", "high", "bound", "status", "met"]
        if conf is None or conf.judged is None:
            return pd.DataFrame(columns=cols)
        j = conf.judged.copy()
        j["target"] = j["target"].map(lambda k: str(self.targets[k]))
        j["met"] = j["status"] == MET
        return j[cols]

    @property
    def binding(self) -> pd.DataFrame:
        """What binds where: for each variable, the allocation one step below the chosen one
        and the constraints it misses there (empty when no step below was evaluated)."""
        rows = []
        chosen = self.outcome.chosen
        by_point = {c.point: c for c in self.candidates_}
        for i, v in enumerate(self.space.variables):
            if chosen.point[i] == 0:
                continue
            p = chosen.point[:i] + (chosen.point[i] - 1,) + chosen.point[i + 1:]
            c = by_point.get(p)
            if c is None or c.judged is None:
                continue
            bad = c.judged[~c.judged["status"].isin([MET, NO_DATA])]
            for r in bad.itertuples():
                rows.append({"variable": v.path, "value": v.values[p[i]], "neighbour": c.id,
                             "target": str(self.targets[r.target]), "unit": r.unit,
                             "mean": r.mean, "bound": r.bound, "status": r.status})
        return pd.DataFrame(rows, columns=["variable", "value", "neighbour", "target", "unit",
                                           "mean", "bound", "status"])

    @property
    def steps(self) -> pd.DataFrame:
        """The search, step by step: phase, candidate, move, decision."""
        return pd.DataFrame([vars(s) for s in self.outcome.steps],
                            columns=["step", "phase", "candidate", "move", "decision"])

    @property
    def frontier(self) -> pd.DataFrame:
        """The candidates on the cost-versus-first-target frontier, cheapest first."""
        c = self.candidates
        return c[c["frontier"]].sort_values("cost") if not c.empty else c

    @property
    def evaluations(self) -> int:
        return sum(1 for c in self.candidates_ if c.replications)

    def summary(self) -> dict[str, Any]:
        """Everything ``optimise.json`` holds (what the report page reads)."""
        o = self.outcome
        base = self.space.base()
        base_cand = {c.point: c for c in self.candidates_}.get(base)
        origin = self.base.origin
        return {
            "scenario": {"name": self.base.name, "description": self.base.description,
                         "source": origin.get("file") or "the bundled scenario"},
            "objective": "cost" if self.objective is None else
            f"maximise {self.objective.metric}",
            "cost_unit": self.costs.unit, "budget": self.budget, "level": self.level,
            "seed": self.seed,
            "variables": [{"path": v.path, "low": v.low, "high": v.high, "step": v.step,
                           "base": v.base, "kind": self._kind(i), "pools": len(
                               self._pools(i)), "per_head": self._price(i)}
                          for i, v in enumerate(self.space.variables)],
            "targets": [{"text": t.text or str(t), "metric": t.metric, "sense": t.sense,
                         "bound": t.bound, "scope": t.scope, "per_unit": t.per_unit}
                        for t in self.targets],
            "chosen": {"candidate": o.chosen.id, "values": o.chosen.values,
                       "cost": o.chosen.cost, "heads": o.chosen.heads,
                       "base_cost": base_cand.cost if base_cand else None,
                       "feasible": o.feasible,
                       "status": "feasible" if o.feasible else "infeasible"},
            "confirmation": None if o.confirmation is None else {
                "seed": self.seed, "replications": o.confirmation.replications,
                "feasible": self.confirmed},
            "replications": self.replications,
            "evaluations": self.evaluations,
            "search": [vars(s) for s in o.steps],
            "bounds": [vars(b) for b in o.bounds],
            "notes": list(o.notes),
        }

    def _pools(self, i: int) -> set[str]:
        return self.var_pools[i]

    def _kind(self, i: int) -> str | None:
        kinds = {self.outcome.pilot.staff.pools[n][0] for n in self._pools(i)
                 if n in self.outcome.pilot.staff.pools}
        return kinds.pop() if len(kinds) == 1 else None

    def _price(self, i: int) -> float | None:
        kind = self._kind(i)
        return None if kind is None else self.costs.per_head.get(kind, self.costs.default)

    # ------------------------------------------------------------------ output
    def header(self) -> str:
        """The comment block that opens ``optimum.yaml``."""
        o = self.outcome
        lines = [f"Chosen by `gridsim optimise` on {datetime.now(UTC):%Y-%m-%d} from "
                 f"{self.summary()['scenario']['source']} (seed {self.seed}).",
                 "Decision variables (range; base -> chosen):"]
        lines += [f"  {v.path}: {v.low}..{v.high}; {v.base} -> {o.chosen.values[v.path]}"
                  for v in self.space.variables]
        lines.append(f"Targets, at family-wise confidence {self.level:.0%}:")
        lines += [f"  {t}" for t in self.targets]
        lines.append(f"Cost {o.chosen.cost:g} {self.costs.unit} ({o.chosen.heads} heads in the "
                     f"pools varied); {'feasible' if o.feasible else 'NOT feasible'} in the "
                     f"search ({o.chosen.replications} replications)" + (
                         "" if o.confirmation is None else
                         f"; on {o.confirmation.replications} fresh seeds: "
                         + ("no target missed" if self.confirmed else "a target missed")))
        return "\n".join(f"# {line}" for line in lines)

    def write(self, folder: str | Path | None = None, plot: bool = True) -> Path:
        """Write ``optimum.yaml``, the tables (CSV), ``optimise.json`` and the frontier plot
        into ``folder`` (the search's own by default; otherwise missing, empty or this
        search's: see :func:`~gridsim.results.outdir.check_out`), holding its lock."""
        folder = Path(folder or self.folder)
        fingerprint = json.loads(json.dumps(self.fingerprint or {"kind": "optimise"}))
        check_out(folder, EXPERIMENT)
        with FolderLock(folder):
            folder.mkdir(parents=True, exist_ok=True)
            meta = folder / "experiment.json"
            if meta.exists():
                old = json.loads(meta.read_text(encoding="utf-8")).get("fingerprint")
                if old != fingerprint:
                    raise ExperimentMismatch(f"{folder} holds results of a different "
                                             "experiment; write this one into another folder")
            else:
                write_json(meta, {"fingerprint": fingerprint})
            self._write(folder, plot)
        return folder

    def _write(self, folder: Path, plot: bool) -> None:
        atomic_write_text(folder / "optimum.yaml",
                          self.header() + "\n" + dump_yaml(self.scenario.to_data()))
        for name in ("candidates", "constraints", "confirmation", "binding", "steps"):
            atomic_write_text(folder / f"{name}.csv", getattr(self, name).to_csv(index=False))
        write_json(folder / "optimise.json", _plain(self.summary()))
        if plot and self.targets:
            from .plots import write_frontier

            write_frontier(self.candidates, self.summary(), folder)


def _tightest(t: Target, judged: pd.DataFrame) -> dict[str, Any]:
    """The constraint of target ``t`` with the least slack (its worst unit)."""
    j = judged[judged["status"] != NO_DATA]
    if j.empty:
        return {}
    slack = j["mean"].map(t.slack)
    return j.loc[slack.idxmin()].to_dict()


def _frontier(c: pd.DataFrame, t: Target) -> pd.Series:
    """Candidates no cheaper candidate beats on the first target's tightest value."""
    order = c.sort_values(["cost", "t0_mean"], ascending=[True, not t.maximise])
    best = -np.inf
    on = pd.Series(False, index=c.index)
    for i, r in order.iterrows():
        v = r["t0_mean"] if t.maximise else -r["t0_mean"]
        if np.isfinite(v) and v > best:
            on[i], best = True, v
    return on


def _plain(x: Any) -> Any:
    """JSON-ready: numpy numbers as Python numbers, NaN as None."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
