"""Sign-in, the second-factor step, TOTP enrolment and sign-out (cookie sessions). The account,
token and user-administration pages live in account_pages.py and admin_pages.py and are mounted
on this router."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth import account, second_factor, service, throttle
from carebridge.auth.http import (
    PendingPrincipal,
    address_throttled,
    retry_after_of,
    session_of,
    set_locale_cookie,
    set_session_cookie,
)
from carebridge.auth.principal import Principal
from carebridge.errors import InvalidInput, NotAuthenticated, TooManyAttempts
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import SESSION_COOKIE, Db, client_ip
from carebridge.web.pages import safe_next
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)

__all__ = ["router", "set_session_cookie"]


def _too_many(request: Request, template: str, context: dict, exc: TooManyAttempts) -> Response:
    return render(request, template, {**context, "error": _(exc.message)}, status_code=429,
                  headers={"Retry-After": str(retry_after_of(exc))})


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    return render(request, "auth/login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, db: Db, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)],
                next: Annotated[str, Form()] = "/dashboard") -> Response:  # noqa: A002
    # The login form has no session yet, so it carries no CSRF token; SameSite=Lax on the session
    # cookie and a fresh session id on every sign-in prevent login CSRF and session fixation.
    ip, window = client_ip(request), throttle.for_request(request)
    context = {"next": safe_next(next), "username": username}
    try:
        if wait := window.retry_after(ip):
            raise address_throttled(wait)
        signed = await service.sign_in(db, username, password, ip=ip)
    except TooManyAttempts as exc:
        return _too_many(request, "auth/login.html", context, exc)
    except NotAuthenticated as exc:
        window.record_failure(ip)
        return render(request, "auth/login.html", {**context, "error": _(exc.message)}, status_code=401)
    target = safe_next(next)
    if signed.second_factor_pending:
        target = f"/login/second-factor?next={quote(target)}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, signed.token)
    if signed.user.locale:
        set_locale_cookie(response, signed.user.locale)
    return response


def _pending_session(request: Request):  # noqa: ANN202
    web_session = session_of(request)
    return web_session if web_session is not None and not web_session.mfa_verified else None


@router.get("/login/second-factor")
async def second_factor_form(request: Request, db: Db, principal: PendingPrincipal,
                             next: str | None = None) -> Response:  # noqa: A002
    target = safe_next(next)
    if _pending_session(request) is None:
        return RedirectResponse(target, status_code=303)
    user = await account.own_user(db, principal)
    if not user.totp_enabled:
        return RedirectResponse(f"/account/second-factor/enrol?next={quote(target)}", status_code=303)
    return render(request, "auth/second_factor.html", {"next": target, "error": None, "principal": None})


@router.post("/login/second-factor")
async def second_factor_submit(request: Request, db: Db, principal: PendingPrincipal,
                               code: Annotated[str, Form(max_length=32)],
                               next: Annotated[str, Form()] = "/dashboard") -> Response:  # noqa: A002
    pending, target = _pending_session(request), safe_next(next)
    if pending is None:
        return RedirectResponse(target, status_code=303)
    ip, window = client_ip(request), throttle.for_request(request)
    user = await account.own_user(db, principal)
    context = {"next": target, "principal": None}
    try:
        if wait := window.retry_after(ip):
            raise address_throttled(wait)
        await second_factor.verify_second_factor(db, user, code, ip=ip)
    except TooManyAttempts as exc:
        return _too_many(request, "auth/second_factor.html", context, exc)
    except NotAuthenticated as exc:
        window.record_failure(ip)
        return render(request, "auth/second_factor.html", {**context, "error": _(exc.message)}, status_code=401)
    token, _session = await service.complete_sign_in(db, pending, user, ip=ip)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, token)
    return response


async def _enrol_page(request: Request, db: Db, principal: Principal, target: str,
                      error: str | None = None, status_code: int = 200) -> Response:
    user = await account.own_user(db, principal)
    if user.totp_enabled:
        where = "/login/second-factor" if _pending_session(request) else "/account"
        return RedirectResponse(f"{where}?next={quote(target)}", status_code=303)
    secret = await second_factor.begin_enrolment(db, user)
    uri = second_factor.provisioning_uri(user)
    pending = _pending_session(request) is not None
    return render(request, "auth/enrol.html", {
        "next": target, "error": error, "qr": second_factor.qr_data_uri(uri), "uri": uri,
        "secret_groups": [secret[i:i + 4] for i in range(0, len(secret), 4)], "pending": pending,
        "required": await service.second_factor_required(db, user),
        **({"principal": None} if pending else {}),
    }, status_code=status_code)


@router.get("/account/second-factor/enrol")
async def enrol_form(request: Request, db: Db, principal: PendingPrincipal,
                     next: str | None = None) -> Response:  # noqa: A002
    return await _enrol_page(request, db, principal, safe_next(next, "/account"))


@router.post("/account/second-factor/restart")
async def enrol_restart(request: Request, db: Db, principal: PendingPrincipal,
                        next: Annotated[str, Form()] = "/account") -> Response:  # noqa: A002
    user = await account.own_user(db, principal)
    if not user.totp_enabled:
        await second_factor.begin_enrolment(db, user, restart=True)
    return RedirectResponse(f"/account/second-factor/enrol?next={quote(safe_next(next, '/account'))}",
                            status_code=303)


@router.post("/account/second-factor/enrol")
async def enrol_confirm(request: Request, db: Db, principal: PendingPrincipal,
                        code: Annotated[str, Form(max_length=32)],
                        next: Annotated[str, Form()] = "/account") -> Response:  # noqa: A002
    target = safe_next(next, "/account")
    user = await account.own_user(db, principal)
    if user.totp_enabled:
        return await _enrol_page(request, db, principal, target)
    try:
        codes = await second_factor.confirm_enrolment(db, user, code, principal)
    except InvalidInput as exc:
        return await _enrol_page(request, db, principal, target, _(exc.message), status_code=422)
    pending = _pending_session(request)
    context = {"codes": codes, "next": target}
    if pending is None:
        return render(request, "auth/recovery_codes.html", context)
    token, fresh = await service.complete_sign_in(db, pending, user, ip=principal.ip)
    # The page is drawn for the new session: its forms must carry the new session's CSRF token.
    request.state.web_session = service.SessionRef.of(fresh)
    response = render(request, "auth/recovery_codes.html", context)
    set_session_cookie(response, token)
    return response


@router.post("/logout")
async def logout(request: Request, db: Db) -> Response:
    from carebridge.web.deps import resolve_caller

    await resolve_caller(request, db, allow_pending=True)  # checks CSRF for cookie sessions
    web_session = getattr(request.state, "web_session", None)
    if web_session is not None:
        await service.end_session(db, web_session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _mount_other_pages() -> None:
    from carebridge.auth import account_pages, admin_pages

    router.include_router(account_pages.router)
    router.include_router(admin_pages.router)


_mount_other_pages()
