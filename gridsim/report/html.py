"""Rendering a results folder as one self-contained HTML page.

Two kinds of folder are understood, told apart by the file that describes them:

* an **experiment** (``experiment.json``, written by :meth:`Experiment.write`): KPIs as means
  with confidence intervals per point, paired differences against the reference, the best
  point, bottlenecks and most loaded units, failed replications;
* a **single run** (``manifest.json``, written by :meth:`Result.write`): KPI values, the
  bottleneck and most loaded units;
* a **staffing optimisation** (an experiment folder that also holds ``optimise.json``, written
  by ``Optimisation.write``): the chosen staffing, its targets on fresh seeds, what binds, the
  cost frontier, the queueing starting point and the search.

:mod:`.run`, :mod:`.experiment` and :mod:`.optimise` read the folder into plain data; the
Jinja2 templates in ``templates/`` (package resources, with the style sheet ``report.css``) lay
it out. Everything the page needs is inside it: inline CSS, no scripts, plots as ``data:`` URIs.
Every value the templates print is escaped (autoescaping, with :func:`html.escape`'s quoting).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .._version import __version__
from ..results.io import atomic_write_text
from ..results.outdir import OutputError, check_file
from ..vocabulary import DASH
from .experiment import experiment_context
from .folder import ReportError, folder_kind
from .optimise import optimise_context
from .run import run_context

__all__ = ["REPORT_NAME", "ReportError", "folder_kind", "render_report", "write_report"]

REPORT_NAME = "report.html"
GENERATOR = '<meta name="generator" content="gridsim '
"""How every page gridsim writes begins (only such a file is overwritten)."""
NAV = (("scenario", "Scenario"), ("failures", "Failures"), ("kpis", "KPIs"),
       ("comparison", "Comparison"), ("organisation", "Organisation"),
       ("appraisal", "Departments"), ("bottleneck", "Bottleneck"),
       ("stationarity", "Stationarity"), ("loaded", "Most loaded"), ("plots", "Plots"))
"""The sections of a page, in order, with their link text (a section without data is left out
of the page and of the contents)."""
OPTIMISE_NAV = (("summary", "Summary"), ("targets", "Targets"), ("binding", "What binds"),
                ("frontier", "Frontier"), ("start", "Starting point"), ("search", "Search"),
                ("notes", "Notes"))
"""The sections of an optimisation's page."""
OPTIMISE = "optimise"
KICKERS = {"experiment": "gridsim experiment report", "run": "gridsim run report",
           OPTIMISE: "gridsim staffing optimisation report"}
_SECTION_DATA = {"failures": ("failures",), "comparison": ("comparison",),
                 "organisation": ("organisation",),
                 "bottleneck": ("bottleneck", "bottlenecks"), "binding": ("binding",),
                 "start": ("start",), "search": ("search",), "notes": ("notes",)}


def _escape(value: Any) -> Markup:
    """Every printed value: already-rendered markup passes, ``None`` is a dash, anything else
    is escaped as :func:`html.escape` does (quotes as ``&quot;`` and ``&#x27;``)."""
    if hasattr(value, "__html__"):
        return Markup(value)
    return Markup(html.escape(DASH if value is None else str(value)))


class _Environment(jinja2.Environment):
    """Jinja2, with ``d.key`` meaning the item ``key`` of a dict even where a dict method of
    that name exists (``best.clear`` is the flag, not ``dict.clear``)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@cache
def environment() -> jinja2.Environment:
    """The template environment: templates from the package, autoescaped, strict."""
    return _Environment(
        loader=jinja2.PackageLoader("gridsim.report", "templates"),
        autoescape=True, finalize=_escape, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def css() -> Markup:
    """The style sheet, read as the package resource (our own text: not escaped)."""
    env = environment()
    source, _, _ = env.loader.get_source(env, "report.css")  # type: ignore[union-attr]
    return Markup(source)


def render_report(results_dir: str | Path) -> str:
    """The report of ``results_dir`` as an HTML string (see :func:`write_report`)."""
    folder = Path(results_dir)
    kind = page_kind(folder)
    try:
        if kind == OPTIMISE:
            context = optimise_context(folder)
        elif kind == "experiment":
            context = experiment_context(folder)
        else:
            context = run_context(folder)
    except (KeyError, IndexError, TypeError, ValueError) as err:
        if isinstance(err, ReportError):
            raise
        # a table or field without what gridsim writes there: damaged, or not gridsim's
        raise ReportError(f"{folder} is not a readable gridsim results folder: "
                          f"{type(err).__name__} {err}") from None
    sections = OPTIMISE_NAV if kind == OPTIMISE else NAV
    nav = [(id_, text) for id_, text in sections if _present(context, id_)]
    page = environment().get_template(f"{kind}.html.j2").render(
        **context, kicker=KICKERS[kind], lead=_lead(folder, kind), nav=nav, css=css(),
        version=__version__, folder=str(folder.resolve()),
        now=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return page.rstrip("\n") + "\n"


def page_kind(folder: Path) -> str:
    """``"run"``, ``"experiment"`` or, for an experiment folder holding ``optimise.json``,
    ``"optimise"`` (the page each is rendered with)."""
    opt = folder / "optimise.json"
    if opt.is_file() and not (folder / "experiment.json").is_file():
        try:  # written by Optimisation.write without a search folder: known by its content
            meta = json.loads(opt.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = None
        if isinstance(meta, dict) and {"variables", "targets", "chosen"} <= set(meta):
            return OPTIMISE
    kind = folder_kind(folder)
    return OPTIMISE if kind == "experiment" and opt.is_file() else kind


def _present(context: dict[str, Any], section: str) -> bool:
    """Whether ``section`` has something to show (the others always appear)."""
    keys = _SECTION_DATA.get(section, ())
    return not keys or any(context.get(k) for k in keys)


def _lead(folder: Path, kind: str) -> str:
    """The scenario description, for under the title."""
    try:
        if kind == OPTIMISE:
            sc = json.loads((folder / "optimise.json").read_text(encoding="utf-8")).get(
                "scenario") or {}
        elif kind == "experiment":
            meta = json.loads((folder / "experiment.json").read_text(encoding="utf-8"))
            scs = list((meta.get("scenarios") or {}).values())
            sc = scs[0] if scs else {}
        else:
            sc = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get(
                "scenario") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    return str(sc.get("description") or "")


def write_report(results_dir: str | Path) -> Path:
    """Write ``report.html`` into ``results_dir`` (atomically) and return its path.

    ``results_dir`` is a folder written by ``gridsim run`` (``manifest.json``), by an
    experiment (``experiment.json``) or by an optimisation (with ``optimise.json`` too); anything
    else raises :class:`ReportError`.
    """
    folder = Path(results_dir)
    text = render_report(folder)
    path = folder / REPORT_NAME
    try:  # replaces only a report gridsim wrote
        check_file(path, "report", GENERATOR)
    except OutputError as e:
        raise ReportError(str(e)) from None
    atomic_write_text(path, text)
    return path
