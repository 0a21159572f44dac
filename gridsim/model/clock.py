"""The model's clock: SimPy's environment, with callbacks scheduled at the cost of a heap entry.

gridsim moves cases with callbacks, never with a process per case. SimPy's own way to call
``fn`` after ``delay`` is ``Timeout(env, delay, value).callbacks.append(fn)``: an event object,
its callback list, and two Python-level calls (``Timeout.__init__``, ``env.schedule``) before
the entry reaches the heap; ``env.run`` then pays a method call and an exception guard per step.
At five events per case that was a fifth of a large run's time.

:class:`Clock` pushes ``(time, NORMAL, eid, (fn, arg))`` onto the same heap, ordered by the same
time, priority and event counter as SimPy's events, and :meth:`Clock.run` steps through both
kinds: a ``(fn, arg)`` entry is the call ``fn(arg)``; anything else is a SimPy event, processed
exactly as ``Environment.step`` does. SimPy processes and events can therefore still share the
clock (tests/test_clock.py runs one beside the model), but the environment must be advanced
with :meth:`Clock.run`, not ``env.run``, which would not know the calls.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL


class Clock:
    """Schedules ``fn(arg)`` calls on ``env``'s event heap and runs the heap."""

    __slots__ = ("env", "_queue", "_eid")

    def __init__(self, env: simpy.Environment | None = None):
        self.env = env if env is not None else simpy.Environment()
        self._queue = self.env._queue
        self._eid = self.env._eid

    @property
    def now(self) -> float:
        return self.env._now

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` at clock time ``t`` (never earlier than now)."""
        heappush(self._queue, (t, NORMAL, next(self._eid), (fn, arg)))

    def after(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` in ``delay`` hours (``delay`` >= 0)."""
        heappush(self._queue, (self.env._now + delay, NORMAL, next(self._eid), (fn, arg)))

    def run(self, until: float) -> None:
        """Process every entry due before ``until``, then set the clock to ``until``.

        Entries due exactly at ``until`` wait for the next call, as with ``env.run(until)``.
        """
        env = self.env
        if until <= env._now:
            raise ValueError(f"until ({until}) must be later than the current time ({env._now})")
        queue = self._queue
        pop = heappop
        while queue and queue[0][0] < until:
            now, _, _, entry = pop(queue)
            env._now = now
            if entry.__class__ is tuple:
                entry[0](entry[1])
                continue
            # a SimPy event: what Environment.step does with it
            callbacks, entry.callbacks = entry.callbacks, None
            for callback in callbacks:
                callback(entry)
            if not entry._ok and not hasattr(entry, "_defused"):
                exc = type(entry._value)(*entry._value.args)
                exc.__cause__ = entry._value
                raise exc
        env._now = until
