"""What every gridsim command shares: its click class, the parsed arguments, loading the
scenario, one-line write errors and the progress bar of experiments."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..results.outdir import OutputError
from ..scenario import Scenario, load_scenario, parse_override
from .options import check_args

CommandFn = Callable[["Args", Console], int]


class UsageError(Exception):
    """A command-line mistake that is not in a scenario file (printed as one line, exit 2)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what was kept and how to resume (the message :func:`main` prints)."""


class Args:
    """A command's parsed options by name (``args.seed``); a repeatable option given no time is
    ``None``, as an option left out."""

    def __init__(self, command: str, params: dict[str, Any]):
        self.command = command
        for name, value in params.items():
            setattr(self, name, None if value == () else value)


def _expand(longs: tuple[str, ...], name: str) -> str:
    """A unique prefix of a long option (``--rep`` for ``--replications``), as argparse reads."""
    if len(name) < 2 or name in longs:
        return name
    found = [n for n in longs if n.startswith(name)]
    return found[0] if len(found) == 1 else name


class GridsimCommand(click.Command):
    """A command that checks its values (:func:`~.options.check_args`) before it runs, accepts
    unique prefixes of its long options and is called as ``callback(args, console)``."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        longs = tuple(o[2:] for p in self.params for o in (*p.opts, *p.secondary_opts)
                      if o.startswith("--")) + ("help",)
        extra.setdefault("token_normalize_func", partial(_expand, longs))
        return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> int:
        check_args(ctx.info_name or "", ctx.params)
        console = ctx.find_root().obj
        assert self.callback is not None
        return self.callback(Args(ctx.info_name or "", ctx.params), console)


def command(group: click.Group, name: str, short: str) -> Callable[[CommandFn], click.Command]:
    """Register ``fn`` (its docstring is the help, ``short`` the line in ``gridsim --help``)."""
    return group.command(name, cls=GridsimCommand, short_help=short)


def overrides(items: tuple[str, ...] | list[str] | None) -> dict[str, Any]:
    """``--set`` values as ``{dotted.path: value}``."""
    out: dict[str, Any] = {}
    for item in items or ():
        try:
            path, value = parse_override(item)
        except ValueError as e:
            raise UsageError(f"--set: {e}") from None
        out[path] = value
    return out


def load(args: Args) -> Scenario:
    """The scenario of ``args.file`` (or the bundled one) with the ``--set`` values."""
    return load_scenario(args.file, overrides(args.set))


def out_option(args: Args) -> str:
    """How a message names the output folder: the option, or where the default came from."""
    if args.out:
        return "--out"
    files = getattr(args, "files", None) or [getattr(args, "file", None)]
    return f"the default results folder of {files[0] or 'the bundled scenario'} (no --out):"


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


@contextmanager
def writing(out: Path) -> Iterator[None]:
    """An OSError while writing ``out`` (disk full, gone read-only) as one line, exit 2."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno not in _WRITE_ERRORS:
            raise  # not about the files (a network error, say)
        where = f" ({e.filename})" if e.filename else ""
        raise OutputError(f"cannot write {out}: {e.strerror or e}{where}") from None


def note(text: str) -> None:
    """A remark on stderr that is not an error (resuming, running unsharded)."""
    print(f"gridsim: {text}", file=sys.stderr)


def run_experiment(console: Console, make: Callable[..., Any], args: Args, what: str,
                   out: Path | None = None) -> Any:
    """``make(progress[, note])`` under a progress bar of replications; Ctrl-C says what was
    kept in ``out``."""
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total} replications"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    seen = [0]
    with Progress(*columns, console=console, transient=True, disable=args.quiet) as bar:
        task = bar.add_task(what, total=None)

        def progress(done: int, total: int) -> None:
            seen[0] = total
            bar.update(task, completed=done, total=total)

        if out is None:
            return make(progress)
        try:
            with writing(out):
                return make(progress, note)
        except KeyboardInterrupt:
            raise interrupted(out, seen[0]) from None


def interrupted(out: Path, total: int) -> Interrupted:
    """What an interrupted experiment kept in ``out`` and how to resume it."""
    reps = out / "reps"
    kept = sum(1 for d in reps.glob("p*_r*") if d.is_dir()) if reps.is_dir() else 0
    if not kept:
        return Interrupted("interrupted before any replication finished; run the same command "
                           "again to start")
    of = f" of {total}" if total else ""
    return Interrupted(f"interrupted; {kept}{of} finished replications are kept in {out}: "
                       "run the same command again to resume")
