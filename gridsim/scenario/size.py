"""How big a scenario's model is, estimated from the validated scenario before anything is built.

A count typed with three zeros too many (10^9 grids, 10^12 households) would otherwise fill the
machine's memory, or end in a NumPy error, minutes into building the organisation. The
estimate needs no expansion: each district entry's street template and its few per-street
overrides are resolved once and multiplied by their counts.

Memory is the sum of what a run holds, with per-item costs measured on the bundled scenarios
(peak resident memory of runs at each record level; 2026-12): the organisation (per grid,
street and district), the load samples (one row per pool and sampling interval, always kept),
the pending chunk of case rows, and per case what the record level keeps (a few dozen bytes at
level ``kpis``: exact quantiles and the open cases; the rows themselves at ``issues``; the rows
and about ten event rows at ``events``). It is an estimate, good to a factor of about two.

:func:`check_size` refuses a run above :data:`MAX_CASES` cases or :data:`MAX_MEMORY` bytes
unless ``allow_large``; nothing runs above :data:`HARD_MAX_CASES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Problem, ScenarioError
from .expand import merge
from .organisation import StreetTemplate
from .profiles import combine, unit_params
from .recording import RecordPlan
from .schema import Scenario

MAX_CASES = 100_000_000
"""Most cases over a run's horizon without ``allow_large`` (the bundled megacity: 9.7 million)."""
MAX_MEMORY = 16 * 2**30
"""Most estimated memory without ``allow_large`` (the bundled megacity at level issues: ~8 GiB)."""
HARD_MAX_CASES = 10**12
"""Above this nothing runs, even with ``allow_large`` (NumPy's Poisson draws and the case
numbers are no longer exact, and it would take years)."""

# per-item memory (bytes), measured (see the module docstring)
_PER_GRID = 3_000
_PER_STREET = 20_000
_PER_DISTRICT = 100_000
_PER_LOAD_ROW = 140
_PER_PENDING_ROW = 500
_PER_CASE = {"kpis": 50, "issues": 650, "events": 1_750}
_PER_CASE_STREAMED = 50
YEAR_HOURS = 8766.0


class ScenarioTooLarge(ScenarioError):
    """The estimated model is above the limits (``allow_large`` lifts them)."""


@dataclass(frozen=True)
class SizeEstimate:
    """Counts of the expanded organisation and the run's estimated cases and memory."""

    districts: int
    streets: int
    communities: int
    grids: int
    households: int
    pools: int
    """Staff pools: one per grid and community, three per street, the departments of each
    district."""
    meetings: int
    """Meeting tiers: each district's joint consultation and the city (one or per district)."""
    cases_per_year: float
    cases: float
    """Expected cases over the horizon (warm-up included)."""
    sessions: float
    """Meeting sessions over the horizon."""
    load_rows: float
    level: str
    stream: bool
    memory: float
    """Estimated peak memory in bytes at ``level``."""

    def lines(self) -> list[str]:
        """The estimate as lines for ``gridsim validate-scenario``."""
        rows = "streamed to disk" if self.stream else "in memory"
        return [
            f"organisation: districts {self.districts:,}, streets {self.streets:,}, "
            f"communities {self.communities:,}, grids {self.grids:,}, "
            f"households {self.households:,}",
            f"pools: {self.pools:,} staff pools and {self.meetings:,} meeting tiers",
            f"cases: about {_num(self.cases_per_year)} a year, {_num(self.cases)} over the "
            "horizon",
            f"memory: about {_bytes(self.memory)} at record level {self.level} "
            f"(case rows {rows})",
        ]


def _street(t: StreetTemplate, scenario: Scenario) -> tuple[int, int, int, float]:
    """Communities, grids, households and cases an hour of one street built from ``t``."""
    grids = t.communities * t.grids_per_community
    households = grids * t.households_per_grid
    per = {"household": households, "grid": grids, "community": t.communities, "street": 1}
    units = _unit_rates(t, scenario)  # a street's or community's own rates (profiles)
    rate = 0.0
    for name, c in scenario.categories.items():
        scale, rates = units.get(name, (1.0, {}))
        rates = {**c.rates, **rates}
        rate += scale * sum(r.per_hour * per[r.per] for r in (
            *rates.values(), *((c.discovery.arises,) if c.discovery else ())))
    return t.communities, grids, households, rate


