"""Reading scenario files: YAML with line numbers (:mod:`.yamlread`, with its limits),
``--set`` overrides, validation, bundled files.

``load_scenario(path, overrides)`` is the one way in. Every failure becomes a
:class:`~gridsim.scenario.errors.ScenarioError` naming the file, the line and the YAML path.
Overrides use dotted paths (``districts[0].streets.staff.enforcement=12``); a path that meets a
list without an index applies to every element (``districts.joint_consultation.every=14d``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .backlog import read_backlog
from .errors import Problem, ScenarioError, line_of, problems_from_validation
from .schema import Scenario, cross_check
from .yamlread import read_text, read_value, read_yaml

DEFAULT_SCENARIO = "default.yaml"


def bundled_scenario(name: str = DEFAULT_SCENARIO) -> Path:
    """Path of a scenario shipped with gridsim (installed wheel or source checkout)."""
    installed = resources.files("gridsim").joinpath("_scenarios", name)
    if installed.is_file():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "scenarios" / name


# ---------------------------------------------------------------- overrides
def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.replace("]", "").replace("[", ".").split("."):
        if chunk == "":
            continue
        parts.append(int(chunk) if chunk.lstrip("-").isdigit() else chunk)
    return parts


def _set(node: Any, parts: list[str | int], value: Any, path: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if isinstance(head, int):
            if not -len(node) <= head < len(node):
                raise KeyError(f"index {head} is out of range (the list has {len(node)} items)")
            targets = [node[head]]
        else:  # no index: apply to every element
            targets, rest = node, parts
        for item in targets:
            if not rest:
                raise KeyError("cannot replace a list element wholesale")
            _set(item, rest, value, path)
        return
    if not isinstance(node, dict):
        raise KeyError(f"'{head}' is below a value that is not a mapping")
    key = str(head) if not isinstance(head, int) or head not in node else head
    if not rest:
        node[key] = value
        return
    if key not in node or node[key] is None:
        node[key] = {}
    _set(node[key], rest, value, path)


def parse_override(text: str) -> tuple[str, Any]:
    """``"policy.name=baseline"`` -> ``("policy.name", "baseline")``; the value is read as YAML."""
    if "=" not in text:
        raise ValueError(f"override {text!r} must look like dotted.path=value")
    path, raw = text.split("=", 1)
    try:
        value = read_value(raw) if raw.strip() else ""
    except ValueError as e:
        if not str(e).startswith("malformed YAML"):
            raise ValueError(f"override {path.strip()}: {e}") from None
        value = raw
    return path.strip(), value


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any],
                    source: str = "--set") -> dict[str, Any]:
    """A deep copy of ``data`` with each ``dotted.path: value`` applied."""
    out = copy.deepcopy(data)
    problems = []
    for path, value in overrides.items():
        try:
            _set(out, _split_path(path), value, path)
        except (KeyError, IndexError) as e:
            problems.append(Problem(path, f"cannot apply override: {e.args[0]}"))
    if problems:
        raise ScenarioError(source, problems)
    return out


# ---------------------------------------------------------------- validation
def validate_data(data: dict[str, Any], source: str = "<data>",
                  lines: dict[tuple[Any, ...], int] | None = None,
                  base_dir: Path | None = None) -> Scenario:
    """Validate a scenario mapping; raise :class:`ScenarioError` listing every problem."""
    lines = lines or {}
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(source, problems_from_validation(e, Scenario, lines)) from None
    problems = [Problem(p, m, line_of(lines, _loc(p))) for p, m in cross_check(scenario)]
    if scenario.initial_backlog:
        backlog = Path(scenario.initial_backlog)
        if not backlog.is_absolute() and base_dir is not None:
            backlog = (base_dir / backlog).resolve()
            scenario = scenario.model_copy(update={"initial_backlog": str(backlog)})
        if not problems:
            try:
                read_backlog(backlog, scenario)
            except ScenarioError as e:
                at = line_of(lines, ("initial_backlog",))
                problems += [Problem("initial_backlog", f"{e.source}, {q}", at)
                             for q in e.problems]
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _loc(path: str) -> tuple[Any, ...]:
    return tuple(_split_path(path))


def load_scenario(path: str | Path | None = None,
                  overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file (the bundled default when ``path`` is None)."""
    p = Path(path) if path is not None else bundled_scenario()
    source = str(path) if path is not None else f"{p.name} (bundled)"
    text = read_text(p, source)
    data, lines = read_yaml(text, source)
    if overrides:
        data = apply_overrides(data, overrides)
    try:
        scenario = validate_data(data, source, lines, base_dir=p.parent)
    except ScenarioError as e:
        if overrides:
            raise ScenarioError(source, [_blame_override(q, overrides) for q in e.problems]) \
                from None
        raise
    scenario._origin = {"file": str(p.resolve()),
                        "file_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                        "overrides": dict(overrides or {})}
    return scenario


def _blame_override(problem: Problem, overrides: dict[str, Any]) -> Problem:
    """Point a problem at the ``--set`` that caused it rather than at a line of the file."""
    loc = _loc(problem.path) if problem.path else ()
    for key in overrides:
        k = _loc(key)
        n = min(len(k), len(loc))
        if n and k[:n] == loc[:n]:
            return Problem(problem.path, f"{problem.message} (from --set {key}=...)")
    return problem


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the fully resolved scenario (what actually runs)."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
