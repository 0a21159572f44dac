"""The gridsim command: run scenarios, check them, print their schema.

Bad input never produces a traceback: a :class:`ScenarioError` is printed as one message, any
other mistake as one line naming the option (``(see 'gridsim X --help')`` for what the parser
refuses), and the command exits with status 2 before anything is written. Ctrl-C exits with
130, SIGTERM with 143 (:mod:`gridsim.interrupt`), saying what was kept.

The commands live in :mod:`.run`, :mod:`.experiments` and :mod:`.published`, the options they
share in :mod:`.options`: this module only parses, dispatches and reports errors.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Sequence

import click
from rich.console import Console

from .. import __version__
from ..arguments import SettingError
from ..interrupt import exit_status, terminate_like_interrupt
from ..results.outdir import OutputError
from ..scenario import ScenarioError
from . import decompose, experiments, optimise, published, run
from .common import UsageError

EXIT_BAD_INPUT = 2


ORDER: tuple[str, ...] = ("run", "validate-scenario", "compare", "replicate", "sweep", "optimise",
                          "decompose", "warmup", "report", "validate", "calibrate", "schema")
"""The commands as ``gridsim --help`` lists them: a planner's path through them."""


class Commands(click.Group):
    """The commands in :data:`ORDER` (any other after them)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.commands, key=lambda c: ORDER.index(c) if c in ORDER else len(ORDER))


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]},
             no_args_is_help=False)
@click.version_option(__version__, "--version", prog_name="gridsim",
                      message="%(prog)s %(version)s")
def cli() -> None:
    """Run scenarios of grid-based urban issue handling, compare policies over replications,
    check scenarios and the model against published figures.

    Every command has its own help, with an example: gridsim COMMAND --help.
    """


for _module in (run, experiments, optimise, decompose, published):
    _module.register(cli)


def _option_name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return "/".join(param.opts + param.secondary_opts)
    return param.name or "argument"


def _ambiguous(e: click.NoSuchOption) -> list[str]:
    """The options an abbreviated name could stand for (two or more), argparse's way."""
    if e.ctx is None or not e.option_name.startswith("--"):
        return []
    longs = [o for p in e.ctx.command.params for o in p.opts if o.startswith("--")]
    found = [o for o in longs if o.startswith(e.option_name)]
    return found if len(found) > 1 else []


def usage_line(e: click.UsageError | click.BadParameter, where: str = "gridsim") -> str:
    """A parser's refusal as one line, argparse's way: ``gridsim run: argument --seed: invalid
    int value: 'x' (see 'gridsim run --help')``; ``where`` names the command if the error
    does not."""
    if e.ctx is not None and e.ctx.parent is not None:
        where = e.ctx.command_path
    if isinstance(e, click.MissingParameter) and e.param is not None:
        text = f"the following arguments are required: {_option_name(e.param)}"
    elif isinstance(e, click.BadParameter) and e.param is not None:
        text = f"argument {_option_name(e.param)}: {e.message.rstrip('.')}"
    elif isinstance(e, click.NoSuchOption) and _ambiguous(e):
        text = f"ambiguous option: {e.option_name} could match {', '.join(_ambiguous(e))}"
    elif isinstance(e, click.NoSuchOption):
        near = f" (did you mean {', '.join(e.possibilities)}?)" if e.possibilities else ""
        text = f"unrecognized arguments: {e.option_name}{near}"
    elif isinstance(e, click.BadOptionUsage) and "requires an argument" in e.message:
        text = f"argument {e.option_name}: expected one argument"
    elif isinstance(e, click.BadOptionUsage):
        text = f"argument {e.option_name}: {e.message.rstrip('.')}"
    elif e.message.startswith("Got unexpected extra argument"):
        text = f"unrecognized arguments: {e.message.partition('(')[2].rstrip(')')}"
    elif isinstance(e, click.exceptions.NoSuchCommand):
        name = e.message.split("'")[1] if "'" in e.message else e.message
        near = difflib.get_close_matches(name, list(cli.commands), n=1)
        text = f"unknown command {name!r}" + (f" (did you mean {near[0]!r}?)" if near else
                                               f"; the commands are {', '.join(ORDER)}")
    elif e.message == "Missing command.":
        text = f"a command is required: {', '.join(ORDER)}"
    else:
        text = e.format_message().rstrip(".")
    return f"{where}: {' '.join(text.split())} (see '{where} --help')"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gridsim`` console script: the exit status (``--help`` and
    ``--version`` exit through :class:`SystemExit`, as argparse did)."""
    args = list(sys.argv[1:] if argv is None else argv)
    # piped into a file or a CI log, tables get room rather than the 80 columns of a dumb terminal
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    console = Console(width=150 if wide else None)
    restore = terminate_like_interrupt()  # timeout, Slurm and docker stop send SIGTERM
    try:
        with cli.make_context("gridsim", args, obj=console) as ctx:
            return cli.invoke(ctx)
    except click.exceptions.Exit as e:  # --help, --version
        raise SystemExit(e.exit_code) from None
    except click.ClickException as e:
        if not isinstance(e, click.UsageError | click.BadParameter):
            raise
        where = f"gridsim {args[0]}" if args and args[0] in cli.commands else "gridsim"
        print(usage_line(e, where), file=sys.stderr)
        return EXIT_BAD_INPUT
    except ScenarioError as e:
        print(e, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (UsageError, OutputError, SettingError) as e:
        print(f"gridsim: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as e:  # an Interrupted says what was kept
        print(f"gridsim: {e or 'interrupted; nothing written'}", file=sys.stderr)
        return exit_status(e)
    finally:
        restore()


__all__ = ["EXIT_BAD_INPUT", "ORDER", "cli", "main", "usage_line"]