def _unit_rates(t: StreetTemplate, scenario: Scenario) -> dict[str, tuple[float, dict]]:
    """Per category: the largest rate scale and the rate overrides of the street or any of its
    communities (an upper bound where communities differ)."""
    if not (t.profile or t.rate_scale is not None or t.categories or t.community_overrides):
        return {}
    cats = list(scenario.categories)
    own = unit_params(t, scenario.profiles, cats)
    flats = [own, *(combine(own, unit_params(spec, scenario.profiles, cats))
                    for spec in t.community_overrides.values())]
    out = {}
    for c in cats:
        entries = [f.get(c, {}) for f in flats]
        rates: dict = {}
        for e in entries:
            rates.update(e.get("rates", {}))
        out[c] = (max(e.get("rate_scale", 1.0) for e in entries), rates)
    return out


def estimate(scenario: Scenario, level: str | None = None) -> SizeEstimate:
    """The size of ``scenario``'s model at record ``level`` (default: the scenario's)."""
    rec = RecordPlan.of(scenario.record, level)
    level, stream = rec.level, rec.stream
    horizon = scenario.horizon.hours
    n_depts = len(scenario.departments)
    districts = streets = communities = grids = households = 0
    rate = 0.0
    for d in scenario.districts:
        template = merge(scenario.streets, d.streets)
        own = d.streets.overrides if d.streets else {}
        everywhere = scenario.streets.overrides
        overrides = {k: merge(everywhere[k], own.get(k)) if k in everywhere else own[k]
                     for k in {*own, *everywhere} if 0 <= k < template.count}
        c, g, h, r = _street(template, scenario)
        plain = template.count - len(overrides)
        totals = [plain * c, plain * g, plain * h, plain * r]
        for over in overrides.values():
            for i, x in enumerate(_street(merge(template, over), scenario)):
                totals[i] += x
        districts += d.count
        streets += d.count * template.count
        communities += d.count * totals[0]
        grids += d.count * totals[1]
        households += d.count * totals[2]
        rate += d.count * totals[3]
    cities = districts if scenario.city.per_district else 1
    meters = 5 * streets + districts * (n_depts + 1) + cities
    load_rows = (horizon / scenario.record.load_interval.hours + 1) * meters
    cases = rate * horizon
    sessions = (districts * horizon / min(d.joint_consultation.every.hours
                                          for d in scenario.districts)
                + cities * horizon / scenario.city.every.hours)
    per_case = _PER_CASE_STREAMED if stream else _PER_CASE[level]
    memory = (_PER_GRID * grids + _PER_STREET * streets + _PER_DISTRICT * districts
              + _PER_LOAD_ROW * load_rows + _PER_PENDING_ROW * min(scenario.record.chunk, cases)
              + per_case * cases)
    return SizeEstimate(districts, streets, communities, grids, households,
                        grids + communities + 3 * streets + n_depts * districts,
                        districts + cities, rate * YEAR_HOURS, cases, sessions, load_rows,
                        level, stream, memory)


def over_limits(est: SizeEstimate) -> tuple[list[str], bool]:
    """The limits ``est`` is above (as text), and whether it is above the hard one too."""
    hard = not (est.cases <= HARD_MAX_CASES and est.sessions <= HARD_MAX_CASES)
    over = []
    if not est.cases <= MAX_CASES:
        over.append(f"{_num(MAX_CASES)} cases")
    if not est.sessions <= MAX_CASES:
        over.append(f"{_num(MAX_CASES)} meeting sessions")
    if not est.memory <= MAX_MEMORY:
        over.append(f"{_bytes(MAX_MEMORY)} of memory")
    return over, hard


def check_size(scenario: Scenario, level: str | None = None,
               allow_large: bool = False) -> SizeEstimate:
    """The estimate, or :class:`ScenarioTooLarge` when it is above the limits."""
    est = estimate(scenario, level)
    over, hard = over_limits(est)
    if not over or (allow_large and not hard):
        return est
    source = scenario.origin["file"] or f"<{scenario.name}>"
    what = (f"about {_num(est.cases)} cases over the horizon, {_num(est.sessions)} meeting "
            f"sessions, {est.grids:,} grids, {_bytes(est.memory)} of memory at record level "
            f"{est.level}")
    if hard:
        msg = (f"the model is far too large to simulate: {what} (at most "
               f"{_num(HARD_MAX_CASES)} cases or sessions, even with --allow-large)")
    else:
        msg = (f"the model is too large: {what}; the limit is {' and '.join(over)} (check the "
               "counts and rates, record kpis, or pass --allow-large / allow_large=True)")
    raise ScenarioTooLarge(source, [Problem("", msg)])


def _num(x: float) -> str:
    for size, unit in ((1e12, " trillion"), (1e9, " billion"), (1e6, " million")):
        if x >= size:
            return f"{x / size:,.1f}{unit}"
    return f"{x:,.0f}"


def _bytes(x: float) -> str:
    for size, unit in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB")):
        if x >= size:
            return f"{x / size:,.1f} {unit}"
    return f"{x / 2**10:,.0f} KiB"
