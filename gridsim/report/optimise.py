"""The report of a staffing optimisation (a folder with ``optimise.json``): what the template
shows.

``gridsim optimise`` looks for the cheapest staffing whose targets hold (say, every street
closes 90% of its cases on time), evaluating each candidate allocation on common random
numbers. Its folder holds the chosen allocation and how it was found (``optimise.json``), every
candidate evaluated (``candidates.csv``), the chosen one's results on fresh seeds
(``confirmation.csv``), what fails one step cheaper (``binding.csv``) and the frontier plot.
The page says, in a planner's words: what to staff, what it saves, whether it holds on fresh
seeds, which target binds where, and how the search got there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..optimise.plots import SENSE, STATUS_STYLE, amount, target_text
from ..vocabulary import DASH, MINUS, format_value, is_missing, label, unit_of
from .folder import (
    Cell,
    ReportError,
    data_uri,
    facts,
    mtime,
    read_csv,
    read_json,
    stacked,
    table,
    value_cell,
)

ROLES = {
    "enforcement": "enforcement officer", "centre": "centre operator", "office": "office worker",
    "community_per_community": "community worker per community",
    "community": "community worker", "grid_workers_per_grid": "grid worker per grid",
    "grid_worker": "grid worker", "call_taker": "call-taker", "joint": "joint-meeting member",
    "department": "department field worker", "city_department": "city department worker",
}
"""A pool's member in words (singular), by the variable's last path part or its kind."""
PHASES = {"pilot": "Pilot (the top of every range)", "start": "Starting point",
          "greedy": "Greedy cut", "descent": "Descent", "swap": "Swap", "select": "Selection",
          "exhaustive": "Exhaustive (every allocation)", "confirm": "Confirmation on fresh seeds"}
TARGET_STATUS = {"met": ("met", "better"), "violated": ("missed", "worse"),
                 "undecided": ("too close to call", "ns"), "no data": ("no data", "ns")}
GLYPHS = {"o": "\u25cf", "X": "\u2716", "^": "\u25b2"}
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
MAX_UNITS = 10
"""Units of a per-unit target listed before the rest are folded away."""
MAX_CANDIDATES = 30
"""Beyond this many candidates, only the frontier and the chosen one are listed unfolded."""


def optimise_context(folder: Path) -> dict[str, Any]:
    """Everything ``optimise.html.j2`` shows of the optimisation in ``folder``."""
    meta = read_json(folder / "optimise.json")
    if not isinstance(meta, dict) or not {"variables", "targets", "chosen"} <= set(meta):
        raise ReportError(f"{folder} is not a readable staffing optimisation: optimise.json "
                          "has no variables, targets or chosen allocation")
    if not isinstance(meta["chosen"], dict):  # nothing chosen: say so rather than fail
        meta = {**meta, "chosen": {"status": "infeasible", "feasible": False}}
    level = float(meta.get("level") or 0.95)
    variables = list(meta["variables"])
    targets = list(meta["targets"])
    candidates = read_csv(folder / "candidates.csv")
    name = (meta.get("scenario") or {}).get("name") or folder.name
    return {
        "title": f"Staffing optimisation: {name}",
        "facts": _facts(folder, meta, level),
        "summary": _summary(meta, variables),
        "targets": [_target(k, t, read_csv(folder / "confirmation.csv"), level)
                    for k, t in enumerate(targets)],
        "binding": _binding(read_csv(folder / "binding.csv"), meta, variables, targets),
        "frontier": _frontier(folder, candidates, meta, variables, targets, level),
        "start": _start(meta.get("bounds") or [], variables),
        "search": _search(meta.get("search") or [], variables),
        "notes": [str(n) for n in meta.get("notes") or []],
        "level_text": f"{level:.0%}",
        "legend": [{"st": st, "glyph": GLYPHS.get(s["marker"], ""), "text": s["text"]}
                   for st, s in STATUS_STYLE.items()],
    }


# ---------------------------------------------------------------------------- words
def _number(n: int) -> str:
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else f"{n:,}"


def role(var: dict[str, Any]) -> tuple[str, str]:
    """A variable as ``("enforcement officer", "per street")``: the member of the pool it sets
    and where (empty when the path is not one gridsim knows how to say)."""
    path = str(var.get("path") or "")
    parts = path.split(".")
    noun = ROLES.get(parts[-1]) or ROLES.get(str(var.get("kind") or ""))
    if parts[0] == "departments" and len(parts) >= 3:
        return f"{parts[1].replace('_', ' ')} department field worker", ""
    if noun is None:
        return "", ""
    if parts[0] == "streets":
        return noun, "per street"
    if parts[0].startswith("districts[") and len(parts) > 1 and parts[1] == "streets":
        return noun, f"per street of district {parts[0][10:-1]}"
    return noun, ""


def _plural(noun: str) -> str:
    head, sep, tail = noun.partition(" per ")
    return head + "s" + sep + tail


def staff_words(var: dict[str, Any]) -> str:
    """``Enforcement officers per street`` (or the path, when it has no words)."""
    noun, where = role(var)
    if not noun:
        return str(var.get("path"))
    text = f"{_plural(noun)} {where}".strip()
    return text[0].upper() + text[1:]


def fewer(var: dict[str, Any], n: float) -> str:
    """``One fewer enforcement officer per street``, ``Two fewer ...``."""
    noun, where = role(var)
    k = int(n) if float(n).is_integer() else n
    if not noun:
        return f"{var.get('path')} {format_value(k, 'count')} lower"
    many = _plural(noun) if k != 1 else noun
    return f"{_number(k) if isinstance(k, int) else k} fewer {many} {where}".strip().capitalize()


def _count(v: Any) -> str:
    return format_value(v, "count")


def _bound_text(target: dict[str, Any]) -> str:
    """``Closed on time ≥ 90.0%`` (the target without where it applies)."""
    metric = str(target.get("metric"))
    return (f"{label(metric)} {SENSE.get(str(target.get('sense')), target.get('sense'))} "
            f"{format_value(target.get('bound'), unit_of(metric))}")


def _level(target: dict[str, Any]) -> str:
    """The unit level a per-unit target runs over: ``street``."""
    scope = str(target.get("scope") or "")
    return scope.split("=", 1)[0] if "=" in scope else "unit"


def _names(k: int, t: dict[str, Any]) -> set[str]:
    """How a table may name target ``k``: its text as given, its canonical form
    (``on_time_rate>=0.9 @ street=*``), its index; spaces do not count."""
    names = {str(t.get("text")), str(k), f"t{k}"}
    if not is_missing(t.get("bound")):
        scope = str(t.get("scope") or "all")
        names.add(f"{t.get('metric')}{t.get('sense')}{float(t['bound']):g}"
                  + ("" if scope == "all" else f" @ {scope}"))
    return {"".join(n.split()) for n in names}


def _find(targets: list[dict[str, Any]], key: Any) -> tuple[int, dict[str, Any]] | None:
    """A target named in a table (see :func:`_names`), or by its metric alone."""
    key = "".join(str(key).split())
    for k, t in enumerate(targets):
        if key in _names(k, t):
            return k, t
    for k, t in enumerate(targets):
        if key == str(t.get("metric")):
            return k, t
    return None


def _signed_percent(d: float, base: float) -> str:
    return f"{d / base:+.1%}".replace("-", MINUS) if base else ""


# ---------------------------------------------------------------------------- sections
def _facts(folder: Path, meta: dict[str, Any], level: float) -> list[tuple[str, str]]:
    sc = meta.get("scenario") or {}
    objective = str(meta.get("objective") or "cost")
    unit = str(meta.get("cost_unit") or "")
    if objective == "cost":
        what = f"the cheapest staffing (cost in {unit}) that meets every target"
    else:
        kpi = objective.removeprefix("maximise").strip()
        what = f"the staffing with the best {label(kpi)} ({kpi}) that meets every target"
    budget = meta.get("budget")
    conf = meta.get("confirmation") or {}
    return facts([
        ("Scenario", sc.get("name")),
        ("Scenario file", sc.get("source")),
        ("Sought", what),
        ("Budget", None if is_missing(budget) else format_value(budget, unit)),
        ("Confidence level", f"{level:.0%} (each target must hold with this confidence)"),
        ("Search seed", meta.get("seed")),
        ("Confirmation seed", conf.get("seed") if conf.get("seed") != meta.get("seed")
         else None),
        ("Chosen scenario", "optimum.yaml (runnable: gridsim run optimum.yaml)"
         if (folder / "optimum.yaml").is_file() else None),
        ("Written", mtime(folder / "optimise.json")),
    ])


def _summary(meta: dict[str, Any], variables: list[dict[str, Any]]) -> dict[str, Any]:
    """The chosen allocation against the scenario's, what it costs and saves, whether it held
    on fresh seeds, and the replications spent."""
    chosen = meta["chosen"]
    values = chosen.get("values") or {}
    unit = str(meta.get("cost_unit") or "")
    rows, changes = [], []
    d_cost = d_heads = 0.0
    for v in variables:
        base, new = v.get("base"), values.get(v["path"])
        step = DASH
        if not is_missing(base) and not is_missing(new):
            d = float(new) - float(base)
            pools = float(v.get("pools") or 1)
            d_heads += d * pools
            d_cost += d * pools * float(v.get("per_head") or 0)
            step = (f"{format_value(d, 'count', signed=True)} each, "
                    f"{format_value(d * pools, 'count', signed=True)} in all") if d else "no change"
            changes.append(f"{staff_words(v).lower()} {_count(base)} \u2192 {_count(new)}")
        pools = v.get("pools")
        where = role(v)[1]
        if where.startswith("per street") and not is_missing(pools):
            pools = f"{_count(pools)} streets"
        rows.append([stacked(staff_words(v), str(v["path"])), _count(base), _count(new), step,
                     pools if isinstance(pools, str) else _count(pools),
                     f"{_count(v.get('low'))} to {_count(v.get('high'))}"
                     f" in steps of {_count(v.get('step') or 1)}"])
    cost, heads = chosen.get("cost"), chosen.get("heads")
    money: list[tuple[str, Any]] = []
    base_cost = chosen.get("base_cost")
    if is_missing(base_cost) and not is_missing(cost) and all(
            not is_missing(v.get("per_head")) for v in variables):
        base_cost = float(cost) - d_cost  # the change is what the varied pools cost
    if not is_missing(cost):
        money.append(("Cost of the chosen staffing", amount(cost, unit)))
    if not is_missing(cost) and not is_missing(base_cost):
        d = float(cost) - float(base_cost)
        money += [("Cost of the scenario's staffing", amount(base_cost, unit)),
                  ("Change", f"{amount(d, unit, signed=True)} "
                             f"({_signed_percent(d, float(base_cost))})" if d else "none")]
    if not is_missing(heads) and unit != "heads":
        money += [("Heads in the pools varied", f"{_count(heads)} (the scenario's: "
                                                f"{_count(float(heads) - d_heads)}, "
                                                f"{format_value(d_heads, 'count', signed=True)})")]
    reps = meta.get("replications") or {}
    exhaustive = reps.get("exhaustive")
    spent = facts([
        ("Allocations evaluated", f"{meta['evaluations']:,}" if isinstance(
            meta.get("evaluations"), int) else None),
        ("Pilot replications", _reps(reps.get("pilot"))),
        ("Search replications", _reps(reps.get("search"))),
        ("Confirmation replications", _reps(reps.get("confirmation"))),
        ("Trying every allocation would have taken",
         None if is_missing(exhaustive) else f"{int(exhaustive):,} replications"),
    ])
    return {"callout": _verdict(meta, changes), "allocation": table(
        ["Staff", "Scenario", "Chosen", "Change", "Pools", "Searched"], rows, "allocation",
        num_from=1), "money": facts(money), "spent": spent}


def _reps(n: Any) -> str | None:
    return None if is_missing(n) else f"{int(n):,}"


def _verdict(meta: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    """The headline: what to staff and whether it holds on fresh seeds."""
    chosen = meta["chosen"]
    conf = meta.get("confirmation") or {}
    n = conf.get("replications")
    what = "; ".join(changes) or "the scenario's own staffing"
    what = what[0].upper() + what[1:]
    n_evals = meta.get("evaluations")
    found = f" (of {n_evals:,} allocations evaluated)" if isinstance(n_evals, int) else ""
    if str(chosen.get("status")) == "infeasible" or chosen.get("feasible") is False:
        return {"cls": "unclear", "lead": "No staffing in the search ranges met every target.",
                "text": f"The closest found{found}: {what}. Widen the ranges or relax a "
                        "target; see Targets and What binds."}
    seeds = (f" (seed {conf['seed']})" if conf.get("seed") is not None
             and conf.get("seed") != meta.get("seed") else "")
    if conf.get("feasible") is False:
        return {"cls": "unclear", "lead": f"Chosen{found}: {what}.",
                "text": f"It misses a target on {_reps(n) or 'the'} fresh replications{seeds}: "
                        "the search's estimate did not hold; see Targets."}
    held = (f"It meets every target on {_reps(n)} fresh replications{seeds}, not used by "
            "the search." if n else "It was not checked on fresh seeds.")
    return {"cls": "clear" if n else "unclear", "lead": f"Chosen{found}: {what}.",
            "text": held}


def _target(k: int, t: dict[str, Any], conf: pd.DataFrame | None,
            level: float) -> dict[str, Any]:
    """One target with the chosen allocation's result on fresh seeds, unit by unit (the
    tightest first)."""
    metric = str(t.get("metric"))
    unit = unit_of(metric)
    out: dict[str, Any] = {"title": target_text(t), "code": str(t.get("text")),
                           "kpi": metric, "sentence": "", "table": None, "rest": None}
    rows = pd.DataFrame()
    if conf is not None and not conf.empty:
        names = conf["target"].astype(str).str.replace(r"\s+", "", regex=True)
        rows = conf[names.isin(_names(k, t))]
        if rows.empty:
            rows = conf[names == metric]
    if rows.empty:
        out["sentence"] = "No confirmation on fresh seeds in this folder."
        return out
    sign = -1.0 if str(t.get("sense")) in ("<=", "<") else 1.0
    if "status" in rows:
        state = rows["status"].astype(str)
    else:  # only the flag: shown met or not
        state = rows["met"].astype(str).str.lower().isin(["true", "1"]).map(
            {True: "met", False: "violated"})
    rows = rows.assign(margin=sign * (rows["mean"] - rows["bound"]), state=state,
                       ok=state == "met").sort_values("margin")
    per_unit = bool(t.get("per_unit"))
    lv = _level(t)
    missed = rows[rows["state"] == "violated"]
    unsure = rows[~rows["ok"] & (rows["state"] != "violated")]
    tight = rows.iloc[0]
    value = f"{format_value(tight['mean'], unit)} ({level:.0%} CI " \
            f"{format_value(tight['low'], unit)} to {format_value(tight['high'], unit)})"
    if per_unit:
        n = len(rows)
        if missed.empty and unsure.empty:
            out["sentence"] = (f"Met in all {n} {lv}s on fresh seeds; the tightest, "
                               f"{tight['unit']}, at {value}.")
        else:
            parts = [f"missed in {len(g)} of {n} {lv}s ({', '.join(str(u) for u in g['unit'])})"
                     if st == "missed" else f"too close to call in {len(g)} of {n} "
                     f"({', '.join(str(u) for u in g['unit'])})"
                     for st, g in (("missed", missed), ("unsure", unsure)) if len(g)]
            out["sentence"] = "On fresh seeds: " + "; ".join(parts) + "."
    else:
        how = ("Met" if tight["ok"] else "Missed" if tight["state"] == "violated"
               else "Too close to call")
        out["sentence"] = (f"{how} on fresh seeds: {value} against "
                           f"{format_value(t.get('bound'), unit)}.")
    cells = []
    for r in rows.itertuples(index=False):
        cell = value_cell(r.mean, unit, r.low, r.high, level)
        cells.append([str(r.unit) if per_unit else "overall", cell,
                      format_value(r.bound, unit),
                      {"kind": "point", "label": "", "badges": [_badge(r.state)]}])
    head = [lv.capitalize() if per_unit else "Scope", "On fresh seeds", "Bound", "Result"]
    out["table"] = table(head, cells[:MAX_UNITS], "targets")
    if len(cells) > MAX_UNITS:
        out["rest"] = {"summary": f"The other {len(cells) - MAX_UNITS} {lv}s",
                       "table": table(head, cells[MAX_UNITS:], "targets")}
    return out


def _badge(status: str) -> dict[str, str]:
    """A target's status in words (met, missed, too close to call, no data)."""
    text, cls = TARGET_STATUS.get(status, (status, "ns"))
    return {"text": text, "cls": cls}


