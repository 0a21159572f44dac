"""Scenario files: pydantic models, YAML loading, overrides, validation, errors, size.

Nothing here knows about SimPy: a :class:`Scenario` is plain validated data.
"""

from .errors import Problem, ScenarioError
from .loader import apply_overrides, bundled_scenario, load_scenario, parse_override, scenario_hash
from .schema import Scenario

__all__ = ["Problem", "Scenario", "ScenarioError", "apply_overrides", "bundled_scenario",
           "load_scenario", "parse_override", "scenario_hash"]
