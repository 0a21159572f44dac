"""The plan of a run: what the model builds from, compiled once from a validated scenario
(:func:`compile_plan`): the expanded organisation, the working calendars, the policy with its
tabulated routing, the deadlines on their shifts, the initial backlog."""

from .compile import Plan, as_plan, compile_plan

__all__ = ["Plan", "as_plan", "compile_plan"]
