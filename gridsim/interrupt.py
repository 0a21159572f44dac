"""SIGTERM handled like Ctrl-C.

``timeout``, Slurm's ``scancel`` and ``docker stop`` end a command with SIGTERM, whose default
action kills Python on the spot: no cleanup, workers orphaned, the user told nothing. The command
line turns SIGTERM into :class:`Terminated`, a :class:`KeyboardInterrupt`, so it takes exactly the
Ctrl-C path (finished replications are kept, the workers are stopped, a message is printed) and
exits with 143 (128 + SIGTERM) rather than Ctrl-C's 130.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The command received SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received signal {signal.Signals(signum).name}")


def terminate_like_interrupt() -> Callable[[], None]:
    """Make SIGTERM raise :class:`Terminated` in the main thread; returns the function that puts
    the previous handler back (signal handlers belong to the main thread: elsewhere, a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    return lambda: signal.signal(signal.SIGTERM, previous)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The shell's status for a command ended by ``interrupt``: 143 for SIGTERM, 130 for
    SIGINT. An interrupt re-raised with what was kept (``raise Interrupted(...) from None``)
    still carries the signal that started it as its context."""
    e: BaseException | None = interrupt
    while e is not None:
        if isinstance(e, Terminated):
            return 128 + signal.SIGTERM
        e = e.__context__
    return 128 + signal.SIGINT
