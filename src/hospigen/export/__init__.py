"""Exporters: one output format per module, registered by name (see :mod:`.registry`)."""

from hospigen.export.registry import ExportContext, Exporter, TableWriter, available, get

__all__ = ["ExportContext", "Exporter", "TableWriter", "available", "get"]
