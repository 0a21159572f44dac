"""The mechanisms that differ between two scenarios, and the scenario with some of them switched.

Scenario A runs the baseline, B the whistle with a shorter report time and a bigger street
team: three things changed at once. Diffing the two validated scenarios gives the dotted paths
whose values differ (``streets.staff.enforcement``, ``policy.whistle.report_time.mean``, ...);
paths are grouped into named *mechanisms* (a policy parameter with everything below it, a
department, a category, a section of the street template; ``groups`` names others). When the
policy itself differs, its decisions are split into the mechanisms of
:mod:`gridsim.policies.mix` that differ between the two (routing, joint work, forwarding,
report time, ...), each switched by the ``mix`` policy. A *coalition* is A with the mechanisms
in it taken from B: the empty one is A, the full one is B.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..arguments import SettingError
from ..policies import REGISTRY, make_policy
from ..policies.mix import MECHANISMS, differing
from ..scenario import Scenario, ScenarioError
from ..scenario.validate import validate

IGNORED = ("name", "description", "seed", "record")
"""Top-level keys that are labels or recording choices, not mechanisms (an experiment's seeds
come from its base seed; what is recorded does not change what happens)."""
FIXED = ("horizon", "warmup")
"""Keys A and B must share: a KPI is compared over one measured window."""
_MISSING = object()


@dataclass(frozen=True)
class Mechanism:
    """A named group of settings switched together: dotted scenario ``paths`` (B's values) and
    ``policy`` mechanisms (B's policy's decisions, :data:`gridsim.policies.mix.MECHANISMS`)."""

    name: str
    paths: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    keys: tuple[tuple, ...] = field(default=(), repr=False, compare=False)
    """The data paths of ``paths`` as keys (a dict key may look like a list index)."""

    @property
    def settings(self) -> str:
        """What it switches, in one line."""
        return ", ".join((*self.paths, *(f"policy decisions: {p}" for p in self.policy)))


def _diff(a: Any, b: Any, path: tuple = ()) -> list[tuple]:
    """Data paths where ``a`` and ``b`` differ (dicts by key, lists of one length by index)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = [*a, *(k for k in b if k not in a)]
        return [p for k in keys for p in _diff(a.get(k, _MISSING), b.get(k, _MISSING),
                                              (*path, k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [p for i, (x, y) in enumerate(zip(a, b, strict=True))
                for p in _diff(x, y, (*path, i))]
    return [] if a == b else [path]


def _get(data: Any, path: tuple) -> Any:
    for k in path:
        if isinstance(data, dict):
            if k not in data:
                return _MISSING
            data = data[k]
        elif isinstance(data, list) and isinstance(k, int) and k < len(data):
            data = data[k]
        else:
            return _MISSING
    return data


def _put(data: Any, path: tuple, value: Any) -> None:
    for k in path[:-1]:
        if isinstance(data, dict) and not isinstance(data.get(k), dict | list):
            data[k] = {}
        data = data[k]
    if value is _MISSING:
        data.pop(path[-1], None)
    else:
        data[path[-1]] = copy.deepcopy(value)


def _chain(policy: Mapping[str, Any], name: str) -> list[str]:
    """The policies whose ``policy.<name>`` parameters a run under ``name`` reads."""
    out = [name]
    inner = (policy.get(name) or {}).get("within")
    while inner and inner not in out:
        out.append(inner)
        inner = (policy.get(inner) or {}).get("within")
    return out


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


def _auto_name(path: tuple, chain: list[str]) -> str:
    """A mechanism name for a differing path: a policy parameter, or the first two keys (three
    under a list: ``districts.0.joint_consultation``)."""
    if path[0] == "policy" and len(path) > 2 and path[1] in chain:
        return str(path[2])
    if path[0] == "policy":
        return str(path[1])
    depth = 3 if len(path) > 1 and isinstance(path[1], int) else 2
    return _dotted(path[:depth])


def _matches(path: str, pattern: str) -> bool:
    return path == pattern or path.startswith(pattern + ".")


class Pair:
    """Scenarios A and B, the mechanisms that differ between them and the coalitions'
    scenarios (:meth:`scenario`)."""

    def __init__(self, a: Scenario, b: Scenario, groups: Mapping[str, Iterable[str]] | None
                 = None):
        if a.policy.name == "mix" or b.policy.name == "mix":
            raise SettingError("decompose switches policies with the mix policy itself: give "
                               "A and B without policy.name: mix")
        self.a, self.b = a, b
        self.data_a, self.data_b = a.to_data(), b.to_data()
        for key in FIXED:
            if getattr(a, key) != getattr(b, key):
                raise SettingError(f"A and B differ in {key} ({getattr(a, key)} against "
                                   f"{getattr(b, key)}): compare them over one window")
        pa = self.data_a.setdefault("policy", {})
        pb = self.data_b.setdefault("policy", {})
        self.names = (a.policy.name, b.policy.name)
        self.chains = _chain(pa, a.policy.name), _chain(pb, b.policy.name)
        self.policy_mechs = differing(make_policy(a.policy), make_policy(b.policy),
                                      a.departments) if self.names[0] != self.names[1] else []
        self.mechanisms = self._group(self._paths(pa, pb), dict(groups or {}))
        if not self.mechanisms:
            raise SettingError("A and B do not differ in anything simulated: nothing to "
                               "decompose")

    # ---------------------------------------------------------------- what differs
    def _paths(self, pa: dict, pb: dict) -> list[tuple]:
        """Differing data paths that change the scenario (a value written in one file at its
        default in the other is no difference)."""
        chain_a, chain_b = self.chains
        out = []
        for path in _diff(self.data_a, self.data_b):
            if path[0] in IGNORED or path[0] in FIXED:
                continue
            if path[0] == "policy" and len(path) > 1 and (path[1] == "name" or (
                    path[1] in REGISTRY and (self.names[0] != self.names[1]
                                             or path[1] not in (*chain_a, *chain_b)))):
                # the policy in force, when it differs, is split into its decisions (the
                # policy mechanisms; each side keeps its own parameters); and parameters of
                # a policy neither side runs change nothing
                continue
            if self._changes(path):
                out.append(path)
        shared = set(chain_a) & set(chain_b)
        if self.names[0] != self.names[1] and any(pa.get(n) != pb.get(n) for n in shared):
            raise SettingError("A's and B's policies both read policy."
                               f"{sorted(shared)[0]} and the two set it differently: give it "
                               "one value")
        return out

    def _changes(self, path: tuple) -> bool:
        data = copy.deepcopy(self.data_a)
        _put(data, path, _get(self.data_b, path))
        try:
            s = validate(Scenario, data, source="<decompose>")
        except ScenarioError:
            return True  # valid only with another path: a difference all the same
        return s.model_dump(mode="json") != self.a.model_dump(mode="json")

    def _group(self, paths: list[tuple], groups: dict[str, Iterable[str]]) -> list[Mechanism]:
        members: dict[str, list] = {name: [] for name in groups}
        patterns = {name: [p.strip() for p in pats] for name, pats in groups.items()}
        items: list[tuple[str, Any]] = [("path", p) for p in paths] + \
            [("policy", m) for m in self.policy_mechs]
        for kind, item in items:
            text = _dotted(item) if kind == "path" else item
            name = next((n for n, pats in patterns.items()
                         if any(_matches(text, p) for p in pats)), None)
            if name is None:
                name = _auto_name(item, self.chains[0]) if kind == "path" else item
            members.setdefault(name, []).append((kind, item))
        for name, found in members.items():
            if not found:
                every = [_dotted(i) if k == "path" else i for k, i in items]
                raise SettingError(f"--group {name}: none of {', '.join(patterns[name])} "
                                   "differs between A and B (differing: "
                                   f"{', '.join(every) or 'nothing'})")
        return [Mechanism(name, tuple(_dotted(i) for k, i in found if k == "path"),
                          tuple(i for k, i in found if k == "policy"),
                          tuple(i for k, i in found if k == "path"))
                for name, found in members.items()]

    # ---------------------------------------------------------------- coalitions
    def scenario(self, on: Iterable[int], label: str) -> Scenario:
        """A with the mechanisms numbered ``on`` taken from B."""
        on = sorted(set(on))
        if not on:
            return self.a
        if len(on) == len(self.mechanisms):
            return self.b
        data = copy.deepcopy(self.data_a)
        taken = [self.mechanisms[i] for i in on]
        for m in taken:
            for keys in m.keys:
                _put(data, keys, _get(self.data_b, keys))
        take = [p for m in taken for p in m.policy]
        if self.policy_mechs:
            pol = data["policy"]
            for name in self.chains[1]:
                _put(pol, (name,), _get(self.data_b["policy"], (name,)))
            if len(take) == len(self.policy_mechs):
                pol["name"] = self.names[1]
            elif take:
                pol["name"] = "mix"
                pol["mix"] = {"base": self.names[0], "other": self.names[1],
                              "take": [m for m in MECHANISMS if m in take]}
        out = validate(Scenario, data, source=f"<{label}>")
        out._origin = {**self.a.origin, "overrides": {"decompose": label}}
        return out


__all__ = ["FIXED", "IGNORED", "Mechanism", "Pair"]
