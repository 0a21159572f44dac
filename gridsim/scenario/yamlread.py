"""Reading a scenario's YAML safely: one parse that keeps line numbers, with limits.

A scenario file may come from anyone, so the reader refuses, with the line, before memory or
time is spent:

- files over :data:`MAX_FILE_BYTES` (checked before reading, and at most that much is read);
- more than :data:`MAX_NODES` values once aliases are expanded (a few hundred bytes of nested
  anchors, the "billion laughs", would otherwise expand to gigabytes) and recursive aliases;
  small aliases (``&work {...}`` reused by ``*work``, or merged with ``<<: *work``) are fine;
- nesting deeper than :data:`MAX_DEPTH` (a scenario needs about ten levels; PyYAML's
  recursive composer would end in a RecursionError), also counted through aliases;
- a key given twice in one mapping (YAML keeps the last silently): the message names both lines.

Dates are read as text (the schema parses them), so that they survive JSON round trips.

The events come from libyaml's C parser when PyYAML has it (eight times faster than the
hand-written two-pass reading this replaces, on the bundled files); the budget is counted while
PyYAML's composer builds the node graph: each node's expanded size and depth
come from its children's, which are already known (an alias is a node composed earlier), so the
check costs one addition per node and never walks the expansion.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from .errors import Problem, ScenarioError, yaml_path

MAX_FILE_BYTES = 1_048_576
"""Largest scenario file read (1 MiB; the bundled ones are under 20 kB)."""
MAX_NODES = 100_000
"""Most YAML values (mappings, lists, keys and scalars) a file may hold, aliases expanded."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists, aliases expanded."""


MAX_PATH_SHOWN = 6
"""Steps of the YAML path named when nesting is too deep (the rest is the same key again)."""


class _Refused(yaml.YAMLError):
    """A limit was passed; ``line`` is where."""

    def __init__(self, message: str, line: int | None, node: yaml.Node | None = None,
                 key: Any = None):
        super().__init__(message)
        self.message, self.line = message, line
        self.node, self.key = node, key  # a duplicate key: its mapping and the key


if yaml.__with_libyaml__:  # libyaml's parser (C) and PyYAML's composer: hooks, at C speed
    from yaml.cyaml import CParser

    class _Base(Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, text: str):
            CParser.__init__(self, text)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class _Loader(_Base):
    """PyYAML's safe loading with the limits above and duplicate keys refused."""

    def __init__(self, text: str):
        super().__init__(text)
        self._depth = 0  # nesting of the node being composed
        self._count = 0  # values so far, aliases expanded
        self._stats: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, depth)
        self._path: list[Any] = []  # YAML path of the node being composed (for messages)

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        event = self.peek_event()
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # (an undefined alias is PyYAML's error)
                if id(target) not in self._stats:
                    raise _Refused(f"alias *{event.anchor} refers to the mapping or list "
                                   "that contains it (a recursive alias)", line)
                size, depth = self._stats[id(target)]
                self._count += size
                self._check(line, self._depth + 1 + depth, alias=True)
            return super().compose_node(parent, index)
        self._count += 1
        self._depth += 1
        # a mapping's value is composed with its key node as index, a list item with its number
        step = index.value if isinstance(index, yaml.ScalarNode) else index
        self._path.append(step)
        self._check(line, self._depth, alias=False)
        node = super().compose_node(parent, index)
        self._path.pop()
        self._depth -= 1
        self._stats[id(node)] = self._measure(node)
        return node

    def _check(self, line: int, depth: int, alias: bool) -> None:
        via = " once its aliases are expanded" if alias else ""
        if self._count > MAX_NODES:
            raise _Refused(f"the file holds more than {MAX_NODES:,} values{via}; a scenario "
                           "needs far fewer (aliases are for reusing a small block)", line)
        if depth > MAX_DEPTH:
            e = _Refused(f"nesting deeper than {MAX_DEPTH} levels{via}", line)
            e.path = tuple(s for s in self._path[:MAX_PATH_SHOWN] if s is not None)
            raise e

    def _measure(self, node: yaml.Node) -> tuple[int, int]:
        """Expanded size and depth of a composed node, from its children's."""
        if isinstance(node, yaml.ScalarNode):
            return 1, 0
        children = ([x for pair in node.value for x in pair]
                    if isinstance(node, yaml.MappingNode) else node.value)
        size, depth = 1, 0
        for child in children:
            s, d = self._stats[id(child)]
            size += s
            depth = max(depth, d + 1)
        return size, depth

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: PyYAML's own message follows
                break
            if first is not None:
                where = f"on line {line}" if first == line else f"(lines {first} and {line})"
                raise _Refused(f"key '{key}' is given twice {where}; keep one", line, node, key)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _timestamp_as_text(loader: SafeConstructor, node: yaml.ScalarNode) -> str:
    """Dates stay text (``2026-10-01``): the schema reads them where a date is meant, a holiday
    list may mix them with ``from..to`` ranges, and a ``--set`` date stays JSON-ready."""
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def read_text(path: Path, source: str) -> str:
    """The file's text, refused (not read) when it is over :data:`MAX_FILE_BYTES`."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(source, [Problem("", "file not found")]) from None
    except OSError as e:
        raise ScenarioError(source, [Problem("", f"cannot read file: {e.strerror or e}")]) \
            from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(source, [Problem("", f"the file is larger than the limit of "
                                                 f"{MAX_FILE_BYTES:,} bytes (1 MiB) for a "
                                                 "scenario file")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(source, [Problem("", f"the file is not UTF-8 text (byte "
                                                 f"{e.start + 1})", line)]) from None


def _line_map(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            _line_map(v, path + (key,), out)
            out[path + (key,)] = k.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _line_map(v, path + (i,), out)


def _compose(text: str) -> tuple[yaml.Node | None, Any]:
    """The node graph and the data of one YAML document, within the limits."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        try:
            return node, loader.construct_document(node) if node is not None else None
        except _Refused as e:
            if e.node is not None:
                e.path = _path_to(node, e.node) + (e.key,)
            raise
        except ValueError as e:  # PyYAML reads ints with int(): more than 4,300 digits fail
            if "digits" in str(e):
                raise ValueError("a number with thousands of digits") from None
            raise
    finally:
        getattr(loader, "dispose", lambda: None)()


