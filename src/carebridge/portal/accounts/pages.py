"""The patient portal's own pages on a phone: sign in by code or password, the real-name step, the
home page with its tiles and the switcher between self and family members, and the account page.
The record, report, order, log and family pages live in record_pages.py and family_pages.py; the
staff pages in staff_pages.py. All are mounted on this router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth import service as auth
from carebridge.auth import throttle
from carebridge.auth.http import address_throttled, retry_after_of, set_locale_cookie, set_session_cookie
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, InvalidInput, NotAuthenticated, NotFound, TooManyAttempts
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.accounts import acting, my_orders, phone_codes, service
from carebridge.portal.accounts.labels import labels_for_templates
from carebridge.portal.accounts.models import LinkStatus
from carebridge.portal.accounts.senders import sender_for
from carebridge.records.identifiers import mask_phone
from carebridge.web.deps import Db, MaybePrincipal, client_ip
from carebridge.web.pages import safe_next
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)
HOME = "/portal"
HOME_ITEMS = 3
NOTICES = {"linked": N_("Your account is linked to your health record."),
           "pending": N_("Thank you. Hospital staff will check your details; we will let you know."),
           "password": N_("Your password is set. You can now also sign in with your phone number and password.")}


def portal_render(request: Request, template: str, context: dict, status_code: int = 200,
                  headers: dict | None = None) -> Response:
    return render(request, template, {**labels_for_templates(), "back": None, "tab": "", **context},
                  status_code=status_code, headers=headers)


def to_sign_in(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/portal/signin?next={quote(target)}", status_code=303)


def _is_staff_only(principal: Principal) -> bool:
    return not principal.has_role(Role.patient) and principal.patient_id is None


# ---- sign in ---------------------------------------------------------------------------------

def _signin(request: Request, *, next_path: str, status_code: int = 200, headers: dict | None = None,
            **context) -> Response:
    return portal_render(request, "portal/signin.html", {"next": next_path, "mode": "code", "error": None,
                                                         "info": None, "phone": "", "code_sent": False, **context},
                         status_code=status_code, headers=headers)


@router.get("/portal/signin")
async def signin_form(request: Request, principal: MaybePrincipal, next: str | None = None,  # noqa: A002
                      mode: str = "code") -> Response:
    if principal is not None:
        return RedirectResponse(safe_next(next, HOME), status_code=303)
    return _signin(request, next_path=safe_next(next, HOME), mode="password" if mode == "password" else "code")


@router.post("/portal/signin/code")
async def send_code(request: Request, db: Db, phone: Annotated[str, Form(max_length=40)],
                    next: Annotated[str, Form()] = HOME) -> Response:  # noqa: A002
    """Sends the code and shows the code box. No CSRF token: there is no session yet (as /login)."""
    target, sender = safe_next(next, HOME), sender_for(request.app)
    if sender is None:
        return _signin(request, next_path=target, phone=phone, status_code=503,
                       error=_("Sign-in by text message is not available here; sign in with your password."))
    try:
        sent = await phone_codes.request_code(db, phone, ip=client_ip(request), sender=sender)
    except TooManyAttempts as exc:
        return _signin(request, next_path=target, phone=phone, code_sent=True, error=_(exc.message),
                       status_code=429, headers={"Retry-After": str(retry_after_of(exc))})
    except InvalidInput as exc:
        return _signin(request, next_path=target, phone=phone, error=_(exc.message), status_code=422)
    return _signin(request, next_path=target, phone=sent.phone, code_sent=True,
                   info=_("We sent a code to %(phone)s. It works for %(minutes)d minutes.")
                   % {"phone": mask_phone(sent.phone), "minutes": sent.minutes})


@router.post("/portal/signin")
async def verify_code(request: Request, db: Db, phone: Annotated[str, Form(max_length=40)],
                      code: Annotated[str, Form(max_length=12)], next: Annotated[str, Form()] = HOME) -> Response:  # noqa: A002
    target, ip, window = safe_next(next, HOME), client_ip(request), throttle.for_request(request)
    context = {"next_path": target, "phone": phone, "code_sent": True}
    if wait := window.retry_after(ip):
        exc = address_throttled(wait)
        return _signin(request, **context, error=_(exc.message), status_code=429, headers={"Retry-After": str(wait)})
    try:
        result = await phone_codes.check_code(db, phone, code, ip=ip)
    except InvalidInput as exc:
        return _signin(request, **context, error=_(exc.message), status_code=422)
    if result.outcome != phone_codes.CodeCheck.ok:
        window.record_failure(ip)  # the spent attempt is saved: this answer commits, it does not raise
        expired = result.outcome == phone_codes.CodeCheck.expired
        error = (_("The code has expired or was used up. Ask for a new one.") if expired
                 else _("The code is not right. %(left)d tries left.") % {"left": result.attempts_left})
        return _signin(request, **context, error=error, status_code=401)
    signed = await service.sign_in_with_phone(db, phone_codes.check_sign_in_phone(phone), ip=ip)
    if signed.second_factor_pending:
        destination = f"/login/second-factor?next={quote(target)}"
    elif signed.account.link_status in (LinkStatus.profile, LinkStatus.refused):
        destination = "/portal/signup"
    else:
        destination = target
    response = RedirectResponse(destination, status_code=303)
    set_session_cookie(response, signed.token)
    if signed.user.locale:
        set_locale_cookie(response, signed.user.locale)
    return response


@router.post("/portal/signin/password")
async def password_sign_in(request: Request, db: Db, username: Annotated[str, Form(max_length=64)],
                           password: Annotated[str, Form(max_length=256)],
                           next: Annotated[str, Form()] = HOME) -> Response:  # noqa: A002
    """The existing password sign-in, with the portal's page and landing."""
    target, ip, window = safe_next(next, HOME), client_ip(request), throttle.for_request(request)
    context = {"next_path": target, "mode": "password", "username": username}
    try:
        if wait := window.retry_after(ip):
            raise address_throttled(wait)
        signed = await auth.sign_in(db, phone_codes.normalise_login(username), password, ip=ip)
    except TooManyAttempts as exc:
        return _signin(request, **context, error=_(exc.message), status_code=429,
                       headers={"Retry-After": str(retry_after_of(exc))})
    except NotAuthenticated as exc:
        window.record_failure(ip)
        return _signin(request, **context, error=_(exc.message), status_code=401)
    destination = f"/login/second-factor?next={quote(target)}" if signed.second_factor_pending else target
    response = RedirectResponse(destination, status_code=303)
    set_session_cookie(response, signed.token)
    if signed.user.locale:
        set_locale_cookie(response, signed.user.locale)
    return response


