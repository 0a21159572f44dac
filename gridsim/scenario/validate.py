"""Validating scenario data: the fields (pydantic), then across fields (:mod:`.checks`), then
the backlog file it names; every failure becomes one :class:`~.errors.ScenarioError`.

It takes the model class as an argument, so that :meth:`Scenario.with_overrides` can validate
its own copies without this module importing the schema."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .backlog import read_backlog
from .checks import cross_check
from .errors import Problem, ScenarioError, line_of, problems_from_validation
from .overrides import loc

if TYPE_CHECKING:
    from .schema import Scenario


def validate(model: type[Scenario], data: dict[str, Any], source: str = "<data>",
             lines: dict[tuple[Any, ...], int] | None = None,
             base_dir: Path | None = None) -> Scenario:
    """Validate a scenario mapping as ``model`` (:class:`~gridsim.scenario.schema.Scenario`),
    then across fields and against its backlog file; raise :class:`ScenarioError` listing every
    problem (with the line of each when ``lines`` maps YAML paths to lines)."""
    lines = lines or {}
    try:
        scenario = model.model_validate(data)
    except ValidationError as e:
        raise ScenarioError(source, problems_from_validation(e, model, lines)) from None
    problems = [Problem(p, m, line_of(lines, loc(p))) for p, m in cross_check(scenario)]
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

