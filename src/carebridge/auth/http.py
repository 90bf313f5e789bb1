"""What auth's pages and API routes share about HTTP: the session cookie, the language cookie, the
429 answer with Retry-After, and the principal dependency that admits half-signed-in sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import TooManyAttempts
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import SESSION_COOKIE, require_pending_principal
from carebridge.web.middleware import LOCALE_COOKIE

PendingPrincipal = Annotated[Principal, Depends(require_pending_principal)]


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=int(settings.session_hours * 3600), path="/")


def set_locale_cookie(response: Response, locale: str | None) -> None:
    """The language switch reads this cookie; a saved preference simply sets it."""
    if locale in i18n.SUPPORTED:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    else:
        response.delete_cookie(LOCALE_COOKIE)


def address_throttled(retry_after: int) -> TooManyAttempts:
    return TooManyAttempts(N_("too many failed attempts from this address; try again later"),
                           details={"retry_after": retry_after})


def retry_after_of(exc: TooManyAttempts) -> int:
    details = exc.details if isinstance(exc.details, dict) else {}
    return int(details.get("retry_after", 60))


def too_many_json(exc: TooManyAttempts) -> JSONResponse:
    return JSONResponse({"code": exc.code, "message": _(exc.message), "details": exc.details},
                        status_code=429, headers={"Retry-After": str(retry_after_of(exc))})


def session_of(request: Request):  # noqa: ANN201 - the WebSession, when the caller used a cookie
    return getattr(request.state, "web_session", None)
