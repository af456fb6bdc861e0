"""Terminology: shipped code tables, the DuckDB build, and lookups that fail loudly."""

from hospigen.terminology.build import build_database
from hospigen.terminology.lookup import Concept, Terminology, default_terminology, lookup
from hospigen.terminology.systems import SYSTEM_URIS, system_uri

__all__ = [
    "SYSTEM_URIS",
    "Concept",
    "Terminology",
    "build_database",
    "default_terminology",
    "lookup",
    "system_uri",
]