def _path_to(root: yaml.Node, target: yaml.Node) -> tuple[Any, ...]:
    """The YAML path of ``target`` under ``root`` (breadth first; the graph is bounded)."""
    todo: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    seen: set[int] = set()
    while todo:
        node, path = todo.pop(0)
        if node is target:
            return path
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            todo += [(v, path + (k.value,)) for k, v in node.value]
        elif isinstance(node, yaml.SequenceNode):
            todo += [(v, path + (i,)) for i, v in enumerate(node.value)]
    return ()


def read_value(text: str) -> Any:
    """One YAML value (a ``--set`` value), within the same limits as a file.

    Raises ``ValueError`` with the reason when the text is refused or is not YAML."""
    try:
        return _compose(text)[1]
    except _Refused as e:
        raise ValueError(e.message) from None
    except (yaml.YAMLError, ValueError, OverflowError) as e:
        raise ValueError(f"malformed YAML: {e}") from None


def read_yaml(text: str, source: str) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Parse YAML text into data plus a map from YAML paths to line numbers (one parse)."""
    try:
        node, data = _compose(text)
    except _Refused as e:
        path = yaml_path(getattr(e, "path", ()))
        raise ScenarioError(source, [Problem(path, e.message, e.line)]) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(x for x in (e.context, e.problem) if x)
        if e.context_mark and mark is not e.context_mark and e.context_mark.line + 1 != line:
            what += f" (the construct started on line {e.context_mark.line + 1})"
        raise ScenarioError(source, [Problem("", f"malformed YAML: {what}", line)]) from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (NUL, ...)
        line = text[:e.position].count("\n") + 1
        ch = f"#x{e.character:04x}" if isinstance(e.character, int) else repr(e.character)
        raise ScenarioError(source, [Problem("", f"malformed YAML: {e.reason} ({ch})", line)]) \
            from None
    except (yaml.YAMLError, ValueError, OverflowError) as e:  # e.g. an int of 5,000 digits
        raise ScenarioError(source, [Problem("", f"malformed YAML: {e}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError(source, [Problem("", "a scenario file must be a mapping of keys "
                                                 "(name, districts, categories, ...)", 1)])
    lines: dict[tuple[Any, ...], int] = {}
    _line_map(node, (), lines)
    return data, lines


__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "MAX_NODES", "read_text", "read_value",
           "read_yaml"]
