"""Helpers of the scenario's JSON Schema (``gridsim schema``): defaults written the way a
scenario file writes them, and descriptions in plain text rather than docstring markup."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

from ..units import Duration


def _as_data(value: Any) -> Any:
    """A default as a scenario file writes it (durations as ``"7d"``, models as mappings)."""
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_as_data(v) for v in value]
    return value


class SchemaGenerator(GenerateJsonSchema):
    """Writes defaults as a scenario file writes them."""

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(_as_data(dft))


_ROLE = re.compile(r":[a-z]+:`~?(?:[\w.]+\.)?([^`]+)`")


def plain(node: Any) -> Any:
    """``node`` with every string ``description`` in plain text: RST roles and literals
    (``:func:`x```, double backquotes) reduced to their text, whitespace collapsed."""
    if isinstance(node, list):
        return [plain(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if k == "description" and isinstance(v, str):
            v = " ".join(_ROLE.sub(r"\1", v).replace("``", "").split())
        out[k] = plain(v)
    return out
