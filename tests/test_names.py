"""The JSON Schema and the loader agree on which district names are refused."""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import jsonschema
import pytest
import yaml

import gridsim
from gridsim.scenario.names import path_safe_pattern
from gridsim.scenario.schema import path_safe

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "default.yaml"
EDGES = [".", "..", "...", "a", ".a", "a.", "a..b", " a", "a ", " ", "a b", "a/b", "a\\b", "/",
         "a\n", "\n", "a\nb", "a\r", "a\t", "\u200ba", "a\u00a0", "a\ufeff", "\u4e1c\u57ce",
         "District 1", "a\U000e0001", "\U0001f600", "a\U0010fffd", "-", "_", "%", ""]


def loader_accepts(name: str) -> bool:
    try:
        path_safe(name, "district name")
    except ValueError:
        return False
    return name != ""  # min_length


def _probes() -> list[int]:
    """Every character of the Basic Multilingual Plane; beyond it, both sides of every change of
    Unicode category (where a range of the pattern starts or ends) and every 1000th one."""
    cat = [unicodedata.category(chr(i)) for i in range(sys.maxunicode + 1)]
    edges = {j for i in range(0x10000, sys.maxunicode + 1) if cat[i] != cat[i - 1]
             for j in (i - 1, i)}
    return sorted({*range(0x10000), *edges, *range(0x10000, sys.maxunicode + 1, 1000),
                   sys.maxunicode})


def test_the_pattern_accepts_exactly_what_the_loader_accepts_character_by_character():
    schema = gridsim.Scenario.model_json_schema()
    assert schema["$defs"]["District"]["properties"]["name"]["pattern"] == path_safe_pattern()
    pattern = re.compile(path_safe_pattern())
    differ = [hex(i) for i in _probes()
              if (pattern.search(f"a{chr(i)}b") is not None) != loader_accepts(f"a{chr(i)}b")]
    assert differ == []


@pytest.mark.parametrize("name", EDGES, ids=ascii)
def test_the_pattern_and_the_loader_agree_on_edge_names(name):
    assert (re.search(path_safe_pattern(), name) is not None) == loader_accepts(name)


@pytest.mark.parametrize("name", ["a/b", "..", " x", "x\u200b", "a\nb", "ok", "\u4e1c\u57ce"],
                         ids=ascii)
def test_the_json_schema_refuses_the_district_names_the_loader_refuses(name):
    data = yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))
    data["districts"][0]["name"] = name
    validator = jsonschema.Draft202012Validator(gridsim.Scenario.model_json_schema())
    flagged = [e for e in validator.iter_errors(data)
               if list(e.absolute_path) == ["districts", 0, "name"]]
    assert bool(flagged) == (not loader_accepts(name))
    if flagged:
        with pytest.raises(gridsim.ScenarioError, match=r"districts\[0\]\.name"):
            gridsim.scenario.loader.validate_data(data, source="x.yaml")
