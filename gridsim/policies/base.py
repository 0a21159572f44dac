"""The policy interface: the few decisions that differ between ways of running the grid.

The lifecycle (``gridsim.model.lifecycle``) owns queues, staff and records. At a handful of named
points it asks the policy what to do next, the way ``simpy.Resource`` asks ``_do_put`` whether to
admit a request. A policy variant overrides only the decisions where it differs:

- :meth:`Policy.first_tier` — where a triaged case goes first;
- :meth:`Policy.next_tier` — where a case goes when its tier could not solve it (``None``: it stays
  and is retried at the same tier after :attr:`Policy.retry_delay`, a legacy case);
- :meth:`Policy.tier_deadline` — whether a tier's time limit escalates a waiting case;
- :attr:`Policy.joint_departments` — several departments act jointly in one visit, or one after
  another;
- :attr:`Policy.misroute_prob` / :attr:`Policy.forward_delay` — a case forwarded to a department
  through the district hotline may reach the wrong one and bounce back;
- :meth:`Policy.report_time` — how fast a called department arrives on site ("reports").

Policy parameters are a pydantic model (``Params``) validated with the scenario file.
Routing decisions (``first_tier``, ``next_tier``) must be pure functions of their arguments: the
lifecycle tabulates them once per run rather than calling them for every case.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ..scenario.distributions import Distribution
from ..scenario.units import ClockDuration, Duration, DurationField

TIERS: tuple[str, ...] = ("grid", "community", "street", "district", "joint", "city")
"""Where a case can be solved, lowest first: on the spot by the grid worker, the community,
the street (enforcement team or office), district departments, the district joint consultation
(联席会议), city coordination."""


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


class Policy:
    """Base policy: cases go where triage sends them and climb the whole ladder on failure."""

    name: ClassVar[str] = "base"
    Params: ClassVar[type[PolicyParams]] = PolicyParams
    ladder: ClassVar[tuple[str, ...]] = ("community", "street", "district", "joint", "city")
    joint_departments: ClassVar[bool] = True

    def __init__(self, params: PolicyParams, common: CommonPolicy):
        self.params = params
        self.common = common

    def first_tier(self, start_tier: str, lead: str) -> str:
        """Tier a case is dispatched to after triage, given the tier drawn for it."""
        return start_tier if start_tier in self.ladder else self.ladder[-1]

    def next_tier(self, tier: str) -> str | None:
        """Tier above ``tier`` on this policy's ladder, or ``None`` to retry at the same tier."""
        i = self.ladder.index(tier) if tier in self.ladder else len(self.ladder)
        return self.ladder[i + 1] if i + 1 < len(self.ladder) else None

    def tier_deadline(self, tier: str) -> Duration | None:
        """Time limit after which a case still waiting at ``tier`` escalates (None: never)."""
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
        return 0.0

    @property
    def forward_delay(self) -> Distribution | None:
        """Delay of forwarding a case to a department (None: the street calls directly)."""
        return None

    @property
    def bounce_delay(self) -> Distribution | None:
        return None

    def report_time(self, department: str) -> Distribution | None:
        """Override of a department's time to arrive on site, or None for the scenario's own."""
        return None


__all__ = ["TIERS", "CommonPolicy", "DurationField", "Policy", "PolicyParams", "ResourceSinking"]
