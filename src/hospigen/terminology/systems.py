"""Code systems: short names used in hospigen and their canonical FHIR system URIs."""

from __future__ import annotations

SYSTEM_URIS: dict[str, str] = {
    "loinc": "http://loinc.org",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "cvx": "http://hl7.org/fhir/sid/cvx",
    "hcpcs": "urn:oid:2.16.840.1.113883.6.285",
    "snomed": "http://snomed.info/sct",
    "cdcrec": "urn:oid:2.16.840.1.113883.6.238",
    "ucum": "http://unitsofmeasure.org",
}
# CPT codes live in the hcpcs table (kind=cpt) but have their own system URI
CPT_URI = "http://www.ama-assn.org/go/cpt"
HL7_V2_NAMES = {"loinc": "LN", "icd10cm": "I10", "rxnorm": "RXNORM", "cvx": "CVX",
                "hcpcs": "HCPCS", "snomed": "SCT", "cdcrec": "CDCREC", "ucum": "UCUM"}  # fmt: skip


def system_uri(system: str) -> str:
    """The FHIR system URI for a short system name (``loinc`` → ``http://loinc.org``)."""
    try:
        return SYSTEM_URIS[system]
    except KeyError:
        raise KeyError(f"unknown code system {system!r}; known: {', '.join(SYSTEM_URIS)}") from None
