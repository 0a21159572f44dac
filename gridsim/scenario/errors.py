"""One clear message for bad input: the file, the line, the YAML path, what is wrong, and for a
misspelt key or value the closest valid one.

Pydantic reports locations as tuples such as ``('categories', 'noise', 'work', 'community',
'lognormal', 'sdd')``. :func:`problems_from_validation` turns them into YAML paths
(``categories.noise.work.community.sdd``), finds the line in the file, and looks up the valid keys
at that place in the schema to suggest the closest one.
"""

from __future__ import annotations

import difflib
import re
import reprlib
import types
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..distributions import DIST_NAMES


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        message = visible(self.message)
        if not self.path:
            return f"{where}{message}" if where else f"(top level): {message}"
        return f"{where}{visible(self.path)}: {message}"


def visible(text: str) -> str:
    """``text`` with control, format and line-separator characters escaped (``\\n``,
    ``\\u200b``), so a key or value holding them still gives one readable line."""
    if text.isprintable():
        return text
    return "".join(c.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = 6
_SHORT.maxlevel = 2


class ScenarioError(Exception):
    """Invalid scenario input; ``str()`` is the message shown to the user."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        n = len(problems)
        head = f"{source}: invalid scenario ({n} problem{'s' if n != 1 else ''})"
        super().__init__("\n".join([head] + [f"  {p}" for p in problems]))


def yaml_path(loc: tuple[Any, ...]) -> str:
    """``('districts', 0, 'streets')`` -> ``districts[0].streets``."""
    out = ""
    for el in loc:
        if isinstance(el, int):
            out += f"[{el}]"
        else:
            out += ("." if out else "") + str(el)
    return out


def closest(word: str, options: list[str]) -> str | None:
    """The closest valid option to a misspelt ``word``, if one is close enough."""
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.5)
    return match[0] if match else None


# ---------------------------------------------------------------- walking the schema by location
def _unwrap(t: Any) -> Any:
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return t


def _arms(t: Any) -> list[Any]:
    if get_origin(t) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(t) if a is not type(None)]
    return [t]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _tag(model: type[BaseModel]) -> str | None:
    f = model.model_fields.get("dist")
    if f is not None and get_origin(f.annotation) is Literal:
        return get_args(f.annotation)[0]
    return None


def _walk(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, list[Any]]:
    """Follow ``loc`` through the schema; return the type reached and the loc with pydantic's
    union tags and type descriptors removed (the user's path)."""
    t: Any = root
    clean: list[Any] = []
    for el in loc:
        t = _unwrap(t)
        arms = _arms(t)
        if len(arms) > 1:
            tagged = [a for a in arms if _is_model(a) and _tag(a) == el]
            if tagged:
                t = tagged[0]
                continue
            if isinstance(el, str) and ("[" in el or el in ("function-before", "function-after")):
                continue
            models = [a for a in arms if _is_model(a)]
            t = models[0] if models else arms[0]
        elif isinstance(el, str) and (el == "[key]" or "[" in el):
            continue
        t = _unwrap(t)
        clean.append(el)
        if _is_model(t):
            f = t.model_fields.get(el) if isinstance(el, str) else None
            t = f.annotation if f is not None else None
        elif get_origin(t) is list:
            t = get_args(t)[0]
        elif get_origin(t) is dict:
            t = get_args(t)[1]
        else:
            t = None
    return t, clean


def _valid_keys(root: type[BaseModel], parent_loc: tuple[Any, ...]) -> list[str]:
    t, _ = _walk(root, parent_loc)
    models = [a for a in _arms(_unwrap(t)) if _is_model(a)] if t is not None else []
    return list(models[0].model_fields) if models else []


def _message(err: dict[str, Any], root: type[BaseModel]) -> str:
    kind, loc = err["type"], err["loc"]
    if kind == "extra_forbidden":
        key = loc[-1]
        options = _valid_keys(root, loc[:-1])
        hint = closest(str(key), options)
        msg = f"unknown key '{key}'"
        if hint:
            msg += f" (did you mean '{hint}'?)"
        elif options:
            msg += f"; valid keys: {', '.join(options)}"
        return msg
    if kind == "missing":
        return "required key is missing"
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        hint = closest(str(err.get("input")), expected)
        msg = f"{_SHORT.repr(err['input'])} is not one of {', '.join(expected)}"
        return msg + (f" (did you mean '{hint}'?)" if hint else "")
    if kind == "union_tag_invalid":
        hint = closest(str(err.get("ctx", {}).get("tag", "")), list(DIST_NAMES))
        msg = f"unknown distribution '{err['ctx']['tag']}'; use one of {', '.join(DIST_NAMES)}"
        return msg + (f" (did you mean '{hint}'?)" if hint else "")
    if kind == "union_tag_not_found":
        return "a distribution needs a 'dist' key, e.g. {dist: exponential, mean: 2h}"
    msg = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than") or \
            kind.endswith("_type") or kind.endswith("_parsing") or kind == "finite_number":
        msg += f" (got {_SHORT.repr(err['input'])})"
    return msg


def problems_from_validation(exc: ValidationError, root: type[BaseModel],
                             lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Translate a pydantic error into user-facing problems with YAML paths and lines."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        _, clean = _walk(root, tuple(err["loc"]))
        path = yaml_path(tuple(clean))
        msg = _message(err, root)
        if (path, msg) in seen:
            continue
        seen.add((path, msg))
        out.append(Problem(path, msg, line_of(lines, tuple(clean))))
    return out


def line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """Line of the deepest prefix of ``loc`` present in the file."""
    for n in range(len(loc), -1, -1):
        key = tuple(str(k) if not isinstance(k, int) else k for k in loc[:n])
        if key in lines:
            return lines[key]
    return None
