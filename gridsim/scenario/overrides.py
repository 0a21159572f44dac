"""``--set`` overrides: dotted paths into the scenario's data (``districts[0].streets.staff.
enforcement=12``); a path that meets a list without an index applies to every element
(``districts.joint_consultation.every=14d``)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import Problem, ScenarioError
from .yamlread import read_value


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


def loc(path: str) -> tuple[Any, ...]:
    """A dotted path as the key tuple pydantic and the YAML reader use."""
    return tuple(_split_path(path))
