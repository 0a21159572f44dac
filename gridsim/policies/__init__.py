"""Policy variants, one small class each, and the registry that names them.

To add a policy: write a module with a ``PolicyParams`` subclass and a ``Policy`` subclass that
overrides the decisions that differ, then add the class to ``REGISTRY`` below. Its parameters
appear in scenario files as ``policy.<name>: {...}`` and it is chosen with ``policy.name``.
"""

from .base import TIERS, CommonPolicy, Policy, PolicyParams
from .baseline import Baseline
from .four_tier import FourTier
from .whistle import Whistle

REGISTRY: dict[str, type[Policy]] = {cls.name: cls for cls in (Baseline, Whistle, FourTier)}

__all__ = ["REGISTRY", "TIERS", "CommonPolicy", "Policy", "PolicyParams"]
