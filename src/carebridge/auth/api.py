"""JSON routes for auth under /api/v1: the caller, their account, API tokens, second factor, and
user administration. The pages in pages.py call the same services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse

from carebridge.auth import account, administration, second_factor, service, throttle
from carebridge.auth.http import (
    PendingPrincipal,
    address_throttled,
    session_of,
    set_locale_cookie,
    set_session_cookie,
    too_many_json,
)
from carebridge.auth.models import ApiToken, User
from carebridge.auth.principal import Principal
from carebridge.auth.schemas import (
    CodeIn,
    Enrolment,
    MeOut,
    MeUpdate,
    PasswordChange,
    PasswordChanged,
    PasswordTokenRequest,
    RecoveryCodes,
    RoleGrant,
    RoleOut,
    SessionOut,
    SessionsEnded,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    UserCreate,
    UserCreated,
    UserOut,
    UserPage,
)
from carebridge.errors import Forbidden, NotAuthenticated, TooManyAttempts
from carebridge.kit.i18n import N_
from carebridge.web.deps import CurrentPrincipal, Db, client_ip
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1")
AUTH, USERS = ["auth"], ["users"]


def _roles(row: administration.UserRow) -> list[RoleOut]:
    return [RoleOut(role=r, facility_id=f, facility_name=n) for r, f, n in row.roles]


def user_out(row: administration.UserRow) -> UserOut:
    u = row.user
    return UserOut(id=u.id, username=u.username, display_name=u.display_name, email=u.email, phone=u.phone,
                   is_active=u.is_active, second_factor_enabled=u.totp_enabled, locked_until=u.locked_until,
                   created_at=u.created_at, last_login_at=u.last_login_at, roles=_roles(row))


async def _me(db: Db, principal: Principal) -> MeOut:
    user = await account.own_user(db, principal)
    row = (await administration.with_roles(db, [user]))[0]
    return MeOut(id=user.id, username=user.username, display_name=user.display_name, locale=user.locale,
                 patient_id=user.patient_id, second_factor_enabled=user.totp_enabled,
                 second_factor_required=await service.second_factor_required(db, user), via=principal.via,
                 roles=_roles(row))


@router.get("/auth/me", response_model=MeOut, tags=AUTH, summary="The caller: who, and which roles where")
async def get_me(db: Db, principal: CurrentPrincipal) -> MeOut:
    return await _me(db, principal)


@router.patch("/auth/me", response_model=MeOut, tags=AUTH, summary="Change display name or language")
async def update_me(body: MeUpdate, response: Response, db: Db, principal: CurrentPrincipal) -> MeOut:
    fields = body.model_fields_set
    user = await account.update_profile(db, principal, display_name=body.display_name, locale=body.locale,
                                        set_locale="locale" in fields)
    if "locale" in fields:
        set_locale_cookie(response, user.locale)
    return await _me(db, principal)


@router.post("/auth/password", response_model=PasswordChanged, tags=AUTH,
             summary="Change the password; every other session ends")
async def change_password(body: PasswordChange, request: Request, db: Db,
                          principal: CurrentPrincipal) -> PasswordChanged:
    current = session_of(request)
    ended = await account.change_password(db, principal, current=body.current_password, new=body.new_password,
                                          keep_session_id=current.id if current else None)
    return PasswordChanged(sessions_ended=ended)


@router.get("/auth/sessions", response_model=list[SessionOut], tags=AUTH, summary="Signed-in browser sessions")
async def list_sessions(request: Request, db: Db, principal: CurrentPrincipal) -> list[SessionOut]:
    current = session_of(request)
    return [SessionOut(id=s.id, created_at=s.created_at, expires_at=s.expires_at, ip=s.ip,
                       current=current is not None and s.id == current.id)
            for s in await service.list_sessions(db, principal.user_id)]


@router.post("/auth/sessions/end-others", response_model=SessionsEnded, tags=AUTH,
             summary="Sign out everywhere else (all browser sessions but the caller's)")
async def end_other_sessions(request: Request, db: Db, principal: CurrentPrincipal) -> SessionsEnded:
    current = session_of(request)
    ended = await service.end_sessions(db, principal.user_id, keep_id=current.id if current else None)
    return SessionsEnded(sessions_ended=ended)


def token_out(token: ApiToken, secret: str | None = None) -> TokenOut:
    out = TokenOut.model_validate(token)
    return TokenCreated(**out.model_dump(), secret=secret) if secret else out


@router.get("/auth/tokens", response_model=TokenList, tags=AUTH, summary="The caller's API tokens")
async def list_tokens(db: Db, principal: CurrentPrincipal) -> TokenList:
    return TokenList(items=[token_out(t) for t in await service.list_api_tokens(db, principal)])


@router.post("/auth/tokens", response_model=TokenCreated, status_code=201, tags=AUTH,
             summary="Create an API token (from a signed-in session; the secret is shown once)")
async def create_token(body: TokenCreate, db: Db, principal: CurrentPrincipal) -> TokenCreated:
    if principal.via == "token":
        # A token could otherwise mint a longer-lived copy of itself that outlives its revocation.
        raise Forbidden(N_("API tokens are created from a signed-in session or with your password"),
                        code="session_required")
    secret, token = await service.create_api_token(db, principal, body.name, body.expires_days)
    return token_out(token, secret)


@router.post("/auth/tokens/{token_id}/revoke", response_model=TokenOut, tags=AUTH, summary="Revoke an API token")
async def revoke_token(token_id: int, db: Db, principal: CurrentPrincipal) -> TokenOut:
    return token_out(await service.revoke_api_token(db, principal, token_id))


@router.post("/auth/token", response_model=TokenCreated, status_code=201, tags=AUTH,
             summary="Exchange username, password (and second-factor code) for a new API token",
             responses={429: {"description": "locked or throttled; see Retry-After"}})
async def token_with_password(body: PasswordTokenRequest, request: Request, db: Db) -> Response:
    ip, window = client_ip(request), throttle.for_request(request)
    try:
        if wait := window.retry_after(ip):
            raise address_throttled(wait)
        user = await _credentials_for_token(db, body, ip, window)
    except TooManyAttempts as exc:
        return too_many_json(exc)
    principal = await service.load_principal(db, user, via="password", ip=ip)
    secret, token = await service.create_api_token(db, principal, body.token_name, body.expires_days)
    return JSONResponse(token_out(token, secret).model_dump(mode="json"), status_code=201)


async def _credentials_for_token(db: Db, body: PasswordTokenRequest, ip: str,
                                 window: throttle.FailureWindow) -> User:
    try:
        user = await service.check_credentials(db, body.username, body.password, ip=ip)
        if await service.needs_second_factor(db, user):
            if not user.totp_enabled:
                raise Forbidden(N_("set up a second factor in the browser first"),
                                code="second_factor_not_enrolled")
            if not body.totp_code:
                raise NotAuthenticated(N_("a second-factor code is required"), code="second_factor_required")
            await second_factor.verify_second_factor(db, user, body.totp_code, ip=ip)
    except NotAuthenticated as exc:
        if exc.code in ("bad_credentials", "bad_code"):
            window.record_failure(ip)
        raise
    return user


@router.post("/auth/second-factor/enrol", response_model=Enrolment, tags=AUTH,
             summary="Start setting up TOTP: a secret to add to an authenticator app")
async def begin_enrolment(db: Db, principal: PendingPrincipal) -> Enrolment:
    user = await account.own_user(db, principal)
    await second_factor.begin_enrolment(db, user, restart=True)
    return Enrolment(secret=user.totp_secret, otpauth_uri=second_factor.provisioning_uri(user))


@router.post("/auth/second-factor/confirm", response_model=RecoveryCodes, tags=AUTH,
             summary="Confirm TOTP with a code; answers the recovery codes once")
async def confirm_enrolment(body: CodeIn, request: Request, response: Response, db: Db,
                            principal: PendingPrincipal) -> RecoveryCodes:
    user = await account.own_user(db, principal)
    codes = await second_factor.confirm_enrolment(db, user, body.code, principal)
    pending = session_of(request)
    if pending is not None and not pending.mfa_verified:
        token, _ = await service.complete_sign_in(db, pending, user, ip=principal.ip)
        set_session_cookie(response, token)
    return RecoveryCodes(recovery_codes=codes)


@router.post("/auth/second-factor/recovery-codes", response_model=RecoveryCodes, tags=AUTH,
             summary="Replace the recovery codes (the old ones stop working)")
async def new_recovery_codes(body: CodeIn, db: Db, principal: CurrentPrincipal) -> RecoveryCodes:
    user = await account.own_user(db, principal)
    await second_factor.verify_second_factor(db, user, body.code, ip=principal.ip)
    return RecoveryCodes(recovery_codes=await second_factor.issue_recovery_codes(db, user))


@router.post("/auth/second-factor/disable", status_code=204, tags=AUTH,
             summary="Turn off a voluntary second factor (needs a current code)")
async def disable_second_factor(body: CodeIn, db: Db, principal: CurrentPrincipal) -> Response:
    user = await account.own_user(db, principal)
    await second_factor.disable_own(db, user, body.code, principal)
    return Response(status_code=204)


@router.get("/users", response_model=UserPage, tags=USERS, summary="Users the caller administers")
async def list_users(db: Db, principal: CurrentPrincipal, q: str = "", cursor: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=200)] = 50) -> UserPage:
    page = await administration.list_users(db, principal, q=q, cursor=cursor, limit=limit)
    return UserPage(items=[user_out(r) for r in page.items], next_cursor=page.next_cursor)


@router.post("/users", response_model=UserCreated, status_code=201, tags=USERS,
             summary="Create a user with a role at a facility")
async def create_user(body: UserCreate, db: Db, principal: CurrentPrincipal) -> UserCreated:
    user, generated = await administration.create_staff_user(
        db, principal, username=body.username, display_name=body.display_name, role=body.role.value,
        facility_id=body.facility_id, password=body.password, email=body.email, phone=body.phone)
    row = (await administration.with_roles(db, [user]))[0]
    return UserCreated(**user_out(row).model_dump(), initial_password=generated)


@router.get("/users/{user_id}", response_model=UserOut, tags=USERS)
async def get_user(user_id: int, db: Db, principal: CurrentPrincipal) -> UserOut:
    return user_out(await administration.access_user(db, principal, user_id))


@router.post("/users/{user_id}/roles", response_model=UserOut, tags=USERS, summary="Grant a role")
async def grant_role(user_id: int, body: RoleGrant, db: Db, principal: CurrentPrincipal) -> UserOut:
    return user_out(await administration.grant_role(db, principal, user_id, body.role.value, body.facility_id))


@router.post("/users/{user_id}/deactivate", response_model=UserOut, tags=USERS,
             summary="Deactivate: sessions end, tokens stop working")
async def deactivate_user(user_id: int, db: Db, principal: CurrentPrincipal) -> UserOut:
    return user_out(await administration.set_active(db, principal, user_id, False))


@router.post("/users/{user_id}/activate", response_model=UserOut, tags=USERS)
async def activate_user(user_id: int, db: Db, principal: CurrentPrincipal) -> UserOut:
    return user_out(await administration.set_active(db, principal, user_id, True))


@router.post("/users/{user_id}/reset-second-factor", response_model=UserOut, tags=USERS,
             summary="Clear a user's second factor (lost phone); they enrol again at next sign-in")
async def reset_second_factor(user_id: int, db: Db, principal: CurrentPrincipal) -> UserOut:
    return user_out(await administration.reset_second_factor(db, principal, user_id))
