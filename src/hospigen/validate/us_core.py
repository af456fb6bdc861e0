"""US Core 6.1.0 must-have rules in plain Python (what the R4 models and schema do not check).

:func:`check` returns ``(code, message)`` pairs for one resource. The rules are written from
the US Core profiles, not from our exporter: the real Synthea export passes them too (tested).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
CDC = "urn:oid:2.16.840.1.113883.6.238"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
OMB_RACE = {"1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "UNK", "ASKU"}
OMB_ETHNICITY = {"2135-2", "2186-5", "UNK", "ASKU"}
BP_PANEL, SYSTOLIC, DIASTOLIC = "85354-9", "8480-6", "8462-4"
SPO2 = ("59408-5", "2708-6")
VITAL_UNITS = {  # LOINC → allowed UCUM codes (US Core vital-sign profiles)
    "8867-4": {"/min"}, "9279-1": {"/min"}, "8310-5": {"Cel", "[degF]"},
    "59408-5": {"%"}, "2708-6": {"%"}, "29463-7": {"kg", "g", "[lb_av]"},
    "8302-2": {"cm", "[in_i]"}, "39156-5": {"kg/m2"}, "9843-4": {"cm", "[in_i]"},
}  # fmt: skip
REFERENCE = re.compile(r"^(urn:uuid:[0-9a-f-]{36}|[A-Z][A-Za-z]+/[A-Za-z0-9.\-]{1,64}"
                       r"|[A-Z][A-Za-z]+\?.+|https?://.+|#.*)$")  # fmt: skip
Issues = Iterator[tuple[str, str]]


def _codes(concept: dict | None, system: str | None = None) -> set[str]:
    return {c.get("code") for c in (concept or {}).get("coding", [])
            if system is None or c.get("system") == system}  # fmt: skip


def _categories(resource: dict) -> set[str]:
    return {c for cat in resource.get("category", []) for c in _codes(cat)}


def _has_choice(resource: dict, prefix: str) -> bool:
    return any(k.startswith(prefix) for k in resource)


def _extension(resource: dict, url: str) -> dict | None:
    return next((e for e in resource.get("extension", []) if e.get("url") == url), None)


def _patient(r: dict) -> Issues:
    ids = r.get("identifier") or []
    if not ids:
        yield "patient-identifier", "Patient.identifier is required (1..*)"
    for ident in ids:
        if not ident.get("system") or not ident.get("value"):
            yield "patient-identifier", "every Patient.identifier needs system and value"
    names = r.get("name") or []
    if not names or not any(n.get("family") or n.get("given") for n in names):
        yield "us-core-6", "Patient.name needs a family or given name"
    if r.get("gender") not in ("male", "female", "other", "unknown"):
        yield "patient-gender", "Patient.gender is required (male|female|other|unknown)"
    for kind, allowed in (("race", OMB_RACE), ("ethnicity", OMB_ETHNICITY)):
        ext = _extension(r, US_CORE + f"us-core-{kind}")
        if ext is None:
            continue
        subs = ext.get("extension", [])
        if not any(s.get("url") == "text" and s.get("valueString") for s in subs):
            yield f"{kind}-text", f"us-core-{kind} needs its text sub-extension (1..1)"
        for s in subs:
            if s.get("url") == "ombCategory":
                coding = s.get("valueCoding") or {}
                if coding.get("system") != CDC or coding.get("code") not in allowed:
                    yield f"{kind}-omb", f"{kind} ombCategory {coding.get('code')!r} not OMB"
    sex = _extension(r, US_CORE + "us-core-birthsex")
    if sex is not None and sex.get("valueCode") not in ("F", "M", "UNK", "OTH", "ASKU"):
        yield "birthsex", f"us-core-birthsex {sex.get('valueCode')!r} is not F|M|UNK"
    for ident in ids:
        if "MR" in _codes(ident.get("type")) and not ident.get("system"):
            yield "mrn-system", "the MR identifier needs a system"


def _quantity_issues(q: dict, loinc: str, where: str) -> Issues:
    if q.get("system") != UCUM or not q.get("code"):
        yield "vs-ucum", f"{where} must be a UCUM quantity (system {UCUM}, code)"
    elif loinc in VITAL_UNITS and q["code"] not in VITAL_UNITS[loinc]:
        yield "vs-unit", f"{where} unit {q['code']!r} is not allowed for LOINC {loinc}"


def _vital(r: dict) -> Issues:
    codes = _codes(r.get("code"), LOINC)
    if not _has_choice(r, "effective"):
        yield "vs-effective", "vital signs need effective[x]"
    if not r.get("subject"):
        yield "vs-subject", "vital signs need a subject"
    if BP_PANEL in codes:
        parts = {c for comp in r.get("component", []) for c in _codes(comp.get("code"), LOINC)}
        if not {SYSTOLIC, DIASTOLIC} <= parts:
            yield "bp-components", "blood pressure needs systolic 8480-6 and diastolic 8462-4"
        if _has_choice(r, "value"):
            yield "bp-value", "blood pressure carries its values in components only"
        for comp in r.get("component", []):
            if "valueQuantity" in comp:
                yield from _quantity_issues(comp["valueQuantity"], "8480-6", "BP component")
            elif "dataAbsentReason" not in comp:
                yield "vs-2", "a BP component needs a value or a dataAbsentReason"
        return
    if codes & set(SPO2) and not set(SPO2) <= codes:
        yield "spo2-codings", "pulse oximetry needs both 59408-5 and 2708-6 codings"
    if "valueQuantity" in r:
        loinc = next(iter(codes & set(VITAL_UNITS)), "")
        yield from _quantity_issues(r["valueQuantity"], loinc, "value")
    elif not r.get("dataAbsentReason") and not r.get("component") and not r.get("hasMember"):
        yield "vs-2", "a vital sign needs a value, components or a dataAbsentReason"


def _observation(r: dict) -> Issues:
    cats = _categories(r)
    if not cats:
        yield "obs-category", "Observation.category is required by US Core"
    if "vital-signs" in cats:
        yield from _vital(r)
    if "laboratory" in cats:
        if not r.get("subject"):
            yield "lab-subject", "lab results need a subject"
        if not _has_choice(r, "effective"):
            yield "lab-effective", "lab results need effective[x]"
        q = r.get("valueQuantity")
        if q and q.get("system") not in (None, UCUM):
            yield "lab-ucum", "lab quantities use UCUM"


def _required(*fields: str) -> Callable[[dict], Issues]:
    def rule(r: dict) -> Issues:
        for f in fields:
            if not (_has_choice(r, f[:-3]) if f.endswith("[x]") else r.get(f)):
                yield "required", f"{r['resourceType']}.{f} is required by US Core"

    return rule


def _condition(r: dict) -> Issues:
    yield from _required("category", "code", "subject")(r)
    clinical = _codes(r.get("clinicalStatus"))
    if _has_choice(r, "abatement") and clinical - {"inactive", "resolved", "remission"}:
        yield "con-4", "an abated Condition must be inactive, resolved or in remission"


def _diagnostic_report(r: dict) -> Issues:
    yield from _required("status", "category", "code", "subject")(r)
    if "LAB" in _categories(r):
        yield from _required("effective[x]", "issued")(r)


def _document(r: dict) -> Issues:
    yield from _required("status", "type", "category", "subject", "content")(r)
    for content in r.get("content", []):
        att = content.get("attachment") or {}
        if not (att.get("data") or att.get("url")) or not att.get("contentType"):
            yield "docref-attachment", "attachment needs contentType and data or url"


RULES: dict[str, Callable[[dict], Issues]] = {
    "Patient": _patient,
    "Observation": _observation,
    "Encounter": _required("status", "class", "type", "subject"),
    "Condition": _condition,
    "MedicationRequest": _required("status", "intent", "medication[x]", "subject",
                                   "authoredOn", "requester"),
    "Procedure": _required("status", "code", "subject", "performed[x]"),
    "Immunization": _required("status", "vaccineCode", "patient", "occurrence[x]"),
    "AllergyIntolerance": _required("code", "patient"),
    "CarePlan": _required("text", "status", "intent", "category", "subject"),
    "DiagnosticReport": _diagnostic_report,
    "DocumentReference": _document,
}  # fmt: skip


def references(node: object) -> Iterator[str]:
    """Every ``reference`` string anywhere inside a resource (or any JSON node)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def check(resource: dict) -> list[tuple[str, str]]:
    """US Core issues of one resource as ``(code, message)`` pairs (empty when none)."""
    out: list[tuple[str, str]] = []
    if not resource.get("id"):
        out.append(("id", "resource without id"))
    rule = RULES.get(str(resource.get("resourceType")))
    if rule is not None:
        out.extend(rule(resource))
    out.extend(("reference", f"malformed reference {ref!r}")
               for ref in references(resource) if not REFERENCE.match(ref))  # fmt: skip
    return out
