"""Decision variables of a staffing optimisation: which scenario values the search may set, and
to what.

A variable is a dotted path into the scenario (as ``--set``) and the values it may take, written
``path=LOW..HIGH`` (whole numbers: every integer between; numbers with a decimal point: eleven
values, or ``LOW..HIGH:STEP``), ``path=V1,V2,...`` (a list), or just ``path`` (a head count
from 1 to twice its current value). A ``*`` stands for every key (or list item) at its level
and makes one variable per match, so ``departments.*.staff`` sizes each department on its own;
``streets.overrides.*.staff.enforcement`` makes one variable per street of the district (a
street without an override of its own starts from the template's value). A path without ``*``
is one variable, however many units it sizes: ``streets.staff.enforcement`` is the template
head count of every street that does not override it.

Which staff pools a variable sizes is not read from the path but measured: the scenario's
organisation is built with the variable one step up and the pools whose head count changed are
its pools (:func:`staff_of`), so any path that sizes pools (call-taker seats, city-department
crews, the resource-sinking share) is priced and bounded the same way.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..arguments import SettingError
from ..model.simulation import run_model
from ..scenario import Scenario, ScenarioError
from ..scenario.loader import validate_data
from ..scenario.overrides import parse_override
from ..scenario.recording import RecordPlan

CONTINUOUS_VALUES = 11
"""How many values a continuous range ``LOW..HIGH`` without a step is cut into."""
MAX_VALUES = 2000
"""The most values one variable may take (a range that asks for more is refused)."""


@dataclass(frozen=True)
class Variable:
    """One decision variable: a concrete dotted path and the sorted values it may take."""

    path: str
    values: tuple[float | int, ...]
    base: float | int | None
    """The scenario's own value (None when the scenario does not set it)."""
    text: str = ""
    """The ``--vary`` text it came from."""

    @property
    def low(self) -> float | int:
        return self.values[0]

    @property
    def high(self) -> float | int:
        return self.values[-1]

    @property
    def step(self) -> float | int | None:
        """The spacing of the values when it is regular, else None."""
        if len(self.values) < 2:
            return None
        d = np.diff(np.asarray(self.values, dtype=float))
        return _plain(self.values[1] - self.values[0]) if np.allclose(d, d[0]) else None

    def index_of(self, value: Any) -> int:
        """The index of the allowed value nearest to ``value``."""
        v = np.asarray(self.values, dtype=float)
        return int(np.argmin(np.abs(v - float(value))))

    @property
    def whole(self) -> bool:
        return all(isinstance(v, int) for v in self.values)


@dataclass
class Space:
    """The decision variables of one optimisation; a candidate is a tuple of value indices."""

    variables: list[Variable]
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = [v.path for v in self.variables]

    def values(self, point: tuple[int, ...]) -> dict[str, Any]:
        """The scenario overrides of candidate ``point``."""
        return {v.path: v.values[i] for v, i in zip(self.variables, point, strict=True)}

    def label(self, point: tuple[int, ...]) -> str:
        return ", ".join(f"{k}={_show(x)}" for k, x in self.values(point).items())

    @property
    def top(self) -> tuple[int, ...]:
        return tuple(len(v.values) - 1 for v in self.variables)

    @property
    def bottom(self) -> tuple[int, ...]:
        return tuple(0 for _ in self.variables)

    @property
    def size(self) -> int:
        return math.prod(len(v.values) for v in self.variables)

    def base(self) -> tuple[int, ...]:
        """The scenario's own allocation (each variable's nearest allowed value)."""
        return tuple(v.index_of(v.base if v.base is not None else v.values[0])
                     for v in self.variables)


