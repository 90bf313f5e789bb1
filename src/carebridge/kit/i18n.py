"""zh-CN and English. Catalogs are Babel .po files under carebridge/locale, read at start-up, so
there is no compile step to forget. The locale of the current request lives in a context var."""

from __future__ import annotations

from contextvars import ContextVar, Token
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SUPPORTED = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"

_current: ContextVar[str] = ContextVar("carebridge_locale", default=DEFAULT_LOCALE)
_fallback = DEFAULT_LOCALE


def configure_default(locale: str) -> None:
    """The deployment's language for people who express no preference (CAREBRIDGE_DEFAULT_LOCALE)."""
    global _fallback
    _fallback = locale if locale in SUPPORTED else DEFAULT_LOCALE
    _current.set(_fallback)


@lru_cache
def _catalog(locale: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    table: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        table[key] = message.string
    return table


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED else _fallback)


def enter_locale(locale: str) -> Token[str]:
    """Sets the locale for one request; `exit_locale` restores what was there before."""
    return _current.set(locale if locale in SUPPORTED else _fallback)


def exit_locale(token: Token[str]) -> None:
    _current.reset(token)


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    found = _catalog(get_locale()).get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    found = _catalog(get_locale()).get(singular)
    if isinstance(found, tuple):  # Chinese has one plural form; English uses the source strings
        return found[0] if len(found) == 1 else found[0 if n == 1 else 1]
    return singular if n == 1 else plural


def N_(message: str) -> str:  # noqa: N802 - the conventional marker name for extraction
    """Marks a string for extraction without translating it yet (module-level labels)."""
    return message


_ = gettext


def negotiate(cookie: str | None, user_locale: str | None, accept_language: str | None) -> str:
    for candidate in (cookie, user_locale):
        if candidate in SUPPORTED:
            return candidate
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return _fallback


def locale_from_environment(environ: dict[str, str]) -> str:
    """Command-line tools follow the POSIX locale variables (LC_ALL, LC_MESSAGES, LANG)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value and value not in ("C", "POSIX") and not value.startswith("C."):
            return negotiate(None, None, value.split(".")[0].replace("_", "-"))
    return _fallback

