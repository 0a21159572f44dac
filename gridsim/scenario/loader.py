"""Reading scenario files: YAML with line numbers (:mod:`.yamlread`, with its limits),
``--set`` overrides (:mod:`.overrides`), validation (:mod:`.validate`), bundled files.

``load_scenario(path, overrides)`` is the one way in. Every failure becomes a
:class:`~gridsim.scenario.errors.ScenarioError` naming the file, the line and the YAML path.
Overrides use dotted paths (``districts[0].streets.staff.enforcement=12``); a path that meets a
list without an index applies to every element (``districts.joint_consultation.every=14d``).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import Problem, ScenarioError
from .overrides import apply_overrides, loc, parse_override
from .schema import Scenario
from .validate import validate
from .yamlread import read_text, read_yaml

__all__ = ["apply_overrides", "bundled_scenario", "load_scenario", "parse_override",
           "scenario_hash", "validate_data"]

DEFAULT_SCENARIO = "default.yaml"


def bundled_scenario(name: str = DEFAULT_SCENARIO) -> Path:
    """Path of a scenario shipped with gridsim (installed wheel or source checkout)."""
    installed = resources.files("gridsim").joinpath("_scenarios", name)
    if installed.is_file():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "scenarios" / name


def validate_data(data: dict[str, Any], source: str = "<data>",
                  lines: dict[tuple[Any, ...], int] | None = None,
                  base_dir: Path | None = None) -> Scenario:
    """Validate a scenario mapping; raise :class:`ScenarioError` listing every problem."""
    return validate(Scenario, data, source, lines, base_dir)


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
    where = loc(problem.path) if problem.path else ()
    for key in overrides:
        k = loc(key)
        n = min(len(k), len(where))
        if n and k[:n] == where[:n]:
            return Problem(problem.path, f"{problem.message} (from --set {key}=...)")
    return problem


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the fully resolved scenario (what actually runs)."""
    blob = json.dumps(scenario.model_dump(mode="json"), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()
