"""JSON routes for access under /api/v1: consent, grants, break-the-glass."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from carebridge.access import emergency, grants
from carebridge.access import service as access
from carebridge.access.schemas import (
    BreakGlassIn,
    BreakGlassOut,
    ConsentHistoryOut,
    ConsentIn,
    ConsentOut,
    GrantIn,
    GrantList,
    GrantOut,
    LookupIn,
    LookupOut,
    MatchOut,
    RevokeIn,
)
from carebridge.kit.pagination import MAX_PAGE_SIZE
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["access"])


def _consent_out(record: access.ConsentRecord) -> ConsentOut:
    return ConsentOut.model_validate(record.consent).model_copy(
        update={"recorded_by": record.recorded_by, "facility": record.facility})


def _grant_out(view: grants.GrantView) -> GrantOut:
    return GrantOut.model_validate(view.grant).model_copy(update={
        "patient_name": view.patient_name, "mrn": view.mrn, "grantee": view.grantee, "grantee_en": view.grantee_en,
        "granted_by": view.granted_by, "status": view.status})


@router.get("/patients/{patient_id}/consents", response_model=ConsentHistoryOut)
async def list_consents(patient_id: int, db: Db, principal: CurrentPrincipal) -> ConsentHistoryOut:
    """The patient's sharing consent, newest (the one in force) first."""
    history = await access.consent_history(db, principal, patient_id)
    items = [_consent_out(r) for r in history.records]
    return ConsentHistoryOut(patient_id=history.access.patient.id, current=items[0] if items else None, items=items)


@router.post("/patients/{patient_id}/consents", response_model=ConsentOut, status_code=201)
async def record_consent(patient_id: int, body: ConsentIn, db: Db, principal: CurrentPrincipal) -> ConsentOut:
    """Recorded by the patient, or by clinical staff of a facility where the patient is registered."""
    consent = await access.record_consent(db, principal, patient_id, status=body.status, scope_all=body.scope_all,
                                          scope_kinds=body.scope_kinds, note=body.note)
    return ConsentOut.model_validate(consent).model_copy(update={"recorded_by": principal.display_name})


@router.get("/patients/{patient_id}/grants", response_model=GrantList)
async def list_patient_grants(patient_id: int, db: Db, principal: CurrentPrincipal) -> GrantList:
    """Every grant over this patient's record, for the patient and the admins of their facilities."""
    return GrantList(items=[_grant_out(v) for v in await grants.list_patient_grants(db, principal, patient_id)])


@router.post("/patients/{patient_id}/grants", response_model=GrantOut, status_code=201)
async def create_grant(patient_id: int, body: GrantIn, db: Db, principal: CurrentPrincipal) -> GrantOut:
    """A facility admin grants a user or a facility access to a patient registered at their facility."""
    grant = await grants.create_grant(db, principal, patient_id, **body.model_dump())
    return GrantOut.model_validate(grant).model_copy(update={"granted_by": principal.display_name,
                                                             "status": "active"})


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut)
async def revoke_grant(grant_id: int, body: RevokeIn, db: Db, principal: CurrentPrincipal) -> GrantOut:
    grant = await grants.revoke_grant(db, principal, grant_id, body.reason)
    return GrantOut.model_validate(grant).model_copy(update={"status": "revoked"})


@router.get("/facilities/{facility_id}/grants", response_model=GrantList)
async def list_facility_grants(
    facility_id: int, db: Db, principal: CurrentPrincipal, active_only: bool = False,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> GrantList:
    """Grants over the patients registered at this facility, newest first (its admins only)."""
    page = await grants.list_facility_grants(db, principal, facility_id, active_only=active_only,
                                             cursor=cursor, limit=limit)
    return GrantList(items=[_grant_out(v) for v in page.items], next_cursor=page.next_cursor)


@router.post("/emergency/lookup", response_model=LookupOut)
async def emergency_lookup(body: LookupIn, db: Db, principal: CurrentPrincipal) -> LookupOut:
    """Find a patient outside your access by exact national ID, to break the glass. Returns only a
    masked name, sex and birth year; every lookup is audited."""
    matches = await emergency.emergency_lookup(db, principal, body.national_id)
    return LookupOut(matches=[MatchOut.model_validate(m) for m in matches])


@router.post("/patients/{patient_id}/break-glass", response_model=BreakGlassOut, status_code=201)
async def break_glass(patient_id: int, body: BreakGlassIn, db: Db, principal: CurrentPrincipal) -> BreakGlassOut:
    """Emergency access for a few hours (settings.break_glass_hours): flagged in the audit trail,
    and the admins of your facility and of the patient's facilities are told at once."""
    glass = await emergency.start_break_glass(db, principal, patient_id, body.reason, body.facility_id)
    return BreakGlassOut.model_validate(glass).model_copy(update={"record_url": f"/patients/{glass.patient_id}"})
