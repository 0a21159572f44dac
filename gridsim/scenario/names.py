"""The JSON Schema form of the rule for names that become file and folder names.

:func:`gridsim.scenario.schema.path_safe` refuses a name that is only dots, holds ``/``, ``\\``,
a control or invisible character (Unicode categories ``C*`` and ``Z*`` other than the space), or
starts or ends with a space. :func:`path_safe_pattern` states the same rule as a regular
expression that Python's ``re`` (the ``jsonschema`` package) and ECMA-262 in Unicode mode (what
editors use) both read alike, so an editor flags exactly the names the loader refuses. It is
built from the running Python's Unicode database, as ``path_safe`` is.
"""

from __future__ import annotations

import sys
import unicodedata
from functools import cache
from typing import Any


def _refused(c: str) -> bool:
    return c in "/\\" or (c != " " and unicodedata.category(c)[0] in "CZ")


@cache
def path_safe_pattern() -> str:
    """A regular expression (anchored) matching exactly the names ``path_safe`` accepts."""
    ranges: list[list[int]] = []
    for i in range(sys.maxunicode + 1):
        if _refused(chr(i)):
            if ranges and ranges[-1][1] == i - 1:
                ranges[-1][1] = i
            else:
                ranges.append([i, i])

    def one(i: int) -> str:  # BMP escaped (both dialects read \uXXXX); beyond it, literally
        return f"\\u{i:04X}" if i <= 0xFFFF else chr(i)

    cls = "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)
    # no newline anywhere (Python's $ also matches before a final one), not only dots, no
    # space at either end, and no refused character
    return rf"^(?!.*\n)(?!\.+$)(?! )(?!.* $)[^{cls}]+$"


def name_schema(what: str):
    """A ``json_schema_extra`` that adds the rule (pattern and description) to a name field."""

    def extra(schema: dict[str, Any]) -> None:
        schema["pattern"] = path_safe_pattern()
        schema.setdefault("description", f"{what}: not only dots, no '/' or '\\', no control "
                                         "or invisible characters, no space at either end "
                                         "(it names files and folders)")
    return extra
