"""The model's clock: SimPy's environment, with callbacks scheduled at the cost of a heap entry.

gridsim moves cases with callbacks, never with a process per case. SimPy's own way to call
``fn`` after ``delay`` is ``Timeout(env, delay, value).callbacks.append(fn)``: an event object,
its callback list, and two Python-level calls (``Timeout.__init__``, ``env.schedule``) before
the entry reaches the heap; ``env.run`` then pays a method call and an exception guard per step.
At five events per case that was a fifth of a large run's time.

:class:`Clock` makes the entry ``(time, NORMAL, eid, (fn, arg))``, ordered by the same time,
priority and event counter as SimPy's events, and :meth:`Clock.run` steps through them: a
``(fn, arg)`` entry is the call ``fn(arg)``; anything else is a SimPy event, processed exactly
as ``Environment.step`` does. SimPy processes and events can therefore share the clock
(tests/test_clock.py runs one beside the calls), but the environment must be advanced with
:meth:`Clock.run`, not ``env.run``.

Calls due in a later hour wait in an hourly bucket (a plain list) and join SimPy's heap when
their hour comes. The heap then holds about an hour of events instead of every pending one
(deadlines and patrol finds days ahead), so each pop sifts through a few hundred entries, not
tens of thousands. Entries keep the keys they were given, and the heap only ever pops an entry
when every bucketed one is later (hours are exact in binary floating point), so the order of
calls is exactly that of a single heap.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heapify, heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL


class Clock:
    """Schedules ``fn(arg)`` calls on ``env``'s event heap (via hourly buckets) and runs it."""

    __slots__ = ("env", "_queue", "_eid", "_edge", "_buckets", "_hours")

    def __init__(self, env: simpy.Environment | None = None):
        self.env = env if env is not None else simpy.Environment()
        self._queue = self.env._queue
        self._eid = self.env._eid
        self._edge = 0.0  # calls due before this hour are in the heap; later ones in buckets
        self._buckets: dict[int, list] = {}  # hour -> its calls, in scheduling order
        self._hours: list[int] = []  # heap of the hours that have a bucket

    @property
    def now(self) -> float:
        return self.env._now

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` at clock time ``t`` (never earlier than now)."""
        entry = (t, NORMAL, next(self._eid), (fn, arg))
        if t < self._edge:
            heappush(self._queue, entry)
            return
        hour = int(t)
        bucket = self._buckets.get(hour)
        if bucket is None:
            self._buckets[hour] = [entry]
            heappush(self._hours, hour)
        else:
            bucket.append(entry)

    def after(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` in ``delay`` hours (``delay`` >= 0)."""
        self.at(self.env._now + delay, fn, arg)

    def pending(self) -> int:
        """Calls and events scheduled and not yet run."""
        return len(self._queue) + sum(len(b) for b in self._buckets.values())

    def clear(self) -> None:
        """Drop every pending entry (when a run is over). Pending calls hold bound methods of
        the model's objects, which hold the clock: without this, a finished run's cases and
        pools stay in memory until the cyclic garbage collector happens to run."""
        self._queue.clear()
        self._buckets.clear()
        self._hours.clear()

    def run(self, until: float) -> None:
        """Process every entry due before ``until``, then set the clock to ``until``.

        Entries due exactly at ``until`` wait for the next call, as with ``env.run(until)``.
        """
        env = self.env
        if until <= env._now:
            raise ValueError(f"until ({until}) must be later than the current time ({env._now})")
        queue, hours, buckets = self._queue, self._hours, self._buckets
        pop = heappop
        while True:
            # the heap's first entry is the next one if it precedes every bucketed call
            # (a bucket's calls are due at or after its hour)
            if queue and (not hours or queue[0][0] < hours[0]):
                if queue[0][0] >= until:
                    break
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
            elif hours and hours[0] < until:
                hour = pop(hours)  # the next hour's calls join the heap
                queue.extend(buckets.pop(hour))
                heapify(queue)
                self._edge = hour + 1.0
            else:
                break
        env._now = until
