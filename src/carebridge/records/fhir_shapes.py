"""Record entries as FHIR R4 shaped dicts. Pure functions of a row (no database, no I/O), so the
FHIR adapter, exports and tests all get the same shape.

Provenance (who, where, when) is carried in each resource's own author field (performer, recorder,
asserter, informationSource, author) and in meta.source; `provenance()` gives the full R4
Provenance resource for an entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from carebridge.records.models import (
    Allergy,
    Condition,
    Document,
    Encounter,
    MedicationStatement,
    Observation,
    Procedure,
    RecordEntry,
)

LOINC_SYSTEM = "http://loinc.org"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
UCUM_SYSTEM = "http://unitsofmeasure.org"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
CODE_SYSTEMS = {"LOINC": LOINC_SYSTEM, "ICD-10": ICD10_SYSTEM}
RESOURCE_TYPES = {
    "encounter": "Encounter", "condition": "Condition", "observation": "Observation",
    "medication": "MedicationStatement", "allergy": "AllergyIntolerance", "procedure": "Procedure",
    "document": "DocumentReference",
}
# FHIR R4 v3-ActCode for Encounter.class
ENCOUNTER_CLASS = {"outpatient": ("AMB", "ambulatory"), "inpatient": ("IMP", "inpatient encounter"),
                   "emergency": ("EMER", "emergency"), "teleconsultation": ("VR", "virtual")}
INTERPRETATION_TEXT = {"N": "Normal", "H": "High", "L": "Low", "HH": "Critical high", "LL": "Critical low"}


def _instant(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def _codeable(entry: RecordEntry) -> dict[str, Any]:
    concept: dict[str, Any] = {"text": entry.display or entry.code}
    if entry.code:
        system = CODE_SYSTEMS.get(entry.code_system, entry.code_system or None)
        coding = {"code": entry.code, "display": entry.display or entry.code}
        concept["coding"] = [{"system": system, **coding} if system else coding]
    return concept


USER_ID_SYSTEM = "urn:carebridge:user-id"


def _ref(kind: str, ident: int | None, display: str = "") -> dict[str, Any] | None:
    if ident is None:
        return None
    named = {"display": display} if display else {}
    if kind == "Practitioner":
        # Authors are users (not every author has a practitioner profile): a logical reference.
        return {"type": kind, "identifier": {"system": USER_ID_SYSTEM, "value": str(ident)}, **named}
    return {"reference": f"{kind}/{ident}", **named}


def to_fhir(entry: RecordEntry, *, facility_name: str = "", author_name: str = "") -> dict[str, Any]:
    """The entry as an R4 resource. Voided entries say so the FHIR way: entered-in-error."""
    author = _ref("Practitioner", entry.author_id, author_name)
    facility = _ref("Organization", entry.facility_id, facility_name)
    resource: dict[str, Any] = {
        "resourceType": RESOURCE_TYPES[entry.kind],
        "id": str(entry.id),
        "meta": {"lastUpdated": _instant(entry.recorded_at), "source": f"Organization/{entry.facility_id}"},
        "subject": {"reference": f"Patient/{entry.patient_id}"},
    }
    if entry.encounter_id:
        resource["encounter"] = {"reference": f"Encounter/{entry.encounter_id}"}
    resource.update(_BODY[type(entry)](entry, author, facility))
    if entry.voided_at is not None:
        _mark_voided(resource, entry)
    return {k: v for k, v in resource.items() if v is not None}


def _observation(entry: Observation, author: dict | None, facility: dict | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": entry.category}]}],
        "code": _codeable(entry),
        "effectiveDateTime": _instant(entry.occurred_at),
        "performer": [r for r in (author, facility) if r],
    }
    if entry.value_num is not None:
        body["valueQuantity"] = {"value": entry.value_num, "unit": entry.unit, "system": UCUM_SYSTEM,
                                 "code": entry.unit}
    else:
        body["valueString"] = entry.value_text
    if entry.ref_low is not None or entry.ref_high is not None:
        bound = {"low": entry.ref_low, "high": entry.ref_high}
        body["referenceRange"] = [{k: {"value": v, "unit": entry.unit, "system": UCUM_SYSTEM, "code": entry.unit}
                                   for k, v in bound.items() if v is not None}]
    if entry.interpretation:
        body["interpretation"] = [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": entry.interpretation,
                                               "display": INTERPRETATION_TEXT.get(entry.interpretation, "")}]}]
    return body


def _condition(entry: Condition, author: dict | None, facility: dict | None) -> dict[str, Any]:
    return {
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": entry.clinical_status}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": entry.verification_status}]},
        "code": _codeable(entry), "recordedDate": _instant(entry.occurred_at), "recorder": author,
        "note": [{"text": entry.note}] if entry.note else None,
    }


def _encounter(entry: Encounter, author: dict | None, facility: dict | None) -> dict[str, Any]:
    code, display = ENCOUNTER_CLASS.get(entry.encounter_class, (entry.encounter_class, entry.encounter_class))
    return {
        "status": "finished" if entry.ended_at else "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display},
        "period": {k: v for k, v in (("start", _instant(entry.occurred_at)), ("end", _instant(entry.ended_at))) if v},
        "reasonCode": [{"text": entry.reason}] if entry.reason else None,
        "serviceProvider": facility,
        "participant": [{"individual": author}] if author else None,
    }


def _medication(entry: MedicationStatement, author: dict | None, facility: dict | None) -> dict[str, Any]:
    dosage = " ".join(p for p in (entry.dose, entry.route, entry.frequency) if p)
    return {"status": entry.status, "medicationCodeableConcept": _codeable(entry),
            "effectiveDateTime": _instant(entry.occurred_at), "informationSource": author,
            "dosage": [{"text": dosage}] if dosage else None}


def _allergy(entry: Allergy, author: dict | None, facility: dict | None) -> dict[str, Any]:
    return {"clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "category": [entry.category], "criticality": entry.criticality, "code": _codeable(entry),
            "recordedDate": _instant(entry.occurred_at), "recorder": author,
            "reaction": [{"manifestation": [{"text": entry.reaction}]}] if entry.reaction else None}


def _procedure(entry: Procedure, author: dict | None, facility: dict | None) -> dict[str, Any]:
    return {"status": "completed", "code": _codeable(entry), "performedDateTime": _instant(entry.occurred_at),
            "recorder": author, "bodySite": [{"text": entry.body_site}] if entry.body_site else None,
            "outcome": {"text": entry.outcome} if entry.outcome else None}


def _document(entry: Document, author: dict | None, facility: dict | None) -> dict[str, Any]:
    return {"status": "current", "description": entry.title, "date": _instant(entry.occurred_at),
            "author": [r for r in (author, facility) if r], "custodian": facility,
            "content": [{"attachment": {"contentType": entry.media_type, "size": entry.size_bytes,
                                        "title": entry.filename or entry.title,
                                        "url": f"/api/v1/documents/{entry.id}/content"}}]}


_BODY = {Observation: _observation, Condition: _condition, Encounter: _encounter,
         MedicationStatement: _medication, Allergy: _allergy, Procedure: _procedure, Document: _document}


def _mark_voided(resource: dict[str, Any], entry: RecordEntry) -> None:
    kind = resource["resourceType"]
    if kind in ("Condition", "AllergyIntolerance"):
        resource["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
    else:
        resource["status"] = "entered-in-error"
    resource["meta"]["tag"] = [{"code": "voided", "display": entry.void_reason or ""}]


def provenance(entry: RecordEntry, *, facility_name: str = "", author_name: str = "") -> dict[str, Any]:
    """The R4 Provenance resource for one entry: who recorded it, on behalf of which facility."""
    agent: dict[str, Any] = {"type": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type", "code": "author"}]}}
    if entry.author_id is not None:
        agent["who"] = _ref("Practitioner", entry.author_id, author_name)
        agent["onBehalfOf"] = _ref("Organization", entry.facility_id, facility_name)
    else:
        agent["who"] = _ref("Organization", entry.facility_id, facility_name)
    return {
        "resourceType": "Provenance",
        "target": [{"reference": f"{RESOURCE_TYPES[entry.kind]}/{entry.id}"}],
        "occurredDateTime": _instant(entry.occurred_at),
        "recorded": _instant(entry.recorded_at),
        "agent": [agent],
    }
