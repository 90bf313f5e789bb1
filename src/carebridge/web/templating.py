"""Jinja2 pages. Each feature keeps templates in <feature>/templates/<feature>/; the shared layout
lives in web/templates. Strings go through the same gettext as Python code."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from carebridge.kit import i18n

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _template_dirs() -> list[str]:
    dirs = [str(PACKAGE_ROOT / "web" / "templates")]
    dirs += sorted(str(p) for p in PACKAGE_ROOT.glob("*/templates") if p.parent.name != "web")
    dirs += sorted(str(p) for p in PACKAGE_ROOT.glob("*/*/templates"))
    return dirs


def _localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    # Shown in China Standard Time: the network's users are in one time zone (UTC+8, no DST).
    if value is None:
        return ""
    return value.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime(fmt)


def yuan(fen: int | None) -> str:
    """Money is kept in integer fen; people read yuan with two decimals."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def _make_env() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in _template_dirs()]),
        autoescape=select_autoescape(["html", "xml", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters["localtime"] = _localtime
    env.filters["yuan"] = yuan
    env.globals["supported_locales"] = i18n.SUPPORTED
    return env


env = _make_env()


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    web_session = getattr(request.state, "web_session", None)
    base = {
        "request": request,
        "principal": getattr(request.state, "principal", None),
        "csrf_token": web_session.csrf_token if web_session else "",
        "locale": i18n.get_locale(),
        "path": request.url.path,
        "query": str(request.url.query),
    }
    html = env.get_template(template).render({**base, **(context or {})})
    return HTMLResponse(html, status_code=status_code, headers=headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"
