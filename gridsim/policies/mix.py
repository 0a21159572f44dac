"""Two policies mixed mechanism by mechanism: which mechanism buys what.

Before the reform the street forwards a department matter through the hotline to one department
after another; under the whistle it calls them all to one visit, they arrive within the report
time, and fewer work orders are returned. Which of these changes buys the shorter resolution
time? ``mix`` runs the ``base`` policy but takes the decisions of the named mechanisms
(``take``) from the ``other`` one, so that each mechanism can be switched on alone or with
others (:func:`gridsim.decompose`).

A mechanism is a group of decision points of :class:`~gridsim.policies.base.Policy`
(:data:`MECHANISMS`): ``routing`` (where a triaged case or a 12345 work order goes first),
``joint_work`` (who works a case at a tier: in turn, jointly, the street's powers),
``forwarding`` (the district hotline forwarding a case to a department, misrouting and bouncing
it), ``escalation`` (where a failed or overdue case goes, tier deadlines, giving up on an
unanswered call), ``report_time``, ``retry_delay``, ``returns`` (退单), ``supervision`` (督办) and
``appraisal``. With ``take`` empty the run is the ``base`` policy's, bit for bit; with every
mechanism that differs taken, it is the ``other``'s (both have their own parameters from
``policy.<name>``, and every case gets both policies' own draws, each from its own stream).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import Field, model_validator

from ..distributions import Distribution
from ..units import Duration
from .base import Layered, Policy, PolicyParams, ResourceSinking, Supervise

MECHANISMS: dict[str, tuple[str, ...]] = {
    "routing": ("dispatch", "received"),
    "joint_work": ("who",),
    "forwarding": ("misroute_prob", "forward_delay", "bounce_delay"),
    "escalation": ("failed", "overdue", "tier_deadline", "deadline_shift", "unanswered"),
    "report_time": ("report_time",),
    "retry_delay": ("retry_delay",),
    "returns": ("return_rate",),
    "supervision": ("supervise", "supervision"),
    "appraisal": ("appraisal",),
}
"""Each mechanism and the decision points of :class:`~gridsim.policies.base.Policy` it is made
of (every decision point but ``resource_sinking``, which all policies share)."""

MechanismName = Literal["routing", "joint_work", "forwarding", "escalation", "report_time",
                        "retry_delay", "returns", "supervision", "appraisal"]
MIXABLE = Literal["baseline", "whistle", "four_tier", "joint_first", "two_way", "first_receiver"]
RECEIVERS = ("street", "district_department", "city_department")


class MixParams(PolicyParams):
    base: MIXABLE = Field("baseline", description="the policy that makes every decision not "
                                                  "taken from other")
    other: MIXABLE = Field("whistle", description="the policy whose decisions of the "
                                                  "mechanisms in take are used")
    take: tuple[MechanismName, ...] = Field(
        (), description="mechanisms whose decisions come from other: routing, joint_work, "
                        "forwarding, escalation, report_time, retry_delay, returns, "
                        "supervision, appraisal")

    @model_validator(mode="after")
    def _distinct(self):
        if self.base == self.other:
            raise ValueError(f"base and other are both {self.base!r}: nothing to mix")
        return self


class Mix(Policy):
    """``base``'s decisions, except those of the mechanisms in ``take``: ``other``'s."""

    name = "mix"
    Params = MixParams

    def __init__(self, params: MixParams, common: Any, base: Policy, other: Policy):
        self.base, self.other = base, other
        self._src = {hook: other if mech in params.take else base
                     for mech, hooks in MECHANISMS.items() for hook in hooks}
        for hook in ("dispatch", "received", "who", "failed", "overdue", "unanswered",
                     "supervise"):
            setattr(self, hook, getattr(self._src[hook], hook))  # bound: no extra call
        super().__init__(params, common)
        self.case_draws = (*base.case_draws,
                           *(d for d in other.case_draws if d not in base.case_draws))

    @classmethod
    def create(cls, spec: Any, named: Callable[[str], Policy]) -> Policy:
        params = spec.mix
        return cls(params, spec, named(params.base), named(params.other))

    def attach(self, columns: dict[str, int]) -> None:
        self.base.attach(columns)
        self.other.attach(columns)

    def tier_deadline(self, tier: str) -> Duration | None:
        return self._src["tier_deadline"].tier_deadline(tier)

    @property
    def deadline_shift(self) -> str | None:
        return self._src["deadline_shift"].deadline_shift

    @property
    def supervision(self) -> Supervise:
        return self._src["supervision"].supervision

    @property
    def retry_delay(self) -> Duration:
        return self._src["retry_delay"].retry_delay

    @property
    def misroute_prob(self) -> float:
        return self._src["misroute_prob"].misroute_prob

    @property
    def forward_delay(self) -> Distribution | None:
        return self._src["forward_delay"].forward_delay

    @property
    def bounce_delay(self) -> Distribution | None:
        return self._src["bounce_delay"].bounce_delay

    def report_time(self, department: str) -> Distribution | None:
        return self._src["report_time"].report_time(department)

    def return_rate(self, receiver: str, rate: float) -> float:
        return self._src["return_rate"].return_rate(receiver, rate)

    @property
    def resource_sinking(self) -> ResourceSinking:
        return self.base.resource_sinking

    @property
    def appraisal(self) -> Any:
        return self._src["appraisal"].appraisal


_TABLES = {"dispatch": "_first", "who": "_who", "failed": "_next", "overdue": "_next"}


def _signature(p: Policy, hook: str, departments: tuple[str, ...]) -> Any:
    """What ``p`` decides at ``hook``, comparable between two policies: a value, a table, or
    for a decision made per case by code of its own, that code and the parameters it reads."""
    if hook == "report_time":
        return tuple(p.report_time(d) for d in departments)
    if hook == "return_rate":
        return tuple(p.return_rate(k, r) for k in RECEIVERS for r in (0.5, 1.0))
    if hook == "tier_deadline":
        return tuple(p.tier_deadline(t) for t in ("community", "street", "district", "joint",
                                                  "city"))
    attr = getattr(p, hook)
    if not callable(attr):
        return attr
    func = getattr(attr, "__func__", attr)
    if isinstance(p, Layered) and func is getattr(Layered, hook):  # passed on: the inner's
        return _signature(p.inner, hook, departments)
    if func is getattr(Policy, hook):  # the default: a table lookup, or a constant
        table = _TABLES.get(hook)
        return (hook, getattr(p, table) if table else p.supervision.action)
    chain, q = [], p
    while q is not None:  # the code's own parameters, down a layered policy's chain
        chain.append((type(q).__name__, q.params.model_dump_json()))
        q = getattr(q, "inner", None)
    return (func.__qualname__, tuple(chain))


def differing(a: Policy, b: Policy, departments: Iterable[str]) -> list[str]:
    """The mechanisms (:data:`MECHANISMS`) whose decisions differ between policies ``a`` and
    ``b`` (``departments``: the scenario's, whose report times are compared)."""
    deps = tuple(departments)
    return [mech for mech, hooks in MECHANISMS.items()
            if any(_signature(a, h, deps) != _signature(b, h, deps) for h in hooks)]


__all__ = ["MECHANISMS", "Mix", "MixParams", "differing"]
