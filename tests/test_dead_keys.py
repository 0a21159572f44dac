"""No dead keys (issue 13): every leaf of the scenario's JSON Schema, perturbed on a small
scenario, either changes what is simulated or is refused by the loader.

The walk enumerates the leaves of ``Scenario.model_json_schema()`` (each property of each
definition whose value is not itself a model), finds each one in a small scenario that
instantiates every definition (every distribution kind, a district with its own street template,
overrides and department overrides, an initial backlog), perturbs it, and compares a
fingerprint of a short seeded run: the issue rows, the event log, the KPIs and the load. A
policy's own parameters are perturbed with that policy in force. Keys that by design change
nothing simulated are listed in ``NOT_SIMULATED`` with the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import gridsim
from gridsim.scenario.errors import ScenarioError
from gridsim.scenario.loader import validate_data
from gridsim.units import Duration

SMALL = """
name: small
description: a small scenario exercising every key
horizon: 40d
warmup: 2d
seed: 4
calendar:
  start: 2026-01-05
  weekend: [sat, sun]
  holidays: [2026-01-14, 2026-01-20..2026-01-21]
  extra_workdays: [2026-01-17]
  shifts:
    office: {days: workdays, hours: ["08:30-12:00", "13:30-17:30"]}
    always: {days: all, hours: ["00:00-24:00"]}
    patrol: {days: all, hours: ["08:00-12:00", "14:00-18:00"]}
    weekdays: {days: [mon, tue, wed, thu, fri, sat], hours: ["09:00-18:00"]}
roles: {grid_worker: patrol, community: office, centre: always, enforcement: office,
        office: office, joint: office, city: office}
streets:
  count: 2
  communities: 2
  grids_per_community: 3
  households_per_grid: 300
  staff: {grid_workers_per_grid: 1, community_per_community: 1, centre: 2, enforcement: 1,
          office: 1}  # few staff: cases queue, so tier deadlines escalate them
  overrides:
    1: {communities: 3, grids_per_community: 2, households_per_grid: 400,
        staff: {grid_workers_per_grid: 2, community_per_community: 1, centre: 1,
                enforcement: 2, office: 1}, profile: weak}
profiles:  # units that differ (gridsim.scenario.profiles)
  weak:
    solve: {community: 0.3, street: 0.3, district: 0.3, joint: 0.3, city: 0.3}
    work_scale: 1.5
    reopen: 0.3
    on_spot: 0.6
    rate_scale: 1.5
    categories:
      garbage: {solve: {community: 0.2}, work_scale: 2.0, reopen: 0.4, on_spot: 0.7,
                rate_scale: 2.0, rates: {patrol: {value: 9, per: grid, every: 30d}}}
  slow:
    department: {staff: 1, shift: weekdays, report_time: {dist: lognormal, mean: 5h, sd: 2h}}
departments:
  sanitation: {staff: 3, report_time: {dist: lognormal, mean: 3h, sd: 2h},
               report_rate: 0.7, cooperation: 0.8}
  water: {staff: 2, shift: always, report_time: 1h}
districts:
  - name: Riverside
    count: 1
    streets:
      count: 3
      households_per_grid: 350
      overrides:
        2: {communities: 1, grids_per_community: 4, households_per_grid: 250,
            staff: {grid_workers_per_grid: 1, community_per_community: 3, centre: 3,
                    enforcement: 1, office: 3}, community_overrides: {0: {reopen: 0.5}}}
    departments:
      water: {staff: 3, report_time: {dist: exponential, mean: 2h},
              report_rate: 0.8, cooperation: 0.9}
    joint_consultation: {every: 5d, offset: 2d, agenda: 3}
  - name: Hillside  # the template as it is at the top level
    departments: {sanitation: {profile: slow}}
