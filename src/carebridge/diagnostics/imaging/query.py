"""C-FIND matching over the DICOM index, and choosing the instances a C-MOVE or C-GET sends.

Who may see what: a DICOM peer acts for its facility, and sees only studies that facility sent,
studies received for it as the reading hub, and studies of orders it placed or reads (PS3.4 C.4.1
leaves access control to the SCP). Every answer that names patient data is audited: one row per
patient, naming the peer's AE title and the studies.

Matching follows PS3.4 C.2.2.2 where the index can: single value, UID list, wildcard (* and ?),
date range, universal (empty key returns the value). Keys the index does not hold come back empty."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.audit import service as audit
from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries, DicomStudy
from carebridge.diagnostics.imaging.peers import PeerRef
from carebridge.diagnostics.models import DiagnosisOrder, DiagnosticStudy

MAX_MATCHES = 5000
LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")

S, X, R, INST = DiagnosticStudy, DicomStudy, DicomSeries, DicomInstance
# keyword -> (column, matching kind); kind: "uid", "text" (wildcards), "date", "exact"
STUDY_KEYS = {
    "PatientID": (S.sent_patient_key, "text"), "PatientName": (S.sent_patient_name, "text"),
    "PatientBirthDate": (X.patient_birth_date, "date"), "PatientSex": (X.patient_sex, "text"),
    "StudyInstanceUID": (S.study_uid, "uid"), "AccessionNumber": (S.accession_number, "text"),
    "StudyDescription": (S.description, "text"), "StudyDate": (X.study_date, "date"),
    "StudyTime": (X.study_time, "exact"), "StudyID": (X.dicom_study_id, "text"),
    "ReferringPhysicianName": (X.referring_physician, "text"),
    "NumberOfStudyRelatedSeries": (X.series_count, "none"), "NumberOfStudyRelatedInstances": (X.instance_count, "none"),
}
SERIES_KEYS = {
    "SeriesInstanceUID": (R.series_uid, "uid"), "Modality": (R.modality, "text"),
    "SeriesNumber": (R.series_number, "exact"), "SeriesDescription": (R.description, "text"),
    "BodyPartExamined": (R.body_part, "text"), "NumberOfSeriesRelatedInstances": (R.instance_count, "none"),
}
IMAGE_KEYS = {
    "SOPInstanceUID": (INST.sop_instance_uid, "uid"), "SOPClassUID": (INST.sop_class_uid, "uid"),
    "InstanceNumber": (INST.instance_number, "exact"), "Rows": (INST.rows, "none"),
    "Columns": (INST.columns, "none"), "NumberOfFrames": (INST.number_of_frames, "none"),
    "BitsAllocated": (INST.bits_allocated, "none"), "PhotometricInterpretation": (INST.photometric, "none"),
}
PATIENT_KEYS = {k: STUDY_KEYS[k] for k in ("PatientID", "PatientName", "PatientBirthDate", "PatientSex")}


class QueryError(ValueError):
    """An identifier the SCP cannot process (PS3.4 C.4.1.1.4: 0xA900 / 0xC000)."""


@dataclass(frozen=True)
class InstanceRef:
    study_id: int
    patient_id: int | None
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    blob_digest: str


def visible_to(facility_id: int):  # noqa: ANN201 - a SQLAlchemy boolean clause
    ordered_or_read = select(DiagnosisOrder.id).where(or_(DiagnosisOrder.requesting_facility_id == facility_id,
                                                          DiagnosisOrder.hub_facility_id == facility_id))
    return or_(S.sending_facility_id == facility_id, S.order_id.in_(ordered_or_read),
               (S.hub_facility_id == facility_id) & S.order_id.is_(None))


def _level(identifier: Dataset) -> str:
    level = str(identifier.get("QueryRetrieveLevel", "") or "").strip().upper()
    if level not in LEVELS:
        raise QueryError(f"unknown Query/Retrieve Level {level!r}")
    return level


def _keys_for(level: str) -> dict[str, tuple[Any, str]]:
    if level == "PATIENT":
        return PATIENT_KEYS
    keys = dict(STUDY_KEYS)
    if level in ("SERIES", "IMAGE"):
        keys |= SERIES_KEYS
    if level == "IMAGE":
        keys |= IMAGE_KEYS
    return keys


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def _condition(column: Any, kind: str, value: str):  # noqa: ANN202 - a clause or None
    if kind == "none" or value in ("", "*"):
        return None
    if kind == "uid":
        return column.in_([v.strip() for v in value.split("\\") if v.strip()])
    if kind == "date" and "-" in value:
        low, _, high = value.partition("-")
        parts = [column >= low] if low else []
        return (parts + [column <= high]) if high else parts
    if kind == "text" and ("*" in value or "?" in value):
        pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.like(pattern.replace("*", "%").replace("?", "_"), escape="\\")
    if kind == "exact" and column.type.python_type is int:
        try:
            return column == int(value)
        except ValueError:
            raise QueryError(f"{value!r} is not a number") from None
    return column == value


def _where(query: Select, keys: dict[str, tuple[Any, str]], identifier: Dataset) -> Select:
    for element in identifier:
        keyword = element.keyword
        if keyword == "ModalitiesInStudy":
            wanted = [m for m in _text(element.value).split("\\") if m]
            if wanted:
                query = query.where(S.id.in_(select(R.study_id).where(R.modality.in_(wanted))))
            continue
        if keyword not in keys:
            continue
        condition = _condition(*keys[keyword], _text(element.value))
        if condition is None:
            continue
        for clause in condition if isinstance(condition, list) else [condition]:
            query = query.where(clause)
    return query


def _base(level: str, facility_id: int) -> Select:
    query = select(S, X).join(X, X.study_id == S.id)
    if level in ("SERIES", "IMAGE"):
        query = query.add_columns(R).join(R, R.study_id == S.id)
    if level == "IMAGE":
        query = query.add_columns(INST).join(INST, INST.series_id == R.id)
    return query.where(visible_to(facility_id))


async def find(session: AsyncSession, peer: PeerRef, identifier: Dataset, ip: str = "") -> list[Dataset]:
    """The C-FIND responses for one identifier, audited."""
    level = _level(identifier)
    keys = _keys_for(level)
    query = _where(_base("STUDY" if level == "PATIENT" else level, peer.facility_id), keys, identifier)
    rows = (await session.execute(query.order_by(S.id).limit(MAX_MATCHES))).all()
    await _audit(session, peer, "dicom_find", [(row[0].id, row[0].patient_id) for row in rows], ip)
    modalities = await _modalities(session, {row[0].id for row in rows}) if "ModalitiesInStudy" in identifier else {}
    answers, seen_patients = [], set()
    for row in rows:
        if level == "PATIENT":
            if row[0].sent_patient_key in seen_patients:
                continue
            seen_patients.add(row[0].sent_patient_key)
        answers.append(_answer(level, keys, identifier, row, modalities.get(row[0].id, [])))
    return answers


async def _modalities(session: AsyncSession, study_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if study_ids:
        for study_id, modality in await session.execute(
                select(R.study_id, R.modality).where(R.study_id.in_(study_ids)).distinct().order_by(R.modality)):
            found.setdefault(study_id, []).append(modality)
    return found


def _answer(level: str, keys: dict, identifier: Dataset, row: Any, modalities: list[str]) -> Dataset:
    objects = {type(o): o for o in row}
    out = Dataset()
    out.SpecificCharacterSet = "ISO_IR 192"
    out.QueryRetrieveLevel = level
    for element in identifier:
        keyword = element.keyword
        if keyword in ("QueryRetrieveLevel", "SpecificCharacterSet") or not keyword:
            continue
        if keyword == "ModalitiesInStudy":
            out.ModalitiesInStudy = modalities
        elif keyword in keys:
            column = keys[keyword][0]
            value = getattr(objects[column.class_], column.key)
            setattr(out, keyword, "" if value is None else value)
        else:
            out.add_new(element.tag, element.VR, None)  # a key the index does not hold: zero length
    return out


async def instances(session: AsyncSession, peer: PeerRef, identifier: Dataset, ip: str = "") -> list[InstanceRef]:
    """The instances a C-MOVE or C-GET identifier selects (PS3.4 C.4.2.2.1), audited."""
    level = _level(identifier)
    keys = {k: v for k, v in _keys_for(level).items() if v[1] == "uid" or level == "PATIENT"}
    if level != "PATIENT" and not any(identifier.get(k) for k in keys):
        raise QueryError("a retrieve names at least one unique key")
    query = (select(S.id, S.patient_id, INST.sop_instance_uid, INST.sop_class_uid, INST.transfer_syntax_uid,
                    INST.blob_digest)
             .join(X, X.study_id == S.id).join(R, R.study_id == S.id).join(INST, INST.series_id == R.id)
             .where(visible_to(peer.facility_id)))
    rows = (await session.execute(_where(query, keys, identifier)
                                  .order_by(S.id, R.series_number, INST.instance_number, INST.id)
                                  .limit(MAX_MATCHES * 10))).all()
    found = [InstanceRef(*row) for row in rows]
    await _audit(session, peer, "dicom_retrieve", [(f.study_id, f.patient_id) for f in found], ip)
    return found


async def _audit(session: AsyncSession, peer: PeerRef, action: str, studies: Iterable[tuple[int, int | None]],
                 ip: str) -> None:
    by_patient: dict[int | None, set[int]] = {}
    for study_id, patient_id in studies:
        by_patient.setdefault(patient_id, set()).add(study_id)
    actor = audit.Actor(name=f"DICOM {peer.ae_title}", role="dicom_peer", facility_id=peer.facility_id, ip=ip)
    for patient_id, study_ids in by_patient.items():
        await audit.append(session, audit.Entry(
            action=action, outcome="allowed", actor=actor, patient_id=patient_id, resource_type="DiagnosticStudy",
            resource_id=min(study_ids), purpose=Purpose.diagnosis.value, facility_id=peer.facility_id,
            detail={"ae_title": peer.ae_title, "study_ids": sorted(study_ids)[:100], "studies": len(study_ids)}))
