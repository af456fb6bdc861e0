"""Findings: one record per problem found in an output file, with a machine-readable code."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One problem: where (file, location), what (code, message) and how bad (severity)."""

    checker: str  # fhir-structure | fhir-schema | us-core | hl7 | zwr | gtm | consistency
    file: str
    location: str  # line number, bundle entry, message number, node…
    code: str
    message: str
    severity: str = "error"  # error | warning


@dataclass
class Report:
    """Findings of a validation run plus how much was checked, per checker."""

    findings: list[Finding] = field(default_factory=list)
    checked: Counter = field(default_factory=Counter)

    def add(self, finding: Finding) -> None:
        """Record one finding."""
        self.findings.append(finding)

    def extend(self, other: Report) -> None:
        """Merge another report into this one."""
        self.findings += other.findings
        self.checked.update(other.checked)

    @property
    def errors(self) -> list[Finding]:
        """Findings of severity ``error``."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors
