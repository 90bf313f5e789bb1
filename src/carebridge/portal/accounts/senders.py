"""How a one-time sign-in code reaches the phone. Pluggable: the console sender writes it to the
server log (demo, development) and keeps the last few in an outbox tests can read; the SMS sender
uses the notifications SMS gateway channel. A code is sent straight after the transaction that
stored it commits, not through the durable outbox: it is worth nothing after five minutes, so a
retry schedule would only deliver it stale; the user asks again instead."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from fastapi import FastAPI

from carebridge.config import Settings
from carebridge.errors import ConfigurationError
from carebridge.kit.i18n import gettext as _
from carebridge.notifications.channels import Message, SmsChannel

log = logging.getLogger(__name__)
OUTBOX_SIZE = 100


@dataclass(frozen=True)
class SentCode:
    phone: str
    code: str


class CodeSender(Protocol):
    name: str

    async def send(self, phone: str, code: str, minutes: int) -> None:
        """Deliver or raise; the caller logs a failure (the user can ask for a new code)."""


def code_text(code: str, minutes: int) -> str:
    return _("Your CareBridge sign-in code is %(code)s. It expires in %(minutes)d minutes. "
             "Never tell it to anyone, including hospital staff.") % {"code": code, "minutes": minutes}


class ConsoleCodeSender:
    name = "console"

    def __init__(self) -> None:
        self.outbox: deque[SentCode] = deque(maxlen=OUTBOX_SIZE)

    async def send(self, phone: str, code: str, minutes: int) -> None:
        self.outbox.append(SentCode(phone, code))
        log.warning("sign-in code for %s: %s (console sender: demo and development only)", phone, code)

    def last_code(self, phone: str) -> str | None:
        return next((sent.code for sent in reversed(self.outbox) if sent.phone == phone), None)


class SmsCodeSender:
    name = "sms"

    def __init__(self, settings: Settings) -> None:
        self.channel = SmsChannel(settings)

    async def send(self, phone: str, code: str, minutes: int) -> None:
        await self.channel.send(phone, Message(title=_("CareBridge"), body=code_text(code, minutes), link=""))


def build_sender(settings: Settings) -> CodeSender | None:
    """The configured sender; None when no channel can carry codes (sign-in by code is then off)."""
    name = settings.portal_code_channel.strip()
    if not name:
        name = "sms" if settings.notify_sms_url else "console" if settings.demo_mode else ""
    if name == "sms":
        return SmsCodeSender(settings)
    if name == "console":
        return ConsoleCodeSender()
    if name:
        raise ConfigurationError(f"unknown CAREBRIDGE_PORTAL_CODE_CHANNEL {name!r} (known: console, sms)")
    return None


def sender_for(app: FastAPI) -> CodeSender | None:
    """One sender per app, made on first use (a console outbox must outlive the request)."""
    if not hasattr(app.state, "portal_code_sender"):
        app.state.portal_code_sender = build_sender(app.state.settings)
    return app.state.portal_code_sender
