"""Merging a partial model (an override, a district's template changes, a profile) onto the
model it changes: the one rule every layer of the organisation's templates follows."""

from __future__ import annotations

from pydantic import BaseModel


def merge(base: BaseModel, over: BaseModel | None) -> BaseModel:
    """``base`` with the fields explicitly set in ``over`` replaced (nested models merged)."""
    if over is None:
        return base
    update = {}
    for name in over.model_fields_set:
        value, current = getattr(over, name), getattr(base, name)
        if value is None and current is not None:  # an override's null: not given
            continue
        if isinstance(value, BaseModel) and type(value) is type(current):
            value = merge(current, value)  # a different kind (another distribution) replaces
        update[name] = value
    return base.model_copy(update=update)
