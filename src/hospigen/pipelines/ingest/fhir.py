"""FHIR resource checks and patient-compartment resolution used by landing and wrapping.

A resource belongs to a patient when it *is* that Patient, or references one through the usual
compartment fields (``subject``, ``patient``, ``beneficiary``…) as ``Patient/<id>``,
``urn:uuid:<id>`` or a conditional ``Patient?identifier=system|value``. Inside a container that
holds exactly one Patient (a Synthea transaction bundle, a per-patient NDJSON file), resources
that reference no patient go with it. Everything else is *shared* (Organization, Practitioner…).
"""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgspec
import orjson

#: FHIR R4 ``id`` datatype
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
#: resource fields that place a resource in a patient's compartment, most specific first
PATIENT_FIELDS = ("subject", "patient", "beneficiary", "for")
#: resource types that are shared reference data even when they sit in a patient's bundle
SHARED_TYPES = frozenset(
    {
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "HealthcareService",
        "Endpoint",
        "Medication",
        "Substance",
    }
)


@dataclass(frozen=True)
class BadLine:
    """A line that cannot be ingested: where it was, its raw text, a code and a reason."""

    object: str
    line_number: int
    code: str
    reason: str
    raw: str


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while parsing many resources.

    Parsed resources are trees (no reference cycles), but every few hundred new dicts the
    collector runs, and its full passes walk every resource still held: with tens of thousands
    held that tripled the CPU time of landing. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Head(msgspec.Struct):
    """The top-level fields of a FHIR resource that ingest reads.

    Decoding a line into this checks all of it as JSON but builds objects only for these
    fields: a whole resource parsed into dicts, then freed, was most of landing's time.
    Every field is ``Any`` (absent → ``None``), so that :func:`check` judges the values and
    gives its own reasons.
    """

    resourceType: Any = None
    id: Any = None
    meta: Any = None
    gender: Any = None
    identifier: Any = None
    subject: Any = None
    patient: Any = None
    beneficiary: Any = None
    for_: Any = msgspec.field(default=None, name="for")

    def reference(self, name: str) -> Any:
        """The value of patient-compartment field ``name`` (one of :data:`PATIENT_FIELDS`)."""
        return self.for_ if name == "for" else getattr(self, name)


_HEAD = msgspec.json.Decoder(Head)


def parse(line: bytes) -> tuple[Head | None, tuple[str, str] | None]:
    """The :class:`Head` of the resource on one NDJSON line, or ``(None, (code, reason))``."""
    try:
        head = _HEAD.decode(line)
    except msgspec.ValidationError:  # valid JSON, but not an object
        kind = type(orjson.loads(line)).__name__
        return None, ("not_an_object", f"a FHIR resource is a JSON object, got {kind}")
    except msgspec.DecodeError as exc:
        return None, ("malformed_json", f"not valid JSON: {exc}")
    if not line.isascii():  # the parts skipped above are not checked for UTF-8
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, ("malformed_json", f"not valid JSON: not UTF-8 at byte {exc.start}")
    problem = check(head)
    return (None, problem) if problem else (head, None)


def check(resource: Head) -> tuple[str, str] | None:
    """``(code, reason)`` if ``resource`` cannot be ingested, else ``None``."""
    rtype = resource.resourceType
    if not isinstance(rtype, str) or not rtype:
        return "missing_resource_type", "resource has no resourceType"
    rid = resource.id
    if rid is None or rid == "":
        return "missing_id", f"{rtype} has no id"
    if not isinstance(rid, str) or not FHIR_ID.match(rid):
        return "invalid_id", f"{rtype}.id {rid!r} is not a FHIR id ([A-Za-z0-9-.]{{1,64}})"
    if rtype == "Patient" and not resource.gender:
        return "patient_missing_gender", f"Patient/{rid} has no gender"
    return None


def generated_text(meta: object) -> str | None:
    """The generation time recorded in a resource's ``meta``: ``lastUpdated``, else the seed's
    non-standard ``generated``."""
    if not isinstance(meta, dict):
        return None
    value = meta.get("lastUpdated") or meta.get("generated")
    return value if isinstance(value, str) else None


def parse_instant(text: str | None) -> dt.datetime | None:
    """An ISO 8601 instant as aware UTC datetime (``None`` if absent or unreadable)."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def format_instant(value: dt.datetime) -> str:
    """A FHIR ``instant``: UTC with a ``Z`` and milliseconds."""
    return (
        value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}Z"
    )


class PatientIndex:
    """Known patients (ids and identifiers) to resolve references against."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.by_identifier: dict[str, str] = {}

    def add(self, patient: Head) -> None:
        """Remember ``patient`` (a Patient resource)."""
        pid = patient.id
        self.ids.add(pid)
        for ident in patient.identifier or ():
            if isinstance(ident, dict) and ident.get("value"):
                self.by_identifier[f"{ident.get('system', '')}|{ident['value']}"] = pid
                self.by_identifier.setdefault(f"|{ident['value']}", pid)

    def resolve(self, reference: str) -> str | None:
        """The patient id ``reference`` points at, if it points at a known patient."""
        if reference.startswith("Patient/"):
            return reference[8:].split("/", 1)[0]
        if reference.startswith("urn:uuid:"):
            rid = reference[9:]
            return rid if rid in self.ids else None
        if reference.startswith("Patient?identifier="):
            token = reference[19:]
            return self.by_identifier.get(token if "|" in token else f"|{token}")
        return None


def patient_of(resource: Head, index: PatientIndex, default: str | None) -> str | None:
    """The patient ``resource`` belongs to, or ``None`` for shared resources."""
    rtype = resource.resourceType
    if rtype == "Patient":
        return resource.id
    if rtype in SHARED_TYPES:
        return None
    for name in PATIENT_FIELDS:
        ref = resource.reference(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            pid = index.resolve(ref["reference"])
            if pid:
                return pid
    return default
