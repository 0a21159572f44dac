"""Calibration recovers a known parameter, and writes a scenario that says what it fitted."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import gridsim
from gridsim.validation import Param, Target, calibrate
from gridsim.validation.calibrate import expand_path

JACKSON = Path(__file__).resolve().parents[1] / "scenarios" / "validation" / "jackson.yaml"


@pytest.fixture(scope="module")
def jackson() -> gridsim.Scenario:
    return gridsim.load_scenario(JACKSON, {"horizon": "400h", "warmup": "20h"})


def test_parse_targets_and_params():
    assert Target.parse("resolution_time_mean[lead=street]=30") == Target(
        "resolution_time_mean", 30.0, "lead=street")
    assert Param.parse("categories.*.solve.community=0.2:0.9") == Param(
        "categories.*.solve.community", 0.2, 0.9)
    for bad in ("x=1", "x=0.9:0.2", "x"):
        with pytest.raises(ValueError):
            Param.parse(bad)


def test_wildcards_expand_over_the_scenario(default_scenario):
    paths = expand_path(default_scenario.model_dump(mode="json"), "categories.*.solve.street")
    assert len(paths) == len(default_scenario.categories)
    assert "categories.noise.solve.street" in paths


def test_calibration_recovers_a_known_escalation_probability(jackson, tmp_path):
    """The share escalated to the street is 1 − solve.community: fit it to 0.25."""
    fit = calibrate(jackson, [Target("entered_share_street", 0.25)],
                    [Param("categories.*.solve.community", 0.3, 0.95)], replications=2,
                    seed=3, maxiter=15)
    solve = fit.values["categories.*.solve.community"]
    # binomial noise of the share over ~2 × 2,300 cases is about ±0.013 (2 SE), so the fitted
    # probability must land within that of the true 0.75
    assert solve == pytest.approx(0.75, abs=0.03)
    assert abs(fit.fit["relative_residual"].iloc[0]) < 0.05
    out = fit.write(tmp_path / "fitted.yaml", "jackson.yaml", JACKSON.read_text())
    text = out.read_text()
    assert text.startswith("# Jackson") or text.startswith("#")
    assert "Calibrated by `gridsim calibrate`" in text and "entered_share_street" in text
    again = gridsim.load_scenario(out)
    assert again.categories["calls"].solve.community == pytest.approx(solve)
    assert yaml.safe_load(text)["name"] == jackson.name
