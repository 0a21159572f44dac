"""The discovery race (issue 15): who reports a problem first, how often it is reported again,
and what patrol staffing changes.

- On a degenerate scenario the first report is analytic: with constant hazards the delay is
  exponential with the summed rate and each competitor wins in proportion to its rate; with a
  patrol beside them (always on shift) the survival is the patrol's exact survival times the
  others'. A model that sampled only one competitor fails the same check (shown).
- Duplicates are Poisson with the mean the losing hazards give over the visible span.
- More grid workers raise the patrol share and lower the hotline share (paired replications on
  common random numbers, intervals excluding 0) while the problems arising stay identical.
- A category residents never call about is patrol-only; one patrol never sees, hotline-only.
- Scenarios without a race give the same cases as before (the published checks cover the
  values; here: no duplicates, no camera cases).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from analytic import t_interval
from scipy import stats

import gridsim
from gridsim.model import discovery as disc
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.loader import validate_data

FLAT = {"hourly": [1.0] * 24, "weekly": [1.0] * 7}
RES, CAM, UNITS = 1 / 10, 1 / 20, 1 / 40  # hazards per hour
DEGENERATE = {
    "name": "race",
    "horizon": "120d",
    "seed": 7,
    "calendar": {"shifts": {"always": {"days": "all", "hours": ["00:00-24:00"]}}},
    "roles": {"grid_worker": "always", "community": "always", "centre": "always",
              "enforcement": "always", "office": "always", "joint": "always",
              "city": "always"},
    "streets": {"count": 1, "communities": 2, "grids_per_community": 5, "households_per_grid": 100,
                "staff": {"grid_workers_per_grid": 1, "community_per_community": 50,
                          "centre": 50, "enforcement": 50, "office": 50}},
    "departments": {"d": {"staff": 50, "shift": "always"}},
    "districts": [{"name": "D"}],
    "patrol": {"interval": "8h", "detect_prob": 0.5},
    "hotline": {"profile": FLAT, "dispatch_delay": "1h"},
    "discovery": {"cameras": {"share": 1.0}},
    "categories": {
        "c": {"discovery": {"arises": {"value": 1, "per": "grid", "every": "1d"},
                            "patrol": 0.0,
                            "residents": {"value": RES, "every": "1h"},
                            "camera": {"value": CAM, "every": "1h"},
                            "units": {"value": UNITS, "every": "1h"}},
              "tiers": {"community": 1.0}, "departments": ["d"], "reopen": 0.0,
              "work": {"community": "30min"}},
    },
}


def scenario(data: dict, **over) -> gridsim.Scenario:
    d = copy.deepcopy(data)
    for path, value in over.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return validate_data(d, "<test>")


def race_check(issues, rates: dict[str, float], patrol: tuple[float, float] | None = None
               ) -> dict[str, float]:
    """p-values of the first report against the competing hazards: the delay's distribution
    (KS) and the winners' shares (chi-square). ``rates``: per source, per hour; ``patrol``:
    (detect probability, hours between visits) of an always-on patrol."""
    delay = (issues["t_discovered"] - issues["t_created"]).dropna().to_numpy()
    lam = sum(rates.values())

    def survival(x: np.ndarray) -> np.ndarray:
        s = np.exp(-lam * x)
        if patrol is not None:
            p, gap = patrol
            m, f = np.divmod(x / gap, 1.0)
            s = s * (1 - p) ** m * (1 - p * f)
        return s

    ks = stats.kstest(delay, lambda x: 1 - survival(np.asarray(x)))
    # winners: P(k wins) = lam_k / lam * P(a hazard wins); P(patrol wins) by quadrature
    grid = np.linspace(0, 50 / lam, 200_001)
    p_hazard = np.trapezoid(lam * survival(grid), grid) if patrol is not None else 1.0
    expected = {k: v / lam * p_hazard for k, v in rates.items()}
    if patrol is not None:
        expected["patrol"] = 1 - p_hazard
    counts = issues["source"].astype(str).value_counts()
    obs = np.array([counts.get(k, 0) for k in expected])
    exp = np.array(list(expected.values())) * obs.sum()
    chi = stats.chisquare(obs, exp)
    return {"delay": ks.pvalue, "shares": chi.pvalue, "n": len(delay)}


HAZARDS = {"hotline": RES, "camera": CAM, "units": UNITS}


def test_first_report_is_the_minimum_of_constant_hazards():
    r = gridsim.simulate(scenario(DEGENERATE))
    got = race_check(r.issues, HAZARDS)
    assert got["n"] > 1000
    assert got["delay"] > 1e-3 and got["shares"] > 1e-3, got
    mean = (r.issues["t_discovered"] - r.issues["t_created"]).mean()
    assert abs(mean * sum(HAZARDS.values()) - 1) < 0.1


def test_first_report_with_patrol_beside_the_hazards():
    s = scenario(DEGENERATE, categories__c__discovery__patrol=0.5)
    r = gridsim.simulate(s)
    got = race_check(r.issues, HAZARDS, patrol=(0.5, 8.0))
    assert got["delay"] > 1e-3 and got["shares"] > 1e-3, got
    assert (r.issues["source"] == "patrol").mean() > 0.2


def test_sampling_one_source_fails_the_check(monkeypatch):
    """The same check rejects a race where only the residents compete (the others' hazards
    ignored): it can fail."""
    real = disc.RaceStream.__init__

    def residents_only(self, *a, **k):
        real(self, *a, **k)
        self.hazards[1:] = 0.0

    monkeypatch.setattr(disc.RaceStream, "__init__", residents_only)
    r = gridsim.simulate(scenario(DEGENERATE))
    got = race_check(r.issues, HAZARDS)
    assert got["delay"] < 1e-6 and got["shares"] < 1e-6, got


def test_duplicates_are_poisson_over_the_visible_span():
    s = scenario(DEGENERATE, categories__c__work__community="1d")  # long spans: many repeats
    r = gridsim.simulate(s)
    i = r.issues[r.issues["t_discovered"].notna()]
    end = i["t_solved"].fillna(s.horizon.hours)  # visible until solved (open: the horizon)
    m = (end - i["t_discovered"]).to_numpy() * sum(HAZARDS.values())
    d = i["duplicates"].to_numpy()
    assert m.sum() > 1000
    z_mean = (d.sum() - m.sum()) / np.sqrt(m.sum())
    z_var = (((d - m) ** 2).sum() - m.sum()) / np.sqrt((2 * m ** 2 + m).sum())
    assert abs(z_mean) < 3.3 and abs(z_var) < 3.3, (z_mean, z_var)
    k = r.kpis.set_index(["metric", "scope"])["value"]
    assert k["duplicate_rate", "all"] == pytest.approx(d.sum() / (d.sum() + len(i)))


def _shares(s: gridsim.Scenario, seed: int) -> tuple[dict[str, float], np.ndarray]:
    r = gridsim.simulate(s, seed=seed)
    k = r.kpis.set_index(["metric", "scope"])["value"]
    shares = {src: k["source_share", f"source={src}"] for src in ("patrol", "hotline")}
    shares["delay"] = k["discovery_delay_mean", "all"]
    made = r.issues[["t_created", "category", "grid"]].sort_values("t_created")
    return shares, made


def _staffing_effect(replications: int, horizon: str) -> None:
    base = gridsim.load_scenario(gridsim.bundled_scenario(), overrides={
        "horizon": horizon, "warmup": "3d", "streets.count": 2})
    more = base.with_overrides({"streets.staff.grid_workers_per_grid": 2})
    diff = {"patrol": [], "hotline": [], "delay": []}
    for seed in range(replications):
        a, made_a = _shares(base, seed)
        b, made_b = _shares(more, seed)
        assert made_a["t_created"].to_numpy().tolist() == made_b["t_created"].to_numpy().tolist()
        assert (made_a["category"].astype(str).to_numpy() ==
                made_b["category"].astype(str).to_numpy()).all()
        for key in diff:
            diff[key].append(b[key] - a[key])
    up, down, faster = (t_interval(diff[k]) for k in ("patrol", "hotline", "delay"))
    assert up.low > 0, up
    assert down.high < 0, down
    assert faster.high < 0, faster


def test_more_grid_workers_raise_the_patrol_share_fast():
    _staffing_effect(replications=5, horizon="20d")


@pytest.mark.slow
def test_more_grid_workers_raise_the_patrol_share():
    _staffing_effect(replications=10, horizon="90d")


def test_patrol_only_and_hotline_only_categories():
    s = scenario(DEGENERATE, categories__c__discovery={
        "arises": {"value": 1, "per": "grid", "every": "1d"}, "patrol": 0.9})
    only = s.with_overrides({})
    data = only.to_data()
    data["categories"]["night_noise"] = {
        "discovery": {"arises": {"value": 1, "per": "grid", "every": "1d"}, "patrol": 0.0,
                      "residents": {"value": 0.02, "every": "1h", "per": "household"}},
        "tiers": {"community": 1.0}, "departments": ["d"], "work": {"community": "30min"}}
    r = gridsim.simulate(validate_data(data, "<test>"), seed=3)
    i = r.issues
    src = i.groupby(i["category"].astype(str))["source"].agg(lambda x: set(x.astype(str)))
    assert src["c"] == {"patrol"}
    assert src["night_noise"] == {"hotline"}


def test_hotline_first_cases_go_through_the_hotline_entry(monkeypatch):
    from gridsim.model.lifecycle import Lifecycle

    calls = []
    real = Lifecycle._hotline_call

    def spy(self, issue):
        calls.append(issue.id)
        real(self, issue)

    monkeypatch.setattr(Lifecycle, "_hotline_call", spy)
    r = gridsim.simulate(scenario(DEGENERATE, horizon="20d"))
    assert len(calls) == (r.issues["source"] == "hotline").sum() > 0


def test_patrol_finds_are_fixed_on_the_spot_at_the_category_share():
    s = scenario(DEGENERATE, categories__c__discovery__patrol=1.0,
                 categories__c__on_spot=0.3)
    r = gridsim.simulate(s)
    k = r.kpis.set_index(["metric", "scope"])["value"]
    patrol = r.issues[(r.issues["source"] == "patrol") & r.issues["t_discovered"].notna()]
    n = len(patrol)
    assert n > 500
    assert abs(k["on_spot_share", "all"] - 0.3) < 3.3 * np.sqrt(0.3 * 0.7 / n)
    # only the finder fixes on the spot: no case of another source is solved at the grid
    others = r.issues[r.issues["source"] != "patrol"]
    assert (others["solved_tier"].astype(str) != "grid").all()


def test_without_a_race_nothing_changes_in_kind():
    s = gridsim.load_scenario(gridsim.bundled_scenario("validation/mmc.yaml"),
                              overrides={"horizon": "5d"})
    r = gridsim.simulate(s)
    assert (r.issues["duplicates"] == 0).all()
    assert not (r.issues["source"] == "camera").any()


@pytest.mark.parametrize("change, message", [
    ({"rates": {"hotline": {"value": 1, "per": "household"}}},
     r"categories\.c\.rates\.hotline: discovery\.arises replaces rates\.hotline"),
    ({"discovery": None, "rates": {}}, r"categories\.c\.rates: a category needs"),
])
def test_bad_discovery_input_is_refused(change, message):
    data = copy.deepcopy(DEGENERATE)
    for key, value in change.items():
        if value is None:
            del data["categories"]["c"][key]
        else:
            data["categories"]["c"][key] = value
    with pytest.raises(ScenarioError, match=message):
        validate_data(data, "<test>")


def test_poisson_quantile_agrees_with_scipy_at_every_mean():
    """The duplicate count's inversion equals scipy's Poisson quantile, small means and large
    (where it walks from the mode), so dropping scipy from the run changed no count."""
    rng = np.random.default_rng(7)
    means = np.exp(rng.uniform(np.log(0.01), np.log(5000), 20_000))
    us = rng.random(means.size)
    ours = [disc.poisson_quantile(float(u), float(m)) for u, m in zip(us, means, strict=True)]
    assert ours == stats.poisson.ppf(us, means).astype(int).tolist()
