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

Calls due in a later slot (a quarter of an hour) wait in that slot's bucket, a plain list.
When the clock reaches a slot, its bucket is sorted once (CPython sorts tuples led by floats
with a specialised comparison, far cheaper than sifting each entry through a heap) and read
from its end; SimPy's heap then only holds what is scheduled into the current slot and SimPy's
own events, a few dozen entries instead of every pending deadline and patrol find. Each step
takes the earlier of the sorted slot's next call and the heap's first entry, comparing full
keys, and entries keep the keys they were given (slot edges are exact in binary floating
point), so the order of calls is exactly that of a single heap.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL


class Clock:
    """Schedules ``fn(arg)`` calls on ``env``'s event heap (via time-slot buckets) and runs it."""

    SLOT = 0.25
    """Hours per bucket (a power of two, so slot edges are exact)."""

    __slots__ = ("env", "_queue", "_eid", "_edge", "_buckets", "_slots", "_cur", "_per_hour")

    def __init__(self, env: simpy.Environment | None = None):
        self.env = env if env is not None else simpy.Environment()
        self._queue = self.env._queue
        self._eid = self.env._eid
        self._per_hour = 1.0 / self.SLOT
        self._edge = 0.0  # calls due before this time go to the heap; later ones to buckets
        self._buckets: dict[int, list] = {}  # slot -> its calls, in scheduling order
        self._slots: list[int] = []  # heap of the slots that have a bucket
        self._cur: list = []  # the current slot's calls, sorted latest first

    @property
    def now(self) -> float:
        return self.env._now

    def at(self, t: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` at clock time ``t`` (never earlier than now)."""
        entry = (t, NORMAL, next(self._eid), (fn, arg))
        if t < self._edge:
            heappush(self._queue, entry)
            return
        slot = int(t * self._per_hour)
        bucket = self._buckets.get(slot)
        if bucket is None:
            self._buckets[slot] = [entry]
            heappush(self._slots, slot)
        else:
            bucket.append(entry)

    def after(self, delay: float, fn: Callable[[Any], None], arg: Any = None) -> None:
        """Call ``fn(arg)`` in ``delay`` hours (``delay`` >= 0)."""
        self.at(self.env._now + delay, fn, arg)

    def pending(self) -> int:
        """Calls and events scheduled and not yet run."""
        return (len(self._queue) + len(self._cur)
                + sum(len(b) for b in self._buckets.values()))

    def clear(self) -> None:
        """Drop every pending entry (when a run is over). Pending calls hold bound methods of
        the model's objects, which hold the clock: without this, a finished run's cases and
        pools stay in memory until the cyclic garbage collector happens to run."""
        self._queue.clear()
        self._buckets.clear()
        self._slots.clear()
        self._cur.clear()

    def run(self, until: float) -> None:
        """Process every entry due before ``until``, then set the clock to ``until``.

        Entries due exactly at ``until`` wait for the next call, as with ``env.run(until)``.
        """
        env = self.env
        if until <= env._now:
            raise ValueError(f"until ({until}) must be later than the current time ({env._now})")
        queue, slots, buckets, cur = self._queue, self._slots, self._buckets, self._cur
        slot_hours = self.SLOT
        pop = heappop
        while True:
            if cur:  # the current slot's next call, unless the heap has an earlier entry
                entry = cur[-1]
                if queue and queue[0] < entry:
                    if queue[0][0] >= until:
                        break
                    now, _, _, entry = pop(queue)
                else:
                    if entry[0] >= until:
                        break
                    now, _, _, entry = cur.pop()
            elif queue and (not slots or queue[0][0] < slots[0] * slot_hours):
                if queue[0][0] >= until:
                    break
                now, _, _, entry = pop(queue)
            elif slots and slots[0] * slot_hours < until:
                slot = pop(slots)  # the next slot's calls, sorted once
                cur = self._cur = buckets.pop(slot)
                cur.sort(reverse=True)
                self._edge = (slot + 1) * slot_hours
                continue
            else:
                break
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
