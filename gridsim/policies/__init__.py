"""Policy variants, one small class each, and the registry that names them.

To add a policy: write a module with a ``PolicyParams`` subclass and a ``Policy`` subclass that
overrides the decisions that differ, then add the class to ``REGISTRY`` below. Its parameters
appear in scenario files as ``policy.<name>: {...}`` and it is chosen with ``policy.name``.
"""

from typing import Any

from .base import TIERS, CommonPolicy, Layered, Policy, PolicyParams, State
from .baseline import Baseline
from .first_receiver import FirstReceiver
from .four_tier import FourTier
from .joint_first import JointFirst
from .mix import Mix
from .two_way import TwoWay, TwoWayParams
from .whistle import Whistle

REGISTRY: dict[str, type[Policy]] = {
    cls.name: cls for cls in (Baseline, Whistle, FourTier, JointFirst, TwoWay, FirstReceiver, Mix)}


def make_policy(spec: Any) -> Policy:
    """The policy a scenario's ``policy`` section names, with its parameters (the deprecated
    ``two_way_dispatch`` share puts :class:`TwoWay` on top of it)."""

    def named(name: str) -> Policy:
        return REGISTRY[name].create(spec, named)

    policy = named(spec.name)
    if spec.two_way_dispatch:
        policy = TwoWay(TwoWayParams(share=spec.two_way_dispatch), spec, policy)
    return policy


__all__ = ["REGISTRY", "TIERS", "CommonPolicy", "Layered", "Policy", "PolicyParams", "State",
           "make_policy"]
