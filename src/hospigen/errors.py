"""Error types shared by every part of hospigen.

The CLI prints a :class:`HospigenError` as one clear line (no traceback) and exits with its
``exit_code``; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class HospigenError(Exception):
    """Base of every error a user can cause and fix."""

    exit_code = 1


class UsageError(HospigenError):
    """Bad arguments or configuration."""

    exit_code = 2


class UnknownCodeError(HospigenError, KeyError):
    """A code that is not in the terminology tables."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown code"


class MissingExtraError(HospigenError):
    """An optional dependency (extra) is needed for this feature."""

    exit_code = 3

    def __init__(self, extra: str, feature: str) -> None:
        super().__init__(f"{feature} needs the '{extra}' extra: pip install 'hospigen[{extra}]'")
        self.extra = extra
