"""Random streams: one ``numpy.random.Generator`` per source of randomness, keyed by name.

Every stream is spawned from the scenario seed and a stable key (``("arrivals", "Riverside/s0",
"hotline")``), never from a shared global generator. Two policies run on the same seed therefore
see the same arrivals and the same per-issue draws (common random numbers), and a district's
draws do not depend on which other districts run beside it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

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


class Buffered:
    """Hands out values drawn in vectorised batches (a list popped from its end).

    ``draw(n)`` returns an array of ``n`` values (or rows); calling the object returns the next.
    """

    __slots__ = ("_draw", "_n", "_buf")

    def __init__(self, draw: Callable[[int], np.ndarray], n: int = 512):
        self._draw = draw
        self._n = n
        self._buf: list = []

    def __call__(self):
        try:
            return self._buf.pop()
        except IndexError:
            self._buf = self._draw(self._n).tolist()[::-1]
            return self._buf.pop()
