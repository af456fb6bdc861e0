"""The HTML report: one self-contained file of plots over a hospigen warehouse."""

from hospigen.report.html import render, write_report
from hospigen.report.sections import SECTIONS, Section

__all__ = ["SECTIONS", "Section", "render", "write_report"]
