"""How problems are found, as a planner writes it: the discovery race (see
:mod:`gridsim.model.discovery` for the semantics).

A category with ``discovery.arises`` has *problems* that arise in the grids at a rate, whether or
not anyone sees them; from then on the grid worker's patrol, residents calling 12345, cameras
(on the grids that have them) and units or higher levels race to report each one. Its
``rates.patrol`` and ``rates.hotline`` streams are then replaced by the race (``rates.units`` and
``rates.above`` may stay: cases that only those channels bring). ::

    categories:
      garbage_overflow:
        discovery:
          arises: {value: 6, per: grid, every: 30d}
          patrol: 0.8                            # detection probability per patrol visit
          residents: {value: 1, every: 2d}       # calls a day about one visible problem
          camera: {value: 1, every: 12h}         # detections, on grids with a camera
    discovery:
      cameras: {share: 0.25, streets: {0: {share: 1.0}}}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..units import Duration, PositiveClockDuration
from .base import Rate, Strict

Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
MAX_STREET = 10_000
"""The largest street index (``streets.count`` is at most 10,000)."""


class ArisingRate(Rate):
    """How often a problem arises: ``value`` problems per ``per`` unit every ``every``."""


class Hazard(Strict):
    """A competitor's hazard of reporting one visible problem: ``value`` reports every
    ``every`` (per problem, or per household of its grid)."""

    value: float = Field(ge=0, le=1e6, allow_inf_nan=False)
    every: PositiveClockDuration = Duration(1, "d")
    per: Literal["problem", "household"] = Field(
        "problem", description="problem: the whole grid's hazard; household: times the "
                               "households of the problem's grid")

    @property
    def per_hour(self) -> float:
        return self.value / self.every.hours


class CategoryDiscovery(Strict):
    """The discovery race of one category (``categories.<name>.discovery``)."""

    arises: ArisingRate = Field(description="rate at which problems arise, seen or not")
    patrol: Prob | None = Field(
        None, description="probability that one patrol visit detects the problem (0: patrol "
                          "never sees it, e.g. noise at night); default patrol.detect_prob")
    residents: Hazard | None = Field(
        None, description="residents' hazard of calling 12345 while the problem is visible, "
                          "times the hotline's hour-of-week profile; none: nobody calls")
    camera: Hazard | None = Field(
        None, description="a camera's hazard of flagging it, on grids with a camera")
    units: Hazard | None = Field(None, description="units in the area reporting it")
    above: Hazard | None = Field(None, description="higher levels passing it down")


class CameraStreet(Strict):
    """One street's camera coverage."""

    share: Prob = Field(description="share of the street's grids with a camera")


class Cameras(Strict):
    """Which grids have cameras: a share of every street's grids, or per street."""

    share: Prob = Field(0.0, description="share of each street's grids with a camera")
    streets: dict[Annotated[int, Field(ge=0, le=MAX_STREET)], CameraStreet] = Field(
        default_factory=dict, description="per-street share, keyed by the street's index")

    def share_of(self, street_index: int) -> float:
        """The share of grids with a camera in street ``street_index``."""
        own = self.streets.get(street_index)
        return own.share if own is not None else self.share


class Discovery(Strict):
    """Scenario-wide settings of the discovery race (``discovery``)."""

    cameras: Cameras = Cameras()


def check(s: Any) -> list[tuple[str, str]]:
    """Problems of the discovery settings that span fields (``[(yaml_path, message)]``)."""
    problems = []
    for name, cat in s.categories.items():
        if cat.discovery is None:
            if not cat.rates:
                problems.append((f"categories.{name}.rates",
                                 "a category needs arrival rates (rates.patrol, rates.hotline, "
                                 "...) or a discovery race (discovery.arises)"))
            continue
        for source in ("patrol", "hotline"):
            if source in cat.rates:
                problems.append((f"categories.{name}.rates.{source}",
                                 f"discovery.arises replaces rates.{source} (the race decides "
                                 f"who reports each problem): remove rates.{source}, or "
                                 "discovery to keep the separate streams"))
    return problems
