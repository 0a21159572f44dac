"""A minimal, idiomatic SimPy M/M/c queue: the yardstick for gridsim's engine overhead.

One process per customer, a ``simpy.Resource`` of capacity ``c``, exponential interarrival and
service times drawn one at a time from a numpy ``Generator``: what a SimPy user would write
first. ``python benchmarks/mmc_simpy.py`` runs the standard case (λ = 9, μ = 1, c = 10).
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import simpy


def _customer(env: simpy.Environment, server: simpy.Resource, service: float,
              waits: list[float]):
    arrived = env.now
    with server.request() as request:
        yield request
        waits.append(env.now - arrived)
        yield env.timeout(service)


def _source(env: simpy.Environment, server: simpy.Resource, rng: np.random.Generator,
            lam: float, mu: float, customers: int, waits: list[float]):
    for _ in range(customers):
        yield env.timeout(rng.exponential(1 / lam))
        env.process(_customer(env, server, rng.exponential(1 / mu), waits))


def run(lam: float, mu: float, c: int, customers: int, seed: int) -> tuple[float, float]:
    """Simulate ``customers`` arrivals to an M/M/c queue until the last one leaves.

    Returns ``(seconds, mean_wait)``: the wall time of the simulation (model set-up included)
    and the mean time customers waited in the queue before service (Wq, in the time unit of
    ``lam`` and ``mu``).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=c)
    waits: list[float] = []
    env.process(_source(env, server, rng, lam, mu, customers, waits))
    env.run()
    seconds = time.perf_counter() - t0
    return seconds, float(np.mean(waits)) if waits else math.nan


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """The analytic mean wait in queue Wq of an M/M/c queue (Erlang C), for checking."""
    a = lam / mu
    rho = a / c
    if rho >= 1:
        return math.inf
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    secs, wq = run(9.0, 1.0, 10, n, seed=1)
    print(f"{n:,} customers in {secs:.2f} s ({n / secs:,.0f}/s); "
          f"mean wait {wq:.4f} (Erlang C {erlang_c_wait(9.0, 1.0, 10):.4f})")
