"""JSON routes of the pharmacy under /api/v1: the catalogue, prescriptions (write, read, revise,
review, cancel), the pharmacist's queue and refill requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from carebridge.portal.pharmacy import catalogue, refills, service, views
from carebridge.portal.pharmacy import mine as _mine  # noqa: F401 - registers the "my orders" source
from carebridge.portal.pharmacy import prices as _prices  # noqa: F401 - registers the price list source
from carebridge.portal.pharmacy.schemas import (
    CheckOut,
    DrugOut,
    ItemIn,
    ItemOut,
    PrescriptionIn,
    PrescriptionList,
    PrescriptionOut,
    PrescriptionSummary,
    ReasonIn,
    RefillDecisionIn,
    RefillIn,
    RefillList,
    RefillOut,
    RevisionIn,
    VersionOut,
)
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["pharmacy"])


def items_in(items: list[ItemIn]) -> tuple[service.ItemInput, ...]:
    return tuple(service.ItemInput(**item.model_dump()) for item in items)


def _checks(version: views.VersionView) -> list[CheckOut]:
    return [CheckOut(kind=f.kind, severity=f.severity, text=f.text, advice=f.advice, source=f.source)
            for f in version.findings]


def _version(version: views.VersionView) -> VersionOut:
    v = version.version
    return VersionOut(number=v.number, created_at=v.created_at, note=v.note, check_level=v.check_level,
                      checks=_checks(version), outcome=v.outcome, outcome_reason=v.outcome_reason,
                      reviewed_at=v.reviewed_at, items=[ItemOut.model_validate(line.item) for line in version.lines])


async def _out(db: Db, prescription, parties: set) -> PrescriptionOut:  # noqa: ANN001
    view = await views.describe(db, prescription, parties)
    p = prescription
    return PrescriptionOut(
        id=p.id, patient_id=p.patient_id, facility_id=p.facility_id, dispensing_facility_id=p.dispensing_facility_id,
        prescriber_id=p.prescriber_id, visit_id=p.visit_id, kind=p.kind, diagnosis=p.diagnosis, state=p.state,
        state_reason=p.state_reason, version_no=p.version_no, refills_allowed=p.refills_allowed,
        refills_used=p.refills_used, refill_of_id=p.refill_of_id, valid_until=p.valid_until,
        submitted_at=p.submitted_at, reviewed_at=p.reviewed_at, dispensed_at=p.dispensed_at,
        check_level=view.current.version.check_level, checks=_checks(view.current),
        items=[ItemOut.model_validate(line.item) for line in view.current.lines],
        versions=[_version(v) for v in view.history], allowed_actions=view.actions,
        refill_refusal=view.refill_code)


async def _list(db: Db, rows: list) -> PrescriptionList:
    return PrescriptionList(items=[
        PrescriptionSummary(id=s.prescription.id, patient_id=s.prescription.patient_id, state=s.prescription.state,
                            kind=s.prescription.kind, check_level=s.check_level,
                            submitted_at=s.prescription.submitted_at, items=[line.label for line in s.lines])
        for s in await views.summaries(db, rows)])


@router.get("/pharmacy/drugs", response_model=list[DrugOut])
async def drugs(db: Db, principal: CurrentPrincipal, q: Annotated[str, Query(max_length=60)] = "",
                chronic: bool = False) -> list[DrugOut]:
    """The catalogue (starter data, sources in the package's data/README.md); `chronic` for refillable drugs."""
    return [DrugOut.model_validate(d) for d in await catalogue.search_drugs(db, q, chronic_only=chronic)]


@router.get("/pharmacy/review", response_model=PrescriptionList)
async def review_queue(db: Db, principal: CurrentPrincipal) -> PrescriptionList:
    """Prescriptions waiting for review at the caller's pharmacies, oldest first (pharmacists)."""
    return await _list(db, await service.review_queue(db, principal))


@router.get("/prescriptions/refill-requests", response_model=RefillList)
async def refill_inbox(db: Db, principal: CurrentPrincipal, state: str = "requested") -> RefillList:
    """Refill requests to the caller's facilities (doctors); `state` empty for all."""
    rows = await refills.inbox(db, principal, state=state)
    return RefillList(items=[RefillOut.model_validate(r) for r in rows])


@router.get("/prescriptions/refill-requests/{request_id}", response_model=RefillOut)
async def refill_request(request_id: int, db: Db, principal: CurrentPrincipal) -> RefillOut:
    request, _ = await refills.access_request(db, principal, request_id)
    return RefillOut.model_validate(request)


@router.post("/prescriptions/refill-requests/{request_id}/{action}", response_model=RefillOut)
async def decide_refill(request_id: int, action: str, db: Db, principal: CurrentPrincipal,
                        body: RefillDecisionIn | None = None) -> RefillOut:
    """approve (optionally with edited `items`: a new prescription goes to pharmacist review), decline (reason),
    by a doctor of the prescribing facility; cancel by the patient."""
    body = body or RefillDecisionIn()
    request = await refills.decide(db, principal, request_id, action, reason=body.reason, note=body.note,
                                   items=items_in(body.items) if body.items else None)
    return RefillOut.model_validate(request)


@router.post("/prescriptions", response_model=PrescriptionOut, status_code=201)
async def write_prescription(body: PrescriptionIn, db: Db, principal: CurrentPrincipal) -> PrescriptionOut:
    """A doctor writes and submits a prescription; the automatic checks run and it waits for pharmacist review."""
    data = service.PrescriptionInput(**{**body.model_dump(exclude={"items"}), "items": items_in(body.items)})
    prescription = await service.write_prescription(db, principal, data)
    return await _out(db, prescription, service.parties_of(principal, prescription))


@router.get("/prescriptions", response_model=PrescriptionList)
async def list_prescriptions(db: Db, principal: CurrentPrincipal, patient_id: int | None = None,
                             state: str = "") -> PrescriptionList:
    """With `patient_id`: that patient's prescriptions (the patient, family, or a clinician who may read them);
    without: those written at the caller's facilities (doctors)."""
    if patient_id is not None:
        return await _list(db, await service.patient_prescriptions(db, principal, patient_id))
    return await _list(db, await service.facility_prescriptions(db, principal, state=state))


@router.get("/prescriptions/{prescription_id}", response_model=PrescriptionOut)
async def get_prescription(prescription_id: int, db: Db, principal: CurrentPrincipal) -> PrescriptionOut:
    prescription, parties = await service.access_prescription(db, principal, prescription_id)
    return await _out(db, prescription, parties)


@router.post("/prescriptions/{prescription_id}/versions", response_model=PrescriptionOut)
async def revise(prescription_id: int, body: RevisionIn, db: Db, principal: CurrentPrincipal) -> PrescriptionOut:
    """The doctor revises a returned prescription: a new version, checked again, back to review."""
    data = service.PrescriptionInput(patient_id=0, items=items_in(body.items), diagnosis=body.diagnosis,
                                     note=body.note)
    prescription = await service.resubmit(db, principal, prescription_id, data)
    return await _out(db, prescription, service.parties_of(principal, prescription))


@router.post("/prescriptions/{prescription_id}/actions/{action}", response_model=PrescriptionOut)
async def act(prescription_id: int, action: str, db: Db, principal: CurrentPrincipal,
              body: ReasonIn | None = None) -> PrescriptionOut:
    """approve, return (reason) by a pharmacist of the dispensing facility; cancel (reason) by a doctor."""
    reason = body.reason if body else ""
    if action == "cancel":
        prescription = await service.cancel(db, principal, prescription_id, reason)
    else:
        prescription = await service.review(db, principal, prescription_id, action, reason)
    return await _out(db, prescription, service.parties_of(principal, prescription))


@router.post("/prescriptions/{prescription_id}/refill-requests", response_model=RefillOut, status_code=201)
async def request_refill(prescription_id: int, db: Db, principal: CurrentPrincipal,
                         body: RefillIn | None = None) -> RefillOut:
    """The patient (or family) asks for a refill; refused with a 409 and the reason's code when it cannot be."""
    request = await refills.request_refill(db, principal, prescription_id, body.note if body else "")
    return RefillOut.model_validate(request)