# ---------------------------------------------------------------------------- parsing
def parse_vary(scenario: Scenario, items: list[str] | dict[str, Any]) -> Space:
    """The variables of ``--vary`` texts (or of a mapping ``path -> range text or values``),
    each checked on the scenario at its lowest and highest value; a mistake is a
    :class:`~gridsim.arguments.SettingError` naming the option text."""
    if isinstance(items, dict):
        items = [f"{k}={_range_text(v)}" if v is not None else k for k, v in items.items()]
    if not items:
        raise SettingError("optimise needs at least one --vary PATH=LOW..HIGH")
    data = scenario.model_dump(mode="json")
    out: list[Variable] = []
    for text in items:
        path, sep, raw = str(text).partition("=")
        path = path.strip()
        if not path or (sep and not raw.strip()):
            raise SettingError(f"--vary {text!r} must look like PATH=LOW..HIGH, PATH=V1,V2 "
                               "or PATH")
        paths = expand(data, path)
        if not paths:
            raise SettingError(f"--vary {path}: matches nothing in the scenario")
        for p in paths:
            base = current(scenario, p)
            values = _values(raw.strip(), base, text) if sep else _default_values(base, text)
            var = Variable(p, values, base, str(text))
            _check(scenario, var)
            out.append(var)
    seen = [v.path for v in out]
    for v in out:
        if seen.count(v.path) > 1:
            raise SettingError(f"--vary {v.path}: given twice")
    return Space(out)


def _range_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, tuple) and len(v) == 2:
        return f"{v[0]}..{v[1]}"
    return ",".join(str(x) for x in v)


def _values(raw: str, base: Any, text: str) -> tuple[float | int, ...]:
    if ".." in raw:
        lo_t, _, rest = raw.partition("..")
        hi_t, colon, step_t = rest.partition(":")
        lo, hi = _number(lo_t, text, "LOW"), _number(hi_t, text, "HIGH")
        if hi < lo:
            raise SettingError(f"--vary {text}: HIGH {_show(hi)} is below LOW {_show(lo)}")
        whole = isinstance(lo, int) and isinstance(hi, int)
        if colon:
            step = _number(step_t, text, "STEP")
            if step <= 0:
                raise SettingError(f"--vary {text}: STEP must be positive")
            whole = whole and isinstance(step, int)
        else:
            step = 1 if whole else (hi - lo) / (CONTINUOUS_VALUES - 1) or 1.0
        n = math.floor((hi - lo) / step + 1e-9) + 1
        if whole and not colon and isinstance(base, float):
            whole = False
        if n > MAX_VALUES:
            raise SettingError(f"--vary {text}: {n} values (at most {MAX_VALUES}): give a "
                               "larger STEP")
        vals = [lo + k * step for k in range(n)]
        values = tuple(int(v) for v in vals) if whole else tuple(_plain(round(v, 12))
                                                                   for v in vals)
    else:
        values = tuple(sorted({_number(t, text, "a value") for t in raw.split(",")}))
    if not values:
        raise SettingError(f"--vary {text}: the range holds no value")
    if isinstance(base, int) and not isinstance(base, bool) and not all(
            float(v).is_integer() for v in values):
        raise SettingError(f"--vary {text}: the range holds no whole number, and this value "
                           f"is a count (now {base})")
    if isinstance(base, int) and not isinstance(base, bool):
        values = tuple(sorted({int(v) for v in values}))
    return values


def _default_values(base: Any, text: str) -> tuple[int, ...]:
    if not isinstance(base, int) or isinstance(base, bool):
        raise SettingError(f"--vary {text}: give a range (PATH=LOW..HIGH): the scenario's "
                           f"value here is {base!r}, not a head count")
    return tuple(range(1, max(2 * base, 2) + 1))


def _number(t: str, text: str, what: str) -> float | int:
    v = parse_override(f"x={t.strip()}")[1]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise SettingError(f"--vary {text}: {what} must be a number, got {t.strip()!r}")
    return v


def _plain(x: float | int) -> float | int:
    return int(x) if isinstance(x, int) else float(x)


