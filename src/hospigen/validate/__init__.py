"""Independent checks of exported files: FHIR, HL7 v2, VistA ZWR and cross-format agreement.

Each checker returns :class:`~hospigen.validate.findings.Finding` records; ``hospigen validate
DIR`` runs every checker that finds its files under ``DIR``.
"""

from hospigen.validate.findings import Finding, Report

__all__ = ["Finding", "Report"]
