"""Request dependencies: the database session, the caller, CSRF and role checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden, NotAuthenticated
from carebridge.kit.i18n import N_

SESSION_COOKIE = "cb_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> AsyncSession:
    return request.state.db


Db = Annotated[AsyncSession, Depends(get_db)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def _from_bearer(request: Request, db: AsyncSession, secret: str) -> Principal:
    user = await auth.resolve_api_token(db, secret)
    if user is None:
        raise NotAuthenticated(N_("API token is invalid, expired or revoked"), code="bad_token")
    return await auth.load_principal(db, user, via="token", ip=client_ip(request))


async def _check_csrf(request: Request, expected: str) -> None:
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        supplied = (await request.form()).get(CSRF_FIELD)
    if not supplied or not hmac.compare_digest(str(supplied), expected):
        raise Forbidden(N_("the form has expired or did not come from this site; reload and try again"),
                        code="csrf_failed")


async def resolve_caller(request: Request, db: AsyncSession, *, allow_pending: bool = False) -> Principal | None:
    """The caller, or None. Cookie sessions must carry the CSRF token on unsafe methods."""
    if hasattr(request.state, "principal"):
        return request.state.principal
    principal = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        principal = await _from_bearer(request, db, authorization[7:].strip())
    elif token := request.cookies.get(SESSION_COOKIE):
        found = await auth.resolve_session(db, token)
        if found is not None:
            web_session, user = found
            if request.method not in SAFE_METHODS:
                await _check_csrf(request, web_session.csrf_token)
            request.state.web_session = auth.SessionRef.of(web_session)
            if web_session.mfa_verified or allow_pending:
                principal = await auth.load_principal(db, user, via="session", ip=client_ip(request))
    request.state.principal = principal
    return principal


async def optional_principal(request: Request, db: Db) -> Principal | None:
    return await resolve_caller(request, db)


async def require_principal(request: Request, db: Db) -> Principal:
    principal = await resolve_caller(request, db)
    if principal is None:
        pending = getattr(request.state, "web_session", None)
        if pending is not None and not pending.mfa_verified:
            raise NotAuthenticated(N_("second factor required"), code="second_factor_required")
        raise NotAuthenticated(N_("sign in required"))
    return principal


async def require_pending_principal(request: Request, db: Db) -> Principal:
    """For the second-factor step itself: password checked, TOTP not yet."""
    principal = await resolve_caller(request, db, allow_pending=True)
    if principal is None:
        raise NotAuthenticated(N_("sign in required"))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require_any_role(principal: Principal, *roles: Role) -> None:
    if not any(principal.has_role(role) for role in roles):
        raise Forbidden(N_("your role does not allow this"))


def require_clinician(principal: Principal) -> None:
    if not principal.is_clinician:
        raise Forbidden(N_("only clinical staff can do this"))