# ---- the real-name step ----------------------------------------------------------------------

@router.get("/portal/signup")
async def signup_form(request: Request, db: Db, principal: MaybePrincipal) -> Response:
    if principal is None:
        return to_sign_in(request)
    account = await service.own_account(db, principal)
    if account.link_status not in (LinkStatus.profile, LinkStatus.refused):
        return RedirectResponse(HOME, status_code=303)
    return portal_render(request, "portal/signup.html", {"values": {}, "error": None, "back": HOME,
                                                         "refused": account.link_status == LinkStatus.refused})


@router.post("/portal/signup")
async def signup(request: Request, db: Db, principal: MaybePrincipal, name: Annotated[str, Form(max_length=100)],
                 national_id: Annotated[str, Form(max_length=18)]) -> Response:
    if principal is None:
        return to_sign_in(request)
    try:
        async with db.begin_nested():  # a refusal leaves nothing half-written
            account = await service.complete_profile(db, principal, name, national_id)
    except (InvalidInput, CareBridgeError) as exc:
        if isinstance(exc, NotFound):
            raise
        db.expunge_all()
        return portal_render(request, "portal/signup.html", {
            "values": {"name": name, "national_id": national_id}, "error": _(exc.message), "back": HOME,
            "refused": False}, status_code=exc.status_code)
    done = "linked" if account.link_status == LinkStatus.linked else "pending"
    return RedirectResponse(f"{HOME}?done={done}", status_code=303)


# ---- home ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    url: str
    glyph: str
    colour: str
    enabled: bool = True


# (label, path, icon glyph in Chinese and English, colour, the query parameter that names the
# patient, or None when the page is not about one patient). The other features of the internet
# hospital own their pages; the portal links them with the patient it acts for, in their own words.
TILES = [
    (N_("Online follow-up"), "/portal/visits", ("诊", "V"), "c1", "patient"),
    (N_("Prescriptions"), "/portal/prescriptions", ("药", "Rx"), "c2", "patient"),
    (N_("Medicine delivery"), "/portal/deliveries", ("送", "D"), "c3", "patient_id"),
    (N_("Book a test"), "/portal/tests", ("检", "T"), "c4", "patient_id"),
    (N_("Home nursing"), "/portal/nursing", ("护", "N"), "c5", "patient_id"),
    (N_("Payments"), "/payments", ("费", "¥"), "c6", "patient_id"),
    (N_("My record"), "/portal/records", ("病", "R"), "c7", "patient_id"),
    (N_("My reports"), "/portal/reports", ("报", "Re"), "c8", "patient_id"),
    (N_("My orders"), "/portal/orders", ("单", "O"), "c9", "patient_id"),
    (N_("Who viewed my record"), "/portal/access-log", ("阅", "W"), "c10", "patient_id"),
    (N_("Family"), "/portal/family", ("家", "F"), "c2", None),
]


