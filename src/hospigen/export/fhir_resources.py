"""FHIR R4 (US Core 6.1.0) resources built from canonical rows, as plain dicts for orjson.

:class:`ResourceBuilder` renders one patient of a :class:`~hospigen.export.shardview.ShardView`
into a list of resources; :func:`shared_resources` builds the facilities, providers and payers
(the reference of the column renderers, which write most resources).
References are either bundle-local (``urn:uuid:<id>``) or relative (``Patient/<id>``); shared
resources (Organization, Location, Practitioner) are always referenced as ``Type/<id>`` because
they live in their own bundle or file. No pydantic: the validators check the output separately.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import uuid
from collections.abc import Callable, Iterator
from functools import cache

import pyarrow as pa

from hospigen.errors import UnknownCodeError
from hospigen.export.labpanels import effective_panel
from hospigen.export.shardview import Columns, ShardView
from hospigen.export.timetext import iso_date, iso_seconds
from hospigen.terminology.lookup import default_terminology
from hospigen.terminology.systems import CPT_URI, SYSTEM_URIS

# Identifier systems hospigen owns (one per entity kind).
HOSPIGEN_SID = "https://hospigen.org/fhir/sid"
MRN_SYSTEM = f"{HOSPIGEN_SID}/mrn"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
TAXONOMY_SYSTEM = "http://nucc.org/provider-taxonomy"
UCUM = SYSTEM_URIS["ucum"]
LOINC = SYSTEM_URIS["loinc"]
# Namespace of the ids of resources that have no canonical row of their own (Coverage,
# DiagnosticReport, blood-pressure panels): uuid5 of the rows they are made of.
DERIVED_NS = uuid.UUID("6f1d4a52-3c1e-5b8e-9a0f-2b7c9d1e4a60")

BP_PANEL = "85354-9"
SPO2_CODES = ("59408-5", "2708-6")
VITAL_PROFILES = {
    "8867-4": "us-core-heart-rate", "9279-1": "us-core-respiratory-rate",
    "8310-5": "us-core-body-temperature", "59408-5": "us-core-pulse-oximetry",
    "2708-6": "us-core-pulse-oximetry", BP_PANEL: "us-core-blood-pressure",
    "29463-7": "us-core-body-weight", "8302-2": "us-core-body-height", "39156-5": "us-core-bmi",
    "9843-4": "us-core-head-circumference",
}  # fmt: skip
CATEGORY_PROFILES = {
    "laboratory": "us-core-observation-lab",
    "survey": "us-core-observation-screening-assessment",
    "social-history": "us-core-simple-observation",
    "vital-signs": "us-core-vital-signs",
}
ENCOUNTER_CLASS = {
    "wellness": ("AMB", "ambulatory"), "ambulatory": ("AMB", "ambulatory"),
    "outpatient": ("AMB", "ambulatory"), "urgentcare": ("AMB", "ambulatory"),
    "inpatient": ("IMP", "inpatient encounter"), "emergency": ("EMER", "emergency"),
    "home": ("HH", "home health"), "hospice": ("HH", "home health"),
    "snf": ("IMP", "inpatient encounter"), "virtual": ("VR", "virtual"),
}  # fmt: skip
OMB_RACE = {"1002-5", "2028-9", "2054-5", "2076-8", "2106-3"}
MARITAL = {"S": "Never Married", "M": "Married", "D": "Divorced", "W": "Widowed",
           "A": "Annulled", "L": "Legally Separated", "U": "unmarried"}  # fmt: skip
# Clinical-note LOINC document types (US Core DocumentReference type) by canonical note_type.
NOTE_TYPES = {
    "discharge": ("18842-5", "Discharge summary"),
    "progress": ("11506-3", "Progress note"),
    "consult": ("11488-4", "Consult note"),
    "history_physical": ("34117-2", "History and physical note"),
    "procedure": ("28570-0", "Procedure note"),
    "triage": ("54094-8", "Emergency department Triage note"),
    "assessment_plan": ("51847-2", "Evaluation + Plan note"),
}
DEFAULT_NOTE_TYPE = ("11506-3", "Progress note")
CLAIM_TYPE = {"21": "institutional", "23": "institutional", "22": "institutional"}
CRITICALITY = {"low", "high", "unable-to-assess"}
ALLERGY_CATEGORY = {"food", "medication", "environment", "biologic"}


def derived_id(*parts: str) -> str:
    """A deterministic UUID for a resource made from canonical rows (uuid5 of their ids)."""
    return str(uuid.uuid5(DERIVED_NS, "|".join(parts)))


@cache
def _display(system: str, code: str) -> str:
    try:
        return default_terminology().lookup(system, code).display
    except (UnknownCodeError, KeyError):
        return ""


def coding(system: str, code: str, display: str | None = None) -> dict:
    """A Coding for a canonical (short system, code); CPT codes never carry a display."""
    if system in ("hcpcs", "cpt") and code[:1].isdigit():
        return {"system": CPT_URI, "code": code}
    uri = SYSTEM_URIS.get(system, system)
    out = {"system": uri, "code": code}
    shown = display or _display(system, code)
    if shown:
        out["display"] = shown
    return out


def concept(system: str, code: str, display: str | None = None) -> dict:
    """A CodeableConcept with one coding and its text."""
    c = coding(system, code, display)
    return {"coding": [c], "text": c["display"]} if "display" in c else {"coding": [c]}


def _simple(system_uri: str, code: str, display: str | None = None) -> dict:
    c = {"system": system_uri, "code": code}
    if display:
        c["display"] = display
    return {"coding": [c]}


def _quantity(value: float, unit: str | None) -> dict:
    q: dict = {"value": value}
    if unit:
        q.update(unit=unit, system=UCUM, code=unit)
    return q


def _ref_local(kind: str, ident: str) -> dict:
    return {"reference": f"urn:uuid:{ident}"}


def _ref_relative(kind: str, ident: str) -> dict:
    return {"reference": f"{kind}/{ident}"}


def shared_ref(kind: str, ident: str | None) -> dict | None:
    """A reference to a shared resource (Organization, Location, Practitioner)."""
    return {"reference": f"{kind}/{ident}"} if ident else None


class ResourceBuilder:
    """Builds the FHIR resources of one patient at a time from a :class:`ShardView`."""

    def __init__(
        self, view: ShardView, last_updated: str, *, local_refs: bool, times: bool = True
    ) -> None:
        self.view = view
        self.meta_time = last_updated
        self.ref: Callable[[str, str], dict] = _ref_local if local_refs else _ref_relative
        self._providers: dict[str, str] | None = None
        if times:  # the column renderer asks only for the tables it renders through dicts
            self.add_patient_times()
            for cols in view.children.values():
                self.add_times(cols)

    @property
    def _encounter_provider(self) -> dict[str, str]:
        if self._providers is None:
            enc = self.view.child("encounters")
            self._providers = (
                dict(zip(enc["encounter_id"], enc["provider_id"], strict=True)) if enc else {}
            )
        return self._providers

    def add_patient_times(self) -> None:
        """Attach ``_birth`` / ``_death`` ISO dates to the patients."""
        p = self.view.patients
        p.add("_birth", iso_date(p.table["birth_date"]))
        p.add("_death", iso_date(p.table["death_date"]))

    @staticmethod
    def add_times(cols: Columns) -> None:
        """Attach ``_<column>`` ISO strings for every time column of ``cols``."""
        for field in cols.table.schema:
            if pa.types.is_timestamp(field.type):
                cols.add("_" + field.name, iso_seconds(cols.table[field.name]))
            elif pa.types.is_date(field.type):
                cols.add("_" + field.name, iso_date(cols.table[field.name]))

    def meta(self, profile: str | None) -> dict:
        """``meta`` with lastUpdated = the run's generation time and an optional profile."""
        m: dict = {"lastUpdated": self.meta_time}
        if profile:
            m["profile"] = [profile if "/" in profile else US_CORE + profile]
        return m

    def patient_resources(self, i: int) -> list[dict]:
        """Every resource of the ``i``-th patient of the shard, Patient first."""
        out = [self.patient(i)]
        pid = self.view.patients["patient_id"][i]
        payer = self.view.patients["payer_id"][i]
        out.append(self.coverage(pid, payer))
        for name, render in self._renderers():
            cols = self.view.child(name)
            if cols is not None:
                out.extend(render(cols, cols.rows(i)))
        return out

    def _renderers(self) -> Iterator[tuple[str, Callable]]:
        yield "encounters", self._each(self.encounter)
        yield "conditions", self._each(self.condition)
        yield "observations", self.observations
        yield "medications", self._each(self.medication_request)
        yield "procedures", self._each(self.procedure)
        yield "immunizations", self._each(self.immunization)
        yield "allergies", self._each(self.allergy)
        yield "careplans", self._each(self.careplan)
        yield "notes", self._each(self.document_reference)
        yield "claims", self.claims

    @staticmethod
    def _each(fn: Callable[[Columns, int], dict]) -> Callable[[Columns, range], list[dict]]:
        return lambda cols, rows: [fn(cols, r) for r in rows]

    # --- Patient -------------------------------------------------------------------------
    def patient(self, i: int) -> dict:
        """US Core Patient with race/ethnicity/birth-sex, MRN, SSN, address and telecom."""
        c = self.view.patients
        pid = c["patient_id"][i]
        race, race_text = c["race_code"][i], c["race_display"][i]
        race_slot = "ombCategory" if race in OMB_RACE else "detailed"
        cdc = SYSTEM_URIS["cdcrec"]
        name: dict = {"use": "official", "family": c["last_name"][i]}
        given = [g for g in (c["first_name"][i], c["middle_name"][i]) if g]
        if given:
            name["given"] = given
        if c["prefix"][i]:
            name["prefix"] = [c["prefix"][i]]
        if c["suffix"][i]:
            name["suffix"] = [c["suffix"][i]]
        names = [name]
        if c["maiden_name"][i]:
            names.append({"use": "maiden", "family": c["maiden_name"][i], "given": given[:1]})
        address = {"use": "home", "line": [c["address"][i]], "city": c["city"][i],
                   "state": c["state"][i], "postalCode": c["zip"][i], "country": "US"}  # fmt: skip
        if c["county"][i]:
            address["district"] = c["county"][i]
        if c["lat"][i] is not None and c["lon"][i] is not None:
            address["extension"] = [{
                "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                "extension": [{"url": "latitude", "valueDecimal": c["lat"][i]},
                              {"url": "longitude", "valueDecimal": c["lon"][i]}],
            }]  # fmt: skip
        res = {
            "resourceType": "Patient",
            "id": pid,
            "meta": self.meta("us-core-patient"),
            "extension": [
                {"url": US_CORE + "us-core-race", "extension": [
                    {"url": race_slot, "valueCoding": {"system": cdc, "code": race,
                                                       "display": race_text}},
                    {"url": "text", "valueString": race_text}]},
                {"url": US_CORE + "us-core-ethnicity", "extension": [
                    {"url": "ombCategory", "valueCoding": {
                        "system": cdc, "code": c["ethnicity_code"][i],
                        "display": c["ethnicity_display"][i]}},
                    {"url": "text", "valueString": c["ethnicity_display"][i]}]},
                {"url": US_CORE + "us-core-birthsex", "valueCode": c["gender"][i]},
            ],
            "identifier": [
                {"system": f"{HOSPIGEN_SID}/patient", "value": pid},
                {"use": "usual", "type": {"coding": [{"system": TERMINOLOGY + "v2-0203",
                                                      "code": "MR",
                                                      "display": "Medical Record Number"}],
                                          "text": "Medical Record Number"},
                 "system": MRN_SYSTEM, "value": c["mrn"][i]},
                {"type": {"coding": [{"system": TERMINOLOGY + "v2-0203", "code": "SS",
                                      "display": "Social Security number"}],
                          "text": "Social Security number"},
                 "system": SSN_SYSTEM, "value": c["ssn"][i]},
            ],
            "name": names,
            "telecom": [{"system": "phone", "value": c["phone"][i], "use": "home"}],
            "gender": {"F": "female", "M": "male"}.get(c["gender"][i], "unknown"),
            "birthDate": c["_birth"][i],
        }  # fmt: skip
        if c["_death"][i]:
            res["deceasedDateTime"] = c["_death"][i]
        res["address"] = [address]
        status = c["marital_status"][i]
        if status in MARITAL:
            res["maritalStatus"] = {
                "coding": [{"system": TERMINOLOGY + "v3-MaritalStatus", "code": status,
                            "display": MARITAL[status]}], "text": MARITAL[status]}  # fmt: skip
        res["communication"] = [{"language": {"coding": [
            {"system": "urn:ietf:bcp:47", "code": c["language"][i]}]}}]  # fmt: skip
        res["managingOrganization"] = shared_ref("Organization", c["home_facility_id"][i])
        return res

    def coverage(self, patient_id: str, payer_id: str) -> dict:
        """The patient's Coverage by their payer (the claims' insurance)."""
        return {
            "resourceType": "Coverage",
            "id": derived_id("coverage", patient_id, payer_id),
            "meta": self.meta(None),
            "status": "active",
            "beneficiary": self.ref("Patient", patient_id),
            "payor": [shared_ref("Organization", payer_id)],
        }

    # --- Encounter and clinical events ----------------------------------------------------
    def encounter(self, c: Columns, r: int) -> dict:
        """US Core Encounter: class, type, period, participant, location, service provider."""
        act, act_display = ENCOUNTER_CLASS.get(c["encounter_class"][r], ("AMB", "ambulatory"))
        res = {
            "resourceType": "Encounter",
            "id": c["encounter_id"][r],
            "meta": self.meta("us-core-encounter"),
            "identifier": [{"system": f"{HOSPIGEN_SID}/encounter", "value": c["encounter_id"][r]}],
            "status": "finished" if c["_stop"][r] <= self.meta_time else "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": act,
                      "display": act_display},
            "type": [concept(c["code_system"][r], c["code"][r], c["description"][r])],
            "subject": self.ref("Patient", c["patient_id"][r]),
            "participant": [{"individual": shared_ref("Practitioner", c["provider_id"][r])}],
            "period": {"start": c["_start"][r], "end": c["_stop"][r]},
        }  # fmt: skip
        if c["reason_code"][r]:
            res["reasonCode"] = [
                concept("icd10cm", c["reason_code"][r], c["reason_description"][r])
            ]
        res["location"] = [{"location": shared_ref("Location", c["facility_id"][r])}]
        res["serviceProvider"] = shared_ref("Organization", c["facility_id"][r])
        return res

    def condition(self, c: Columns, r: int) -> dict:
        """US Core encounter-diagnosis Condition (abatement ⇒ resolved, con-3..5)."""
        resolved = c["abatement"][r] is not None
        res = {
            "resourceType": "Condition",
            "id": c["condition_id"][r],
            "meta": self.meta("us-core-condition-encounter-diagnosis"),
            "clinicalStatus": _simple(TERMINOLOGY + "condition-clinical",
                                      "resolved" if resolved else "active"),
            "verificationStatus": _simple(TERMINOLOGY + "condition-ver-status", "confirmed"),
            "category": [_simple(TERMINOLOGY + "condition-category", "encounter-diagnosis",
                                 "Encounter Diagnosis")],
            "code": concept(c["code_system"][r], c["code"][r], c["description"][r]),
            "subject": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "onsetDateTime": c["_onset"][r],
        }  # fmt: skip
        if resolved:
            res["abatementDateTime"] = c["_abatement"][r]
        res["recordedDate"] = c["_onset"][r]
        return res

    def observations(self, c: Columns, rows: range) -> list[dict]:
        """Observations of one patient; BP components merge into one panel, labs get reports."""
        out: list[dict] = []
        panels: dict[tuple, list[int]] = {}
        if "_panel" not in c.lists:
            c.add("_panel", effective_panel(c.table))
        for r in rows:
            panel = c["_panel"][r]
            if panel:
                key = (c["encounter_id"][r], c["_effective"][r], panel)
                panels.setdefault(key, []).append(r)
                if panel == BP_PANEL:
                    continue
            out.append(self.observation(c, r))
        for (_, _, panel), members in panels.items():
            if panel == BP_PANEL:
                out.append(self.blood_pressure(c, members))
            elif c["category"][members[0]] == "laboratory":
                out.append(self.diagnostic_report(c, panel, members))
        return out

    def _observation_base(self, c: Columns, r: int, profile: str, category: str) -> dict:
        return {
            "resourceType": "Observation",
            "id": c["observation_id"][r],
            "meta": self.meta(profile),
            "status": "final",
            "category": [{"coding": [{"system": TERMINOLOGY + "observation-category",
                                      "code": category}]}],
            "code": None,
            "subject": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "effectiveDateTime": c["_effective"][r],
            "issued": c["_effective"][r][:-1] + ".000Z",
        }  # fmt: skip

    def observation(self, c: Columns, r: int) -> dict:
        """One vital sign, lab result or survey score (LOINC + UCUM, ranges, interpretation)."""
        code, category = c["code"][r], c["category"][r]
        profile = (VITAL_PROFILES.get(code, "us-core-vital-signs") if category == "vital-signs"
                   else CATEGORY_PROFILES.get(category))  # fmt: skip
        res = self._observation_base(c, r, profile, category)
        if code in SPO2_CODES:
            both = [coding("loinc", SPO2_CODES[0]), coding("loinc", SPO2_CODES[1])]
            res["code"] = {"coding": both, "text": c["description"][r]}
        else:
            res["code"] = concept("loinc", code, c["description"][r])
        if c["value"][r] is not None:
            res["valueQuantity"] = _quantity(c["value"][r], c["unit"][r])
        elif c["value_text"][r] is not None:
            res["valueString"] = c["value_text"][r]
        else:
            res["dataAbsentReason"] = _simple(TERMINOLOGY + "data-absent-reason", "unknown")
        if c["interpretation"][r]:
            res["interpretation"] = [_simple(TERMINOLOGY + "v3-ObservationInterpretation",
                                             c["interpretation"][r])]  # fmt: skip
        low, high = c["ref_low"][r], c["ref_high"][r]
        if low is not None or high is not None:
            rng: dict = {}
            if low is not None:
                rng["low"] = _quantity(low, c["unit"][r])
            if high is not None:
                rng["high"] = _quantity(high, c["unit"][r])
            res["referenceRange"] = [rng]
        return res

    def blood_pressure(self, c: Columns, members: list[int]) -> dict:
        """US Core blood pressure: panel 85354-9, systolic/diastolic components, no value."""
        first = members[0]
        res = self._observation_base(c, first, VITAL_PROFILES[BP_PANEL], "vital-signs")
        res["identifier"] = [{"system": f"{HOSPIGEN_SID}/observation",
                              "value": c["observation_id"][m]} for m in members]  # fmt: skip
        res["code"] = concept("loinc", BP_PANEL, "Blood pressure panel with all children optional")
        res["component"] = [
            {"code": concept("loinc", c["code"][m], c["description"][m]),
             "valueQuantity": _quantity(c["value"][m], c["unit"][m] or "mm[Hg]")}
            if c["value"][m] is not None else
            {"code": concept("loinc", c["code"][m], c["description"][m]),
             "dataAbsentReason": _simple(TERMINOLOGY + "data-absent-reason", "unknown")}
            for m in members
        ]  # fmt: skip
        return res

    def diagnostic_report(self, c: Columns, panel: str, members: list[int]) -> dict:
        """US Core lab DiagnosticReport for one panel: LAB category, LOINC code, results."""
        first = members[0]
        return {
            "resourceType": "DiagnosticReport",
            "id": derived_id("report", *(c["observation_id"][m] for m in members)),
            "meta": self.meta("us-core-diagnosticreport-lab"),
            "status": "final",
            "category": [_simple(TERMINOLOGY + "v2-0074", "LAB", "Laboratory")],
            "code": concept("loinc", panel),
            "subject": self.ref("Patient", c["patient_id"][first]),
            "encounter": self.ref("Encounter", c["encounter_id"][first]),
            "effectiveDateTime": c["_effective"][first],
            "issued": c["_effective"][first][:-1] + ".000Z",
            "result": [self.ref("Observation", c["observation_id"][m]) for m in members],
        }

    def medication_request(self, c: Columns, r: int) -> dict:
        """US Core MedicationRequest (RxNorm), authoredOn and requester."""
        res = {
            "resourceType": "MedicationRequest",
            "id": c["medication_id"][r],
            "meta": self.meta("us-core-medicationrequest"),
            "status": "active" if c["stop"][r] is None else "completed",
            "intent": "order",
            "medicationCodeableConcept": concept("rxnorm", c["code"][r], c["description"][r]),
            "subject": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "authoredOn": c["_start"][r],
            "requester": shared_ref("Practitioner", c["prescriber_id"][r]
                                    or self._encounter_provider.get(c["encounter_id"][r])),
        }  # fmt: skip
        if res["requester"] is None:
            del res["requester"]
        if c["reason_code"][r]:
            res["reasonCode"] = [concept("icd10cm", c["reason_code"][r])]
        period = {"start": c["_start"][r]}
        if c["stop"][r] is not None:
            period["end"] = c["_stop"][r]
        res["dispenseRequest"] = {"validityPeriod": period}
        return res

    def procedure(self, c: Columns, r: int) -> dict:
        """US Core Procedure (HCPCS / CPT code only / SNOMED CT)."""
        res = {
            "resourceType": "Procedure",
            "id": c["procedure_id"][r],
            "meta": self.meta("us-core-procedure"),
            "status": "completed",
            "code": concept(c["code_system"][r], c["code"][r], c["description"][r]),
            "subject": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "performedDateTime": c["_performed"][r],
        }
        if c["reason_code"][r]:
            res["reasonCode"] = [concept("icd10cm", c["reason_code"][r])]
        return res

    def immunization(self, c: Columns, r: int) -> dict:
        """US Core Immunization (CVX)."""
        return {
            "resourceType": "Immunization",
            "id": c["immunization_id"][r],
            "meta": self.meta("us-core-immunization"),
            "status": "completed",
            "vaccineCode": concept("cvx", c["code"][r], c["description"][r]),
            "patient": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "occurrenceDateTime": c["_date"][r],
            "primarySource": True,
        }

    def allergy(self, c: Columns, r: int) -> dict:
        """US Core AllergyIntolerance."""
        res = {
            "resourceType": "AllergyIntolerance",
            "id": c["allergy_id"][r],
            "meta": self.meta("us-core-allergyintolerance"),
            "clinicalStatus": _simple(TERMINOLOGY + "allergyintolerance-clinical", "active"),
            "verificationStatus": _simple(TERMINOLOGY + "allergyintolerance-verification",
                                          "confirmed"),
            "type": "allergy",
        }  # fmt: skip
        if c["category"][r] in ALLERGY_CATEGORY:
            res["category"] = [c["category"][r]]
        if c["criticality"][r] in CRITICALITY:
            res["criticality"] = c["criticality"][r]
        res.update(
            code=concept(c["code_system"][r], c["code"][r], c["description"][r]),
            patient=self.ref("Patient", c["patient_id"][r]),
            encounter=self.ref("Encounter", c["encounter_id"][r]),
            onsetDateTime=c["_onset"][r],
            recordedDate=c["_onset"][r],
        )
        return res

    def careplan(self, c: Columns, r: int) -> dict:
        """US Core CarePlan (assess-plan category, generated narrative, activities)."""
        desc = c["description"][r]
        active = c["stop"][r] is None
        period = {"start": c["_start"][r]}
        if not active:
            period["end"] = c["_stop"][r]
        res = {
            "resourceType": "CarePlan",
            "id": c["careplan_id"][r],
            "meta": self.meta("us-core-careplan"),
            "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                     f"Care plan: {html.escape(desc)}</div>"},
            "status": "active" if active else "completed",
            "intent": "plan",
            "category": [
                _simple("http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "assess-plan"),
                concept(c["code_system"][r], c["code"][r], desc),
            ],
            "subject": self.ref("Patient", c["patient_id"][r]),
            "encounter": self.ref("Encounter", c["encounter_id"][r]),
            "period": period,
        }  # fmt: skip
        acts = c["activities"][r] or []
        if acts:
            status = "in-progress" if active else "completed"
            res["activity"] = [{"detail": {"code": {"text": a}, "status": status}} for a in acts]
        return res

    def document_reference(self, c: Columns, r: int) -> dict:
        """US Core clinical-note DocumentReference with the note text base64-encoded."""
        code, display = NOTE_TYPES.get(c["note_type"][r], DEFAULT_NOTE_TYPE)
        author = shared_ref("Practitioner", self._encounter_provider.get(c["encounter_id"][r]))
        res = {
            "resourceType": "DocumentReference",
            "id": c["note_id"][r],
            "meta": self.meta("us-core-documentreference"),
            "status": "current",
            "type": {"coding": [{"system": LOINC, "code": code, "display": display}],
                     "text": display},
            "category": [_simple("http://hl7.org/fhir/us/core/CodeSystem/"
                                 "us-core-documentreference-category", "clinical-note",
                                 "Clinical Note")],
            "subject": self.ref("Patient", c["patient_id"][r]),
            "date": c["_note_time"][r][:-1] + ".000Z",
        }  # fmt: skip
        if author:
            res["author"] = [author]
        res["content"] = [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(c["text"][r].encode()).decode("ascii")},
            "format": {"system": "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode",
                       "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"}}]  # fmt: skip
        res["context"] = {"encounter": [self.ref("Encounter", c["encounter_id"][r])],
                          "period": {"start": c["_note_time"][r]}}  # fmt: skip
        return res

    # --- Claims ----------------------------------------------------------------------------
    def claims(self, c: Columns, rows: range) -> list[dict]:
        """A Claim and its CARIN-style ExplanationOfBenefit per canonical claim row."""
        out = []
        for r in rows:
            out.append(self.claim(c, r))
            out.append(self.explanation_of_benefit(c, r))
        return out

    def _claim_common(self, c: Columns, r: int, kind: str) -> dict:
        ctype = CLAIM_TYPE.get(c["place_of_service"][r], "professional")
        coverage = derived_id("coverage", c["patient_id"][r], c["payer_id"][r])
        return {
            "resourceType": kind,
            "id": c["claim_id"][r],
            "meta": self.meta(None),
            "identifier": [{"type": _simple("http://hl7.org/fhir/us/carin-bb/CodeSystem/"
                                            "C4BBIdentifierType", "uc", "Unique Claim ID"),
                            "system": f"{HOSPIGEN_SID}/claim", "value": c["claim_id"][r]}],
            "status": "active",
            "type": _simple(TERMINOLOGY + "claim-type", ctype),
            "use": "claim",
            "patient": self.ref("Patient", c["patient_id"][r]),
            "billablePeriod": {"start": c["_service_date"][r], "end": c["_service_date"][r]},
            "created": c["_submission_date"][r],
            "provider": shared_ref("Organization", c["facility_id"][r]),
            "insurance": [{"sequence": 1, "focal": True,
                           "coverage": self.ref("Coverage", coverage)}],
            "diagnosis": [{"sequence": n, "diagnosisCodeableConcept": concept("icd10cm", code)}
                          for n, code in enumerate(dict.fromkeys(c["diagnosis_codes"][r]), 1)],
        }  # fmt: skip

    def _items(self, c: Columns, r: int) -> list[dict]:
        codes = c["procedure_codes"][r] or []
        return [{"sequence": n, "productOrService": concept("hcpcs", code),
                 "servicedDate": c["_service_date"][r],
                 "locationCodeableConcept": _simple(
                     "https://www.cms.gov/Medicare/Coding/place-of-service-codes/"
                     "Place_of_Service_Code_Set", c["place_of_service"][r])}
                for n, code in enumerate(codes, 1)]  # fmt: skip

    def claim(self, c: Columns, r: int) -> dict:
        """The claim as submitted."""
        res = self._claim_common(c, r, "Claim")
        res["priority"] = _simple(TERMINOLOGY + "processpriority", "normal")
        res["insurer"] = shared_ref("Organization", c["payer_id"][r])
        res["item"] = self._items(c, r)
        res["total"] = {"value": c["claim_amount"][r], "currency": "USD"}
        return res

    def explanation_of_benefit(self, c: Columns, r: int) -> dict:
        """CARIN Blue Button-style EOB: unique claim id, focal insurance, submitted total."""
        res = self._claim_common(c, r, "ExplanationOfBenefit")
        status = c["claim_status"][r]
        res["insurer"] = shared_ref("Organization", c["payer_id"][r])
        res["insurance"] = [{"focal": True, "coverage": res["insurance"][0]["coverage"]}]
        res["claim"] = self.ref("Claim", c["claim_id"][r])
        res["outcome"] = "complete" if status in ("PAID", "DENIED") else "queued"
        res["supportingInfo"] = [{"sequence": 1, "category": _simple(
            "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType", "clmrecvddate"),
            "timingDate": c["_submission_date"][r]}]  # fmt: skip
        res["item"] = self._items(c, r)
        res["total"] = [{"category": _simple(TERMINOLOGY + "adjudication", "submitted"),
                         "amount": {"value": c["claim_amount"][r], "currency": "USD"}}]  # fmt: skip
        return res


