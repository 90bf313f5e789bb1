import datetime as dt

from carebridge.records.fhir_shapes import provenance, to_fhir
from carebridge.records.models import Condition, Document, Observation

WHEN = dt.datetime(2024, 5, 1, 0, 30, tzinfo=dt.UTC)


def _observation(**kw) -> Observation:
    base = dict(id=7, patient_id=3, kind="observation", occurred_at=WHEN, recorded_at=WHEN, facility_id=2,
                author_id=5, code_system="LOINC", code="8480-6", display="Systolic blood pressure",
                category="vital-signs", value_num=150.0, value_text="", unit="mm[Hg]", ref_low=90.0,
                ref_high=139.0, interpretation="H")
    return Observation(**{**base, **kw})


def test_observation_is_loinc_coded_with_ucum_quantity_range_and_flag():
    fhir = to_fhir(_observation(), facility_name="县医院", author_name="王医生")
    assert fhir["resourceType"] == "Observation" and fhir["id"] == "7"
    assert fhir["subject"] == {"reference": "Patient/3"}
    assert fhir["code"]["coding"][0] == {"system": "http://loinc.org", "code": "8480-6",
                                         "display": "Systolic blood pressure"}
    assert fhir["valueQuantity"] == {"value": 150.0, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org",
                                     "code": "mm[Hg]"}
    assert fhir["referenceRange"][0]["low"]["value"] == 90.0 and fhir["referenceRange"][0]["high"]["value"] == 139.0
    assert fhir["interpretation"][0]["coding"][0]["code"] == "H"
    assert fhir["effectiveDateTime"] == "2024-05-01T00:30:00Z"
    assert fhir["meta"]["source"] == "Organization/2"
    assert {"reference": "Organization/2", "display": "县医院"} in fhir["performer"]
    assert fhir["status"] == "final"


def test_voided_entry_is_entered_in_error():
    fhir = to_fhir(_observation(voided_at=WHEN, void_reason="wrong patient"))
    assert fhir["status"] == "entered-in-error"
    assert fhir["meta"]["tag"][0]["display"] == "wrong patient"


def test_condition_uses_the_icd10_system_and_names_its_recorder():
    condition = Condition(id=8, patient_id=3, kind="condition", occurred_at=WHEN, recorded_at=WHEN, facility_id=2,
                          author_id=5, code_system="ICD-10", code="I10", display="Essential hypertension",
                          clinical_status="active", verification_status="confirmed", note="")
    fhir = to_fhir(condition, author_name="王医生")
    assert fhir["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10"
    assert fhir["clinicalStatus"]["coding"][0]["code"] == "active"
    assert fhir["recorder"]["display"] == "王医生"
    assert "note" not in fhir


def test_document_reference_and_provenance():
    document = Document(id=9, patient_id=3, kind="document", occurred_at=WHEN, recorded_at=WHEN, facility_id=2,
                        author_id=5, code_system="", code="", display="CT report", title="CT report",
                        media_type="application/pdf", size_bytes=1234, blob_digest="0" * 64, filename="ct.pdf")
    fhir = to_fhir(document)
    assert fhir["resourceType"] == "DocumentReference"
    assert fhir["content"][0]["attachment"]["contentType"] == "application/pdf"
    prov = provenance(document, facility_name="县医院")
    assert prov["target"] == [{"reference": "DocumentReference/9"}]
    assert prov["agent"][0]["onBehalfOf"] == {"reference": "Organization/2", "display": "县医院"}
    assert prov["recorded"] == "2024-05-01T00:30:00Z"
