"""Random streams: one ``numpy.random.Generator`` per source of randomness, keyed by name.

Every stream is spawned from the scenario seed and a stable key (``("arrivals", "Riverside/s0",
"hotline")``), never from a shared global generator. Two policies run on the same seed therefore
see the same arrivals and the same per-issue draws (common random numbers), and a district's
draws do not depend on which other districts run beside it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

DRAWS_VERSION = 4
"""Incremented whenever the same scenario and seed would give other results (random draws used
in another way: version 2 draws arrivals a window at a time; version 3 gives every random
decision a stream of its own, :func:`named_columns`; version 4 draws a repeated visit's work
fresh from the tier's distribution). Run manifests record it, and an
experiment folder holds it in its fingerprint, so a resumed experiment never mixes replications
drawn two ways."""


def _key_int(part: str | int) -> int:
    return part if isinstance(part, int) else zlib.crc32(str(part).encode())


def stream(seed: int, *key: str | int) -> np.random.Generator:
    """The generator for ``key`` under ``seed`` (identical on every machine and run)."""
    ss = np.random.SeedSequence(seed, spawn_key=tuple(_key_int(k) for k in key))
    return np.random.Generator(np.random.PCG64(ss))


def named_columns(seed: int, names: tuple[str, ...], *key: str | int
                  ) -> Callable[[int], np.ndarray]:
    """``n -> (n, len(names))`` uniforms, column ``k`` from the stream of ``names[k]`` (keyed
    ``("case", name, *key)``): one row per case, one column per decision. Adding a name adds a
    column and changes no other, so a new random decision leaves every existing draw as it was.
    """
    rngs = [stream(seed, "case", name, *key) for name in names]
    if len(rngs) == 1:
        (rng,) = rngs
        return lambda n: rng.random((n, 1))
    return lambda n: np.column_stack([rng.random(n) for rng in rngs])


Draw = Callable[[], Any]
"""A source of draws: each call returns the next value (or row)."""


def Buffered(draw: Callable[[int], np.ndarray], n: int = 512) -> Draw:  # noqa: N802
    """The next value of ``draw`` each call, drawn in vectorised batches of ``n``.

    ``draw(n)`` returns an array of ``n`` values (or rows); a batch is drawn only when the last
    one is used up, so a stream is consumed in the same order and amount however the calls are
    spread. The returned callable is a C-level iterator's ``__next__`` (a chain of batches, each
    popped from its end), so a draw costs no Python frame and a used value is not kept; only a
    new batch runs Python code. Named like a class because it replaced one.
    """
    return chain.from_iterable(_batches(draw, n)).__next__


_END = object()
"""Marks the end of a batch in :func:`_batches` (it equals no draw)."""


def _batches(draw: Callable[[int], np.ndarray], n: int):
    while True:
        values = draw(n).tolist()
        values.reverse()
        values.insert(0, _END)  # popped last: ends the batch
        yield iter(values.pop, _END)
