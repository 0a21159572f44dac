"""The resident's side of a case, as scenario models (``resident:``): closure with an
explanation, the handler's first contact (响应), and the 12345 callback (回访) that asks the
resident whether they are satisfied (满意) and may reopen the case.

Beijing appraises every handling unit of its 12345 hotline on three rates (三率): response
(响应率), resolution (解决率) and satisfaction (满意率), read from the hotline's callbacks to the
residents who called. Three things make those rates differ from "closed on time":

- **Closed with an explanation** (解释办结): after a failed attempt at a tier the handler may
  close the case by explaining why it cannot be done (no legal power, a private dispute, a
  legacy problem) instead of escalating or retrying it: it is *closed*, not *solved in fact*.
  ``explanation`` gives the probability per tier (``explanation_by_category`` per category);
  the top tier's value is what a policy that would keep retrying there gives up.
- **Response**: the unit that keeps a 12345 work order contacts the caller
  ``contact_time`` working hours (on the shift of the unit leading the case) after receiving
  it, or when it closes the case if that is sooner; in time when within ``limit`` of receipt.
- **Callback**: ``delay`` after a 12345 work order closes, the hotline calls the resident
  back; reached with ``reach``; satisfied with a logistic probability (below); a dissatisfied
  resident's case is reopened with ``reopen`` (at most ``max_reopens`` times): it re-enters
  handling at the tier that closed it and closes again later (the case is recorded once, when
  its last callback is over or the run ends).

Satisfaction (:class:`Satisfaction`)::

    logit P(satisfied) = logit(base) + unsolved·[closed with an explanation]
                         + late·[closed after the deadline] + lateness·max(0, r − 1)
                         + no_response·[not contacted in time] + per_reopen·reopens
    r = (closure − receipt) / (deadline − receipt)     (the share of the allowed time used)

See :mod:`gridsim.model.resident` for the engine. Without ``resident`` (the default) nothing
of this exists and runs are as before.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any

from pydantic import Field

from ..distributions import Distribution
from ..units import Duration, DurationField
from .base import ByTier, Prob, Strict, _dist

Shift = Annotated[float, Field(ge=-20, le=20, allow_inf_nan=False)]
"""A shift of the log-odds of satisfaction (negative: fewer satisfied)."""


class Explanation(ByTier):
    """Probability that a failed attempt at a tier ends with the case closed with an
    explanation (not solved in fact) instead of the policy's next step (0: never)."""


class Response(Strict):
    """The handler's first contact with the caller of a 12345 work order (响应)."""

    limit: DurationField = Field(Duration(24, "h"), description="from receipt of the order to "
                                 "the first contact, to count as a response in time")
    contact_time: Distribution = Field(
        default_factory=lambda: _dist("ln", 4, "h", 4),
        description="working hours (the shift of the unit leading the case) from receipt of "
                    "the order to the handler's first call to the resident")


class Satisfaction(Strict):
    """The logistic model of a reached resident's answer (see the module docstring)."""

    base: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = Field(
        0.95, description="satisfied when solved in fact, on time, contacted in time, never "
                          "reopened")
    unsolved: Shift = Field(-3.0, description="closed with an explanation")
    late: Shift = Field(-1.0, description="closed after its deadline")
    lateness: Shift = Field(-1.0, description="per deadline's length of lateness")
    no_response: Shift = Field(-0.5, description="not contacted within response.limit")
    per_reopen: Shift = Field(-0.5, description="per earlier reopen (verification or callback)")


class Callback(Strict):
    """The hotline's callback (回访) to the resident after a 12345 work order closes."""

    delay: Distribution = Field(default_factory=lambda: _dist("ln", 1, "d", 0.5),
                                description="from closure to the callback")
    reach: Prob = Field(0.9, description="the resident answers the callback")
    satisfaction: Satisfaction = Satisfaction()
    reopen: Prob = Field(0.0, description="a dissatisfied resident's case is reopened")
    max_reopens: Annotated[int, Field(ge=0, le=100)] = Field(
        1, description="reopens by callback per case, at most")


class Resident(Strict):
    """The resident's side (``resident:``; absent: off)."""

    explanation: Explanation = Explanation()
    explanation_by_category: dict[str, Explanation] = Field(default_factory=dict)
    response: Response | None = Field(Response(), description="null: not recorded")
    callback: Callback | None = Field(Callback(), description="null: no callbacks")


def resident_checks(s: Any) -> list[tuple[str, str]]:
    """Cross-references: ``[(yaml_path, message)]``."""
    res = s.resident
    if res is None:
        return []
    cats = list(s.categories)
    out = []
    for c in res.explanation_by_category:
        if c not in cats:
            match = difflib.get_close_matches(c, cats, n=1, cutoff=0.5)
            hint = f" (did you mean '{match[0]}'?)" if match else ""
            out.append((f"resident.explanation_by_category.{c}", f"unknown category '{c}'{hint}"))
    return out
