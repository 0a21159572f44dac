"""Knockouts (issue 17): every check that is evidence for a mechanism fails when that mechanism is
switched off, and no out-of-sample figure was used by a calibration.

The default run holds a representative subset to its knockout (fast replications); the whole
table is held to it under ``-m slow`` (about 2 minutes with ``validate --knockouts --fast``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pydantic
import pytest
import yaml

import gridsim
from gridsim.cli.published import CALIBRATED_MARK
from gridsim.scenario.loader import bundled_scenario
from gridsim.validation import Check, load_checks, run_checks
from gridsim.validation.checks import NEEDS_KNOCKOUT
from gridsim.validation.run import effect_passed, overridden, run_check, survivors

ROOT = Path(__file__).resolve().parents[1]
CHECKS = load_checks()
EVIDENCE = [c for c in CHECKS if c.kind in NEEDS_KNOCKOUT]
REPRESENTATIVE = ("jianghan.one_visit", "xinzhou.reform")
"""One knockout of a mechanism inside a policy (joint visits) and one of a reform's balance
(sinking against two-way dispatch), for the default run; the rest run under -m slow."""


def _by_id(check_id: str) -> Check:
    return next(c for c in CHECKS if c.id == check_id)


def _assert_bites(row: dict) -> None:
    assert row["knockout_passed"] is False, (
        f"{row['check']} still passes under its knockout {row['knockout']}: simulated "
        f"{row['knockout_simulated']:.4g} [{row['knockout_low']:.4g}, {row['knockout_high']:.4g}]")


# ---------------------------------------------------------------- the table


def test_every_evidence_check_names_its_mechanism_and_a_knockout_that_applies():
    assert EVIDENCE, "the table has no out_of_sample or structural check"
    for c in EVIDENCE:
        assert len(c.mechanism) > 20 and c.knockout, c.id
        overridden(bundled_scenario(c.scenario), c.knockout)  # a bad path or value raises


def test_a_check_without_mechanism_or_knockout_is_refused():
    data = yaml.safe_load(bundled_scenario("published/metrics.yaml").read_text(encoding="utf-8"))
    row = next(r for r in data["checks"] if r["id"] == "xinzhou.reform")
    for missing in ("mechanism", "knockout"):
        with pytest.raises(pydantic.ValidationError, match="needs a mechanism"):
            Check.model_validate({k: v for k, v in row.items() if k != missing})
    with pytest.raises(pydantic.ValidationError, match="min_effect"):
        Check.model_validate({k: v for k, v in row.items() if k != "min_effect"})


def test_an_effect_passes_only_when_it_clears_min_effect():
    c = _by_id("xinzhou.reform")  # lower, by at least 4 h
    assert effect_passed(c, -14.0, -20.0, -8.0)
    assert not effect_passed(c, -2.0, -3.0, -1.0), "significant but smaller than min_effect"
    assert not effect_passed(c, -14.0, -30.0, 2.0), "large but not significant"


def _calibration_targets() -> dict[str, list[tuple[str, str, float]]]:
    """Per scenario file gridsim calibrated (its header), the targets: KPI, scope, value."""
    out: dict[str, list[tuple[str, str, float]]] = {}
    for path in (ROOT / "scenarios").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if CALIBRATED_MARK not in text:
            continue
        header = text[text.index(CALIBRATED_MARK):]
        rel = path.relative_to(ROOT / "scenarios").as_posix()
        out[rel] = [(m[1], m[2], float(m[3])) for m in re.finditer(
            r"^#\s+(\w+)\[([^\]]*)\]: \S+ vs (\S+)", header, flags=re.M)]
        assert out[rel], f"{rel}: a calibrated header without targets"
    return out


def test_no_out_of_sample_figure_was_used_by_a_calibration():
    """An out-of-sample check's KPI (and value) is none of the calibration targets of its
    scenario, and its figure is not a figure the table marks as fitted (same quote or KPI)."""
    targets = _calibration_targets()
    assert "published/bazhong.yaml" in targets  # the parser reads the committed fit
    fits = [c for c in CHECKS if c.kind == "fit"]
    for c in (c for c in CHECKS if c.kind == "out_of_sample"):
        for kpi, scope, value in targets.get(c.scenario, []):
            assert (c.kpi, c.scope) != (kpi, scope), f"{c.id} is a calibration target"
            assert c.value is None or c.value != pytest.approx(value), c.id
        for f in fits:
            if f.scenario == c.scenario:
                assert c.quote != f.quote, f"{c.id} quotes the figure {f.id} was fitted to"
                assert (c.kpi, c.scope) != (f.kpi, f.scope), f"{c.id} measures {f.id}'s KPI"


# ---------------------------------------------------------------- they bite


@pytest.mark.parametrize("check_id", REPRESENTATIVE)
def test_representative_checks_fail_under_their_knockout(check_id):
    row = run_check(_by_id(check_id), fast=True, knockout=True)
    assert row["passed"], f"{check_id} must pass as published for its knockout to mean anything"
    _assert_bites(row)


@pytest.mark.slow
def test_every_evidence_check_fails_under_its_knockout():
    table = run_checks(EVIDENCE, fast=True, knockouts=True)
    for row in table.to_dict("records"):
        _assert_bites(row)
    assert survivors(table).empty


def test_cli_knockouts_exit_1_when_a_check_survives_its_knockout(run_cli, tmp_path):
    """A knockout that switches nothing off (a deadline, for a count of cases) leaves the check
    passing: validate --knockouts says so and exits 1 although the check itself passes."""
    data = yaml.safe_load(bundled_scenario("published/metrics.yaml").read_text(encoding="utf-8"))
    row = next(r for r in data["checks"] if r["id"] == "zhangwan.collected")
    row |= {"id": "zhangwan.toothless", "kind": "out_of_sample", "mechanism": "none really, "
            "a deadline does not make problems", "knockout": {"categories.*.deadline": "20wd"}}
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump({"checks": [row]}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "k.csv"
    proc = run_cli("validate", "--metrics", str(path), "-n", "2", "--knockouts", "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "still passes" in proc.stdout
    table = pd.read_csv(out)
    assert bool(table.loc[0, "passed"]) and bool(table.loc[0, "knockout_passed"])
    assert table.loc[0, "knockout"] == "categories.*.deadline=20wd"


def test_cli_refuses_a_structural_check_without_a_knockout(run_cli, tmp_path):
    data = yaml.safe_load(bundled_scenario("published/metrics.yaml").read_text(encoding="utf-8"))
    row = next(r for r in data["checks"] if r["id"] == "xinzhou.reform")
    row.pop("knockout")
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump({"checks": [row]}, allow_unicode=True), encoding="utf-8")
    proc = run_cli("validate", "--metrics", str(path), "--fast")
    assert proc.returncode == 2
    assert "needs a mechanism" in proc.stderr and "knockout" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_left_street_share_counts_cases_that_reached_the_joint_consultation_or_the_city():
    """The KPI of Bazhong's motto: at least each of the two tiers' shares, at most their sum."""
    s = gridsim.load_scenario(bundled_scenario("published/bazhong.yaml"))
    r = gridsim.simulate(s.with_overrides({"horizon": "120d"}))
    left, joint, city = (r.kpi(k) for k in ("left_street_share", "entered_share_joint",
                                            "entered_share_city"))
    assert 0 < max(joint, city) <= left <= joint + city + 1e-12
    whistle_only = gridsim.simulate(gridsim.load_scenario(bundled_scenario(
        "published/zhangwan.yaml")))  # a street under the whistle: no tier above it
    assert whistle_only.kpi("left_street_share") == 0
