"""Worker processes that cannot outlive the command that started them.

Local replications and shards run on a :class:`~concurrent.futures.ProcessPoolExecutor` whose
workers are forked by multiprocessing's *forkserver*. Left alone, that tree survives its parent:
every worker holds the forkserver's "alive" pipe open and waits on a task queue whose write end
it holds itself, so a ``compare`` killed by ``timeout``, Slurm or ``docker stop`` leaves the
forkserver and its workers running for good (hundreds of MB each).

Two mechanisms tie them to the command instead:

- the **lifeline**: a pipe whose only write end the command holds. Each worker blocks on its
  read end in a daemon thread; end of file (the command died, however, or cut the line on
  purpose) makes the worker exit at once. Portable, and the command uses it to stop its
  workers without waiting for their current replication when it is interrupted;
- on Linux, the kernel's **parent-death signal** (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): the
  forkserver is killed when the command dies, and each worker when the forkserver does. It needs
  no Python thread to run, so it holds even if the worker is stuck in C code.

Workers ignore SIGINT and SIGTERM: Ctrl-C and ``timeout`` signal the whole process group, and the
command alone decides (it keeps the finished replications, then cuts the lifeline).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

PR_SET_PDEATHSIG = 1
EXIT_ORPHANED = 3
"""A worker's exit status when its command has gone."""


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits (Linux only).

    Returns whether it was set. The "parent" is the thread that started this process.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - an exotic libc
        return False


class Lifeline:
    """The command's end of the pipe its workers watch; :meth:`cut` makes them all exit."""

    def __init__(self, ctx: BaseContext):
        self.reader, self._writer = ctx.Pipe(duplex=False)

    def cut(self) -> None:
        """Close the write end: every worker holding the read end exits at once."""
        if not self._writer.closed:
            self._writer.close()
        if not self.reader.closed:
            self.reader.close()


def worker_init(lifeline: Connection) -> None:
    """Initializer of a pool worker: exit when the command dies or cuts the lifeline (if it died
    before this ran, the pipe is already at end of file); leave SIGINT and SIGTERM to it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    die_with_parent()  # the forkserver, which dies with the command (see forkserver_guard)

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            lifeline.recv_bytes()  # nothing is ever sent: this returns only at end of file
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="gridsim-lifeline", daemon=True).start()
