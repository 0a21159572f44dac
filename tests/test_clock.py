"""The clock: scheduled calls keep SimPy's ordering and share the heap with SimPy events."""

from __future__ import annotations

import random

import pytest
import simpy

from gridsim.model.clock import Clock


def test_calls_run_in_time_order_and_first_scheduled_first_on_ties():
    clock = Clock()
    seen: list[tuple[float, str]] = []
    for t, name in [(3.0, "c"), (1.0, "a"), (2.0, "b1"), (2.0, "b2"), (0.5, "first")]:
        clock.at(t, lambda n: seen.append((clock.now, n)), name)
    clock.after(1.5, lambda n: seen.append((clock.now, n)), "after")
    clock.run(10.0)
    assert seen == [(0.5, "first"), (1.0, "a"), (1.5, "after"), (2.0, "b1"), (2.0, "b2"),
                    (3.0, "c")]
    assert clock.now == 10.0


def test_run_stops_before_until_and_resumes_there():
    clock = Clock()
    seen: list[float] = []
    for t in (1.0, 2.0, 3.0):
        clock.at(t, lambda _: seen.append(clock.now))
    clock.run(2.0)
    assert seen == [1.0]  # an entry due exactly at ``until`` waits, as with env.run(until)
    assert clock.now == 2.0
    clock.run(5.0)
    assert seen == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError):
        clock.run(5.0)


def test_a_simpy_process_shares_the_clock_and_orders_as_with_env_run():
    """The same schedule of calls and a SimPy process, once with Clock.run and once with
    SimPy's own env.run over the equivalent Timeouts, gives the same order of happenings."""

    def scenario(clock_run: bool) -> list[tuple[float, str]]:
        env = simpy.Environment()
        clock = Clock(env)
        seen: list[tuple[float, str]] = []
        res = simpy.Resource(env, capacity=1)

        def customer(name: str, service: float):
            with res.request() as req:
                yield req
                seen.append((env.now, f"{name} starts"))
                yield env.timeout(service)
                seen.append((env.now, f"{name} ends"))

        def call(label: str) -> None:
            seen.append((env.now, label))

        env.process(customer("p1", 2.0))
        env.process(customer("p2", 1.0))
        for t in (0.0, 1.0, 2.0, 3.0, 3.5):
            if clock_run:
                clock.at(t, call, f"call@{t}")
            else:
                simpy.events.Timeout(env, t, f"call@{t}").callbacks.append(
                    lambda ev: call(ev.value))
        if clock_run:
            clock.run(10.0)
        else:
            env.run(until=10.0)
        return seen

    ours = scenario(True)
    assert ours == scenario(False)
    assert (3.0, "p2 ends") in ours and (2.0, "p1 ends") in ours


def test_a_failed_simpy_event_is_raised():
    env = simpy.Environment()
    clock = Clock(env)
    ev = env.event()
    ev.fail(RuntimeError("broken"))
    with pytest.raises(RuntimeError, match="broken"):
        clock.run(1.0)


def test_time_slot_buckets_keep_the_order_of_a_single_heap():
    """Calls scheduled days ahead, within the slot, at exact slot edges and in ties, some scheduled
    from inside other calls, beside SimPy timeouts: the order is that of sorting every entry
    by (time, scheduling order), as one heap would give, across several run() calls."""
    rng = random.Random(7)
    env = simpy.Environment()
    clock = Clock(env)
    seen: list[tuple[float, int]] = []
    expected: list[tuple[float, int]] = []
    counter = iter(range(10**9))

    def schedule(t: float) -> None:
        n = next(counter)
        expected.append((t, n))
        clock.at(t, fire, (t, n))

    def fire(key: tuple[float, int]) -> None:
        assert clock.now == key[0]
        seen.append(key)
        for _ in range(rng.choice([0, 1, 1, 2])):
            if len(expected) < 3000:
                schedule(clock.now + rng.choice([0.0, 0.25, 1.0, rng.random(),
                                                 rng.random() * Clock.SLOT,
                                                 rng.expovariate(0.05), 24.0 * 3]))

    for _ in range(300):
        schedule(rng.choice([rng.uniform(0, 200), float(rng.randrange(200)),
                             rng.randrange(800) * Clock.SLOT]))
    ticks: list[float] = []

    def ticker():
        while True:
            yield env.timeout(0.7)
            ticks.append(env.now)

    env.process(ticker())
    for until in (3.0, 50.5, 51.0, 400.0, 2000.0):
        clock.run(until)
        assert all(t < until for t, _ in seen)
    assert seen == sorted(expected)
    assert len(seen) == len(expected) > 1000
    assert len(ticks) == int(2000.0 / 0.7) and clock.pending() == 1


def test_simpy_is_pinned_to_the_version_these_tests_ran_on():
    """The clock relies on SimPy internals (its heap, ``NORMAL``): the dependency is bounded to
    one minor version, and the installed SimPy must be inside the bound."""
    import tomllib
    from pathlib import Path

    from packaging.requirements import Requirement

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    req = next(r for r in map(Requirement, project["project"]["dependencies"])
               if r.name == "simpy")
    assert any(s.operator == "<" for s in req.specifier), "simpy needs an upper bound"
    assert req.specifier.contains(simpy.__version__), (simpy.__version__, str(req.specifier))
