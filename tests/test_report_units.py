"""What a planner reads about each unit: the organisation heat map, the ranking, the department
appraisal, badges that know a policy's mechanism and a practical threshold, and plots on the
calendar. The unit table is read as it comes: today's columns, and the columns issue 16 adds
(on-time rate, resolution time, satisfaction, appraisal scores, with ``_hw`` half-widths)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import dom
from matplotlib.figure import Figure

import gridsim
from gridsim import vocabulary as v
from gridsim.experiments import compare
from gridsim.report import write_report
from gridsim.report.appraisal import appraisal
from gridsim.report.folder import verdict
from gridsim.report.units import organisation

POINTS = ["baseline", "four_tier"]
FUTURE = ["on_time_rate", "resolution_time_mean", "resolution_time_p90", "satisfaction_rate",
          "resolution_rate", "report_rate", "cooperation_rate", "overdue_end", "open_end",
          "utilisation", "cases"]


def future_units(points: list[str] | None, streets: int = 4, comms: int = 3,
                 weak: int = 2, seed: int = 1) -> pd.DataFrame:
    """A unit table with the columns issue 16 adds; street ``weak`` is clearly the weakest."""
    rng = np.random.default_rng(seed)
    rows = []
    for pt in points or [""]:
        def add(level: str, unit: str, parent: str, base: float, pt: str = pt) -> None:
            r = {"point": pt, "level": level, "unit": unit, "parent": parent,
                 "cases": float(rng.integers(50, 500)),
                 "on_time_rate": base + rng.uniform(-0.01, 0.01),
                 "resolution_time_mean": 20 + 40 * (0.95 - base) + rng.uniform(-1, 1),
                 "resolution_time_p90": 60 + rng.uniform(-5, 5),
                 "overdue_end": float(rng.integers(0, 9)), "open_end": float(rng.integers(0, 30)),
                 "utilisation": rng.uniform(0.1, 0.9), "satisfaction_rate": base + 0.02,
                 "resolution_rate": 0.9 + rng.uniform(0, 0.09),
                 "report_rate": 0.9 + rng.uniform(0, .1) if level == "department" else np.nan,
                 "cooperation_rate": 0.8 + rng.uniform(0, .2) if level == "department"
                 else np.nan}
            if points:
                r.update({f"{k}_hw": abs(r[k]) * 0.03 for k in FUTURE if not pd.isna(r[k])})
            rows.append(r)
        for s in range(streets):
            base = 0.93 - (0.25 if s == weak else 0)
            add("street", f"D/s{s}", "D", base)
            for c in range(comms):
                add("community", f"D/s{s}/c{c}", f"D/s{s}", base)
                add("grid", f"D/s{s}/c{c}/g0", f"D/s{s}/c{c}", base)
        for d in ("environment", "housing", "sanitation"):
            add("department", f"D/{d}", "D", 0.8)
    u = pd.DataFrame(rows)
    return u if points else u.drop(columns="point")


# ------------------------------------------------------------------------ the heat map
def test_heat_map_colours_by_every_kpi_present_one_panel_per_variant():
    org = organisation(future_units(POINTS), POINTS, 0.95)
    kpis = [view["kpi"] for view in org["views"]]
    assert kpis[0] == "on_time_rate" and org["views"][0]["first"]
    assert set(kpis) == set(FUTURE)  # every column present, none made up
    for view in org["views"]:
        assert [p["point"] for p in view["panels"]] == POINTS
        for p in view["panels"]:
            (block,) = p["blocks"]
            assert block["head"]["name"] == "D"
            assert [s["cell"]["unit"] for s in block["streets"]] == [f"D/s{i}" for i in range(4)]
            assert all(len(s["communities"]) == 3 for s in block["streets"])  # no grids
            assert [d["name"] for d in block["departments"]] == [
                "environment", "housing", "sanitation"]


def test_hover_and_table_give_the_value_and_its_interval():
    u = future_units(POINTS)
    org = organisation(u, POINTS, 0.95)
    view = org["views"][0]
    cell = view["panels"][1]["blocks"][0]["streets"][2]["cell"]
    row = u[(u["point"] == "four_tier") & (u["unit"] == "D/s2")].iloc[0]
    lo, hi = row["on_time_rate"] - row["on_time_rate_hw"], row["on_time_rate"] + row[
        "on_time_rate_hw"]
    assert cell["v"] == v.format_value(row["on_time_rate"], "share")
    assert f"95% CI {v.format_interval(lo, hi, 'share')}" in cell["title"]
    assert f"{row['cases']:,.0f} cases" in cell["title"]
    texts = [c for r in view["values"]["table"]["rows"] for c in r if isinstance(c, dict)]
    assert any(c.get("v") == cell["v"] and any(v.format_interval(lo, hi, "share") in s["text"]
                                               for s in c.get("subs", [])) for c in texts)


def test_the_weak_street_is_the_worst_colour_and_first_in_the_ranking():
    org = organisation(future_units(POINTS), POINTS, 0.95)
    by = {view["kpi"]: view for view in org["views"]}
    for kpi in ("on_time_rate", "resolution_time_mean"):  # +1 and -1 directions
        streets = by[kpi]["ranking"][0]
        assert streets["title"].startswith("Streets, weakest first")
        first = streets["table"]["rows"][0]
        assert [c["main"] for c in first[1:]] == ["D/s2", "D/s2"], kpi
        cells = [s["cell"] for s in by[kpi]["panels"][0]["blocks"][0]["streets"]]
        red = [int(re.search(r"rgb\((\d+)", c["style"])[1]) for c in cells]
        assert red.index(max(red)) == 2, kpi  # the diverging scale's red end is "worse"
    util = by["utilisation"]["ranking"][0]
    assert util["title"].startswith("Streets, highest first")  # no direction: highest first


def test_todays_unit_table_without_parent_or_rates_still_draws(tmp_path):
    u = future_units(None).drop(columns=["parent", "on_time_rate", "resolution_time_mean",
                                         "resolution_time_p90", "satisfaction_rate",
                                         "resolution_rate", "report_rate", "cooperation_rate"])
    u["kind"] = np.nan
    u["queue_mean"] = np.nan  # present but empty: skipped
    org = organisation(u, None, None, {"": {}})
    assert [view["kpi"] for view in org["views"]] == ["overdue_end", "open_end", "utilisation",
                                                      "cases"]
    block = org["views"][0]["panels"][0]["blocks"][0]
    assert [c["unit"] for c in block["streets"][1]["communities"]] == [
        "D/s1/c0", "D/s1/c1", "D/s1/c2"]  # parents derived from the paths
    assert "no interval" not in block["streets"][0]["cell"]["title"]  # a run: no CI claimed
    assert organisation(u[u["level"] == "grid"], None) is None
    assert organisation(None, None) is None


def test_a_single_district_shows_its_overall_kpi_on_top():
    u = future_units(None)
    org = organisation(u, None, None, {"": {"on_time_rate": (0.871, None, None)}})
    head = org["views"][0]["panels"][0]["blocks"][0]["head"]
    assert head["v"] == "87.1%" and "overall" in head["title"]


# ------------------------------------------------------------------------ appraisal
def test_department_appraisal_from_kpi_rows_or_unit_rows_or_absent():
    rows = [{"point": pt, "metric": m, "scope": f"department=D/{d}", "mean": val,
             "low": val * 0.9, "high": val * 1.1}
            for pt in POINTS for d in ("environment", "water")
            for m, val in (("report_rate", 0.93), ("dept_report_time_mean", 2.5),
                           ("cooperation_rate", 0.8))]
    a = appraisal(pd.DataFrame(rows), None, POINTS, 0.95)
    heads = [h["name"] for h in a["table"]["head"][1:]]
    assert heads == ["report_rate", "dept_report_time_mean", "cooperation_rate"]
    assert len(a["table"]["rows"]) == 4 and a["missing"] == ["on-time report", "resolution"]
    assert a["table"]["rows"][0][1]["v"] == "93.0%"  # a rate not yet in the catalogue: a share

    b = appraisal(None, future_units(POINTS), POINTS, 0.95)  # from the department rows
    assert [h["name"] for h in b["table"]["head"][1:]] == [
        "report_rate", "cooperation_rate", "resolution_rate"]
    assert len(b["table"]["rows"]) == 3 * 2
    assert "95% CI" in b["table"]["rows"][0][1]["subs"][0]["text"]

    today = future_units(None)[["level", "unit", "cases", "open_end", "overdue_end"]]
    assert appraisal(pd.DataFrame(columns=["metric", "scope", "value"]), today) is None


# ------------------------------------------------------------------------ badges
def test_a_policys_own_mechanism_has_no_direction_and_small_effects_are_not_practical():
    assert v.is_mechanism("whistles") and v.direction("whistles") == 0
    assert v.is_mechanism("two_way_dispatch_share") and not v.is_mechanism("on_time_rate")
    assert v.practical_threshold("on_time_rate") == 0.01  # 1 pp
    assert v.practical_threshold("resolution_time_mean") == 1.0  # 1 hour
    assert v.practical_threshold("backlog_end") is None  # counts: any significant change

    assert "mechanism" in verdict("whistles", 19617, True)["text"]
    assert verdict("whistles", 19617, True)["cls"] == "changed"
    small = verdict("on_time_rate", -0.002, True)
    assert small == {"text": "no practical difference (< 1.0 pp)", "cls": "ns"}
    assert verdict("on_time_rate", -0.05, True)["cls"] == "worse"
    assert verdict("on_time_rate", 0.05, True)["cls"] == "better"
    assert verdict("on_time_rate", 0.05, False)["cls"] == "ns"
    assert "no practical" in verdict("resolution_time_mean", -0.5, True)["text"]
    assert verdict("resolution_time_mean", -2.0, True)["cls"] == "better"
    assert verdict("backlog_end", -3, True)["cls"] == "better"


# ------------------------------------------------------------------------ plots
def test_run_plots_read_on_the_calendar(default_scenario):
    from matplotlib.dates import ConciseDateFormatter
    from matplotlib.ticker import PercentFormatter

    from gridsim.results import plots

    s = default_scenario.with_overrides({"horizon": "50d", "warmup": "5d", "streets.count": 3})
    r = gridsim.simulate(s, seed=1)
    ax = plots.backlog(r.backlog, Figure().add_subplot(), s)
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    labels = ax.get_legend_handles_labels()[1]
    assert "warm-up (not counted)" in labels
    assert "public holiday" in labels  # the Spring Festival holiday starts 2026-02-16
    assert s.name in ax.get_title() and s.policy.name in ax.get_title()
    ax = plots.tier_shares(r.kpis, Figure().add_subplot())
    assert isinstance(ax.yaxis.get_major_formatter(), PercentFormatter)
    fig = plots.load_by_street(r.load, Figure(), s)
    panels = [a.get_title(loc="left") for a in fig.axes if a.get_visible()]
    assert panels == ["Riverside/s0", "Riverside/s1", "Riverside/s2", "district and city pools"]
    assert all(isinstance(a.yaxis.get_major_formatter(), PercentFormatter) for a in fig.axes)


# ------------------------------------------------------------------------ a real browser
@pytest.fixture(scope="module")
def experiment(tmp_path_factory, default_scenario) -> Path:
    """Two policies, two replications, a short horizon; a copy with the future unit table."""
    root = tmp_path_factory.mktemp("units")
    s = default_scenario.with_overrides({"horizon": "6d", "warmup": "1d", "streets.count": 2})
    return compare(s, policies=POINTS, replications=2, workers=1, out=root / "c").write()


@pytest.mark.parametrize("table", ["real", "future"])
def test_heat_map_of_every_variant_in_chromium(experiment, tmp_path, table):
    folder = shutil.copytree(experiment, tmp_path / "exp")
    if table == "future":
        units = future_units(POINTS)
        units.to_csv(folder / "units.csv", index=False)
    page = write_report(folder)
    body = dom(page, tmp_path / "profile")
    views = re.findall(r'<div class="hm-view" data-kpi="([a-z_0-9]+)"', body)
    picks = re.findall(r'<input type="radio" class="hm-pick" name="hm-kpi" id="hm-([a-z_0-9]+)"',
                       body)
    assert views and views == picks
    assert views[0] == "on_time_rate"  # units.csv has it at every record level
    for point in POINTS:
        assert body.count(f'<div class="hm-panel" data-point="{point}">') == len(views)
    assert "Department appraisal" in body
    if table == "future":
        assert "report_rate" in body and "not available" not in body.split(
            'id="appraisal"')[1].split("</section>")[0]
        assert 'title="D/s2: Closed on time' in body
