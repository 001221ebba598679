"""Reports: thin papermill notebooks rendered to self-contained HTML and A4 PDF.

``render`` executes a report notebook and publishes it; the notebooks build a
``report_context`` (a :class:`QuarterRun`, the run's numbers computed once, and a language)
from their parameters and call the section functions of :mod:`segkit.reporting.quarterly` and
:mod:`segkit.reporting.churn_report`, whose results :mod:`segkit.reporting.display` shows.
"""

from segkit.reporting.blocks import Block
from segkit.reporting.context import ReportContext, report_context
from segkit.reporting.run import QuarterRun
from segkit.reporting.render import REPORTS, RenderResult, ReportError, render, render_departments

__all__ = ["Block", "QuarterRun", "REPORTS", "ReportContext", "ReportError", "RenderResult", "render", "render_departments", "report_context"]
