"""The search: the cheapest allocation whose targets are met at the stated confidence.

1. **Pilot**: the top of every range is replicated first. Its pools' utilisation gives each
   pool's offered load, hence the queueing start (:mod:`.bounds`); if even the top misses a
   target the problem is infeasible and the search stops there, saying which target.
2. **Start**: each variable that sizes pools at its Erlang C first guess (at least the least
   stable head count), the others at the scenario's value.
3. **Greedy marginal allocation** while the current allocation is not shown feasible: every
   one-step increase is replicated on the same seeds and the one that closes most of the
   constraints' shortfall per unit of cost is taken (paired on common random numbers).
4. **Descent**: from a feasible allocation, one-step decreases in order of the cost they save
   (the least loaded pools first among equals) are decided one by one, adding replications
   until each is shown feasible or infeasible; the first feasible one is taken, and the
   descent goes on from there. When no decrease is feasible, **swaps** (one head fewer here,
   one more there) that lower the cost are tried the same way. An allocation below (head by
   head) one that was not shown feasible (shown infeasible, or still undecided at the
   replication limit) is not tried: more staff never hurts a target (monotonicity, the
   search's one assumption).
5. **Selection**: among the feasible allocations of least cost (ties), the one with the most
   slack on the first target, by multiple comparisons with the best on the common seeds.
6. **Confirmation** of the chosen allocation on fresh seeds, reported apart from the search.

With ``budget`` (and ``maximise``) the search instead buys the step that raises the KPI most
per unit of cost while the budget allows (greedy marginal allocation), then the best allocation
it evaluated within the budget (and meeting any targets) is chosen the same way.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..experiments.stats import paired_difference, select_best
from .bounds import DEFAULT_WAIT, Bound, least_servers
from .evaluate import CONFIRM_POINT, Candidate, Evaluator
from .targets import MET, Target, judge


@dataclass
class Step:
    step: int
    phase: str
    candidate: int
    move: str
    decision: str


@dataclass
class Outcome:
    """What the search found (the :class:`~gridsim.optimise.result.Optimisation` holds it)."""

    chosen: Candidate
    feasible: bool
    steps: list[Step]
    bounds: list[Bound]
    pilot: Candidate
    confirmation: Candidate | None
    notes: list[str] = field(default_factory=list)


class Search:
    """One search over ``ev``'s space (see the module docstring)."""

    def __init__(self, ev: Evaluator, replications: int, confirm: int,
                 budget: float | None = None, maximise: Target | None = None,
                 note: Callable[[str], None] | None = None):
        self.ev, self.n0, self.n_confirm = ev, replications, confirm
        self.budget, self.objective = budget, maximise
        self.steps: list[Step] = []
        self.notes: list[str] = []
        self.infeasible: list[tuple[int, ...]] = []
        self.say = note or (lambda text: None)

    # ------------------------------------------------------------------ bookkeeping
    def log(self, phase: str, c: Candidate, move: str, decision: str | None = None) -> None:
        decision = decision or f"{c.status} ({c.replications} replications)"
        self.steps.append(Step(len(self.steps) + 1, phase, c.id, move, decision))
        self.say(f"{phase}: {move}: {decision}")

    def decide(self, c: Candidate, phase: str, move: str) -> str:
        if self._dominated(c.point):
            c.status = c.status if c.status != "unevaluated" else "skipped"
            self.log(phase, c, move, "not tried: below an allocation not shown feasible")
            return "infeasible"
        status = self.ev.decide(c, self.n0)
        if status != "feasible":  # shown infeasible, or not shown feasible at the limit
            self.infeasible.append(c.point)
        c.phase = c.phase or phase
        self.log(phase, c, move)
        return status

    def _dominated(self, point: tuple[int, ...]) -> bool:
        return any(all(p <= q for p, q in zip(point, bad, strict=True))
                   for bad in self.infeasible)

    def move_text(self, a: tuple[int, ...], b: tuple[int, ...]) -> str:
        parts = []
        for v, i, j in zip(self.ev.space.variables, a, b, strict=True):
            if i != j:
                parts.append(f"{v.path} {_show(v.values[i])} -> {_show(v.values[j])}")
        return "; ".join(parts) or "no change"

    # ------------------------------------------------------------------ phases
    def run(self) -> Outcome:
        space, ev = self.ev.space, self.ev
        pilot = ev.candidate(space.top, "pilot")
        status = self.decide(pilot, "pilot", "every variable at the top of its range")
        bounds = self.bounds(pilot)
        if self.objective is None and status != "feasible":
            failing = _failing(ev, pilot)
            self.notes.append(
                "infeasible: even at the top of every range " + failing +
                " (widen the ranges, or relax the target)")
            return self._finish(pilot, False, bounds, pilot)
        start = tuple(min(len(v.values) - 1, max(0, v.index_of(b.erlang_c_guess)))
                      if b is not None else space.base()[i]
                      for i, (v, b) in enumerate(zip(space.variables, self._by_var(bounds),
                                                     strict=True)))
        if self.objective is not None:
            return self._maximise(pilot, start, bounds)
        cur = ev.candidate(start, "start")
        if cur is not pilot:
            self.decide(cur, "start", "queueing start (Erlang C first guess)")
        while cur.status != "feasible":
            nxt = self._greedy(cur)
            if nxt is None:
                cur = pilot
                break
            cur = nxt
        cur = self._descend(cur)
        chosen = self._select()
        return self._finish(chosen, True, bounds, pilot)

    def exhaustive(self) -> Outcome:
        """Every allocation of the space decided on its own (no pruning): the reference the
        search is measured against, and a method for small spaces."""
        ev = self.ev
        pilot = ev.candidate(ev.space.top, "pilot")
        self.decide(pilot, "pilot", "every variable at the top of its range")
        bounds = self.bounds(pilot)
        for point in itertools.product(*(range(len(v.values)) for v in ev.space.variables)):
            c = ev.candidate(point, "exhaustive")
            if c.status == "unevaluated":
                ev.decide(c, self.n0)
                self.log("exhaustive", c, ev.space.label(point))
        if not any(c.status == "feasible" for c in ev.candidates):
            self.notes.append("infeasible: no allocation in the ranges meets the targets; at "
                              "the top of every range " + _failing(ev, pilot))
            return self._finish(pilot, False, bounds, pilot)
        return self._finish(self._select(), True, bounds, pilot)

    def bounds(self, pilot: Candidate) -> list[Bound]:
        """Each pool-sizing variable's offered load and start from the pilot's utilisation."""
        util = self.ev.utilisation(pilot)
        out = []
        for i, v in enumerate(self.ev.space.variables):
            pools = [n for n in self.ev.var_pools[i] if n in util]
            if len(v.values) < 2 or not pools or not v.whole:
                continue
            # a pool's head count goes with the variable's value, so its offered load in the
            # variable's units is its utilisation at the top times the top value
            load = max(util[n] for n in pools) * v.high
            wait = self._wait_target(pools)
            stable = int(np.floor(load)) + 1
            guess = least_servers(load, wait)
            out.append(Bound(v.path, float(load), _clip(v, stable), _clip(v, guess)))
        return out

    def _by_var(self, bounds: list[Bound]) -> list[Bound | None]:
        by = {b.path: b for b in bounds}
        return [by.get(v.path) for v in self.ev.space.variables]

    def _wait_target(self, pools: list[str]) -> float:
        """A ``wait_share <= x @ pool=...`` target's bound for these pools, else the default."""
        frame = {"units": _pool_frame(pools)}
        for t in self.ev.targets:
            if t.metric == "wait_share" and t.sense == "<=" and t.level == "pool" and \
                    t.values(frame):
                return t.bound
        return DEFAULT_WAIT

    def _neighbours(self, point: tuple[int, ...], delta: int) -> list[tuple[int, ...]]:
        out = []
        for i, v in enumerate(self.ev.space.variables):
            j = point[i] + delta
            if 0 <= j < len(v.values):
                out.append(point[:i] + (j,) + point[i + 1:])
        return out

    def _greedy(self, cur: Candidate) -> Candidate | None:
        """The one-step increase that closes the most shortfall per unit of cost."""
        ups = self._neighbours(cur.point, +1)
        if not ups:
            return None
        cands = [self.ev.candidate(p, "greedy") for p in ups]
        n = min(cur.replications, self.n0)  # screened on the first seeds, paired with cur's
        self.ev.replicate(cands, n)
        need = _shortfall(self.ev, cur, n)
        best, best_score = None, -np.inf
        for c in cands:
            gain = need - _shortfall(self.ev, c, n)
            dcost = max(c.cost - cur.cost, 1e-9)
            score = gain / dcost
            if score > best_score:
                best, best_score = c, score
        self.decide(best, "greedy", self.move_text(cur.point, best.point))
        for c in cands:
            if c is not best and c.status == "unevaluated":
                self.ev.judge(c)
        return best

    def _descend(self, cur: Candidate) -> Candidate:
        """One-step decreases, then cost-lowering swaps, while one is shown feasible."""
        while True:
            util = self.ev.utilisation(cur)
            downs = []
            for p in self._neighbours(cur.point, -1):
                i = next(k for k in range(len(p)) if p[k] != cur.point[k])
                slack = min((util.get(n, 0.0) for n in self._pools_of(i)), default=0.0)
                downs.append((cur.cost - self.ev.cost_at(p), -slack, p))
            moved = self._first_feasible(cur, sorted(downs, key=lambda d: (-d[0], -d[1])),
                                         "descent")
            if moved is None:
                moved = self._first_feasible(cur, self._swaps(cur), "swap")
            if moved is None:
                return cur
            cur = moved

    def _pools_of(self, i: int) -> set[str]:
        return self.ev.var_pools[i]

    def _swaps(self, cur: Candidate) -> list[tuple[float, float, tuple[int, ...]]]:
        out = []
        k = len(cur.point)
        for i in range(k):
            for j in range(k):
                if i == j:
                    continue
                p = list(cur.point)
                p[i] -= 1
                p[j] += 1
                if not (p[i] >= 0 and p[j] < len(self.ev.space.variables[j].values)):
                    continue
                saving = cur.cost - self.ev.cost_at(tuple(p))
                if saving > 1e-9:
                    out.append((saving, 0.0, tuple(p)))
        return sorted(out, key=lambda d: -d[0])

    def _first_feasible(self, cur: Candidate, moves, phase: str) -> Candidate | None:
        for saving, _, p in moves:
            if saving <= 1e-9:
                continue
            c = self.ev.candidate(p, phase)
            if c.status == "infeasible" or self._dominated(p):
                continue
            if self.decide(c, phase, self.move_text(cur.point, p)) == "feasible":
                return c
        return None

    def _select(self) -> Candidate:
        feasible = [c for c in self.ev.candidates if c.status == "feasible"]
        least = min(c.cost for c in feasible)
        ties = [c for c in feasible if c.cost <= least + 1e-9]
        if len(ties) == 1:
            return ties[0]
        n = min(c.replications for c in ties)
        key = _first_key(self.ev, ties[0])
        t = self.ev.targets[key[0]]
        samples = {str(c.id): np.array([t.slack(s.get(key, np.nan)) for s in c.ordered(n)])
                   for c in ties}
        best = select_best(samples, minimise=False, level=self.ev.level)
        chosen = next(c for c in ties if str(c.id) == best.variant)
        self.log("select", chosen, f"{len(ties)} feasible allocations cost "
                 f"{_show(least)}", f"chosen: most slack on {t} ({best})")
        return chosen

    def _maximise(self, pilot: Candidate, start: tuple[int, ...],
                  bounds: list[Bound]) -> Outcome:
        """Greedy marginal allocation of the budget to the KPI (see the module docstring)."""
        ev, obj = self.ev, self.objective
        cur = ev.candidate(start if ev.cost_at(start) <= self.budget else ev.space.bottom,
                           "start")
        if cur.cost > self.budget:
            self.notes.append(f"infeasible: the cheapest allocation costs {_show(cur.cost)}, "
                              f"over the budget {_show(self.budget)}")
            ev.decide(cur, self.n0)
            return self._finish(cur, False, bounds, pilot)
        ev.decide(cur, self.n0)
        self.log("start", cur, "queueing start within the budget")
        while True:
            ups = [p for p in self._neighbours(cur.point, +1) if ev.cost_at(p) <= self.budget]
            if not ups:
                break
            cands = [ev.candidate(p, "greedy") for p in ups]
            n = cur.replications
            ev.replicate(cands, n)
            for c in cands:
                ev.judge(c)
            base = _objective(obj, cur, n)
            scored = []
            for c in cands:
                d = paired_difference(base, _objective(obj, c, n), ev.level)
                gain = d.mean if obj.maximise else -d.mean
                scored.append((gain / max(c.cost - cur.cost, 1e-9), gain, c))
            score, gain, best = max(scored, key=lambda s: s[0])
            if gain <= 0:
                break
            ev.decide(best, self.n0)
            self.log("greedy", best, self.move_text(cur.point, best.point),
                     f"{obj.metric} {'+' if obj.maximise else '-'}{abs(gain):.4g} for "
                     f"{_show(best.cost - cur.cost)} more")
            cur = best
        pool = [c for c in ev.candidates if c.cost <= self.budget and c.status == "feasible"
                and c.replications >= self.n0] or [cur]
        n = min(c.replications for c in pool)
        best = select_best({str(c.id): _objective(obj, c, n) for c in pool},
                           minimise=not obj.maximise, level=ev.level)
        chosen = next(c for c in pool if str(c.id) == best.variant)
        self.log("select", chosen, f"best {obj.metric} within the budget", str(best))
        return self._finish(chosen, chosen.status == "feasible", bounds, pilot)

    def _finish(self, chosen: Candidate, feasible: bool, bounds: list[Bound],
                pilot: Candidate) -> Outcome:
        conf = None
        if self.n_confirm:
            ev = self.ev
            conf = Candidate(CONFIRM_POINT, chosen.point, chosen.values, chosen.scenario,
                             chosen.staff, chosen.cost, chosen.heads, phase="confirm")
            ev.replicate([conf], self.n_confirm, confirm=True)
            ev.judge(conf)
            self.log("confirm", chosen, f"the chosen allocation on {self.n_confirm} fresh seeds",
                     f"{conf.status} ({conf.replications} replications)")
        return Outcome(chosen, feasible, self.steps, bounds, pilot, conf, self.notes)


