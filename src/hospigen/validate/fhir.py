"""FHIR R4 checks: structure (fhir.resources R4B), the official R4 JSON Schema, US Core rules.

The three layers complement each other (see docs/validate.md): the pydantic models catch
cardinality, types and two ``value[x]`` at once; the JSON Schema catches bad required-binding
codes and unknown elements; :mod:`hospigen.validate.us_core` checks the US Core must-haves that
neither knows (race text, vital-sign category/effective/UCUM, BP components, SpO2 codings…).
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import orjson

from hospigen.errors import MissingExtraError
from hospigen.validate import us_core
from hospigen.validate.findings import Finding, Report

SCHEMA_FILE = "fhir.schema.json.gz"


@cache
def _schema_definitions() -> dict:
    data = resources.files("hospigen.validate").joinpath("data", SCHEMA_FILE).read_bytes()
    return json.loads(gzip.decompress(data))["definitions"]


@cache
def _schema_validator(resource_type: str):
    try:
        import jsonschema
    except ImportError:
        raise MissingExtraError("validate", "FHIR JSON Schema validation") from None
    definitions = _schema_definitions()
    if resource_type not in definitions:
        return None
    schema = {"$ref": f"#/definitions/{resource_type}", "definitions": definitions}
    return jsonschema.Draft6Validator(schema)


@cache
def _model_class(resource_type: str):
    try:
        from fhir.resources.R4B import get_fhir_model_class
    except ImportError:
        raise MissingExtraError("validate", "FHIR structural validation") from None
    try:
        return get_fhir_model_class(resource_type)
    except KeyError:
        return None


def structure_errors(resource: dict) -> list[str]:
    """Errors of ``resource`` against the fhir.resources R4B model (empty when valid)."""
    from pydantic import ValidationError

    cls = _model_class(str(resource.get("resourceType")))
    if cls is None:
        return [f"unknown resourceType {resource.get('resourceType')!r}"]
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]]
    return []


def schema_errors(resource: dict) -> list[str]:
    """Errors of ``resource`` against the official FHIR R4 JSON Schema."""
    validator = _schema_validator(str(resource.get("resourceType")))
    if validator is None:
        return [f"resourceType {resource.get('resourceType')!r} is not in the R4 schema"]
    out = []
    for err in validator.iter_errors(resource):
        path = ".".join(map(str, err.absolute_path)) or "(root)"
        out.append(f"{path}: {err.message[:200]}")
        if len(out) >= 5:
            break
    return out


def check_resource(resource: dict, file: str, location: str) -> list[Finding]:
    """Every finding of the three layers for one resource."""
    out = [Finding("fhir-structure", file, location, "structure", m)
           for m in structure_errors(resource)]  # fmt: skip
    out += [Finding("fhir-schema", file, location, "schema", m) for m in schema_errors(resource)]
    out += [Finding("us-core", file, location, code, m) for code, m in us_core.check(resource)]
    return out


def _lines(path: Path, sample: int | None) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for n, line in enumerate(handle, 1):
            if sample is not None and n > sample:
                return
            yield n, line


def check_ndjson(path: Path, report: Report, *, sample: int | None = None,
                 relative_refs: bool = True) -> None:  # fmt: skip
    """Check every line (or the first ``sample``) of an NDJSON file of resources."""
    raw = path.read_bytes()
    if b"\r" in raw:
        report.add(Finding("fhir-ndjson", str(path), "-", "crlf", "NDJSON must use LF endings"))
    for n, line in _lines(path, sample):
        loc = f"line {n}"
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            report.add(Finding("fhir-ndjson", str(path), loc, "json", str(exc)))
            continue
        report.checked["fhir resources"] += 1
        for f in check_resource(resource, str(path), loc):
            report.add(f)
        if relative_refs:
            for ref in us_core.references(resource):
                if ref.startswith("urn:uuid:"):
                    report.add(Finding("fhir-ndjson", str(path), loc, "urn-reference",
                                       f"bundle-local reference {ref} in NDJSON"))  # fmt: skip


def check_bundle(path: Path, report: Report, sample: int | None = None) -> None:
    """Check a Bundle file: entries, fullUrls, requests, local references, every resource.

    With ``sample``, at most that many resources of each type get the (costly) per-resource
    checks; the bundle-level checks still cover every entry.
    """
    try:
        bundle = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        report.add(Finding("fhir-bundle", str(path), "-", "json", str(exc)))
        return
    report.checked["fhir bundles"] += 1
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in (
        "transaction", "batch", "collection", "searchset", "document", "message", "history",
    ):  # fmt: skip
        report.add(Finding("fhir-bundle", str(path), "-", "bundle", "not a Bundle of known type"))
        return
    full_urls = {e.get("fullUrl") for e in bundle.get("entry", [])}
    per_type: Counter[str] = Counter()
    for n, e in enumerate(bundle.get("entry", [])):
        loc = f"entry {n}"
        resource = e.get("resource") or {}
        per_type[resource.get("resourceType", "")] += 1
        if sample is None or per_type[resource.get("resourceType", "")] <= sample:
            report.checked["fhir resources"] += 1
            for f in check_resource(resource, str(path), loc):
                report.add(f)
        if bundle["type"] in ("transaction", "batch") and not (e.get("request") or {}).get("url"):
            report.add(Finding("fhir-bundle", str(path), loc, "request", "entry without request"))
        full = e.get("fullUrl", "")
        if full.startswith("urn:uuid:") and full[9:] != resource.get("id", full[9:]):
            report.add(Finding("fhir-bundle", str(path), loc, "fullurl", "fullUrl ≠ id"))
        for ref in us_core.references(resource):
            if ref.startswith("urn:uuid:") and ref not in full_urls:
                report.add(Finding("fhir-bundle", str(path), loc, "dangling-reference",
                                   f"{ref} is not a fullUrl of this bundle"))  # fmt: skip
