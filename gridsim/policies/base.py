"""The policy interface: the decisions that differ between ways of running the grid.

The lifecycle (``gridsim.model.lifecycle``) owns queues, staff, time and records. At a few named
points of a case's life it asks the policy what happens next, passing the case and a read-only
view of the state (as Ciw's router receives the individual in ``next_node(ind)``). A policy
overrides only the decisions where it differs:

- :meth:`Policy.dispatch` — the tier a triaged case goes to first;
- :meth:`Policy.who` — who does the work at a tier: the community's staff, the street's own team,
  the departments one after another or jointly, the street with a department's powers, or the
  tier's meeting (one of :data:`WORK`);
- :meth:`Policy.failed` — where a case goes when its tier could not solve it (``None``: it stays
  and is retried at the same tier after :attr:`Policy.retry_delay`, a legacy case);
- :meth:`Policy.overdue` — what a tier's deadline does to a case still waiting there
  (:meth:`Policy.tier_deadline` sets the limit);
- :meth:`Policy.unanswered` — whether the street gives up calling a department that does not
  answer (its ``report_rate``), and the tier has failed;
- :meth:`Policy.received` — the tier a 12345 work order sent to a district department starts at;
- :meth:`Policy.return_rate` — how often a unit that receives a 12345 work order returns it
  (退单) to the hotline's dispatcher;
- :meth:`Policy.supervise` — what supervising (督办) a case still open at its deadline does: a
  priority boost or an escalation (``policy.<name>.supervision``; only where a category sets
  ``supervision``);
- :meth:`Policy.report_time`, :attr:`Policy.misroute_prob`, :attr:`Policy.forward_delay`,
  :attr:`Policy.bounce_delay`, :attr:`Policy.resource_sinking` — the parameters of the mechanisms
  a decision chooses (how fast departments arrive, how forwarding goes wrong, how many staff move
  to the streets).

The case (``gridsim.model.case.Issue``) carries ``cat`` (its category: ``name``, ``lead`` 0
street / 1 department, ``departments``), ``source``, ``grid``, ``street``, ``district``,
``start_tier``, ``tier``, its history (``enter[t]`` first entry time per tier, NaN if never;
``escalations``; ``reopens``) and its own uniform draws (``u``, columns by name: see
:attr:`Policy.case_draws`). Tiers are the ints :data:`GRID` .. :data:`CITY`. Hooks must not
change the case; the lifecycle does.

The default hooks look up tables built once from the static rules :meth:`Policy.first_tier` and
:meth:`Policy.next_tier` (pure functions of tier names): routing that depends only on a case's
static attributes stays as fast as a list lookup, behind the same interface.

Policy parameters are a pydantic model (``Params``) validated with the scenario file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..distributions import Distribution
from ..units import ClockDuration, Duration, DurationField

TIERS: tuple[str, ...] = ("grid", "community", "street", "district", "joint", "city")
"""Where a case can be solved, lowest first: on the spot by the grid worker, the community,
the street (enforcement team or office), district departments, the district joint consultation
(联席会议), city coordination."""
GRID, COMMUNITY, STREET, DISTRICT, JOINT, CITY = range(len(TIERS))

WORK: tuple[str, ...] = ("community", "street", "in_turn", "jointly", "street_powers", "meeting",
                         "assisted")
"""Who does the work at a tier (:meth:`Policy.who`): the community's staff; the street's own
team (enforcement team or office, by category); the case's departments one after another, each
forwarded through the district hotline; the departments jointly, called at once to one visit
(a whistle); the street enforcement team acting with the department's powers (双向派单: the
department dispatches the field work down); the tier's meeting (joint consultation, city), which
decides the case and convenes its departments; the street's own team leading a joint visit with
the case's departments called to assist (a street-led case under the lead split:
:mod:`gridsim.policies.appraisal`)."""
COMMUNITY_STAFF, STREET_TEAM, IN_TURN, JOINTLY, STREET_POWERS, MEETING, ASSISTED = WORK


SUPERVISE_ACTIONS: tuple[str, ...] = ("boost", "escalate", "none")
"""What supervising (督办) an overdue case does (:meth:`Policy.supervise`): its priority rises
(it is served before less urgent cases in every queue from now on, and moves up in the queue it
waits in); it escalates (withdrawn from the queue it waits in, sent to the tier
:meth:`Policy.failed` names; a case in hand or at the top is boosted instead); or nothing but
the count."""
BOOST, ESCALATE, NO_ACTION = SUPERVISE_ACTIONS


class Supervise(BaseModel):
    """督办 under a policy: what supervising an overdue case does (``action``) and, for a boost,
    by how many queue classes its priority number drops (not below 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: Literal["boost", "escalate", "none"] = Field(
        "boost", description="boost: served before less urgent cases; escalate: sent to the "
                             "next tier of the policy's ladder; none: only counted")
    boost: int = Field(1, ge=1, le=1000, description="queue classes a boost moves the case up")


class PolicyParams(BaseModel):
    """Parameters of one policy (each policy subclasses this)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceSinking(BaseModel):
    """力量下沉: move a share of every district department's field staff to the streets."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    share: float = Field(0.0, ge=0, le=1, description="share of department staff moved down")
    to: str = Field("enforcement", pattern="^(enforcement|office)$",
                    description="street pool that receives them")


class CommonPolicy(BaseModel):
    """Settings every policy understands: switches a planner turns on without code."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    resource_sinking: ResourceSinking = ResourceSinking()
    two_way_dispatch: float = Field(
        0.0, ge=0, le=1,
        description="双向派单: share of department-led field work a department dispatches down to "
                    "the street enforcement team (which acts with the department's powers)")
    report_deadline: ClockDuration = Field(
        Duration(30, "min"), description="a called department should be on site within this")
    recall_delay: ClockDuration = Field(
        Duration(1, "d"), description="a call a department did not answer (report_rate below 1) "
                                      "is made again after this (an assumption)")

    @field_validator("two_way_dispatch")
    @classmethod
    def _deprecated(cls, share: float) -> float:
        if share:
            warnings.warn("policy.two_way_dispatch is deprecated: use policy.name: two_way with "
                          "policy.two_way: {share: ..., within: <policy>}", FutureWarning,
                          stacklevel=2)
        return share


DEFAULT_SUPERVISE = Supervise()


class State:
    """What a decision may read of the running model: the clock and queue lengths."""

    __slots__ = ("_env",)

    def __init__(self, env: Any):
        self._env = env

    @property
    def now(self) -> float:
        """The clock, in hours from the start."""
        return self._env._now

    @staticmethod
    def queued(pool: Any) -> int:
        """Cases waiting at ``pool`` (e.g. ``case.street.enforcement``; the pools of one kind in
        a street share their count: a street's communities, its grid workers)."""
        return pool.meter.queue


class Policy:
    """Base policy: cases go where triage sends them and climb the whole ladder on failure."""

    name: ClassVar[str] = "base"
    Params: ClassVar[type[PolicyParams]] = PolicyParams
    ladder: ClassVar[tuple[str, ...]] = ("community", "street", "district", "joint", "city")
    departments: ClassVar[str] = JOINTLY
    """How the district tier's departments work: :data:`JOINTLY` or :data:`IN_TURN`."""
    return_factor: ClassVar[float] = 0.5
    """How a reform scales the scenario's rates of 12345 work orders returned (退单): the street
    appraises the units and the platform arbitrates, so returns halve (an assumption; the
    baseline keeps them as set, 首接负责 ``first_receiver`` forbids them)."""
    case_draws: tuple[str, ...] = ()
    """Names of the uniform draws every case gets for this policy's own decisions (each from a
    stream of its own: adding one changes no other draw); :meth:`attach` gets their columns."""

    def __init__(self, params: PolicyParams, common: CommonPolicy):
        self.params = params
        self.common = common
        self._first = [[TIERS.index(self.first_tier(t, lead)) for t in TIERS]
                       for lead in ("street", "department")]
        self._next = [None if (n := self.next_tier(t)) is None else TIERS.index(n)
                      for t in TIERS]
        self._who = (None, COMMUNITY_STAFF, STREET_TEAM, self.departments, MEETING, MEETING)

    @classmethod
    def create(cls, spec: Any, named: Callable[[str], Policy]) -> Policy:
        """This policy with its parameters from the scenario's ``policy`` section ``spec``
        (``named(name)`` makes another registered policy, for one that builds on it)."""
        return cls(getattr(spec, cls.name), spec)

    def attach(self, columns: dict[str, int]) -> None:
        """Called once before the run with the column of each named draw in ``case.u``."""

    # ---------------------------------------------------------------- per-case decisions
    def dispatch(self, case: Any, state: State) -> int:
        """Tier a triaged case goes to first."""
        return self._first[case.cat.lead][case.start_tier]

    def who(self, case: Any, tier: int, state: State) -> str:
        """Who does the work on ``case`` at ``tier`` (one of :data:`WORK`)."""
        return self._who[tier]

    def received(self, case: Any, state: State) -> int:
        """Tier at which a 12345 work order sent to the case's district department starts."""
        return DISTRICT

    def failed(self, case: Any, tier: int, state: State) -> int | None:
        """Tier a case goes to when ``tier`` could not solve it, or None to retry it there."""
        return self._next[tier]

    def overdue(self, case: Any, tier: int, state: State) -> int | None:
        """Tier a case still waiting at ``tier``'s deadline goes to (None: it waits
        :attr:`retry_delay`, then is tried there again)."""
        return self.failed(case, tier, state)

    def unanswered(self, case: Any, tier: int, calls: int, state: State) -> bool:
        """A department did not answer a call to ``case`` at ``tier``, the ``calls``-th
        unanswered since the case came to the tier: give up (True: the tier failed,
        :meth:`failed` says where the case goes) or call again after ``policy.recall_delay``
        (False)."""
        return False

    def supervise(self, case: Any, tier: int, state: State) -> str:
        """督办: what supervising ``case``, still open at its deadline at ``tier`` (-1: at the
        street centre), does (one of :data:`SUPERVISE_ACTIONS`; default: the
        ``supervision.action`` of the policy's parameters, else a boost)."""
        return self.supervision.action

    @property
    def supervision(self) -> Supervise:
        """The policy's supervision settings (``policy.<name>.supervision``)."""
        return getattr(self.params, "supervision", None) or DEFAULT_SUPERVISE

    # ---------------------------------------------------------------- static rules and parameters
    def first_tier(self, start_tier: str, lead: str) -> str:
        """Tier a case is dispatched to after triage, given the tier drawn for it (tabulated)."""
        return start_tier if start_tier in self.ladder else self.ladder[-1]

    def next_tier(self, tier: str) -> str | None:
        """Tier above ``tier`` on this policy's ladder, or ``None`` to retry at the same tier
        (tabulated)."""
        i = self.ladder.index(tier) if tier in self.ladder else len(self.ladder)
        return self.ladder[i + 1] if i + 1 < len(self.ladder) else None

    def tier_deadline(self, tier: str) -> Duration | None:
        """Time limit after which a case still waiting at ``tier`` is overdue (None: never)."""
        return None

    @property
    def deadline_shift(self) -> str | None:
        """Shift on which working-hour tier deadlines count (None: each tier's role's)."""
        return None

    @property
    def retry_delay(self) -> Duration:
        """How long an unsolved case at the top of the ladder waits before another attempt."""
        return getattr(self.params, "retry_delay", Duration(30, "d"))

    @property
    def misroute_prob(self) -> float:
        """Chance that a case forwarded to a department reaches the wrong one."""
        return 0.0

    @property
    def forward_delay(self) -> Distribution | None:
        """Delay of forwarding a case to a department (None: the street calls directly)."""
        return None

    @property
    def bounce_delay(self) -> Distribution | None:
        """Delay of a wrong department sending a case back."""
        return None

    def report_time(self, department: str) -> Distribution | None:
        """Override of a department's time to arrive on site, or None for the scenario's own."""
        return None

    def return_rate(self, receiver: str, rate: float) -> float:
        """Chance that a ``receiver`` (``street``, ``district_department``,
        ``city_department``) given a 12345 work order returns it (退单), when the scenario sets
        ``rate`` (``hotline.front_end.return_rate``): ``rate`` times :attr:`return_factor`."""
        return rate * self.return_factor

    @property
    def resource_sinking(self) -> ResourceSinking:
        """力量下沉: the share of department staff moved to the streets, applied when pools are
        sized (the scenario's ``policy.resource_sinking``)."""
        return self.common.resource_sinking

    @property
    def appraisal(self) -> Any:
        """The street's appraisal of the departments (an
        :class:`~gridsim.policies.appraisal.Appraisal`), or None: no feedback into behaviour."""
        return None


class Layered(Policy):
    """A policy that changes some decisions of another one (``inner``) and passes every other
    decision on to it."""

    def __init__(self, params: PolicyParams, common: CommonPolicy, inner: Policy):
        self.inner = inner
        super().__init__(params, common)
        self.case_draws = (*type(self).case_draws, *inner.case_draws)

    @classmethod
    def create(cls, spec: Any, named: Callable[[str], Policy]) -> Policy:
        """This policy on top of the one its parameters name in ``within``."""
        params = getattr(spec, cls.name)
        return cls(params, spec, named(params.within))

    def attach(self, columns: dict[str, int]) -> None:
        self.inner.attach(columns)

    def dispatch(self, case: Any, state: State) -> int:
        return self.inner.dispatch(case, state)

    def who(self, case: Any, tier: int, state: State) -> str:
        return self.inner.who(case, tier, state)

    def received(self, case: Any, state: State) -> int:
        return self.inner.received(case, state)

    def failed(self, case: Any, tier: int, state: State) -> int | None:
        return self.inner.failed(case, tier, state)

    def overdue(self, case: Any, tier: int, state: State) -> int | None:
        return self.inner.overdue(case, tier, state)

    def unanswered(self, case: Any, tier: int, calls: int, state: State) -> bool:
        return self.inner.unanswered(case, tier, calls, state)

    def supervise(self, case: Any, tier: int, state: State) -> str:
        return self.inner.supervise(case, tier, state)

    @property
    def supervision(self) -> Supervise:
        return self.inner.supervision

    def tier_deadline(self, tier: str) -> Duration | None:
        return self.inner.tier_deadline(tier)

    @property
    def deadline_shift(self) -> str | None:
        return self.inner.deadline_shift

    @property
    def retry_delay(self) -> Duration:
        return self.inner.retry_delay

    @property
    def misroute_prob(self) -> float:
        return self.inner.misroute_prob

    @property
    def forward_delay(self) -> Distribution | None:
        return self.inner.forward_delay

    @property
    def bounce_delay(self) -> Distribution | None:
        return self.inner.bounce_delay

    def report_time(self, department: str) -> Distribution | None:
        return self.inner.report_time(department)

    def return_rate(self, receiver: str, rate: float) -> float:
        return self.inner.return_rate(receiver, rate)

    @property
    def resource_sinking(self) -> ResourceSinking:
        return self.inner.resource_sinking

    @property
    def appraisal(self) -> Any:
        return self.inner.appraisal


__all__ = ["ASSISTED", "CITY", "COMMUNITY", "COMMUNITY_STAFF", "DISTRICT", "GRID", "IN_TURN",
           "JOINT", "JOINTLY", "MEETING", "STREET", "STREET_POWERS", "STREET_TEAM", "TIERS", "WORK",
           "CommonPolicy", "DurationField", "Layered", "Policy", "PolicyParams",
           "ResourceSinking", "State", "Supervise"]
