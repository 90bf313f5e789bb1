"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from http.cookies import SimpleCookie

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carebridge.errors import PayloadTooLarge
from carebridge.kit import i18n

LOCALE_COOKIE = "cb_lang"
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
     b"script-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'"),
]


class LocaleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        cookie = SimpleCookie(headers.get("cookie", "")).get(LOCALE_COOKIE)
        # Restored afterwards so the request's language never leaks into whatever runs next in
        # this context (an in-process client, a background task).
        token = i18n.enter_locale(i18n.negotiate(cookie.value if cookie else None, None,
                                                 headers.get("accept-language")))
        try:
            await self.app(scope, receive, send)
        finally:
            i18n.exit_locale(token)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                existing = {k.lower() for k, _ in message["headers"]}
                message["headers"] += [(k, v) for k, v in SECURITY_HEADERS if k not in existing]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit before they are read into memory: 413 with our error shape.
    `larger` gives a few routes (whole-slide image uploads) a limit of their own, by path pattern."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Sequence[tuple[re.Pattern, int]] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = next((limit for pattern, limit in self.larger if pattern.fullmatch(scope["path"])),
                         self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            await self._reject(send, max_bytes)
            return
        received = 0

        async def counting_receive() -> Message:
            # Chunked bodies carry no length: count as they stream; the app's error handler
            # renders the PayloadTooLarge raised here like any other domain error.
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise PayloadTooLarge(f"request body is larger than {max_bytes} bytes",
                                      details={"max_bytes": max_bytes})
            return message

        await self.app(scope, counting_receive, send)

    async def _reject(self, send: Send, max_bytes: int) -> None:
        body = json.dumps({"code": "payload_too_large",
                           "message": f"request body is larger than {max_bytes} bytes",
                           "details": {"max_bytes": max_bytes}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})



class PrefixCORSMiddleware:
    """Cross-origin access to one path prefix only (/dicomweb), for the listed origins: a viewer
    served from another address (OHIF) reads studies with an API token in its Authorization header.
    No credentials mode: a browser never sends the session cookie cross-origin here, so these routes
    stay as safe from other sites as the rest, and every other path answers no cross-origin request."""

    def __init__(self, app: ASGIApp, prefix: str, origins: Sequence[str]) -> None:
        self.app = app
        self.prefix = prefix
        self.cors = CORSMiddleware(app, allow_origins=list(origins), allow_methods=["GET", "POST", "OPTIONS"],
                                   allow_headers=["Authorization", "Accept", "Content-Type"],
                                   expose_headers=["Content-Type", "Content-Length", "ETag", "Warning"],
                                   allow_credentials=False, max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