def tiles_for(patient_id: int | None) -> list[Tile]:
    english = i18n.get_locale() == "en"
    return [Tile(path.rsplit("/", 1)[-1], _(label), f"{path}?{param}={patient_id}" if param and patient_id else path,
                 glyphs[1 if english else 0], colour, patient_id is not None or param is None)
            for label, path, glyphs, colour, param in TILES]


@router.get("/portal")
async def home(request: Request, db: Db, principal: MaybePrincipal, done: str | None = None) -> Response:
    if principal is None:
        return to_sign_in(request)
    if _is_staff_only(principal):
        return RedirectResponse("/dashboard", status_code=303)
    me = await service.me(db, principal)
    current, choices = await acting.current_choice(db, request, principal, me.acting_for)
    items, needs_action = None, 0
    if current is not None:
        _access, found = await my_orders.my_orders(db, principal, current.patient_id)
        items, needs_action = found[:HOME_ITEMS], sum(1 for i in found if i.needs_action)
    return portal_render(request, "portal/home.html", {
        "tab": "home", "current": current, "choices": choices, "link_status": me.link_status,
        "tiles": tiles_for(current.patient_id if current else None), "items": items, "needs_action": needs_action,
        "notice": _(NOTICES[done]) if done in NOTICES else None})


@router.post("/portal/act")
async def act_for(request: Request, db: Db, principal: MaybePrincipal,
                  patient_id: Annotated[str, Form(max_length=20)] = "",
                  next_path: Annotated[str | None, Form(alias="next", max_length=300)] = None) -> Response:
    """The switcher: remembers whom the portal acts for; only someone in the caller's own list. A POST
    with the CSRF token, so another site cannot switch whom a caregiver's next booking is for."""
    if principal is None:
        return to_sign_in(request)
    choices = await service.family.acting_choices(db, principal)
    chosen = next((c for c in choices if str(c.patient_id) == patient_id), None)
    if chosen is None:
        raise NotFound(N_("patient not found"))
    response = RedirectResponse(safe_next(next_path, HOME), status_code=303)
    acting.remember_choice(response, chosen.patient_id)
    return response


# ---- me --------------------------------------------------------------------------------------

@router.get("/portal/me")
async def me_page(request: Request, db: Db, principal: MaybePrincipal, done: str | None = None) -> Response:
    if principal is None:
        return to_sign_in(request)
    me = await service.me(db, principal)
    return portal_render(request, "portal/me.html", {
        "tab": "me", "me": me, "phone_masked": mask_phone(me.phone), "error": None,
        "has_password": await service.has_password(db, principal.user_id),
        "notice": _(NOTICES[done]) if done in NOTICES else None})


@router.post("/portal/me/password")
async def set_password(request: Request, db: Db, principal: MaybePrincipal,
                       password: Annotated[str, Form(max_length=256)]) -> Response:
    if principal is None:
        return to_sign_in(request)
    try:
        await service.set_first_password(db, principal, password)
    except (InvalidInput, CareBridgeError) as exc:
        if isinstance(exc, NotFound):
            raise
        me = await service.me(db, principal)
        return portal_render(request, "portal/me.html", {
            "tab": "me", "me": me, "phone_masked": mask_phone(me.phone), "error": _(exc.message),
            "has_password": await service.has_password(db, principal.user_id), "notice": None},
            status_code=exc.status_code)
    return RedirectResponse("/portal/me?done=password", status_code=303)


@router.post("/portal/signout")
async def sign_out(request: Request, db: Db) -> Response:
    from carebridge.web.deps import SESSION_COOKIE, resolve_caller

    await resolve_caller(request, db, allow_pending=True)  # checks CSRF for cookie sessions
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        await auth.end_session(db, web_session)
    response = RedirectResponse("/portal/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(acting.ACTING_COOKIE, path="/")
    return response


def _mount_other_pages() -> None:
    from carebridge.portal.accounts import family_pages, record_pages, staff_pages

    router.include_router(record_pages.router)
    router.include_router(family_pages.router)
    router.include_router(staff_pages.router)


_mount_other_pages()
