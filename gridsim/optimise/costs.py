"""What an allocation costs: per head and pool kind, and per head a unit gains.

    per_head:  {enforcement: 1.0, department: 1.2, community: 0.8}   # running cost of a head
    per_added: {department: 0.5}       # one-off: each head a unit gains over the scenario's own
    default: 1.0                       # a kind not listed (per_head); per_added defaults to 0
    unit: "10k yuan/year"

Without a table every head costs 1, so "cheapest" is the fewest heads. Moving a person from a
department to a street is a head fewer in one pool and one more in another: it costs the
difference of their ``per_head`` plus the street's ``per_added``. The cost counts the pools the
decision variables size (the rest of the organisation is the same in every candidate).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..arguments import SettingError
from ..scenario.errors import closest
from ..vocabulary import POOL_KINDS
from .variables import Staff


class Costs(BaseModel):
    """The price of heads by pool kind (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_head: dict[str, float] = Field(default_factory=dict)
    per_added: dict[str, float] = Field(default_factory=dict)
    default: float = Field(1.0, ge=0)
    unit: str = "heads"

    def model_post_init(self, _: Any) -> None:
        for table in ("per_head", "per_added"):
            for kind, price in getattr(self, table).items():
                if kind not in POOL_KINDS:
                    hint = closest(kind, list(POOL_KINDS))
                    raise SettingError(f"costs: {table}.{kind}: no such pool kind" + (
                        f" (did you mean '{hint}'?)" if hint else
                        f"; kinds: {', '.join(POOL_KINDS)}"))
                if not price >= 0:
                    raise SettingError(f"costs: {table}.{kind} must be 0 or more, got {price}")

    @property
    def heads_only(self) -> bool:
        return not self.per_head and not self.per_added and self.default == 1.0

    def of(self, staff: Staff, base: Staff, pools: set[str]) -> float:
        """The cost of ``staff`` in the ``pools`` the variables size, against ``base``."""
        total = 0.0
        for name in pools:
            kind, heads = staff.pools.get(name, ("", 0))
            kind = kind or base.pools.get(name, ("", 0))[0]
            total += self.per_head.get(kind, self.default) * heads
            gained = heads - base.pools.get(name, (kind, 0))[1]
            if gained > 0:
                total += self.per_added.get(kind, 0.0) * gained
        return total


def read_costs(source: str | Path | dict[str, Any] | Costs | None,
               prices: dict[str, float] | None = None) -> Costs:
    """A cost table from a YAML file, a mapping or nothing (every head 1), with ``prices``
    (``--cost KIND=PRICE``) overriding its ``per_head``; a bad table is a
    :class:`~gridsim.arguments.SettingError` naming the file."""
    where = "costs"
    if isinstance(source, Costs):
        data: dict[str, Any] = source.model_dump()
    elif isinstance(source, str | Path):
        where = str(source)
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise SettingError(f"--costs {source}: cannot be read ({e.strerror})") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            line = f", line {mark.line + 1}" if mark is not None else ""
            raise SettingError(f"--costs {source}{line}: not YAML "
                               f"({getattr(e, 'problem', e)})") from None
        if not isinstance(data, dict):
            raise SettingError(f"--costs {source}: must be a mapping (per_head:, per_added:, "
                               "default:, unit:)")
    else:
        data = dict(source or {})
    if prices:
        data = {**data, "per_head": {**(data.get("per_head") or {}), **prices}}
        if data.get("unit", "heads") == "heads" and set(prices.values()) != {1.0}:
            data["unit"] = "cost"
    try:
        return Costs(**data)
    except ValidationError as e:
        err = e.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        hint = ""
        if err["type"] == "extra_forbidden":
            near = closest(str(err["loc"][0]), list(Costs.model_fields))
            hint = f" (did you mean '{near}'?)" if near else ""
        raise SettingError(f"{where}: {path}: {err['msg']}{hint}") from None
