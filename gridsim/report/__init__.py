"""A self-contained HTML report of a results folder (a single run or an experiment).

    from gridsim.report import write_report
    write_report("results/compare-policies")     # -> results/compare-policies/report.html

The report is one file with the plots embedded, so it can be opened anywhere or e-mailed.
"""

from .html import ReportError, render_report, write_report

__all__ = ["ReportError", "render_report", "write_report"]
