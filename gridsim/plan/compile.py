"""The plan of a run, compiled once from a validated scenario: everything the model builds from
that does not change while the clock runs.

- the expanded organisation (:func:`gridsim.scenario.expand.expand`: templates merged, counts
  repeated), in district order;
- the working calendars (:class:`~.calendar.Calendars`: each shift's on-shift hours, working-day
  arithmetic);
- the policy in force (:func:`gridsim.policies.make_policy`: its routing tabulated once);
- each category's deadline and each tier's deadline, as ``t -> due time`` functions on the
  shift each one counts on, and the retry delay;
- the initial backlog's cases, read once when the model first needs them.

A run (:func:`gridsim.model.simulation.run_model`), the organisation it builds
(:func:`gridsim.model.org.build`), the lifecycle and the manifest all read this one object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..policies import Policy, make_policy
from ..scenario.backlog import BacklogCase, read_backlog
from ..scenario.expand import DistrictPlan, deadline_shift, expand
from ..scenario.schema import Scenario
from ..vocabulary import TIERS
from .calendar import Calendars

Due = Callable[[float], float]
"""``t -> `` the clock time a deadline started at ``t`` falls due."""


@dataclass(frozen=True, eq=False)
class Plan:
    """What a run of ``scenario`` needs, compiled once (:func:`compile_plan`)."""

    scenario: Scenario
    districts: tuple[DistrictPlan, ...]
    """Every district, templates merged and counts expanded (copies named ``name-k``)."""
    calendars: Calendars
    policy: Policy
    deadlines: tuple[Due, ...]
    """Per category (in scenario order): its deadline, from upload to closure."""
    tier_deadlines: tuple[tuple[Due | None, ...], ...]
    """Per category, per tier (:data:`~gridsim.vocabulary.TIERS`): the policy's limit on
    waiting there, on the shift of who works there (None: no limit)."""
    retry_at: Due
    """When a case left unsolved at the top of the ladder is tried again."""
    @cached_property
    def backlog(self) -> tuple[BacklogCase, ...]:
        """The open cases a run starts with (``initial_backlog``), read when first needed."""
        s = self.scenario
        return tuple(read_backlog(s.initial_backlog, s)) if s.initial_backlog else ()

    @property
    def district_names(self) -> list[str]:
        """Every district's name, in order."""
        return [d.name for d in self.districts]


def compile_plan(scenario: Scenario) -> Plan:
    """The plan of ``scenario`` (validated: see :func:`gridsim.load_scenario`)."""
    calendars = Calendars(scenario.calendar, scenario.horizon.hours)
    policy = make_policy(scenario.policy)
    names = list(scenario.categories)
    deadlines = tuple(calendars.later(c.deadline, deadline_shift(scenario, name))
                      for name, c in scenario.categories.items())
    # each tier's deadline counts on the shift of who works there
    tier_deadlines = tuple(
        tuple(None if (d := policy.tier_deadline(t)) is None else calendars.later(
            d, deadline_shift(scenario, name, t, policy.deadline_shift)) for t in TIERS)
        for name in names)
    return Plan(scenario, tuple(expand(scenario)), calendars, policy, deadlines, tier_deadlines,
                calendars.later(policy.retry_delay))


def as_plan(source: Scenario | Plan) -> Plan:
    """``source`` itself if it is a plan, else the plan compiled from it (for the functions
    that take either)."""
    return source if isinstance(source, Plan) else compile_plan(source)
