"""The 12345 front end and the city departments, as scenario models.

A resident's call reaches a call-taker pool (seats on shifts, a talk time, a queue the caller
leaves when their patience runs out; they may call again). An answered call is settled on the
call (all consultations, a share of problems by category) or becomes a work order that the
hotline's dispatcher sends, within ``dispatch_time`` (default: ``hotline.dispatch_delay``), to
the street centre, the case's district department or a city department (a utility: water,
power, gas, heating). A receiving unit that does not own the work order returns it (退单) after
``review_time`` and the dispatcher sends it again. Without ``hotline.front_end`` calls go to
the street centre after the dispatch delay, as before. See :mod:`gridsim.model.hotline` for
the exact semantics.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ..distributions import Distribution, Exponential, Lognormal
from ..units import Duration
from .base import Rate, Strict

Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
ReturnProb = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
Staff = Annotated[int, Field(ge=0, le=1_000_000)]


def _exp(mean: float, unit: str) -> Any:
    return Exponential(dist="exponential", mean=Duration(mean, unit))


def _ln(mean: float, sd: float, unit: str) -> Any:
    return Lognormal(dist="lognormal", mean=Duration(mean, unit), sd=Duration(sd, unit))


class Seats(Strict):
    """``staff`` call-takers working ``shift`` (a name in ``calendar.shifts``)."""

    staff: Staff = 1
    shift: str = "always"


class Redial(Strict):
    """A caller who hung up calls again with probability ``prob`` after ``delay``."""

    prob: Prob = 0.0
    delay: Distribution = Field(default_factory=lambda: _exp(30, "min"))


class CallRate(Rate):
    """Consultation calls (not problems): ``value`` per ``per`` unit every ``every``."""

    per: Literal["household", "grid", "community", "street"] = "household"


class Routing(Strict):
    """Shares of work orders sent to each kind of receiving unit (must sum to 1)."""

    street: Prob = 1.0
    district_department: Prob = 0.0
    city_department: Prob = 0.0

    @model_validator(mode="after")
    def _sums_to_one(self) -> Routing:
        total = self.street + self.district_department + self.city_department
        if abs(total - 1) > 1e-6:
            raise ValueError(f"routing shares must sum to 1, they sum to {total:g}")
        return self

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.street, self.district_department, self.city_department)


class ReturnRates(Strict):
    """Chance that a receiving unit of each kind returns a work order (退单), before the
    policy's :meth:`~gridsim.policies.base.Policy.return_rate` adjusts it."""

    street: ReturnProb = 0.0
    district_department: ReturnProb = 0.0
    city_department: ReturnProb = 0.0

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.street, self.district_department, self.city_department)


class FrontEnd(Strict):
    """The 12345 call centre and dispatcher of each district (one call-taker pool per
    district, so districts stay independent shards)."""

    seats: list[Seats] = Field(default_factory=lambda: [Seats()], min_length=1,
                               description="groups of call-takers, each on its own shift")
    talk_time: Distribution = Field(default_factory=lambda: _exp(6, "min"),
                                    description="time a call-taker spends on a call")
    patience: Distribution | None = Field(
        default_factory=lambda: _exp(3, "min"),
        description="how long a caller waits in the queue before hanging up (null: forever)")
    redial: Redial = Redial()
    consultations: CallRate | None = Field(
        None, description="calls asking for information, settled on the call (not problems)")
    settled_on_call: Prob = Field(0.0, description="share of problem calls settled on the call")
    settled_by_category: dict[str, Prob] = Field(default_factory=dict)
    dispatch_time: Distribution | None = Field(
        None, description="from the end of the call to dispatch (null: hotline.dispatch_delay)")
    routing: Routing = Routing()
    routing_by_category: dict[str, Routing] = Field(default_factory=dict)
    return_rate: ReturnRates = ReturnRates()
    review_time: Distribution = Field(default_factory=lambda: _ln(1, 0.5, "d"),
                                      description="a receiving unit's review before it returns "
                                                  "a work order it does not own")


class CityDepartment(Strict):
    """A city department (市直部门, a utility): a field crew on a shift that owns the work
    orders of its ``categories`` the hotline sends to it."""

    staff: Staff = 10
    shift: str = "always"
    categories: list[str] = Field(min_length=1, description="categories it owns")
    work: Distribution | None = Field(
        None, description="effort per work order (null: the category's district work time)")
    per_district: bool = Field(
        False, description="each district gets its own crew of staff (districts then share no "
                           "capacity and can be simulated as independent shards)")


def _closest(word: str, options: list[str]) -> str:
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""


def hotline_checks(s: Any) -> list[tuple[str, str]]:
    """Cross-references of the front end and the city departments: ``[(yaml_path, message)]``."""
    problems: list[tuple[str, str]] = []
    shifts, cats = list(s.calendar.shifts), list(s.categories)
    owner: dict[str, str] = {}
    for name, dept in s.city_departments.items():
        if dept.shift not in shifts:
            problems.append((f"city_departments.{name}.shift", f"unknown shift "
                             f"'{dept.shift}'{_closest(dept.shift, shifts)}"))
        for j, c in enumerate(dept.categories):
            path = f"city_departments.{name}.categories[{j}]"
            if c not in cats:
                problems.append((path, f"unknown category '{c}'{_closest(c, cats)}"))
            elif c in owner:
                problems.append((path, f"category '{c}' is already owned by city department "
                                       f"'{owner[c]}'"))
            else:
                owner[c] = name
    fe = s.hotline.front_end
    if fe is None:
        return problems
    for k, seats in enumerate(fe.seats):
        if seats.shift not in shifts:
            problems.append((f"hotline.front_end.seats[{k}].shift", f"unknown shift "
                             f"'{seats.shift}'{_closest(seats.shift, shifts)}"))
    for key in ("settled_by_category", "routing_by_category"):
        for c in getattr(fe, key):
            if c not in cats:
                problems.append((f"hotline.front_end.{key}.{c}",
                                 f"unknown category '{c}'{_closest(c, cats)}"))
    for c in cats:
        routing = fe.routing_by_category.get(c, fe.routing)
        if routing.city_department > 0 and c not in owner:
            path = (f"hotline.front_end.routing_by_category.{c}.city_department"
                    if c in fe.routing_by_category else "hotline.front_end.routing."
                    "city_department")
            problems.append((path, f"category '{c}' would be dispatched to a city department, "
                             f"but no entry of city_departments owns it: add it to one's "
                             f"categories or give it routing_by_category.{c} without "
                             f"city_department"))
    return problems
