"""The validation report: every published check, what it is evidence for, and how it fared.

    from gridsim.report import validation_report
    from gridsim.validation import load_checks, run_checks

    checks = load_checks()
    validation_report(run_checks(checks, fast=True), checks, "validation.html")

One self-contained page (the run and experiment reports' template, style sheet and plot
embedding) for a planner to hand to a sceptic: a summary (how many checks passed, failed and
are known failures, and how many are fits, which are no evidence), then per city and source
each check with its quote, kind, mechanism, published against simulated with the interval,
its knockout result (when ``gridsim validate --knockouts`` added the ``knockout_*`` columns)
and a published-versus-simulated plot.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..results.io import atomic_write_text
from ..results.outdir import check_file
from ..validation import Check, load_checks
from ..validation.checks import metrics_path
from ..vocabulary import format_interval, format_value, is_missing, label, unit_of
from .folder import ReportError, data_uri, facts, kpi_cell, stacked, table
from .html import GENERATOR, css, environment
from .validation_plots import Estimate, PlotRow, forest

KNOCKOUT_COLUMNS = ("knockout_simulated", "knockout_low", "knockout_high", "knockout_passed")
"""The columns ``gridsim validate --knockouts`` adds to the table of :func:`run_checks`."""
NOT_RUN = "knockouts not run (use --knockouts)"
KINDS = {
    "fit": ("fit \u00b7 no evidence", "fit",
            "the scenario was set or calibrated to reproduce this figure: a pass only shows "
            "the fit still holds"),
    "out_of_sample": ("out of sample", "oos",
                      "no parameter was set from this figure: a pass is (weak) evidence"),
    "structural": ("structural", "structural",
                   "follows from a named mechanism under the scenario's assumed numbers: a pass "
                   "shows the mechanism works as built, not the world; under its knockout it "
                   "must fail"),
    "identity": ("identity \u00b7 no evidence", "fit",
                 "true by the code's definitions whatever the numbers: a test of the "
                 "implementation, with nothing to knock out"),
}
VERDICTS = {"pass": "pass", "fail": "FAIL", "known": "known failure"}
NAV = (("summary", "Summary"), ("checks", "All checks"), ("cities", "By city and source"),
       ("kinds", "Reading the kinds"))


def _verdict(row: Mapping[str, Any]) -> str:
    if bool(row["passed"]):
        return "pass"
    return "known" if str(row.get("known_failure") or "") else "fail"


def _badge(text: str, cls: str) -> dict[str, str]:
    return {"text": text, "cls": cls}


def _overrides(changes: Mapping[str, Any] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (changes or {}).items())


def _knockout(row: Mapping[str, Any], check: Check, unit: str, run: bool) -> dict[str, Any]:
    """What the page says of the check under its knockout."""
    signed = check.effect is not None
    out = {"set": _overrides(check.knockout), "estimate": None, "simulated": ""}
    if not run:
        return {**out, "text": NOT_RUN, "short": "not run", "cls": "ns"}
    passed = row.get("knockout_passed")
    if is_missing(row.get("knockout_simulated")) or passed is None or is_missing(float(passed)):
        if check.kind in ("fit", "identity"):
            what = "a fit" if check.kind == "fit" else "an identity"
            return {**out, "text": f"none: {what} is no evidence", "short": f"none ({what})",
                    "cls": "ns"}
        return {**out, "text": "no knockout named", "short": "none named", "cls": "ns"}
    est = Estimate(float(row["knockout_simulated"]), float(row["knockout_low"]),
                   float(row["knockout_high"]))
    out.update(estimate=est, simulated=f"{format_value(est.mean, unit, signed)} (95% CI "
                                        f"{format_interval(est.low, est.high, unit, signed)})")
    if bool(passed):
        return {**out, "text": "still passes under its knockout: the check cannot tell",
                "short": "blunt: still passes", "cls": "fail"}
    return {**out, "text": "fails under its knockout: the check bites",
            "short": "bites: fails under it", "cls": "pass"}


def _entry(row: Mapping[str, Any], check: Check, knockouts: bool) -> dict[str, Any]:
    """One check as the page shows it."""
    unit = unit_of(check.kpi)
    verdict = _verdict(row)
    est = Estimate(float(row["simulated"]), float(row["low"]), float(row["high"]))
    scope = "" if check.scope == "all" else check.scope
    title = f"{check.id}   \u00b7   {label(check.kpi)}" + (f" [{scope}]" if scope else "")
    if check.effect is None:
        lo, hi = check.bounds()
        published = short = format_value(check.value, unit)
        accepted = f"accepted {format_interval(lo, hi, unit)}"
        plot = PlotRow(title, unit, verdict, est, published=check.value, band=(lo, hi))
    else:
        d = check.effect.direction
        published = f"{d} than with {_overrides(check.effect.set)}"
        short = f"{d} than the variant"
        accepted = f"accepted: 95% CI wholly {'below' if d == 'lower' else 'above'} 0"
        plot = PlotRow(title, unit, verdict, est, direction=d)
    signed = check.effect is not None
    simulated = format_value(est.mean, unit, signed)
    interval = f"95% CI {format_interval(est.low, est.high, unit, signed)}, n = {int(row['n'])}"
    ko = _knockout(row, check, unit, knockouts)
    if ko["estimate"] is not None:
        plot = dataclasses.replace(plot, knockout=ko["estimate"])
    kind_text, kind_cls, kind_note = KINDS[check.kind]
    return {
        "id": check.id, "anchor": "check-" + check.id.replace(".", "-"), "check": check,
        "kpi": kpi_cell(check.kpi), "scope": scope,
        "kind": _badge(kind_text, kind_cls), "kind_note": kind_note,
        "verdict": _badge(VERDICTS[verdict], verdict), "verdict_cls": verdict,
        "published": published, "short": short, "accepted": accepted,
        "simulated": simulated, "interval": interval, "knockout": ko, "plot": plot,
    }


def _summary(entries: list[dict[str, Any]], knockouts: bool) -> dict[str, Any]:
    """The counts at the top of the page."""
    by = {v: [e for e in entries if e["verdict_cls"] == v] for v in VERDICTS}
    kinds = {k: sum(e["check"].kind == k for e in entries) for k in KINDS}
    evidence = sum(e["check"].kind == "out_of_sample" and e["verdict_cls"] == "pass"
                   for e in entries)
    tried = [e for e in entries if e["knockout"]["estimate"] is not None]
    blunt = [e for e in tried if e["knockout"]["cls"] == "fail"]
    return {
        "checks": len(entries), "passed": len(by["pass"]), "failed": by["fail"],
        "known": by["known"], "kinds": kinds, "evidence": evidence,
        "knockouts": knockouts, "tried": len(tried), "blunt": blunt,
    }


def _check_table(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Every check on one line, linked to its card."""
    rows = [[{"kind": "link", "href": e["anchor"], "text": e["id"], "badges": [e["kind"]]},
             stacked(e["kpi"]["label"], e["scope"] or e["kpi"]["name"]),
             stacked(e["short"], e["accepted"]),
             stacked(e["simulated"], e["interval"]),
             {"kind": "point", "label": "", "badges": [e["verdict"]]},
             stacked(e["knockout"]["short"], e["knockout"]["simulated"],
                     f"ko-{e['knockout']['cls']}")]
            for e in entries]
    return table(["Check and kind", "KPI", "Published", "Simulated", "Verdict", "Knockout"],
                 rows, "checks", num_from=99)


