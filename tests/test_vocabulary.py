"""One vocabulary: the domain words are spelled once, and the KPI catalogue covers exactly the
KPIs a run produces, with the units, directions and names the CLI, the report and the
experiments use."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

import gridsim
from gridsim import vocabulary as v
from gridsim.experiments.stats import select_best
from gridsim.validation.checks import Check


def test_the_catalogue_covers_every_kpi_a_run_produces_and_nothing_else(short_result):
    produced = list(dict.fromkeys(short_result.kpis["metric"]))
    assert produced == list(v.KPIS), "kpis.csv and the catalogue list the same KPIs, in order"
    units = short_result.kpis.drop_duplicates("metric").set_index("metric")["unit"]
    assert all(units[name] == k.unit for name, k in v.KPIS.items())
    assert set(v.HEADLINE) <= set(v.KPIS)
    assert not set(v.RENAMED) & set(v.KPIS) and set(v.RENAMED.values()) <= set(v.KPIS)


def test_kpis_counted_per_case_say_so_and_old_names_still_read(short_result):
    assert not [m for m in v.KPIS if "issue" in m]
    assert all(v.KPIS[m].unit == "per case" for m in v.KPIS if m.endswith("_per_case"))
    for old, new in v.RENAMED.items():
        assert short_result.kpi(old) == short_result.kpi(new)
    with pytest.raises(KeyError, match="did you mean 'resolution_time_mean'"):
        v.kpi_info("resolution_time_maen")


def test_the_engine_modules_use_the_same_words():
    """policies/, model/lifecycle.py and model/org.py are being rewritten elsewhere; until they
    import the vocabulary, their copies must agree with it."""
    from gridsim.model import lifecycle, org
    from gridsim.policies import TIERS
    from gridsim.scenario import schema

    assert TIERS == v.TIERS
    assert lifecycle.SOURCES == v.SOURCES == schema.SOURCES
    assert org.KINDS == v.POOL_KINDS


def test_the_vocabulary_imports_nothing_of_gridsim():
    tree = ast.parse(Path(v.__file__).read_text(encoding="utf-8"))
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m.startswith("gridsim") or m == ""], imported
    assert all(n.level == 0 for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))


def test_spelled_out_tier_tuples_are_gone_from_the_layers_that_read_the_vocabulary():
    root = Path(gridsim.__file__).parent
    spelled = re.compile(r'\(\s*"(grid|community)",\s*"(community|street)",\s*"street"')
    skip = {"vocabulary.py", "policies", "lifecycle.py", "streams.py", "trace.py"}
    hits = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
            if not skip & {p.name, *p.relative_to(root).parts} and spelled.search(p.read_text())]
    assert hits == []


@pytest.mark.parametrize(("metric", "better"), [
    ("resolution_time_p90", -1), ("on_time_rate", 1), ("backlog_end", -1), ("whistles", 0),
    ("reroutes_per_case", -1), ("reroutes_per_issue", -1), ("solved_share_grid", 0),
    ("dept_report_on_time_rate", 1), ("not_a_kpi", 0)])
def test_direction_decides_which_point_is_best(metric, better):
    assert v.direction(metric) == better
    samples = {"low": [1.0, 1.1, 0.9, 1.0], "high": [5.0, 5.1, 4.9, 5.0]}
    best = select_best({k: np.array(x) for k, x in samples.items()}, v.minimise(metric))
    assert best.variant == ("low" if better < 0 else "high")


def test_numbers_for_people():
    assert v.format_value(0.9452, "share") == "94.5%"
    assert v.format_value(0.042, "share", signed=True) == "+4.2 pp"
    assert v.format_value(-5.755, "h", signed=True) == "\u22125.75 h"
    assert v.format_value(3806.0, "cases") == "3,806"
    assert v.format_value(float("nan"), "h") == v.DASH
    assert v.format_interval(19.8, 22.04, "h") == "19.8 to 22.0 h"
    assert v.format_days(21.0) == "0.88 d"
    assert v.KPIS["whistles_per_case"].format(0.1234) == "0.123"


def test_a_published_check_on_an_unknown_kpi_is_refused():
    base = {"id": "x.y", "figure": "f", "source": "s", "scenario": "default.yaml", "value": 1,
            "tolerance": 1, "why": "w", "kind": "fit"}
    assert Check(**base, kpi="whistles_per_issue").kpi == "whistles_per_case"
    with pytest.raises(ValueError, match="did you mean 'whistles_per_case'"):
        Check(**base, kpi="whistles_per_cse")