city: {every: 8d, offset: 3d, agenda: 4, per_district: false}
patrol: {interval: 8h, detect_prob: 0.8}
triage_time: {dist: gamma, mean: 15min, sd: 10min}
verify_time: {dist: triangular, low: 10min, mode: 20min, high: 1h}
hotline:
  dispatch_delay: {dist: uniform, low: 1h, high: 3h}
  profile:
    hourly: [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 1.4, 1.8, 1.8, 1.5, 1.2, 1.3, 1.6, 1.7,
             1.6, 1.4, 1.1, 1.0, 0.9, 0.7, 0.5, 0.3]
    weekly: [1.1, 1.05, 1.0, 1.0, 1.0, 0.9, 0.85]
  front_end:
    seats: [{staff: 1, shift: always}, {staff: 1, shift: office}]
    talk_time: {dist: lognormal, mean: 20min, sd: 10min}
    patience: {dist: exponential, mean: 10min}
    redial: {prob: 0.4, delay: {dist: exponential, mean: 1h}}
    consultations: {value: 0.2, per: household, every: 365d}
    settled_on_call: 0.1
    settled_by_category: {garbage: 0.3}
    routing: {street: 0.6, district_department: 0.4}
    routing_by_category: {road: {street: 0.3, district_department: 0.3, city_department: 0.4}}
    return_rate: {street: 0.2, district_department: 0.3, city_department: 0.3}
    review_time: {dist: lognormal, mean: 6h, sd: 3h}
city_departments:
  utility: {staff: 1, shift: office, categories: [road], per_district: false,
            work: {dist: lognormal, mean: 4h, sd: 2h}}
categories:
  garbage:
    lead: street
    rates:
      patrol: {value: 6, per: grid, every: 30d}
      hotline: {value: 0.05, per: household, every: 365d}
      units: {value: 2, per: community, every: 30d}
      above: {value: 2, per: street, every: 30d}
    on_spot: 0.3
    tiers: {community: 0.3, street: 0.3, district: 0.2, joint: 0.1, city: 0.1}
    departments: [sanitation, water]
    street_unit: enforcement
    work:
      grid: 20min
      community: {dist: lognormal, mean: 3h, sd: 2h}
      street: {dist: empirical, values: [1h, 2h, 5h], weights: [1, 2, 1]}
      district: {dist: lognormal, mean: 5h, sd: 3h}
      joint: {dist: lognormal, mean: 6h, sd: 3h}
      city: {dist: lognormal, mean: 8h, sd: 4h}
    solve: {community: 0.6, street: 0.6, district: 0.6, joint: 0.6, city: 0.6}
    reopen: 0.1
    deadline: 8wh
    deadline_shift: weekdays
    priority: 2  # level with road, after litter (1); perturbed to 3, after road
    stage_limits: {filing: 30min, dispatch: 2h, arrival: 4wh, handling: 2wd, verification: 1h}
    extension: {prob: 0.5, length: 1wd, limit: 1, ask_before: 4h}  # case states
    suspension: {at_triage: 0.1, on_failure: 0.3, resume: {after: 5d}, limit: 1}
    rejection: {out_of_scope: 0.1, invalid: 0.1}
    supervision: {every: 1d, limit: 3}
  road:
    lead: department
    priority: 2  # level with garbage at the city meeting (it decides road cases too); a
                 # supervision's boost of 1 or 2 (perturbed) separates cases boosted twice
    suspension: {on_failure: 0.3, resume: {every: 7d}}
    supervision: {}
    rates:
      hotline: {value: 0.05, per: household, every: 365d}
    tiers: {street: 0.4, district: 0.6}
    solve: {street: 0.5, district: 0.4, joint: 0.4, city: 0.2}  # some reach the city, fail there
    departments: [water, sanitation]
    street_unit: office
    deadline: 3wd
  litter:  # the discovery race (gridsim.model.discovery)
    lead: street
    discovery:
      arises: {value: 0.01, per: household, every: 30d}
      patrol: 0.6
      residents: {value: 1, every: 5d, per: problem}
      camera: {value: 1, every: 3d}
      units: {value: 1, every: 20d}
      above: {value: 1, every: 20d}
    on_spot: 0.3
    tiers: {community: 0.5, street: 0.5}
    departments: [sanitation]
discovery:
  cameras: {share: 0.5, streets: {1: {share: 1.0}}}
