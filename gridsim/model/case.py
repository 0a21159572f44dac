"""A case as the lifecycle moves it: a plain slotted object, and its category's parameters in
the shape the hot path wants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..plan import Plan
from ..policies import TIERS
from .org import Grid

SOURCES = ("patrol", "hotline", "above", "units", "camera")
PATROL, HOTLINE, ABOVE, UNITS, CAMERA = range(5)
NAN = float("nan")
LATENT, RETRY = "latent", "retry"
"""Markers for cases waiting outside any queue: not yet found, or waiting for another try."""
ON_HOLD, REDIAL = "on_hold", "redial"
"""Markers of a case whose caller waits in the 12345 queue, or will call again."""
LEDGER = "suspended"
"""Marker of a case on the suspended ledger (挂账: :mod:`gridsim.model.states`)."""


class Issue:
    """One case. Times are clock hours; tiers and codes are small ints (see ``records``)."""

    __slots__ = ("id", "cat", "source", "grid", "start_tier", "t_created", "t_discovered",
                 "t_uploaded", "enter", "leave", "t_called", "t_onsite", "n_depts", "t_solved",
                 "solved_tier", "escalations", "bounces", "reopens", "whistles", "two_way",
                 "deadline", "tier", "visit", "waiting", "held", "work", "u", "tried",
                 "pending", "holding", "arrive_max", "cur", "seq", "street", "district", "due",
                 "watched", "duplicates", "dup_u", "returns", "dispatched_to", "call",
                 "back_to_centre", "dept_call", "dept_visit", "appraised", "lapses",
                 "t_filed", "t_received", "t_on_site", "t_verified", "priority", "st",
                 "solved_in_fact", "t_contacted", "response", "callbacks", "satisfied",
                 "closed_at", "awaiting", "callback_reopens")

    def __init__(self, iid: int, cat: Any, source: int, grid: Grid, now: float):
        self.id, self.cat, self.source, self.grid = iid, cat, source, grid
        self.street = street = grid.street
        self.district = street.district
        self.t_created = now
        self.t_discovered = self.t_uploaded = self.t_called = self.t_onsite = self.t_solved = \
            self.deadline = NAN
        self.enter = [NAN, NAN, NAN, NAN, NAN, NAN]
        self.leave = [NAN, NAN, NAN, NAN, NAN, NAN]
        self.n_depts = self.escalations = self.bounces = self.reopens = self.whistles = \
            self.two_way = self.visit = self.held = self.tried = self.watched = \
            self.duplicates = self.returns = self.back_to_centre = 0
        self.solved_tier = self.tier = self.dispatched_to = -1
        self.waiting: Any = None
        self.dup_u: Any = None  # the discovery race's duplicate draw and hazards, if it races
        self.call = False  # through the 12345 front end: counted in its KPIs (after warm-up)
        self.due: float | None = None
        # the street's current call to departments (time, visit; -1: none) and the
        # appraisal flags (gridsim.model.departments)
        self.dept_call, self.dept_visit, self.appraised = NAN, -1, 0
        self.lapses: tuple[int, int] = (-1, 0)  # (visit, unanswered calls in it)
        # the stage boundaries (gridsim.model.stages): filed, received by the handling unit,
        # someone on site, verified
        self.t_filed = self.t_received = self.t_on_site = self.t_verified = NAN
        self.priority = cat.priority  # queue class (a supervision's boost lowers it)
        self.st: Any = None  # extensions, suspensions...: gridsim.model.states.CaseStates
        # the resident's side (gridsim.model.resident): closed with an explanation, response,
        # callback (satisfied: -1 never answered a callback; response: -1 not recorded)
        self.solved_in_fact, self.t_contacted, self.closed_at = 1, NAN, NAN
        self.response = self.satisfied = -1
        self.callbacks = self.callback_reopens = 0
        self.awaiting = False
        # pending, holding, arrive_max and cur are set when departments are called


class CategoryRuntime:
    """A category's parameters in the shape the hot path wants (tuples, per-district samplers)."""

    def __init__(self, index: int, name: str, spec: Any, plan: Plan):
        self.index, self.name, self.spec = index, name, spec
        self.lead = 1 if spec.lead == "department" else 0
        shares = spec.tiers.as_tuple()
        self.tier_cum = []
        total = 0.0
        for p in shares:
            total += p
            self.tier_cum.append(total)
        self.tier_cum[-1] = 1.0 + 1e-12
        self.on_spot = spec.on_spot
        self.solve = (1.0, spec.solve.community, spec.solve.street, spec.solve.district,
                      spec.solve.joint, spec.solve.city)
        self.reopen = spec.reopen
        self.priority = spec.priority  # queue class in pools and meetings (smaller first)
        self.departments = list(spec.departments)
        self.street_unit = spec.street_unit
        self.deadline = spec.deadline
        self.deadline_at = plan.deadlines[index]
        self.due_at: tuple[Callable[[float], float] | None, ...] = plan.tier_deadlines[index]
        self.dists = [getattr(spec.work, t) for t in TIERS]
        self.back = spec.back_to_centre.as_tuple()  # by tier: sent back to the street centre
        self.reopen_at_centre = spec.reopen_at == "centre"
        # a unit's variant (gridsim.model.variants) sets these; None: the category's own
        self.work_scale: tuple[float, ...] | None = None  # per tier, multiplies the work draws
        self.rate_scale: float | None = None
        self.rates: dict[str, Any] | None = None
        self.states: Any = None  # case states' settings (gridsim.model.states; None: none)