def _groups(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks by city (the first part of the id), in the table's order, with a plot."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(e["id"].split(".", 1)[0], []).append(e)
    out = []
    for city, members in groups.items():
        title = city.replace("_", " ").title()
        sources = list(dict.fromkeys(e["check"].source for e in members))
        scenarios = list(dict.fromkeys(e["check"].scenario for e in members))
        png = forest([e["plot"] for e in members], f"{title}: published against simulated")
        out.append({"id": f"city-{city}", "title": title, "sources": sources,
                    "scenarios": scenarios, "entries": members, "plot": data_uri(png)})
    return out


def validation_context(results: pd.DataFrame, checks: list[Check],
                       settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything ``validation.html.j2`` shows of a :func:`run_checks` table."""
    by_id = {c.id: c for c in checks}
    unknown = [cid for cid in results["check"] if cid not in by_id]
    if unknown:
        raise ReportError(f"the table has checks that are not in the metrics table: "
                          f"{', '.join(map(str, unknown))}")
    if results.empty:
        raise ReportError("the table has no checks: nothing to report")
    knockouts = all(c in results.columns for c in KNOCKOUT_COLUMNS)
    entries = [_entry(row, by_id[row["check"]], knockouts)
               for row in results.to_dict(orient="records")]
    return {
        "summary": _summary(entries, knockouts), "check_table": _check_table(entries),
        "groups": _groups(entries), "kinds": [(KINDS[k][0], KINDS[k][2]) for k in KINDS],
        "settings": facts(list((settings or {}).items())), "not_run": NOT_RUN,
    }


def render_validation(results: pd.DataFrame, checks: list[Check],
                      settings: Mapping[str, Any] | None = None, metrics: str = "") -> str:
    """The validation report of ``results`` (a :func:`run_checks` table) as an HTML string."""
    context = validation_context(results, checks, settings)
    page = environment().get_template("validation.html.j2").render(
        **context, kicker="gridsim validation report",
        title="The model against the figures cities published",
        lead="Each check holds a scenario to one published figure. Read a check's kind "
             "before reading its pass as evidence.",
        nav=list(NAV), css=css(), version=__version__,
        folder=metrics or str(metrics_path()),
        now=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return page.rstrip("\n") + "\n"


def validation_report(results: pd.DataFrame, checks: list[Check] | None,
                      path: str | Path, settings: Mapping[str, Any] | None = None,
                      metrics: str | Path | None = None) -> Path:
    """Write the validation report of ``results`` (a :func:`run_checks` table, with the
    ``knockout_*`` columns when knockouts were run) to ``path``, atomically.

    ``checks`` are the checks the table was run from (the bundled table's when ``None``);
    ``settings`` are shown as how the checks were run (seed, replications); ``metrics`` names
    the metrics table in the footer. A file at ``path`` that gridsim did not write is refused
    (:class:`~gridsim.results.outdir.OutputError`).
    """
    checks = load_checks(metrics) if checks is None else checks
    target = check_file(path, "--report", GENERATOR)
    text = render_validation(results, checks, settings, str(metrics or ""))
    check_file(path, "--report", GENERATOR)  # again: it may have appeared meanwhile
    atomic_write_text(target, text)
    return target


__all__ = ["KNOCKOUT_COLUMNS", "NOT_RUN", "render_validation",
           "validation_context", "validation_report"]