stage_limits: {filing: 20min, dispatch: 8h, arrival: 6h, handling: 1d, verification: 45min}
policy:
  name: four_tier
  two_way_dispatch: 0.3
  resource_sinking: {share: 0.3, to: enforcement}
  report_deadline: 2h
  recall_delay: 12h
  four_tier:
    tier_deadlines: {community: 6wh, street: 4wh, district: 2wd, joint: 10d, shift: weekdays}
    report_time: {dist: lognormal, mean: 1h, sd: 30min}
    retry_delay: 2d
    recalls: 1
    appraisal: {strength: 1.0, weights: {report: 1, cooperation: 1, resolution: 1},
                report_time_cut: 0.5, prior: 2}
    lead_split: false
    supervision: {action: boost, boost: 1}
  whistle:
    report_time: {dist: lognormal, mean: 1h, sd: 30min}
    retry_delay: 3d
    appraisal: {strength: 1.0, weights: {report: 1, cooperation: 1, resolution: 1},
                report_time_cut: 0.5, prior: 2}
    lead_split: false
    supervision: {action: escalate}
  baseline:
    misroute_prob: 0.3
    forward_delay: {dist: lognormal, mean: 6h, sd: 3h}
    bounce_delay: {dist: lognormal, mean: 12h, sd: 6h}
    retry_delay: 3d
  first_receiver: {within: four_tier}
  mix: {base: four_tier, other: whistle, take: [report_time, retry_delay]}
record: {load_interval: 2h, level: events, stream: false, chunk: 4096}
preempt: [community]
resident:  # gridsim.model.resident
  explanation: {community: 0.2, street: 0.1, district: 0.1, joint: 0.1, city: 0.4}
  explanation_by_category:
    garbage: {community: 0.1, street: 0.3, district: 0.3, joint: 0.2, city: 0.5}
  response: {limit: 4h, contact_time: {dist: lognormal, mean: 2h, sd: 2h}}
  callback:
    delay: {dist: lognormal, mean: 1d, sd: 12h}
    reach: 0.8
    satisfaction: {base: 0.8, unsolved: -2, late: -1, lateness: -0.5, no_response: -0.5,
                   per_reopen: -0.5}
    reopen: 0.6
    max_reopens: 1
"""

NOT_SIMULATED = {
    ("Scenario", "name"): "a label: names the results folder, not part of the model",
    ("Scenario", "description"): "documentation only",
    ("Recording", "stream"): "where rows are kept (Parquet chunks instead of memory); the rows "
                             "are identical by design (tests/test_streaming.py)",
    ("Recording", "chunk"): "rows packed per chunk: memory, not results (identical by design)",
}

POLICIES = ("four_tier", "whistle", "baseline", "two_way", "joint_first", "first_receiver",
            "mix")
BACKLOG = ("category,district,street,community,grid,tier,age\n"
           "garbage,Riverside,0,1,2,community,3d\n"
           "road,Riverside,2,,,district,10d\n"
           "road,Riverside,1,,,city,20d\n"  # decided at the first city meetings
           "road,Hillside,0,,,city,25d\n")


# ---------------------------------------------------------------- the schema's leaves
def schema_leaves() -> set[tuple[str, str]]:
    """``(definition, property)`` of every property whose value is not a model (or a
    container or union of models): what a planner ultimately writes."""
    schema = gridsim.Scenario.model_json_schema()
    defs = schema["$defs"]

    def refs(node: Any) -> bool:
        if isinstance(node, dict):
            return "$ref" in node or any(refs(v) for v in node.values())
        return isinstance(node, list) and any(refs(v) for v in node)

    out = set()
    for name, d in [("Scenario", schema), *defs.items()]:
        for prop, sub in d.get("properties", {}).items():
            if not refs(sub):
                out.add((name, prop))
    return out


# ---------------------------------------------------------------- the scenario's leaves
def model_leaves(model: Any, path: tuple = ()) -> dict[str, tuple[tuple[str, str], tuple]]:
    """Every leaf location of a validated scenario (dict keys written ``*`` and list indexes
    ``[]``: ``categories.*.work.street.values``), with its ``(class, field)`` and the data
    path of its first occurrence."""
    from pydantic import BaseModel

    out: dict[str, tuple[tuple[str, str], tuple]] = {}

    def general(where: tuple, dicts: tuple) -> str:
        return ".".join("[]" if isinstance(k, int) and not d else "*" if d else str(k)
                        for k, d in zip(where, dicts, strict=True))


    def visit(value: Any, where: tuple, dicts: tuple) -> None:
        if isinstance(value, BaseModel):
            for name in type(value).model_fields:
                v = getattr(value, name)
                if v is None and _models_in(type(value).model_fields[name].annotation):
                    continue  # a section left out here (another occurrence is walked)
                if _is_container(v):
                    visit(v, (*where, name), (*dicts, False))
                else:
                    here = (*where, name)
                    out.setdefault(general(here, (*dicts, False)),
                                   ((type(value).__name__, name), here))
        elif isinstance(value, dict):
            for k, v in value.items():
                visit(v, (*where, k), (*dicts, True))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                visit(v, (*where, i), (*dicts, False))

    visit(model, path, ())
    return out


def _models_in(annotation: Any) -> bool:
    """Whether a field's annotation can hold a model (a section, a distribution)."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_models_in(a) for a in typing.get_args(annotation))


