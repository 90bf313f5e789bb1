"""The family page: whom I act for (and stepping back), who may act for me, inviting a family
member by phone, and withdrawing a permission at any time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, NotFound
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.accounts import family
from carebridge.portal.accounts.labels import RELATIONSHIPS, SCOPES
from carebridge.portal.accounts.pages import portal_render, to_sign_in
from carebridge.web.deps import Db, MaybePrincipal
from carebridge.web.routing import router as make_router

router = make_router(include_in_schema=False)
FAMILY = "/portal/family"
NOTICES = {"granted": N_("Done. Your family member can act for you after signing in with that phone."),
           "revoked": N_("The permission is withdrawn; it stops working at once.")}


async def _page(request: Request, db: Db, principal: Principal, *, error: str | None = None,
                values: dict | None = None, status_code: int = 200, done: str | None = None) -> Response:
    choices = await family.acting_choices(db, principal)
    mine = []
    if principal.patient_id is not None:
        _access, mine = await family.caregivers_of(db, principal, principal.patient_id)
    return portal_render(request, "portal/family.html", {
        "tab": "family", "acting": [c for c in choices if not c.is_self], "mine": mine,
        "linked": principal.patient_id is not None,
        "relationships": [(k.value, _(v)) for k, v in RELATIONSHIPS.items()],
        "scopes": [(k.value, _(v)) for k, v in SCOPES.items()], "error": error, "values": values or {},
        "notice": _(NOTICES[done]) if done in NOTICES else None}, status_code=status_code)


@router.get(FAMILY)
async def family_page(request: Request, db: Db, principal: MaybePrincipal, done: str | None = None) -> Response:
    if principal is None:
        return to_sign_in(request)
    return await _page(request, db, principal, done=done)


@router.post(FAMILY)
async def invite(request: Request, db: Db, principal: MaybePrincipal, phone: Annotated[str, Form(max_length=40)],
                 name: Annotated[str, Form(max_length=100)] = "", relationship: Annotated[str, Form()] = "other",
                 scope: Annotated[str, Form()] = "all") -> Response:
    """The signed-in patient lets a family member act for them (their own record only)."""
    if principal is None:
        return to_sign_in(request)
    if principal.patient_id is None:
        raise NotFound(N_("there is no patient record linked to your account"))
    data = family.CaregiverInput(phone=phone, name=name, relationship=relationship, scope=scope)
    try:
        async with db.begin_nested():
            await family.grant_by_patient(db, principal, principal.patient_id, data)
    except CareBridgeError as exc:
        if isinstance(exc, NotFound):
            raise
        db.expunge_all()
        return await _page(request, db, principal, error=_(exc.message), values=data.__dict__,
                           status_code=exc.status_code)
    return RedirectResponse(f"{FAMILY}?done=granted", status_code=303)


@router.post(FAMILY + "/{permission_id}/revoke")
async def revoke(request: Request, db: Db, principal: MaybePrincipal, permission_id: int,
                 reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    if principal is None:
        return to_sign_in(request)
    await family.revoke(db, principal, permission_id, reason)
    return RedirectResponse(f"{FAMILY}?done=revoked", status_code=303)
