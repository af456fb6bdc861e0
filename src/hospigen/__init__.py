"""hospigen: synthetic healthcare data and the pipelines that land it.

The Python API (see docs/api.md) is importable from here; it loads lazily, so ``import
hospigen`` stays cheap::

    import hospigen
    tables = hospigen.generate(100, seed=7, as_of="2025-01-01")
"""

from __future__ import annotations

__version__ = "0.1.0"

_API = ("generate", "write", "daily", "read_daily", "claims", "process_claims", "ingest",
        "export_facilities", "facility_metrics")  # fmt: skip
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from hospigen import api

        return getattr(api, name)
    raise AttributeError(f"module 'hospigen' has no attribute {name!r}")
