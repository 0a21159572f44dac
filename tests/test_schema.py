"""The JSON Schema (``gridsim schema``) agrees with the loader (issue 13): every shipped scenario
validates against it, invalid inputs fail both, and its descriptions are plain text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import gridsim
from gridsim.scenario.loader import validate_data

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [p for p in sorted((ROOT / "scenarios").rglob("*.yaml")) if p.name != "metrics.yaml"]


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(subprocess.run([sys.executable, "-m", "gridsim", "schema"],
                                       capture_output=True, text=True, check=True).stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("urn:gridsim:scenario:")
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scenario_validates_against_the_schema(validator, path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))  # YAML dates are strings in a JSON file
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(data)]
    assert not errors, errors[:5]


def test_the_bundled_scenario_with_every_default_validates(validator):
    """The fully resolved scenario (every default written out) validates too: the schema's
    defaults and shorthands are what the loader writes."""
    data = json.loads(json.dumps(gridsim.load_scenario().model_dump(mode="json")))
    data.pop("initial_backlog", None)
    assert not list(validator.iter_errors(data))


BAD = [
    ({"districts": [{"name": "A", "joint_consultation": {"every": "0d"}}]}, "positive"),
    ({"horizon": "0h"}, "positive"),
    ({"patrol": {"interval": "0min"}}, "positive"),
    ({"triage_time": "4 parsecs"}, "unit"),
    ({"triage_time": "2wd"}, "working time"),
    ({"triage_time": 15}, "no unit"),
    ({"horizon": "90"}, "cannot read duration"),
    ({"streets": {"staf": {}}}, "unknown key 'staf'"),
    ({"policy": {"name": "four_tiers"}}, "four_tier"),
]


@pytest.mark.parametrize("change, message", BAD, ids=[str(c) for c, _ in BAD])
def test_invalid_input_fails_loader_and_schema(validator, change, message):
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))
    data.update(change)
    assert list(validator.iter_errors(data)), "the schema accepts it"
    with pytest.raises(gridsim.ScenarioError, match=message):
        validate_data(data, "<test>")


def test_shorthands_the_loader_accepts_pass_the_schema(validator):
    """A bare duration is a fixed distribution; a bare 0 is a zero duration; units are
    case-insensitive with aliases."""
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))
    data.update(triage_time="0h", verify_time="20 Minutes", warmup=0)
    assert not list(validator.iter_errors(data))
    validate_data(data, "<test>")


def test_descriptions_are_plain_text(validator):
    found = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "description" and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(validator.schema)
    assert len(found) > 30
    marked = [d for d in found if "``" in d or re.search(r":[a-z]+:`", d) or "\n" in d]
    assert not marked, marked[:3]


def test_fractional_working_days_are_refused_by_both(validator):
    """``0.5wd`` used to count as a whole working day (the fraction silently rounded up)."""
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text(encoding="utf-8"))
    data = json.loads(json.dumps(data, default=str))
    data["categories"]["noise"]["deadline"] = "0.5wd"
    assert list(validator.iter_errors(data))
    with pytest.raises(gridsim.ScenarioError, match="working days are whole days"):
        validate_data(data, "<test>")
    data["categories"]["noise"]["deadline"] = "2wd"
    assert not list(validator.iter_errors(data))
