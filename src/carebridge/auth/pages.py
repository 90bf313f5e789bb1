"""Sign-in and sign-out pages (cookie sessions). Second factor and token pages live here too."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import RedirectResponse, Response

from carebridge.auth import service
from carebridge.config import get_settings
from carebridge.errors import NotAuthenticated, TooManyAttempts
from carebridge.kit.i18n import gettext as _
from carebridge.web.deps import SESSION_COOKIE, Db, client_ip
from carebridge.web.pages import safe_next
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)


def set_session_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=int(settings.session_hours * 3600), path="/")


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    return render(request, "auth/login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request, db: Db, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)],
                next: Annotated[str, Form()] = "/dashboard") -> Response:  # noqa: A002
    # The login form has no session yet, so it carries no CSRF token; SameSite=Lax on the session
    # cookie and a fresh session id on every sign-in prevent login CSRF and session fixation.
    try:
        signed = await service.sign_in(db, username, password, ip=client_ip(request))
    except (NotAuthenticated, TooManyAttempts) as exc:
        return render(request, "auth/login.html", {"next": safe_next(next), "error": _(exc.message),
                                                   "username": username}, status_code=exc.status_code)
    target = safe_next(next)
    if signed.second_factor_pending:
        target = f"/login/second-factor?next={target}"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, signed.token)
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
