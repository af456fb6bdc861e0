"""Per-format options: ``context.options`` holds ``"<format>.<name>": value`` pairs.

They come from ``hospigen generate --format-option fhir.bundle_max_entries=500``; values may be
strings (from the command line) or already typed (from the Python API).
"""

from __future__ import annotations

from hospigen.errors import UsageError
from hospigen.export.registry import ExportContext

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def int_option(context: ExportContext, fmt: str, name: str, default: int) -> int:
    """An integer option of format ``fmt``."""
    value = context.options.get(f"{fmt}.{name}", default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"option {fmt}.{name} must be an integer, got {value!r}") from None


def bool_option(context: ExportContext, fmt: str, name: str, default: bool) -> bool:
    """A boolean option of format ``fmt`` (true/false, yes/no, 1/0)."""
    value = context.options.get(f"{fmt}.{name}", default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise UsageError(f"option {fmt}.{name} must be true or false, got {value!r}")


def str_option(context: ExportContext, fmt: str, name: str, default: str) -> str:
    """A text option of format ``fmt``."""
    return str(context.options.get(f"{fmt}.{name}", default))
