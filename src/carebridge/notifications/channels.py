"""Delivery channels besides in-app. Each knows which of a user's addresses it needs and how to
send one message there; the dispatcher (tasks.py) owns retries, so a channel just raises."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import httpx

from carebridge.config import Settings
from carebridge.errors import ConfigurationError

log = logging.getLogger(__name__)
console_log = logging.getLogger("carebridge.notifications.console")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    link: str

    def text(self) -> str:
        return "\n\n".join(part for part in (self.body, self.link) if part)


class PermanentFailure(Exception):
    """The peer refused this message for good (bad address, rejected request): retrying cannot help."""


class Channel(Protocol):
    name: str

    def address(self, email: str, phone: str, username: str) -> str:
        """The user's address on this channel, or "" when the user has none."""

    async def send(self, address: str, message: Message) -> None:
        """Deliver or raise; PermanentFailure means do not retry."""


class ConsoleChannel:
    """The demo channel: writes the message to the log."""

    name = "console"

    def address(self, email: str, phone: str, username: str) -> str:
        return username

    async def send(self, address: str, message: Message) -> None:
        console_log.info("notification for %s: %s | %s", address, message.title, message.text())


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        if not settings.notify_smtp_host or not settings.notify_smtp_from:
            raise ConfigurationError("the email channel needs CAREBRIDGE_NOTIFY_SMTP_HOST and "
                                     "CAREBRIDGE_NOTIFY_SMTP_FROM")
        self.settings = settings

    def address(self, email: str, phone: str, username: str) -> str:
        return email

    async def send(self, address: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.settings.notify_smtp_from
        mail["To"] = address
        mail["Subject"] = message.title
        mail.set_content(message.text() or message.title)
        # smtplib blocks; a thread keeps the event loop serving requests meanwhile.
        await asyncio.to_thread(self._send_blocking, mail)

    def _send_blocking(self, mail: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.notify_smtp_host, s.notify_smtp_port, timeout=s.notify_smtp_timeout) as smtp:
                if s.notify_smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.notify_smtp_user:
                    password = s.notify_smtp_password.get_secret_value() if s.notify_smtp_password else ""
                    smtp.login(s.notify_smtp_user, password)
                smtp.send_message(mail)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentFailure(str(exc)) from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise


class SmsChannel:
    """POSTs {"to", "text"} as JSON to an HTTP SMS gateway."""

    name = "sms"

    def __init__(self, settings: Settings) -> None:
        if not settings.notify_sms_url:
            raise ConfigurationError("the sms channel needs CAREBRIDGE_NOTIFY_SMS_URL")
        self.settings = settings

    def address(self, email: str, phone: str, username: str) -> str:
        return phone

    async def send(self, address: str, message: Message) -> None:
        s = self.settings
        headers = {}
        if s.notify_sms_auth_value is not None:
            headers[s.notify_sms_auth_header] = s.notify_sms_auth_value.get_secret_value()
        text = f"{message.title}\n{message.text()}".strip()
        async with httpx.AsyncClient(timeout=s.notify_sms_timeout) as client:
            response = await client.post(s.notify_sms_url, json={"to": address, "text": text}, headers=headers)
        if response.status_code == 429 or response.status_code >= 500:
            raise RuntimeError(f"SMS gateway answered {response.status_code}")
        if response.status_code >= 400:
            raise PermanentFailure(f"SMS gateway refused the message: {response.status_code} {response.text[:200]}")


CHANNEL_TYPES = {"console": ConsoleChannel, "email": EmailChannel, "sms": SmsChannel}


def build_channels(settings: Settings) -> dict[str, Channel]:
    """The configured channels, or a ConfigurationError naming what is missing."""
    channels: dict[str, Channel] = {}
    for name in settings.notify_channel_names:
        kind = CHANNEL_TYPES.get(name)
        if kind is None:
            raise ConfigurationError(f"unknown notification channel {name!r} in CAREBRIDGE_NOTIFY_CHANNELS "
                                     f"(known: {', '.join(CHANNEL_TYPES)})")
        channels[name] = kind() if kind is ConsoleChannel else kind(settings)
    return channels
