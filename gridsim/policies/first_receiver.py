"""First-receiver responsibility (首接负责): the unit that receives a 12345 work order owns it.

On top of another policy (``within``): a street, district department or city department the
hotline dispatches a work order to may not return it (退单) to the dispatcher; it handles the
case or passes it on itself. Every other decision is the other policy's.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Layered, PolicyParams


class FirstReceiverParams(PolicyParams):
    within: Literal["baseline", "whistle", "four_tier", "joint_first", "two_way"] = Field(
        "four_tier", description="the policy that makes every other decision")


class FirstReceiver(Layered):
    name = "first_receiver"
    Params = FirstReceiverParams

    def return_rate(self, receiver: str, rate: float) -> float:
        return 0.0
