"""What the network's page handlers share: rendering with the network's labels, running a form's
action so that a refusal re-renders the page with the reason, and reading form values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.errors import CareBridgeError, InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.labels import SERVICE_LABELS, TIER_LABELS, TIERS_TOP_DOWN, TITLE_LABELS
from carebridge.web.templating import render

# The network's users are in one time zone (UTC+8, no DST); form times are read as such,
# matching how the `localtime` template filter shows them.
CST = dt.timezone(dt.timedelta(hours=8))


def localized(obj: Any) -> str:
    """`name_en` when the page is in English and there is one, else the Chinese `name`."""
    if obj is None:
        return ""
    english = getattr(obj, "name_en", "")
    return english if i18n.get_locale() == "en" and english else obj.name


def render_page(request: Request, template: str, context: dict[str, Any] | None = None,
                status_code: int = 200) -> HTMLResponse:
    helpers = {"name_of": localized, "tier_labels": TIER_LABELS, "service_labels": SERVICE_LABELS,
               "title_labels": TITLE_LABELS, "tiers_top_down": TIERS_TOP_DOWN}
    return render(request, template, {**helpers, **(context or {})}, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


class Outcome:
    """The result of a form action: `error` is the reason it was refused (translated), or None."""

    def __init__(self, error: str | None = None, status_code: int = 200) -> None:
        self.error = error
        self.status_code = status_code


async def attempt(db: AsyncSession, action: Callable[[], Awaitable[Any]]) -> Outcome:
    """Runs the action in a savepoint: if it is refused, what it wrote is undone and the page can be
    shown again with the reason instead of a bare error page."""
    try:
        async with db.begin_nested():
            await action()
    except CareBridgeError as exc:
        return Outcome(_(exc.message), exc.status_code)
    except ValidationError as exc:
        return Outcome(validation_message(exc), 422)
    return Outcome()


def validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error.get("loc", ()))
        parts.append(f"{field}: {error.get('msg', '')}" if field else error.get("msg", ""))
    return _("invalid input") + ": " + "; ".join(parts)


def text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: Any, name: str) -> str | None:
    return text(form, name) or None


def checked(form: Any, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def number(form: Any, name: str) -> str | None:
    """Left as text for the schema to check, so a bad number is reported like any other field."""
    return text(form, name) or None


def local_datetime(value: str, field: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(N_("enter a date and time"), details={"field": field}) from exc
    return (parsed.replace(tzinfo=CST) if parsed.tzinfo is None else parsed).astimezone(dt.UTC)


def local_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def list_field(form: Any, name: str) -> list[str]:
    """Comma, semicolon or whitespace separated values."""
    raw = text(form, name).replace(",", " ").replace(";", " ").replace("，", " ").replace("；", " ")
    return [part for part in raw.split() if part]
