"""A self-contained HTML report of a results folder (a single run or an experiment).

    from gridsim.report import write_report
    write_report("results/compare-policies")     # -> results/compare-policies/report.html

The report is one file with the plots embedded, so it can be opened anywhere or e-mailed.
The validation report is a page of the same kind on a table of published checks:

    from gridsim.report import validation_report
    validation_report(gridsim.validation.run_checks(checks, fast=True), checks, "validation.html")
"""

from .html import ReportError, render_report, write_report
from .validation import render_validation, validation_report

__all__ = ["ReportError", "render_report", "render_validation", "validation_report",
           "write_report"]