def _is_container(v: Any) -> bool:
    from pydantic import BaseModel

    if isinstance(v, BaseModel):
        return True
    if isinstance(v, dict):  # an empty one holds no leaf (the coverage check sees the rest)
        return all(isinstance(x, BaseModel) for x in v.values())
    if isinstance(v, list | tuple):
        return all(isinstance(x, BaseModel) for x in v)
    return False


# ---------------------------------------------------------------- perturbing one leaf
def perturbed(value: Any, key: tuple[str, str], data: dict, tmp: Path) -> Any:
    """A different valid-looking value for the leaf ``key`` currently holding ``value``."""
    cls, field = key
    shifts = list(data["calendar"]["shifts"])
    special = {
        ("Scenario", "initial_backlog"): lambda: _file(tmp, BACKLOG.replace("3d", "9d")),
        ("Shift", "days"): lambda: "all",
        ("Shift", "hours"): lambda: ["07:00-12:00", "13:00-19:00"],
        ("CalendarSpec", "weekend"): lambda: ["sun"],
        ("CalendarSpec", "holidays"): lambda: [*value, "2026-01-08"],
        ("CalendarSpec", "extra_workdays"): lambda: ["2026-01-10"],
        ("CalendarSpec", "start"): lambda: "2026-01-07",
        ("Category", "departments"): lambda: list(reversed(value)),
        ("Category", "deadline_shift"): lambda: "always",
        ("HotlineProfile", "hourly"): lambda: [3.0] + list(value[1:]),
        ("HotlineProfile", "weekly"): lambda: [3.0] + list(value[1:]),
        ("Empirical", "values"): lambda: ["7h"] + [str(v) for v in value[1:]],
        ("Empirical", "weights"): lambda: [5.0] + list(value[1:]),
        ("District", "name"): lambda: "Hillside",
        ("Scenario", "warmup"): lambda: "5d",
        ("ResourceSinking", "to"): lambda: "office",
        ("Scenario", "preempt"): lambda: ["grid_worker", "community", "centre", "enforcement",
                                          "office"],
        ("FrontEnd", "settled_by_category"): lambda: {k: 0.9 for k in value},
        ("CityDepartment", "categories"): lambda: ["garbage"],
        ("MixParams", "take"): lambda: [*value, "escalation"],
        ("Resume", "every"): lambda: "2d" if value is None else "3d",  # with after: refused
    }
    if key in special:
        return special[key]()
    if field == "profile":  # a unit's profile (gridsim.scenario.profiles): drop it, or name one
        return None if value else ("slow" if cls.startswith("Department") else "weak")
    if value is None and (cls == "SolveOverride" or field in (
            "work_scale", "reopen", "on_spot", "rate_scale", "report_rate", "cooperation")):
        return 0.05  # a unit's value left to the category's: give it one
    if field == "dist":  # lognormal and gamma share parameters; other switches are refused
        return {"lognormal": "gamma", "gamma": "lognormal", "uniform": "triangular"}.get(
            value, "lognormal")
    if field in ("shift",) or cls == "Roles":
        return next(s for s in shifts if s != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):  # a probability or share: move it far
        return 0.05 if value >= 0.5 else 0.95
    if isinstance(value, Duration):  # shorter: deadlines escalate, meetings sit, more often
        if value.unit == "wd":
            return f"{value.value + 1:g}wd"
        return str(Duration(value.value / 3 if value.value else 1.0, value.unit))
    if isinstance(value, str):
        from gridsim.scenario import schema as sch

        options = _literal_options(cls, field, sch)
        if options:
            return next(o for o in options if o != value)
    if value is None:
        return {"dist": "lognormal", "mean": "3h", "sd": "1h"} if "time" in field else None
    raise AssertionError(f"no perturbation for {key} = {value!r}")