def _binding(df: pd.DataFrame | None, meta: dict[str, Any], variables: list[dict[str, Any]],
             targets: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each variable: what fails one step below the chosen value, in words (the worst
    failure first, the others named after it)."""
    values = meta["chosen"].get("values") or {}
    groups = {} if df is None or df.empty else dict(
        tuple(df.groupby(df["variable"].astype(str), sort=False)))
    lines = []
    for v in variables:
        value = values.get(v["path"])
        g = groups.get(str(v["path"]))
        if g is None:
            low = v.get("low")
            at_low = not is_missing(value) and not is_missing(low) and float(value) - float(
                v.get("step") or 1) < float(low)
            text = (f"{staff_words(v)} cannot go lower: {_count(value)} is the bottom of the "
                    "search range." if at_low else
                    f"{staff_words(v)}: no allocation one step lower was evaluated, or "
                    "nothing was shown to fail there.")
            lines.append({"text": text, "cls": "ns", "code": str(v["path"])})
            continue
        failures = [_failure(r, targets) for r in g.to_dict("records")]
        failures.sort(key=lambda f: (f["status"] != "violated", f["slack"]))
        worst, rest = failures[0], failures[1:]
        r = worst["row"]
        # binding.csv's value is the value one step down (its neighbour the candidate there);
        # a table giving the chosen value and the one below is read as well
        lower = r["value"] if is_missing(value) or float(r["value"]) != float(value) else r[
            "neighbour"]
        step = float(value) - float(lower) if not is_missing(value) else 1.0
        text = (f"{fewer(v, step)} ({_count(value)} \u2192 {_count(lower)}): {worst['text']}"
                + (" (too close to call with the replications spent)"
                   if worst["status"] == "undecided" else "") + ".")
        if rest:
            named = ", ".join(f["short"] for f in rest[:4]) + (", \u2026" if len(rest) > 4 else "")
            text += f" Also failing or too close to call there: {named}."
        lines.append({"text": text, "cls": "worse" if worst["status"] == "violated" else "ns",
                      "code": str(v["path"])})
    return lines


def _failure(r: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, Any]:
    """One failed constraint of ``binding.csv`` in words, with its slack (negative: missed by
    that much) to rank it."""
    found = _find(targets, r.get("target"))
    t = found[1] if found else {"metric": str(r.get("target")), "sense": "",
                                "bound": r.get("bound")}
    unit = unit_of(str(t.get("metric")))
    where = (f"{_level(t)} {r['unit']}" if str(r.get("unit")) not in ("all", "", "nan")
             else "the whole area")
    status = str(r.get("status"))
    verb = {"violated": "misses", "undecided": "may miss"}.get(status, status)
    sign = -1.0 if str(t.get("sense")) in ("<=", "<") else 1.0
    slack = sign * (float(r["mean"]) - float(r["bound"])) if not (
        is_missing(r.get("mean")) or is_missing(r.get("bound"))) else 0.0
    return {"row": r, "status": status, "slack": slack,
            "text": f"{where} {verb} {_bound_text(t)}, estimated at "
                    f"{format_value(r.get('mean'), unit)}",
            "short": f"{where} ({label(str(t.get('metric')))}, "
                     f"{format_value(r.get('mean'), unit)})"}


def _frontier(folder: Path, c: pd.DataFrame | None, meta: dict[str, Any],
              variables: list[dict[str, Any]], targets: list[dict[str, Any]],
              level: float) -> dict[str, Any]:
    """The plot and every candidate: the frontier first (by cost), then the rest (by cost)."""
    png = folder / "plots" / "frontier.png"
    data = png.read_bytes() if png.is_file() else b""
    out: dict[str, Any] = {"uri": data_uri(data) if data.startswith(b"\x89PNG") else None,
                           "name": "plots/frontier.png", "table": None}
    if c is None or c.empty:
        return out
    unit = str(meta.get("cost_unit") or "")
    flag = {col: c[col].astype(str).str.strip().str.lower().isin(["true", "1"]) if col in c
            else pd.Series(False, index=c.index) for col in ("chosen", "frontier")}
    c = c.assign(_front=flag["frontier"], _chosen=flag["chosen"]).sort_values(
        ["_front", "cost", "candidate"], ascending=[False, True, True])
    shown = [v for v in variables if v["path"] in c]
    head: list[Cell] = ["Allocation", *(staff_words(v) for v in shown),
                        f"Cost ({unit})" if unit else "Cost"]
    heads = unit != "heads" and "heads" in c
    head += ["Heads"] if heads else []
    head += ["Replications", "Status"]
    head += [stacked(f"{label(str(t.get('metric')))}"
                     f"{' (worst ' + _level(t) + ')' if t.get('per_unit') else ''}",
                     f"target {SENSE.get(str(t.get('sense')), t.get('sense'))} "
                     f"{format_value(t.get('bound'), unit_of(str(t.get('metric'))))}")
             for t in targets]
    rows = []
    for r in c.to_dict("records"):
        st = str(r.get("status"))
        style = STATUS_STYLE.get(st, STATUS_STYLE["undecided"])
        badges = []
        if r["_chosen"]:
            badges.append({"text": "\u2605 chosen", "cls": "better"})
        if r["_front"]:
            badges.append({"text": "on the frontier", "cls": "changed"})
        cells: list[Cell] = [_count(r.get(v["path"])) for v in shown]
        cells.append(_count(r.get("cost")))
        cells += [_count(r.get("heads"))] if heads else []
        cells.append(_count(r.get("replications")))
        cells.append({"kind": "status", "st": st if st in STATUS_STYLE else "undecided",
                      "glyph": GLYPHS.get(style["marker"], ""), "text": st})
        for k, t in enumerate(targets):
            tu = unit_of(str(t.get("metric")))
            cell = value_cell(r.get(f"t{k}_mean"), tu, r.get(f"t{k}_low"), r.get(f"t{k}_high"),
                              level)
            cell["subs"] = [s for s in cell["subs"] if s["ci"]]  # no days: a compact table
            where = r.get(f"t{k}_unit")
            if t.get("per_unit") and isinstance(where, str) and where != "all":
                cell["subs"].insert(0, {"text": where, "ci": False})
            cell["badge"] = _badge(str(r.get(f"t{k}_status") or DASH))
            cells.append(cell)
        rows.append({"cls": " ".join(x for x, on in (("frontier", r["_front"]),
                                                     ("chosen", r["_chosen"])) if on),
                     "id": f"#{_count(r.get('candidate'))}", "label": str(r.get("label") or ""),
                     "badges": badges, "cells": cells})
    shown_rows = [r for r in rows if r["cls"]] if len(rows) > MAX_CANDIDATES else rows
    out["table"] = {"head": head, "rows": shown_rows, "n": len(rows),
                    "rest": [r for r in rows if r not in shown_rows],
                    "n_front": int(flag["frontier"].sum())}
    return out


def _start(bounds: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict | None:
    """Where queueing theory put each variable before any simulation."""
    if not bounds:
        return None
    var = {v["path"]: v for v in variables}
    rows = []
    for b in bounds:
        v = var.get(b.get("path"), {"path": b.get("path")})
        load = b.get("offered_load")
        rows.append([stacked(staff_words(v), str(b.get("path"))),
                     DASH if is_missing(load) else f"{float(load):,.1f}",
                     _count(b.get("least_stable")), _count(b.get("erlang_c_guess")),
                     _count(v.get("base"))])
    return table(["Staff", "Offered load (staff kept busy)", "Fewest that keep up",
                  "Erlang C guess", "Scenario"], rows, "bounds")


def _search(steps: list[dict[str, Any]], variables: list[dict[str, Any]]) -> dict | None:
    """The search step by step, its moves in words (``enforcement officers per street 12 →
    11``)."""
    if not steps:
        return None
    words = sorted(((str(v["path"]), staff_words(v).lower()) for v in variables),
                   key=lambda pw: -len(pw[0]))  # a longer path before its prefix

    def move(text: str) -> str:
        for path, said in words:
            text = text.replace(path, said)
        return text.replace("->", "\u2192")

    rows = [[str(s.get("step", DASH)), PHASES.get(str(s.get("phase")), str(s.get("phase"))),
             f"#{s['candidate']}" if s.get("candidate") is not None else DASH,
             move(str(s.get("move") or DASH)), str(s.get("decision") or DASH)] for s in steps]
    return table(["Step", "Phase", "Allocation", "Move", "Decision"], rows, "search",
                 num_from=99)
