"""Command-line values checked before any work: one line naming the option, exit status 2.

argparse parses the text (``--seed abc`` is not a whole number); these checks decide whether
the value can work (``--seed -1``, ``--workers 0``, ``--precision 1.5``, an unknown ``--kpi``,
``--policies a,,a``) and whether it would be silently ignored (``--precision`` without
``--replications auto``). They are the checks the Python API makes
(:mod:`gridsim.arguments`), under the options' names.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from .arguments import (
    SettingError,
    check_count,
    check_fraction,
    check_kpi,
    check_policies,
    check_seed,
    check_workers,
)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit status 2), not usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see '{self.prog} --help')\n")


def policy_list(text: str) -> list[str]:
    """``--policies a,b,c``: the names, none empty, none twice."""
    try:
        return check_policies(text.split(","), "--policies")
    except SettingError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--policies: ")) from None


def check_args(args: argparse.Namespace) -> None:
    """Refuse values that cannot work or would be ignored, naming the option."""
    def given(dest: str):
        return getattr(args, dest, None)

    check_seed(given("seed"), "--seed")
    for dest in ("out", "metrics", "dask"):
        if isinstance(given(dest), str) and not given(dest).strip():
            raise SettingError(f"--{dest} is empty: give a path" + (
                " (or leave the option out for the default)" if dest == "out" else ""))
    check_workers(given("workers"), "--workers")
    for dest in ("max_replications", "maxiter"):
        if given(dest) is not None:
            check_count(given(dest), "--" + dest.replace("_", "-"))
    if isinstance(given("replications"), int):
        check_count(given("replications"), "--replications")
    if given("kpi") is not None:
        check_kpi(args.kpi, "--kpi")
    auto = given("replications") == "auto"
    for dest in ("precision", "max_replications"):
        if given(dest) is not None and not auto:
            raise SettingError(f"--{dest.replace('_', '-')} applies only with "
                               "--replications auto")
    if given("precision") is not None:
        check_fraction(args.precision, "--precision", "0.05 for ±5 %")
    if args.command == "run" and given("shards") is None:
        for dest in ("workers", "dask"):
            if given(dest) is not None:
                raise SettingError(f"--{dest} applies only with --shards (a single run uses "
                                   "one process)")