def _literal_options(cls: str, field: str, sch: Any) -> list[str]:
    import typing

    from pydantic import BaseModel

    model = None
    for mod in (sch, *[__import__(m, fromlist=["x"]) for m in (
            "gridsim.distributions", "gridsim.scenario.discovery",
            "gridsim.policies.base",
            "gridsim.policies.four_tier", "gridsim.policies.baseline",
            "gridsim.policies.whistle", "gridsim.policies.two_way",
            "gridsim.policies.joint_first", "gridsim.policies.first_receiver",
            "gridsim.policies.mix",
            "gridsim.scenario.hotline")]):
        c = getattr(mod, cls, None)
        if isinstance(c, type) and issubclass(c, BaseModel):
            model = c
    if model is None and cls == "PolicySpec":
        model = sch.PolicySpec
    ann = model.model_fields[field].annotation if model is not None else None
    out = []
    arms = (ann,) if typing.get_origin(ann) is typing.Literal else typing.get_args(ann)
    for arm in arms:
        if typing.get_origin(arm) is typing.Literal:
            out += list(typing.get_args(arm))
    return out


def _file(tmp: Path, text: str) -> str:
    path = tmp / f"backlog-{hashlib.sha1(text.encode()).hexdigest()[:8]}.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def _set(data: dict, path: tuple, value: Any) -> None:
    node = data
    for k in path[:-1]:
        if isinstance(node, dict) and node.get(k) is None:
            node[k] = {}  # a section left to its defaults: write the one value
        node = node[k]
    node[path[-1]] = value


def _get(data: dict, path: tuple) -> Any:
    node = data
    for k in path:
        node = node[k]
    return node


def fingerprint(s: gridsim.Scenario) -> str:
    """What a short seeded run of ``s`` produced: its case rows, event log, KPIs and load."""
    r = gridsim.simulate(s)
    h = hashlib.sha256()
    for df in (r.issues, r.events, r.kpis, r.load):
        if df is None:
            h.update(b"none")
        else:
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
            h.update(",".join(map(str, df.columns)).encode())
    return h.hexdigest()


def _json(data: Any) -> Any:
    return json.loads(json.dumps(data, default=lambda o: o.isoformat()
                                 if isinstance(o, dt.date) else str(o)))


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dead-keys")
    data = _json(yaml.safe_load(SMALL))
    data["initial_backlog"] = _file(tmp, BACKLOG)
    # shorthands expanded, so data paths are the model's paths (values left out stay out)
    return validate_data(data, "<small>").to_data(), tmp


def test_every_schema_leaf_acts_or_is_refused(small):
    data, tmp = small
    base = validate_data(copy.deepcopy(data), "<small>")
    leaves = model_leaves(base)
    missing = schema_leaves() - {key for key, _ in leaves.values()} - set(NOT_SIMULATED)
    assert not missing, f"the small scenario does not exercise {sorted(missing)}"
    prints: dict[str, str] = {}
    dead, refused = [], []
    for key, path in leaves.values():
        if key in NOT_SIMULATED:
            continue
        own = path[1] if path[:1] == ("policy",) and path[1] in POLICIES else None
        value = _leaf_value(base, path)
        # a key may be shadowed under one policy (the four-tier policy's report_time replaces
        # the departments'): it is alive if it changes the run under some policy
        for name in [own] if own else [data["policy"]["name"], *POLICIES]:
            start = copy.deepcopy(data)
            start["policy"]["name"] = name
            if name not in prints:
                prints[name] = fingerprint(validate_data(copy.deepcopy(start), "<small>"))
            new = copy.deepcopy(start)
            _set(new, path, perturbed(value, key, new, tmp))
            try:
                changed = validate_data(new, "<perturbed>")
            except ScenarioError:
                refused.append(key)
                break
            if fingerprint(changed) != prints[name]:
                break
        else:
            dead.append((key, ".".join(map(str, path)), _get(new, path)))
    assert not dead, f"keys that change nothing: {dead}"
    assert len(refused) < len(leaves) // 4, refused  # most perturbations are valid and act


def _leaf_value(model: Any, path: tuple) -> Any:
    node = model
    for k in path:
        node = node[k] if isinstance(node, dict | list | tuple) else getattr(node, k)
    return node
