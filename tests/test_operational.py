"""The operational figures cities publish (../shared/domain.md, "Figures published elsewhere")
as checks of the default district: the block of scenarios/published/metrics.yaml whose scenario
is default.yaml, its labels, and its fast form; and the ``on_time_spread`` KPI it needs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridsim.model.records import RunNames
from gridsim.results.spread import on_time_spread, street_on_time_rates
from gridsim.results.units import COUNTERS, UnitCounts
from gridsim.scenario.loader import bundled_scenario
from gridsim.validation import failures, load_checks, run_checks
from gridsim.vocabulary import KPIS

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT.parent / "shared" / "domain.md"
OPS = [c for c in load_checks() if c.scenario == "default.yaml"]

FITTED = {  # check id -> the words of default.yaml's header that record the fit
    "huzhou.month.on_spot": "on_spot shares 0.12-0.15: set from Huzhou's 13.3 %",
    "kaizhou.month.patrol": "the patrol\n#   share (Kaizhou 92.76 % inspectors",
    "kaizhou.month.hotline": "set once so that the patrol share lands in an assumed range",
    "yichun.month.answered_on_call": 'set from Yichun "answered on the call 20,334 (53 %)"',
    "yichun.month.city_departments": "is SET so that the\n"
                                     "#   city departments get Yichun's 11.11 %",
    "yichun.month.returns": "Set from figures: the consultation share, answered-on-call share, "
                            "dispatch shares, return rate.",
    "pinggu.report_30min": "departments report within 30 minutes of a whistle: the Pinggu pilot",
}


def test_the_block_covers_every_figure_set_of_domain_md():
    cities = {c.id.split(".")[0] for c in OPS}
    assert cities == {"zhengzhou", "huzhou", "kaizhou", "yichun", "beijing", "jiangsu",
                      "tianmen", "district2019", "pinggu"}
    assert len(OPS) >= 18
    assert all(c.kpi in KPIS for c in OPS)
    assert {c.kind for c in OPS} == {"fit", "out_of_sample"}
    assert {c.fast_replications for c in OPS} == {2}, "one shared set of fast replications"


def test_the_block_is_appended_after_the_seed_checks():
    checks = load_checks()
    first = next(i for i, c in enumerate(checks) if c.scenario == "default.yaml")
    assert all(c.scenario == "default.yaml" for c in checks[first:])


@pytest.mark.skipif(not DOMAIN.is_file(), reason="../shared/domain.md is not beside the checkout")
def test_every_source_is_an_address_domain_md_gives():
    text = DOMAIN.read_text(encoding="utf-8")
    for c in OPS:
        assert c.source.split()[0] in text, c.id
        assert len(c.why) > 80 and c.quote, c.id


def test_fits_are_the_ones_the_default_header_records():
    header = "\n".join(line for line in bundled_scenario("default.yaml").read_text(
        encoding="utf-8").splitlines() if line.startswith("#"))
    fits = {c.id for c in OPS if c.kind == "fit"}
    assert fits == set(FITTED)
    for cid, words in FITTED.items():
        assert words in header, cid


def test_out_of_sample_checks_name_a_mechanism_and_a_knockout():
    for c in OPS:
        if c.kind != "fit":
            assert c.mechanism and c.knockout, c.id


# ---------------------------------------------------------------- the fast form


@pytest.fixture(scope="module")
def fast() -> pd.DataFrame:
    return run_checks(OPS, fast=True).set_index("check")


def test_fast_form_passes_or_fails_as_the_table_says(fast):
    """Each check passes, or misses its figure and says why (known_failure); a known failure
    that starts passing must lose its label. Nothing here fails `gridsim validate`."""
    assert list(fast.index) == [c.id for c in OPS]
    for c in OPS:
        row = fast.loc[c.id]
        assert bool(row["passed"]) != bool(c.known_failure), (
            f"{c.id}: simulated {row['simulated']:.4g} against {row['published']} "
            f"({row['tolerance']}), known_failure={c.known_failure!r}")
    assert failures(fast.reset_index()).empty
    assert (fast["n"] == 2).all()


def test_the_block_can_fail(fast):
    """Checks that bite: the default misses several published figures."""
    assert (~fast["passed"]).sum() >= 3


# ---------------------------------------------------------------- on_time_spread


def _counts(rates: dict[tuple[str, str], tuple[int, int]]) -> UnitCounts:
    grids = [(f"g{i}", f"c{i}", street, district)
             for i, (district, street) in enumerate(rates)]
    u = UnitCounts()
    u.begin(RunNames(["a"], ["street"], grids))
    due, on_time = list(COUNTERS).index("due"), list(COUNTERS).index("on_time")
    for i, (n_due, n_on) in enumerate(rates.values()):
        u.grid[i, due], u.grid[i, on_time] = n_due, n_on
    return u


def test_on_time_spread_is_best_minus_worst_street():
    u = _counts({("d", "s1"): (100, 95), ("d", "s2"): (200, 100), ("d", "s3"): (50, 40),
                 ("e", "s1"): (0, 0)})  # a street without cases due has no rate
    assert np.allclose(sorted(street_on_time_rates(u)), [0.5, 0.8, 0.95])
    assert on_time_spread(u) == pytest.approx(0.45)
    assert math.isnan(on_time_spread(_counts({("d", "s1"): (10, 9)})))


def test_on_time_spread_agrees_with_the_streets_of_units_csv(short_result):
    streets = short_result.units("street")
    rates = streets["on_time_rate"].dropna()
    assert short_result.kpi("on_time_spread") == pytest.approx(rates.max() - rates.min())
    assert re.search("across streets", KPIS["on_time_spread"].label)


# ---------------------------------------------------------------- knockouts (slow)


@pytest.mark.slow
def test_every_out_of_sample_check_fails_under_its_knockout():
    """Each knockout switches its mechanism off and the check then misses its figure (2
    replications per distinct knockout, about 3 min)."""
    import gridsim
    from gridsim.experiments import replicate

    base = gridsim.load_scenario(bundled_scenario("default.yaml"))
    summaries: dict[str, pd.DataFrame] = {}
    for c in OPS:
        if c.kind == "fit":
            continue
        key = repr(sorted(c.knockout.items()))
        if key not in summaries:
            summaries[key] = replicate(base.with_overrides(c.knockout), 2).summary
        s = summaries[key]
        mean = s[(s["metric"] == c.kpi) & (s["scope"] == c.scope)]["mean"].iloc[0]
        lo, hi = c.bounds()
        assert not lo <= mean <= hi, f"{c.id} still passes under its knockout ({mean:.4g})"
