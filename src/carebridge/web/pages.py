"""Shell pages: home, role dashboard, language switch, health check."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select, text

import carebridge
from carebridge.auth.labels import ROLE_LABELS
from carebridge.auth.models import Role
from carebridge.kit import i18n
from carebridge.network.labels import TIER_LABELS
from carebridge.network.models import TIER_LEVEL, Facility, Tier
from carebridge.notifications import inbox
from carebridge.notifications import service as notifications
from carebridge.web.deps import CurrentPrincipal, Db, MaybePrincipal
from carebridge.web.middleware import LOCALE_COOKIE
from carebridge.web.routing import router as make_router
from carebridge.web.templating import render

router = make_router(include_in_schema=False)


def safe_next(next_path: str | None, default: str = "/dashboard") -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return default
    return next_path


@router.get("/healthz")
async def healthz(request: Request, db: Db) -> JSONResponse:
    await db.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok", "version": carebridge.__version__,
                         "database": db.bind.dialect.name})


@router.get("/")
async def home(principal: MaybePrincipal) -> Response:
    return RedirectResponse("/dashboard" if principal else "/login", status_code=303)


@router.get("/i18n/{locale}")
async def switch_language(locale: str, next: str | None = None) -> Response:  # noqa: A002
    response = RedirectResponse(safe_next(next, "/"), status_code=303)
    if locale in i18n.SUPPORTED:
        response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", httponly=True)
    return response


@router.get("/dashboard")
async def dashboard(request: Request, db: Db, principal: CurrentPrincipal) -> Response:
    if principal.has_role(Role.patient) and not principal.is_clinician and not principal.is_admin:
        return RedirectResponse("/portal", status_code=303)  # patients live in the internet hospital
    context = {
        "unread": await notifications.unread_count(db, principal),
        "recent_notifications": (await inbox.my_notifications(db, principal, limit=5)).items,
        "facility_names": await _facility_names(db, {f for _, f in principal.roles if f}),
        "role_labels": {role: i18n.gettext(label) for role, label in ROLE_LABELS.items()},
        "tier_counts": await _tier_counts(db) if principal.has_role(Role.platform_admin) else [],
    }
    return render(request, "dashboard.html", context)


async def _facility_names(db: Db, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(select(Facility.id, Facility.name, Facility.name_en).where(Facility.id.in_(ids)))
    english = i18n.get_locale() == "en"
    return {fid: (name_en or name) if english else name for fid, name, name_en in rows}


async def _tier_counts(db: Db) -> list[tuple[str, int]]:
    """Active facilities per tier, bottom tier first, labelled in the reader's language."""
    rows = dict((await db.execute(select(Facility.tier, func.count()).where(Facility.active.is_(True))
                                  .group_by(Facility.tier))).all())
    ordered = sorted(rows, key=lambda tier: TIER_LEVEL[Tier(tier)])
    return [(i18n.gettext(TIER_LABELS[Tier(tier)]), rows[tier]) for tier in ordered]