def _show(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _check(scenario: Scenario, var: Variable) -> None:
    for value in {var.low, var.high}:
        try:
            scenario.with_overrides({var.path: value})
        except ScenarioError as e:
            raise SettingError(f"--vary {var.text}: at {var.path}={_show(value)}, "
                               f"{e.problems[0]}") from None


# ---------------------------------------------------------------------------- paths
def expand(data: dict[str, Any], path: str) -> list[str]:
    """Concrete dotted paths matching ``path``: ``*`` (or any fnmatch pattern) at a level
    matches every key of a mapping or index of a list there; ``streets.overrides.*`` (and
    ``districts.N.streets.overrides.*``) every street of the template, overridden or not."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    found: list[tuple[list[str], Any]] = [([], data)]
    for part in parts:
        nxt = []
        for prefix, node in found:
            wild = any(c in part for c in "*?[")
            if wild and prefix[-1:] == ["overrides"] and _streets(data, prefix[:-1]):
                count = _streets(data, prefix[:-1])
                nxt += [(prefix + [str(i)], _get(node, str(i))) for i in range(count)
                        if fnmatch.fnmatch(str(i), part)]
            elif wild and isinstance(node, dict):
                nxt += [(prefix + [str(k)], v) for k, v in node.items()
                        if fnmatch.fnmatch(str(k), part)]
            elif wild and isinstance(node, list):
                nxt += [(prefix + [str(i)], v) for i, v in enumerate(node)
                        if fnmatch.fnmatch(str(i), part)]
            else:
                nxt.append((prefix + [part], _get(node, part)))
        found = nxt
    return [".".join(p) for p, _ in found]


def _streets(data: dict[str, Any], prefix: list[str]) -> int:
    """The street count of the ``streets`` block at ``prefix`` (0 if it is not one)."""
    if not prefix or prefix[-1] != "streets":
        return 0
    node = _node(data, prefix)
    count = node.get("count") if isinstance(node, dict) else None
    if count is None and len(prefix) > 1:  # a district's streets: the template's count
        count = (data.get("streets") or {}).get("count")
    return int(count) if isinstance(count, int) else 0


def _get(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        if key in node:
            return node[key]
        if key.lstrip("-").isdigit() and int(key) in node:
            return node[int(key)]
        return None
    if isinstance(node, list) and key.lstrip("-").isdigit() and -len(node) <= int(key) < len(
            node):
        return node[int(key)]
    return None


def _node(data: Any, parts: list[str]) -> Any:
    for p in parts:
        data = _get(data, p)
    return data


def current(scenario: Scenario, path: str) -> Any:
    """The scenario's value at ``path``: the value given (in the file or an override), else,
    for a street override, the template's, else the default."""
    given, full = scenario.to_data(), scenario.model_dump(mode="json")
    parts = path.split(".")
    for data in (given, full):
        value = _node(data, parts)
        if value is None and "overrides" in parts:
            i = parts.index("overrides")
            value = _node(given, parts[:i] + parts[i + 2:])
            if value is None and parts[0] == "districts":  # a district's street: the template
                value = _node(given, parts[i - 1:i] + parts[i + 2:])
            if value is None:
                value = _node(full, parts[:i] + parts[i + 2:])
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------------------- staff
@dataclass(frozen=True)
class Staff:
    """The staff pools of one allocation: name -> (kind, head count)."""

    pools: dict[str, tuple[str, int]]

    def heads(self, names: set[str] | None = None) -> int:
        return sum(c for n, (_, c) in self.pools.items() if names is None or n in names)


def staff_of(scenario: Scenario) -> Staff:
    """Every staff pool of ``scenario``'s organisation with its kind and head count, as a run
    builds them (the resource-sinking share and the 12345 seats included), read from a run of
    an hour."""
    return _staff(json.dumps(scenario.to_data(), sort_keys=True))


@lru_cache(maxsize=4096)
def _staff(text: str) -> Staff:
    data = json.loads(text)
    data.update(horizon="1h", warmup="0h")
    data["initial_backlog"] = None
    s = validate_data(data, "<staff>")
    raw = run_model(s, record=RecordPlan("kpis", False, s.record.chunk))
    return Staff({name: (kind, int(cap)) for name, kind, _, cap in raw.meters
                  if kind not in ("joint", "city")})
