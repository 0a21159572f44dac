"""``units.csv``: what a planner reads per unit, the same at every record level and sharded or not,
recomputed here from the issue table; the unit ranking; experiments' units with intervals."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import gridsim
from gridsim.experiments.stats import t_interval
from gridsim.results.ranking import rank_units
from gridsim.results.units import STATS, Times

COUNTS = ("cases", "closed", "due", "overdue_end", "open_end")
RATES = ("on_time_rate", "resolution_time_mean", "resolution_time_p90")


@pytest.fixture(scope="module")
def scenario(default_scenario) -> gridsim.Scenario:
    """The default district over 20 days (2-day warm-up): deadlines fall inside the run, cases
    reach the departments and the city departments."""
    return default_scenario.with_overrides({"horizon": "20d", "warmup": "2d"})


@pytest.fixture(scope="module")
def at_issues(scenario) -> gridsim.Result:
    return gridsim.simulate(scenario, seed=11)


def recompute(issues: pd.DataFrame, s: gridsim.Scenario) -> pd.DataFrame:
    """The case columns of ``units.csv`` straight from the issue table, per level."""
    horizon, warmup = s.horizon.hours, s.warmup.hours
    df = issues.copy()
    closed = df["state"].astype(str) == "closed"
    df["cohort"] = df["t_created"] >= warmup
    df["is_open"] = ~closed
    df["is_overdue"] = ~closed & (df["deadline"] <= horizon)
    df["is_closed"] = df["cohort"] & closed
    df["is_due"] = df["cohort"] & df["on_time"].notna()
    df["is_on_time"] = df["is_due"] & df["on_time"].fillna(False).astype(bool)
    lead = {n: c.departments[0] for n, c in s.categories.items()}
    owner = {c: (n, d.per_district) for n, d in s.city_departments.items() for c in d.categories}
    dept = df[df["t_dept_called"].notna()].copy()
    dept["unit"] = dept["district"].astype(str) + "/" + dept["category"].astype(str).map(lead)
    city = df[df["dispatched_to"].astype(str) == "city_department"].copy()
    city["unit"] = [f"{d}/city_{owner[c][0]}" if owner[c][1] else f"city/{owner[c][0]}"
                    for d, c in zip(city["district"].astype(str), city["category"].astype(str),
                                    strict=True)]
    frames = []
    for level, rows, key in (("district", df, "district"), ("street", df, "street"),
                             ("community", df, "community"), ("grid", df, "grid"),
                             ("department", dept, "unit"), ("city_department", city, "unit")):
        unit = rows[key].astype(str)
        g = rows.groupby(unit)
        out = pd.DataFrame({
            "cases": g.size(), "closed": g["is_closed"].sum(), "due": g["is_due"].sum(),
            "overdue_end": g["is_overdue"].sum(), "open_end": g["is_open"].sum()})
        out["on_time_rate"] = g["is_on_time"].sum() / out["due"].where(out["due"] > 0)
        done = rows[rows["is_closed"]]
        t = done.groupby(done[key].astype(str))["resolution_time"]
        out["resolution_time_mean"] = t.mean()
        out["resolution_time_p90"] = t.agg(lambda v: np.quantile(v.to_numpy(), 0.9))
        frames.append(out.assign(level=level).rename_axis("unit").reset_index())
    return pd.concat(frames, ignore_index=True).set_index(["level", "unit"]).sort_index()


def case_rows(units: pd.DataFrame) -> pd.DataFrame:
    return units[units["level"] != "pool"].set_index(["level", "unit"]).sort_index()


def test_units_equal_a_recomputation_from_the_issue_table(at_issues, scenario):
    got = case_rows(at_issues.units())
    want = recompute(at_issues.issues, scenario)
    assert set(got.index.get_level_values("level")) == {
        "district", "street", "community", "grid", "department", "city_department"}
    assert list(got.index) == list(want.index)
    for col in COUNTS:
        np.testing.assert_array_equal(got[col].to_numpy(dtype=np.int64),
                                      want[col].to_numpy(dtype=np.int64), err_msg=col)
    for col in RATES:
        np.testing.assert_allclose(got[col].to_numpy(dtype=float), want[col].to_numpy(),
                                   rtol=1e-12, equal_nan=True, err_msg=col)
    # the figures are not all alike, and the district row is the run's KPI
    assert got.loc["street", "on_time_rate"].nunique() > 1
    assert got.loc["department", "on_time_rate"].min() < 0.9
    district = got.loc["district"].iloc[0]
    for m in RATES:
        assert district[m] == pytest.approx(at_issues.kpi(m), rel=1e-12)
    assert district["closed"] < district["cases"]  # the cohort excludes the warm-up


def test_parents_draw_the_tree(at_issues):
    u = at_issues.units()
    units = set(u["unit"])
    rows = u[u["level"].isin(["street", "community", "grid", "department",
                              "city_department"])]
    assert rows["parent"].isin(units).all()
    levels = dict(zip(u["unit"], u["level"], strict=False))
    up = {"grid": "community", "community": "street", "street": "district",
          "department": "district", "city_department": "district"}
    for r in rows.itertuples():
        assert levels[r.parent] == up[r.level], (r.unit, r.parent)
        assert r.unit.startswith(r.parent + "/")
    assert (u.loc[u["level"] == "district", "parent"] == "").all()
    # utilisation where the unit has a pool: its own, or a street's busiest pool
    pools = at_issues.pools()["utilisation"]
    dept = u[u["level"] == "department"].set_index("unit")["utilisation"]
    assert (dept == pools.reindex(dept.index)).all()
    s0 = u[(u["level"] == "street")].iloc[0]
    inside = pools[pools.index.astype(str).str.startswith(s0["unit"] + "/")]
    assert s0["utilisation"] == inside.max()
    assert u.loc[u["level"] == "grid", "utilisation"].isna().all()


@pytest.mark.parametrize("record", ["kpis", "events", "streamed"])
def test_every_record_level_gives_the_same_table(at_issues, scenario, record, tmp_path):
    if record == "streamed":  # the KPIs (and units) read back from the Parquet file
        other = gridsim.simulate(scenario.with_overrides({"record.stream": True}), seed=11,
                                 spool_dir=tmp_path)
    else:
        other = gridsim.simulate(scenario, seed=11, record=record)
    assert (other.issues is None) == (record == "kpis")
    pd.testing.assert_frame_equal(other.units(), at_issues.units())


def test_sharded_equals_unsharded(three):
    whole = gridsim.simulate(three, seed=4, record="kpis")
    parts = gridsim.simulate(three, seed=4, record="kpis", shards="auto", workers=2)
    assert parts.manifest["shards"] == 3
    pd.testing.assert_frame_equal(parts.units(), whole.units())
    rows = gridsim.simulate(three, seed=4, shards=2, workers=1)
    pd.testing.assert_frame_equal(rows.units(), whole.units())
    want = recompute(rows.issues, three)
    got = case_rows(whole.units())
    np.testing.assert_array_equal(got["due"].to_numpy(dtype=np.int64), want["due"].to_numpy())
    np.testing.assert_allclose(got["resolution_time_p90"].to_numpy(dtype=float),
                               want["resolution_time_p90"].to_numpy(), rtol=1e-12,
                               equal_nan=True)
    assert got.loc["district"].shape[0] == 3


def test_a_city_wide_crew_is_one_unit_of_the_city(scenario):
    s = scenario.with_overrides({"horizon": "8d", "districts[0].count": 2, "streets.count": 2,
                                 "city_departments.water_utility.per_district": False})
    r = gridsim.simulate(s, seed=2, record="kpis")
    city = r.units("city_department").set_index("unit")
    assert "city/water_utility" in city.index
    assert city.at["city/water_utility", "parent"] == ""
    assert city.at["city/water_utility", "utilisation"] == r.pools().at[
        "city/water_utility", "utilisation"]
    per_district = city[city.index.str.endswith("/city_power_gas_heating")]
    assert len(per_district) >= 1 and per_district["parent"].str.startswith("Riverside-").all()
    assert list(per_district.index.str.split("/").str[0]) == list(per_district["parent"])


def test_ranking_is_worst_first_in_the_kpis_direction(at_issues):
    streets = at_issues.ranking("on_time_rate", "street")
    assert list(streets["rank"]) == list(range(1, len(streets) + 1))
    assert streets["on_time_rate"].is_monotonic_increasing  # larger is better: smallest first
    slow = at_issues.ranking("resolution_time_p90", "department", n=2)
    assert len(slow) == 2 and slow["resolution_time_p90"].is_monotonic_decreasing
    worst = at_issues.units("department")["resolution_time_p90"].max()
    assert slow["resolution_time_p90"].iloc[0] == worst
    overdue = at_issues.ranking("overdue_end", "grid")
    assert overdue["overdue_end"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="no better direction"):
        at_issues.ranking("cases")
    with pytest.raises(KeyError, match="no column"):
        at_issues.ranking("on_time")
    with pytest.raises(KeyError, match="levels"):
        at_issues.ranking("on_time_rate", "ward")
    # units without a value go last
    u = pd.DataFrame({"level": "street", "unit": ["a", "b", "c"],
                      "on_time_rate": [0.9, np.nan, 0.5]})
    assert list(rank_units(u)["unit"]) == ["c", "a", "b"]


def test_gridsim_run_prints_the_weakest_units(at_issues):
    from gridsim.cli.tables import print_summary

    buf = io.StringIO()
    print_summary(at_issues, Console(file=buf, width=200))
    text = buf.getvalue()
    assert "weakest units" in text
    worst = at_issues.ranking("on_time_rate", "department").iloc[0]["unit"]
    assert worst in text
    lines = [line for line in text.splitlines() if "street " in line and "Riverside/s" in line]
    assert len(lines) == 3


def test_times_per_unit_are_numpys_quantiles():
    rng = np.random.default_rng(1)
    count = np.array([0, 1, 2, 7, 10, 0, 33])
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    values = np.concatenate([np.sort(rng.exponential(5, n)) for n in count])
    t = Times(values, start, count)
    for q in (0.5, 0.9, 0.95):
        got = t.quantile(q)
        for i, n in enumerate(count):
            seg = values[start[i]:start[i] + n]
            if n:
                assert got[i] == np.quantile(seg, q)
                assert t.mean()[i] == pytest.approx(seg.mean(), rel=1e-14)
            else:
                assert np.isnan(got[i]) and np.isnan(t.mean()[i])


def test_experiments_carry_units_per_variant_with_intervals(scenario, tmp_path):
    s = scenario.with_overrides({"horizon": "10d", "warmup": "1d", "streets.count": 3})
    exp = gridsim.compare(s, policies=["baseline", "whistle"], replications=3, seed=2,
                          workers=1, out=tmp_path / "cmp")
    u = exp.units()
    for col in [st.name for st in STATS] + ["utilisation", "queue_mean", "wait_share", "wait_mean"]:
        assert col in u and f"{col}_hw" in u, col
    assert {"parent", "kind"} <= set(u.columns)
    assert set(u["point"]) == {"baseline", "whistle"}
    raw = exp.tables["units"]
    for point in ("baseline", "whistle"):
        for level in ("street", "department"):
            at = raw[(raw["point"] == point) & (raw["level"] == level)]
            unit = at.loc[at["due"].astype(float).idxmax(), "unit"]  # the most cases due
            reps = raw[(raw["point"] == point) & (raw["level"] == level)
                       & (raw["unit"] == unit)]
            assert len(reps) == 3
            row = u[(u["point"] == point) & (u["level"] == level)
                    & (u["unit"] == unit)].iloc[0]
            ci = t_interval(reps["on_time_rate"].astype(float))
            assert row["on_time_rate"] == pytest.approx(ci.mean, rel=1e-12)
            assert row["on_time_rate_hw"] == pytest.approx(ci.half_width, rel=1e-9)
            assert row["on_time_rate_hw"] > 0
            assert row["on_time_rate_hw"] > 0
            assert row["parent"] == reps["parent"].iloc[0]
    # the variants differ somewhere (whistles call the departments to street-led cases)
    dept = u[u["level"] == "department"].pivot_table(index="unit", columns="point",
                                                      values="cases", observed=True)
    assert (dept["baseline"] != dept["whistle"]).any()
    folder = exp.write(plot=False)
    written = pd.read_csv(folder / "units.csv")
    for col in ("level", "unit", "parent", "cases", "on_time_rate", "resolution_time_mean",
                "resolution_time_p90", "overdue_end", "open_end", "utilisation",
                "on_time_rate_hw", "resolution_time_p90_hw"):
        assert col in written, col
