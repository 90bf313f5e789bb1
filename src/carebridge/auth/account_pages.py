"""A person's own account pages: details, language, password, second factor, sessions, API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth import account, second_factor, service
from carebridge.auth.http import session_of, set_locale_cookie
from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, Forbidden
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import CurrentPrincipal, Db
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)

NOTICES = {
    "profile": N_("Your details were saved."),
    "password": N_("Your password was changed. Other sessions were signed out."),
    "sessions": N_("All other sessions were signed out."),
    "second_factor_off": N_("The second factor was turned off."),
    "revoked": N_("The token was revoked."),
}


def _notice(done: str | None) -> str | None:
    return _(NOTICES[done]) if done in NOTICES else None


async def _account_page(request: Request, db: Db, principal: Principal, *, notice: str | None = None,
                        error: str | None = None, status_code: int = 200) -> Response:
    user = await account.own_user(db, principal)
    current = session_of(request)
    return render(request, "auth/account.html", {
        "user": user, "notice": notice, "error": error,
        "required": await service.second_factor_required(db, user),
        "recovery_left": await second_factor.unused_recovery_codes(db, user.id) if user.totp_enabled else 0,
        "sessions": await service.list_sessions(db, user.id),
        "current_session_id": current.id if current else None,
        "token_count": len([t for t in await service.list_api_tokens(db, principal) if t.revoked_at is None]),
    }, status_code=status_code)


@router.get("/account")
async def account_page(request: Request, db: Db, principal: CurrentPrincipal, done: str | None = None) -> Response:
    return await _account_page(request, db, principal, notice=_notice(done))


@router.post("/account/profile")
async def save_profile(request: Request, db: Db, principal: CurrentPrincipal,
                       display_name: Annotated[str, Form(max_length=100)],
                       locale: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        user = await account.update_profile(db, principal, display_name=display_name, locale=locale,
                                            set_locale=True)
    except CareBridgeError as exc:
        return await _account_page(request, db, principal, error=_(exc.message), status_code=exc.status_code)
    response = RedirectResponse("/account?done=profile", status_code=303)
    set_locale_cookie(response, user.locale)
    return response


@router.post("/account/password")
async def change_password(request: Request, db: Db, principal: CurrentPrincipal,
                          current_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)],
                          repeat_password: Annotated[str, Form(max_length=256)]) -> Response:
    if new_password != repeat_password:
        return await _account_page(request, db, principal, error=_("The two new passwords differ."),
                                   status_code=422)
    current = session_of(request)
    try:
        await account.change_password(db, principal, current=current_password, new=new_password,
                                      keep_session_id=current.id if current else None)
    except CareBridgeError as exc:
        return await _account_page(request, db, principal, error=_(exc.message), status_code=exc.status_code)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/sessions/end-others")
async def end_other_sessions(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    current = session_of(request)
    await service.end_sessions(db, principal.user_id, keep_id=current.id if current else None)
    return RedirectResponse("/account?done=sessions", status_code=303)


@router.post("/account/second-factor/disable")
async def disable_second_factor(request: Request, db: Db, principal: CurrentPrincipal,
                                code: Annotated[str, Form(max_length=32)]) -> Response:
    user = await account.own_user(db, principal)
    try:
        await second_factor.disable_own(db, user, code, principal)
    except CareBridgeError as exc:
        return await _account_page(request, db, principal, error=_(exc.message), status_code=exc.status_code)
    return RedirectResponse("/account?done=second_factor_off", status_code=303)


@router.post("/account/second-factor/recovery-codes")
async def new_recovery_codes(request: Request, db: Db, principal: CurrentPrincipal,
                             code: Annotated[str, Form(max_length=32)]) -> Response:
    user = await account.own_user(db, principal)
    try:
        await second_factor.verify_second_factor(db, user, code, ip=principal.ip)
    except CareBridgeError as exc:
        return await _account_page(request, db, principal, error=_(exc.message), status_code=exc.status_code)
    codes = await second_factor.issue_recovery_codes(db, user)
    return render(request, "auth/recovery_codes.html", {"codes": codes, "next": "/account"})


async def _tokens_page(request: Request, db: Db, principal: Principal, **context) -> Response:
    status_code = context.pop("status_code", 200)
    tokens = await service.list_api_tokens(db, principal)
    return render(request, "auth/tokens.html", {"tokens": tokens, "created": None, "error": None,
                                                "notice": None, "now": utcnow(), **context}, status_code=status_code)


@router.get("/account/tokens")
async def tokens_page(request: Request, db: Db, principal: CurrentPrincipal, done: str | None = None) -> Response:
    return await _tokens_page(request, db, principal, notice=_notice(done))


@router.post("/account/tokens")
async def create_token(request: Request, db: Db, principal: CurrentPrincipal,
                       name: Annotated[str, Form(max_length=100)],
                       expires_days: Annotated[str, Form(max_length=5)] = "") -> Response:
    try:
        if principal.via == "token":
            raise Forbidden(N_("API tokens are created from a signed-in session or with your password"))
        days = int(expires_days) if expires_days.strip() else None
        secret, token = await service.create_api_token(db, principal, name, days)
    except ValueError:
        return await _tokens_page(request, db, principal, error=_("expiry must be between 1 and 3650 days"),
                                  status_code=422)
    except CareBridgeError as exc:
        return await _tokens_page(request, db, principal, error=_(exc.message), status_code=exc.status_code)
    return await _tokens_page(request, db, principal, created={"secret": secret, "token": token})


@router.post("/account/tokens/{token_id}/revoke")
async def revoke_token(token_id: int, db: Db, principal: CurrentPrincipal) -> Response:
    await service.revoke_api_token(db, principal, token_id)
    return RedirectResponse("/account/tokens?done=revoked", status_code=303)
