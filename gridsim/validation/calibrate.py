"""Fitting free scenario parameters to published targets.

The objective is the sum of squared relative residuals of KPI means over a fixed set of
replications. Every evaluation uses the same replication seeds (common random numbers), so the
objective is a deterministic function of the parameters and a derivative-free bounded optimiser
(Powell's method, or Nelder–Mead) can work on it without being misled by simulation noise.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..arguments import check_count, check_seed, check_workers
from ..experiments import replicate
from ..results.io import atomic_write_text
from ..scenario import Scenario, ScenarioError
from ..vocabulary import canonical
from .checks import dump_yaml


@dataclass(frozen=True)
class Param:
    """A free parameter: a dotted path (``*`` matches every key at that level, so
    ``categories.*.solve.community`` moves all categories together) and its bounds."""

    path: str
    low: float
    high: float

    @classmethod
    def parse(cls, text: str) -> Param:
        path, sep, rng = text.partition("=")
        lo, sep2, hi = rng.partition(":")
        if not sep or not sep2 or not path.strip():
            raise ValueError(f"parameter {text!r} must look like dotted.path=LOW:HIGH")
        low = _number(lo, f"parameter {text!r}: LOW")
        high = _number(hi, f"parameter {text!r}: HIGH")
        if not low < high:
            raise ValueError(f"parameter {text!r}: LOW must be below HIGH")
        return cls(path.strip(), low, high)


@dataclass(frozen=True)
class Target:
    kpi: str
    value: float
    scope: str = "all"

    @classmethod
    def parse(cls, text: str) -> Target:
        name, sep, value = text.rpartition("=")
        if not sep or not name.strip():
            raise ValueError(f"target {text!r} must look like KPI=VALUE or KPI[scope]=VALUE")
        scope = "all"
        if name.endswith("]") and "[" in name:
            name, scope = name[:-1].split("[", 1)
        return cls(canonical(name.strip()), _number(value, f"target {text!r}: VALUE"), scope)


def _number(text: str, what: str) -> float:
    """A finite number, or a ValueError saying which part of the option is not one."""
    try:
        x = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number, got {text.strip()!r}") from None
    if not np.isfinite(x):
        raise ValueError(f"{what} must be a finite number, got {text.strip()!r}")
    return x


def expand_path(data: dict[str, Any], path: str) -> list[str]:
    """Concrete dotted paths matching ``path`` (with ``*`` wildcards) in scenario data."""
    parts = path.split(".")
    out = [([], data)]
    for part in parts:
        nxt = []
        for prefix, node in out:
            if isinstance(node, dict) and any(c in part for c in "*?["):
                nxt += [(prefix + [k], v) for k, v in node.items() if fnmatch.fnmatch(k, part)]
            elif isinstance(node, dict):
                nxt.append((prefix + [part], node.get(part)))
            else:
                nxt.append((prefix + [part], None))
        out = nxt
    if not out:
        raise KeyError(f"{path!r} matches nothing in the scenario")
    return [".".join(p) for p, _ in out]


@dataclass
class Calibration:
    """The fit: parameter values, KPIs against targets, residuals, and the fitted scenario."""

    scenario: Scenario
    params: list[Param]
    targets: list[Target]
    values: dict[str, float]
    fit: pd.DataFrame
    evaluations: int
    replications: int
    seed: int
    history: list[tuple[dict[str, float], float]] = field(default_factory=list)

    @property
    def objective(self) -> float:
        return float((self.fit["relative_residual"] ** 2).sum())

    def header(self, source: str) -> str:
        lines = [
            f"Calibrated by `gridsim calibrate` on {datetime.now(UTC):%Y-%m-%d} from {source}.",
            f"Fitted ({self.replications} replications per evaluation, seed {self.seed}, "
            f"{self.evaluations} evaluations, Powell's method on common random numbers):",
        ]
        lines += [f"  {p.path} = {self.values[p.path]:.6g}   (bounds {p.low:g}..{p.high:g})"
                  for p in self.params]
        lines.append("to the targets (simulated mean vs target, relative residual):")
        lines += [f"  {r.kpi}[{r.scope}]: {r.simulated:.6g} vs {r.target:.6g} "
                  f"({r.relative_residual:+.2%})" for r in self.fit.itertuples()]
        lines.append("A figure the model was fitted to is not evidence of its validity.")
        return "\n".join(f"# {line}" for line in lines)

    def write(self, path: str | Path, source: str = "", original_text: str = "") -> Path:
        """The fitted scenario as YAML: the source's own header, then what was fitted to what."""
        own = []
        for line in original_text.splitlines():
            if not line.startswith("#"):
                break
            own.append(line)
        text = "\n".join(own + ["#", self.header(source or "the scenario")]) + "\n"
        atomic_write_text(path, text + dump_yaml(self.scenario.to_data()))
        return Path(path)


