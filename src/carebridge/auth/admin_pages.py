"""User administration pages for platform and facility admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from carebridge.auth import administration
from carebridge.auth.labels import ROLE_LABELS
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, InvalidInput
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)

NOTICES = {
    "role": N_("The role was granted."),
    "deactivated": N_("The account was deactivated and its sessions ended."),
    "activated": N_("The account was activated."),
    "second_factor": N_("The second factor was reset; the person sets it up again at the next sign-in."),
}


def _grantable_roles(principal: Principal) -> list[tuple[str, str]]:
    roles = [r for r in Role if principal.is_platform_admin or r != Role.platform_admin]
    return [(r.value, _(ROLE_LABELS[r])) for r in roles]


async def _managed_choices(db: Db, principal: Principal) -> list[Facility] | None:
    """A facility admin picks from their facilities; a platform admin types a facility code."""
    managed = administration.managed_facilities(principal)
    if managed is None:
        return None
    return list((await db.scalars(select(Facility).where(Facility.id.in_(managed)).order_by(Facility.name))).all())


async def _facility_id(db: Db, role: str, code: str) -> int | None:
    code = code.strip()
    if role == Role.platform_admin or not code:
        return None
    facility_id = await db.scalar(select(Facility.id).where(Facility.code == code))
    if facility_id is None:
        raise InvalidInput(N_("no facility has this code"), details={"field": "facility_code"})
    return facility_id


async def _list_page(request: Request, db: Db, principal: Principal, *, q: str = "", cursor: str | None = None,
                     error: str | None = None, form: dict | None = None, status_code: int = 200) -> Response:
    page = await administration.list_users(db, principal, q=q, cursor=cursor)
    return render(request, "auth/admin_users.html", {
        "rows": page.items, "next_cursor": page.next_cursor, "q": q, "error": error, "form": form or {},
        "roles": _grantable_roles(principal), "role_labels": ROLE_LABELS,
        "facilities": await _managed_choices(db, principal),
    }, status_code=status_code)


@router.get("/admin/users")
async def users_page(request: Request, db: Db, principal: CurrentPrincipal, q: str = "",
                     cursor: str | None = None) -> Response:
    return await _list_page(request, db, principal, q=q, cursor=cursor)


@router.post("/admin/users")
async def create_user(request: Request, db: Db, principal: CurrentPrincipal,
                      username: Annotated[str, Form(max_length=64)],
                      display_name: Annotated[str, Form(max_length=100)],
                      role: Annotated[str, Form(max_length=32)],
                      facility_code: Annotated[str, Form(max_length=32)] = "",
                      password: Annotated[str, Form(max_length=256)] = "",
                      email: Annotated[str, Form(max_length=200)] = "",
                      phone: Annotated[str, Form(max_length=40)] = "") -> Response:
    administration.managed_facilities(principal)  # non-admins get 403 before any lookup
    form = {"username": username, "display_name": display_name, "role": role, "facility_code": facility_code,
            "email": email, "phone": phone}
    try:
        facility_id = await _facility_id(db, role, facility_code)
        user, generated = await administration.create_staff_user(
            db, principal, username=username, display_name=display_name, role=role, facility_id=facility_id,
            password=password or None, email=email, phone=phone)
    except CareBridgeError as exc:
        return await _list_page(request, db, principal, error=_(exc.message), form=form,
                                status_code=exc.status_code)
    return await _user_page(request, db, principal, user.id, generated=generated, status_code=201)


async def _user_page(request: Request, db: Db, principal: Principal, user_id: int, *, generated: str | None = None,
                     notice: str | None = None, error: str | None = None, status_code: int = 200) -> Response:
    row = await administration.access_user(db, principal, user_id)
    return render(request, "auth/admin_user.html", {
        "row": row, "generated": generated, "notice": notice, "error": error,
        "roles": _grantable_roles(principal), "role_labels": ROLE_LABELS,
        "facilities": await _managed_choices(db, principal),
    }, status_code=status_code)


@router.get("/admin/users/{user_id}")
async def user_page(request: Request, db: Db, principal: CurrentPrincipal, user_id: int,
                    done: str | None = None) -> Response:
    return await _user_page(request, db, principal, user_id,
                            notice=_(NOTICES[done]) if done in NOTICES else None)


@router.post("/admin/users/{user_id}/roles")
async def grant_role(request: Request, db: Db, principal: CurrentPrincipal, user_id: int,
                     role: Annotated[str, Form(max_length=32)],
                     facility_code: Annotated[str, Form(max_length=32)] = "") -> Response:
    try:
        facility_id = await _facility_id(db, role, facility_code)
        await administration.grant_role(db, principal, user_id, role, facility_id)
    except InvalidInput as exc:
        return await _user_page(request, db, principal, user_id, error=_(exc.message), status_code=422)
    return RedirectResponse(f"/admin/users/{user_id}?done=role", status_code=303)


@router.post("/admin/users/{user_id}/deactivate")
async def deactivate(db: Db, principal: CurrentPrincipal, user_id: int) -> Response:
    await administration.set_active(db, principal, user_id, False)
    return RedirectResponse(f"/admin/users/{user_id}?done=deactivated", status_code=303)


@router.post("/admin/users/{user_id}/activate")
async def activate(db: Db, principal: CurrentPrincipal, user_id: int) -> Response:
    await administration.set_active(db, principal, user_id, True)
    return RedirectResponse(f"/admin/users/{user_id}?done=activated", status_code=303)


@router.post("/admin/users/{user_id}/reset-second-factor")
async def reset_second_factor(db: Db, principal: CurrentPrincipal, user_id: int) -> Response:
    await administration.reset_second_factor(db, principal, user_id)
    return RedirectResponse(f"/admin/users/{user_id}?done=second_factor", status_code=303)
