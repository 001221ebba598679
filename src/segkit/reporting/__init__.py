"""Reports: thin papermill notebooks rendered to self-contained HTML and A4 PDF."""

from segkit.reporting.blocks import Block
from segkit.reporting.render import REPORTS, ReportError, RenderResult, render, render_departments

__all__ = ["Block", "REPORTS", "ReportError", "RenderResult", "render", "render_departments"]