def calibrate(scenario: Scenario, targets: list[Target], params: list[Param],
              replications: int = 5, seed: int | None = None, maxiter: int = 60,
              method: str = "Powell", workers: int | None = 1, client: Any = None,
              progress: Callable[[int, float], None] | None = None) -> Calibration:
    """Fit ``params`` so the KPI means over ``replications`` match ``targets``."""
    check_count(replications, "replications")
    check_count(maxiter, "maxiter")
    check_seed(seed)
    check_workers(workers)
    data = scenario.model_dump(mode="json")  # every value, so wildcards see every key
    concrete = {p.path: expand_path(data, p.path) for p in params}
    seed = scenario.seed if seed is None else seed
    history: list[tuple[dict[str, float], float]] = []
    cache: dict[tuple, tuple[float, dict]] = {}

    def overrides(x: np.ndarray) -> dict[str, float]:
        out = {}
        for p, v in zip(params, x, strict=True):
            for path in concrete[p.path]:
                out[path] = param_value(data, path, v)
        return out

    def evaluate(x: np.ndarray) -> tuple[float, dict[tuple[str, str], float]]:
        x = np.clip(x, [p.low for p in params], [p.high for p in params])
        key = tuple(np.round(x, 12))
        if key in cache:
            return cache[key]
        s = scenario.with_overrides(overrides(x))
        exp = replicate(s, replications, seed, workers=workers, client=client)
        k = exp.kpis.groupby(["metric", "scope"])["value"].mean()
        if not history:  # the first evaluation shows which KPIs and scopes exist
            _known(targets, k.index)
        means = {(t.kpi, t.scope): float(k.get((t.kpi, t.scope), np.nan)) for t in targets}
        loss = sum(((means[(t.kpi, t.scope)] - t.value) / (abs(t.value) or 1.0)) ** 2
                   for t in targets)
        loss = float(loss) if np.isfinite(loss) else 1e9
        cache[key] = (loss, means)
        history.append(({p.path: float(v) for p, v in zip(params, x, strict=True)}, loss))
        if progress:
            progress(len(history), loss)
        return loss, means

    x0 = np.array([_current(data, concrete[p.path][0], p) for p in params])
    bounds = [(p.low, p.high) for p in params]
    from scipy import optimize  # deferred: scipy takes a second to load

    result = optimize.minimize(lambda x: evaluate(x)[0], x0, method=method, bounds=bounds,
                               options={"maxiter": maxiter, "xtol": 1e-3, "ftol": 1e-6})
    best = min(history, key=lambda h: h[1])[0]
    x = np.array([best[p.path] for p in params])
    loss, means = evaluate(x)
    del result
    fit = pd.DataFrame([{"kpi": t.kpi, "scope": t.scope, "target": t.value,
                         "simulated": means[(t.kpi, t.scope)],
                         "residual": means[(t.kpi, t.scope)] - t.value,
                         "relative_residual": (means[(t.kpi, t.scope)] - t.value)
                         / (abs(t.value) or 1.0)} for t in targets])
    fitted = scenario.with_overrides(overrides(x))
    return Calibration(fitted, params, targets, best, fit, len(history), replications, seed,
                       history)


def param_value(data: dict[str, Any], path: str, x: float) -> float | int:
    """The value the optimiser's ``x`` sets at ``path``: rounded where the scenario holds a
    whole number (a head count), so counts can be fitted on the continuous search."""
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    whole = isinstance(node, int) and not isinstance(node, bool)
    return int(round(float(x))) if whole else float(x)


class UnknownTarget(ValueError):
    """A target names a KPI or scope that the scenario's runs do not produce."""


def _known(targets: list[Target], index: pd.MultiIndex) -> None:
    """Raise :class:`UnknownTarget` (with the closest name) for a target no run produces, so a
    misspelt KPI is not fitted as a constant penalty for the whole budget."""
    metrics = sorted(set(index.get_level_values(0)))
    for t in targets:
        if (t.kpi, t.scope) in index:
            continue
        if t.kpi not in metrics:
            match = difflib.get_close_matches(t.kpi, metrics, n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            raise UnknownTarget(f"target {t.kpi!r}: no such KPI{hint}")
        scopes = sorted(s for m, s in index if m == t.kpi)
        match = difflib.get_close_matches(t.scope, scopes, n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else f"; scopes: {', '.join(scopes)}"
        raise UnknownTarget(f"target {t.kpi}[{t.scope}]: no such scope{hint}")


def _current(data: dict[str, Any], path: str, p: Param) -> float:
    node: Any = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    try:
        v = float(node)
    except (TypeError, ValueError):
        v = (p.low + p.high) / 2
    return min(max(v, p.low), p.high)


def default_fit_path(source: str | Path | None) -> Path:
    """Where a fit of scenario file ``source`` is written by default: ``NAME.calibrated.yaml``
    beside it (``default.calibrated.yaml`` here for the bundled scenario)."""
    source = Path(source or "default.yaml")
    return source.with_name(source.stem + ".calibrated.yaml")


class BadParam(ValueError):
    """A free parameter whose path or range the scenario does not accept."""


def check_param(scenario: Scenario, p: Param) -> None:
    """Refuse ``p`` before any run (:class:`BadParam`) if its path matches nothing or a value
    in its range is invalid: both bounds and a value between them are tried, as the optimiser
    will (Powell's first try is near 0.382 of the range)."""
    data = scenario.model_dump(mode="json")
    try:
        paths = expand_path(data, p.path)
    except KeyError as e:
        raise BadParam(f"{p.path}: {e.args[0]}") from None
    for value in (p.low, p.high, p.low + (p.high - p.low) * 0.381966):
        try:
            scenario.with_overrides({path: param_value(data, path, value) for path in paths})
        except ScenarioError as e:
            more = f" (and {len(e.problems) - 1} more)" if len(e.problems) > 1 else ""
            raise BadParam(f"{p.path}={p.low:g}:{p.high:g}: at {value:g}, "
                           f"{e.problems[0]}{more}") from None
