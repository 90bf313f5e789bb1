"""Whom a portal request acts for: the patient id in the URL (`?patient_id=`), else the one chosen
in the switcher (a cookie), else the signed-in patient themselves. Every feature of the internet
hospital can ask `acting_patient_id`; the answer is only a choice, each route still opens the
patient through `access_patient`, so a stale or forged choice finds nothing (404)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.portal.accounts.family import ActingChoice, acting_choices

ACTING_COOKIE = "cb_acting_for"
PATIENT_PARAM = "patient_id"


def _as_id(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def requested_patient_id(request: Request) -> int | None:
    """The patient named in the URL, if any."""
    return _as_id(request.query_params.get(PATIENT_PARAM))


def acting_patient_id(request: Request, principal: Principal) -> int | None:
    """URL, then switcher, then self. Not authorised: pass it to `access_patient`."""
    return (requested_patient_id(request) or _as_id(request.cookies.get(ACTING_COOKIE))
            or principal.patient_id)


async def current_choice(session: AsyncSession, request: Request, principal: Principal,
                         choices: list[ActingChoice] | None = None) -> tuple[ActingChoice | None, list[ActingChoice]]:
    """For the home page and the switcher: the remembered choice while it is still allowed (a
    revoked permission falls back to self without a refusal in anyone's log)."""
    choices = choices if choices is not None else await acting_choices(session, principal)
    wanted = requested_patient_id(request) or _as_id(request.cookies.get(ACTING_COOKIE))
    chosen = next((c for c in choices if c.patient_id == wanted), None)
    return chosen or (choices[0] if choices else None), choices


def remember_choice(response: Response, patient_id: int) -> None:
    response.set_cookie(ACTING_COOKIE, str(patient_id), httponly=True, samesite="lax",
                        secure=get_settings().secure_cookies, max_age=30 * 24 * 3600, path="/")