def instant(value: dt.datetime) -> str:
    """A FHIR instant (``YYYY-MM-DDTHH:MM:SSZ``, UTC) for the run's generation time."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_patients(
    tables: dict[str, pa.Table], last_updated: str, *, local_refs: bool
) -> Iterator[tuple[int, str, list[dict]]]:
    """(patient_key, patient_id, resources) for every patient of a shard, in key order."""
    view = ShardView(tables)
    builder = ResourceBuilder(view, last_updated, local_refs=local_refs)
    keys, ids = view.patients["patient_key"], view.patients["patient_id"]
    for i in range(view.count):
        yield keys[i], ids[i], builder.patient_resources(i)


# --- Shared resources -----------------------------------------------------------------------
def shared_resources(tables: dict[str, pa.Table], last_updated: str) -> Iterator[dict]:
    """Organization + Location per facility, Practitioner + PractitionerRole, payers.

    The writers render providers column by column (:mod:`hospigen.export.fhir_shared`, whose
    tests hold it to these dicts) and take facilities and payers from here.
    """
    meta = {"lastUpdated": last_updated}
    fac = tables.get("facilities")
    if fac is not None:
        for f in fac.to_pylist():
            yield _organization(f, meta)
            yield _location(f, meta)
    prov = tables.get("providers")
    if prov is not None:
        for p in prov.to_pylist():
            yield _practitioner(p, meta)
            yield _practitioner_role(p, meta)
    payers = tables.get("payers")
    if payers is not None:
        for p in payers.to_pylist():
            yield {"resourceType": "Organization", "id": p["payer_id"],
                   "meta": {**meta, "profile": [US_CORE + "us-core-organization"]},
                   "identifier": [{"system": f"{HOSPIGEN_SID}/payer", "value": p["payer_id"]}],
                   "active": True,
                   "type": [_simple(TERMINOLOGY + "organization-type", "pay", "Payer")],
                   "name": p["payer_name"]}  # fmt: skip


def _address(f: dict) -> dict:
    return {"line": [f["address"]], "city": f["city"], "state": f["state"],
            "postalCode": f["zip"], "country": "US"}  # fmt: skip


def _organization(f: dict, meta: dict) -> dict:
    res = {"resourceType": "Organization", "id": f["facility_id"],
           "meta": {**meta, "profile": [US_CORE + "us-core-organization"]},
           "identifier": [{"system": NPI_SYSTEM, "value": f["npi"]},
                          {"system": f"{HOSPIGEN_SID}/facility", "value": f["facility_id"]}],
           "active": True,
           "type": [_simple(TERMINOLOGY + "organization-type", "prov", "Healthcare Provider")],
           "name": f["facility_name"]}  # fmt: skip
    if f["phone"]:
        res["telecom"] = [{"system": "phone", "value": f["phone"], "use": "work"}]
    res["address"] = [_address(f)]
    return res


def _location(f: dict, meta: dict) -> dict:
    res = {"resourceType": "Location", "id": f["facility_id"],
           "meta": {**meta, "profile": [US_CORE + "us-core-location"]},
           "identifier": [{"system": f"{HOSPIGEN_SID}/facility", "value": f["facility_id"]}],
           "status": "active", "name": f["facility_name"]}  # fmt: skip
    if f["phone"]:
        res["telecom"] = [{"system": "phone", "value": f["phone"], "use": "work"}]
    res["address"] = _address(f)
    if f["lat"] is not None and f["lon"] is not None:
        res["position"] = {"longitude": f["lon"], "latitude": f["lat"]}
    res["managingOrganization"] = {"reference": f"Organization/{f['facility_id']}"}
    return res


def _practitioner(p: dict, meta: dict) -> dict:
    return {"resourceType": "Practitioner", "id": p["provider_id"],
            "meta": {**meta, "profile": [US_CORE + "us-core-practitioner"]},
            "identifier": [{"system": NPI_SYSTEM, "value": p["npi"]}],
            "active": True,
            "name": [{"family": p["last_name"], "given": [p["first_name"]], "prefix": ["Dr."]}],
            "gender": {"F": "female", "M": "male"}.get(p["gender"], "unknown")}  # fmt: skip


def _practitioner_role(p: dict, meta: dict) -> dict:
    taxonomy = {"coding": [{"system": TAXONOMY_SYSTEM,
                            "code": p["taxonomy_code"], "display": p["specialty"]}],
                "text": p["specialty"]}  # fmt: skip
    return {"resourceType": "PractitionerRole", "id": derived_id("role", p["provider_id"]),
            "meta": {**meta, "profile": [US_CORE + "us-core-practitionerrole"]},
            "active": True,
            "practitioner": {"reference": f"Practitioner/{p['provider_id']}"},
            "organization": {"reference": f"Organization/{p['facility_id']}"},
            "code": [taxonomy], "specialty": [taxonomy],
            "location": [{"reference": f"Location/{p['facility_id']}"}]}  # fmt: skip
