"""HL7 v2.5.1 checks: hl7apy STRICT parse + validate, then a second parser (python-hl7)
reads the same message back and the key fields must agree.
"""

from __future__ import annotations

from pathlib import Path

from hospigen.errors import MissingExtraError
from hospigen.export.hl7v2 import split_messages
from hospigen.validate.findings import Finding, Report


def _parsers():
    try:
        import hl7
        from hl7apy.consts import VALIDATION_LEVEL
        from hl7apy.parser import parse_message
    except ImportError:
        raise MissingExtraError("validate", "HL7 v2 validation") from None
    return parse_message, VALIDATION_LEVEL.STRICT, hl7


def message_errors(message: str) -> list[tuple[str, str]]:
    """``(code, message)`` problems of one HL7 message (empty when it is valid)."""
    parse_message, strict, hl7 = _parsers()
    if "\n" in message:
        return [("lf", "segments must be separated by CR only")]
    try:
        parsed = parse_message(message, validation_level=strict, find_groups=True)
        parsed.validate()
    except Exception as exc:  # hl7apy raises many exception types for invalid messages
        return [("hl7apy-strict", f"{type(exc).__name__}: {str(exc)[:200]}")]
    second = hl7.parse(message)
    out = []
    checks = [("MSH.10", str(second.segment("MSH")[10]), parsed.msh.msh_10.value),
              ("MSH.9", str(second.segment("MSH")[9]), parsed.msh.msh_9.value)]  # fmt: skip
    pid_first = str(second.segment("PID")[3]).split("~")[0]
    checks.append(("PID.3", pid_first, parsed.to_er7().split("\r")[_pid_index(message)]
                   .split("|")[3].split("~")[0]))  # fmt: skip
    for name, a, b in checks:
        if a != b:
            out.append(("parsers-disagree", f"{name}: python-hl7 {a!r} ≠ hl7apy {b!r}"))
    return out


def _pid_index(message: str) -> int:
    return next(i for i, s in enumerate(message.split("\r")) if s.startswith("PID|"))


def check_hl7(path: Path, report: Report, *, sample: int | None = None) -> None:
    """Check the messages of an ``.hl7``/``.mllp`` file (all, or every n-th for a sample)."""
    messages = split_messages(path.read_bytes())
    step = max(1, len(messages) // sample) if sample else 1
    controls: set[str] = set()
    for n, message in enumerate(messages):
        control = message.split("\r", 1)[0].split("|")[9] if message.startswith("MSH|") else ""
        if control in controls:
            report.add(Finding("hl7", str(path), f"message {n + 1}", "duplicate-control-id",
                               f"MSH-10 {control} is used twice"))  # fmt: skip
        controls.add(control)
        if n % step:
            continue
        report.checked["hl7 messages"] += 1
        for code, text in message_errors(message):
            report.add(Finding("hl7", str(path), f"message {n + 1}", code, text))