# ---------------------------------------------------------------------- helpers
def _show(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _clip(v, value: float) -> float | int:
    return v.values[min(range(len(v.values)), key=lambda k: (v.values[k] < value,
                                                              abs(v.values[k] - value)))]


def _pool_frame(pools: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"level": "pool", "unit": pools, "wait_share": 0.0})


def _shortfall(ev: Evaluator, c: Candidate, n: int) -> float:
    """How far ``c``'s constraints are from being shown met on its first ``n`` replications:
    per constraint, how far the far end of its interval lies beyond the bound (the whole
    interval on the wrong side counts its far end too), relative to the bound; 0 when met."""
    judged = judge(ev.targets, c.ordered(n), ev.level)
    total = 0.0
    for r in judged.itertuples():
        t = ev.targets[r.target]
        far = r.low if t.maximise else r.high
        if np.isnan(far):
            far = r.mean
        if not np.isnan(far):
            total += max(0.0, -t.slack(float(far))) / (abs(t.bound) or 1.0)
    return total


def _failing(ev: Evaluator, c: Candidate) -> str:
    j = c.judged
    bad = j[j["status"] != MET] if j is not None else j
    if bad is None or bad.empty:
        return "no target could be decided"
    worst = bad.sort_values("mean").iloc[0] if ev.targets[int(bad.iloc[0]["target"])].maximise \
        else bad.sort_values("mean").iloc[-1]
    t = ev.targets[int(worst["target"])]
    where = "" if worst["unit"] in ("all", t.scope) else f" at {worst['unit']}"
    return (f"{t}{where} is {worst['status']}: {worst['mean']:.4g} "
            f"({worst['low']:.4g} to {worst['high']:.4g})")


def _first_key(ev: Evaluator, c: Candidate) -> tuple[int, str]:
    """The first target's tightest unit at ``c``."""
    j = c.judged[c.judged["target"] == 0]
    t = ev.targets[0]
    slack = j["mean"].map(t.slack)
    return (0, str(j.loc[slack.idxmin(), "unit"]))


def _objective(obj: Target, c: Candidate, n: int) -> np.ndarray:
    """The objective per replication: the KPI (the worst unit's for a per-unit one)."""
    out = []
    for s in c.ordered(n):
        vals = [v for (k, _), v in s.items() if k == 0 and not np.isnan(v)]
        out.append((min(vals) if obj.maximise else max(vals)) if vals else np.nan)
    return np.array(out, dtype=float)
