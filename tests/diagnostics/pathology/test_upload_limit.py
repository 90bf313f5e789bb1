"""The slide upload route has its own body limit; every other route keeps the general one."""

from __future__ import annotations

import re

import httpx

from carebridge.app import SLIDE_UPLOAD
from carebridge.web.middleware import BodySizeLimitMiddleware


async def _echo(scope, receive, send):  # noqa: ANN001, ANN202
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def test_only_the_slide_upload_route_takes_the_larger_body():
    app = BodySizeLimitMiddleware(_echo, max_bytes=1000, larger=[(SLIDE_UPLOAD, 5000)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/api/v1/diagnosis/orders/7/slides", content=b"x" * 4000)).text == "4000"
        assert (await client.post("/api/v1/diagnosis/orders/7/slides", content=b"x" * 6000)).status_code == 413
        refused = await client.post("/api/v1/patients/7/documents", content=b"x" * 4000)
        assert refused.status_code == 413 and refused.json()["details"]["max_bytes"] == 1000
        assert (await client.post("/api/v1/diagnosis/orders/7/slides/x", content=b"x" * 4000)).status_code == 413
    assert isinstance(SLIDE_UPLOAD, re.Pattern)
