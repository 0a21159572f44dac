"""Preloaded by the forkserver of gridsim's worker pools (and imported nowhere else): on Linux
the forkserver gets the parent-death signal, so the kernel ends it, and through it every worker
(:func:`~gridsim.parallel.lifeline.worker_init`), when the command dies.

Only the forkserver process acts on the import (it runs as ``python -c`` with
:mod:`multiprocessing.forkserver` loaded); imported anywhere else the module does nothing.
"""

from __future__ import annotations

import sys

from .lifeline import die_with_parent

if sys.argv[:1] == ["-c"] and "multiprocessing.forkserver" in sys.modules:
    die_with_parent()
