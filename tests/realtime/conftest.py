"""Realtime fixtures: both hub implementations. Redis is at 127.0.0.1:6379 here and on CI; with
CI=true an unreachable Redis fails the run instead of skipping."""

from __future__ import annotations

import os
import uuid

import pytest

REDIS_URL = os.environ.get("CAREBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def _redis_hub():  # noqa: ANN202
    import redis.asyncio as redis

    from carebridge.realtime.redis_hub import RedisHub

    probe = redis.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is unreachable at {REDIS_URL}")
    finally:
        await probe.aclose()
    # A fresh key prefix per test: nothing leaks between tests or parallel runs.
    return RedisHub(REDIS_URL, prefix=f"carebridge-test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["in_process", "redis"])
async def hub(request):  # noqa: ANN001, ANN201
    from carebridge.realtime.hub import InProcessHub

    made = InProcessHub() if request.param == "in_process" else await _redis_hub()
    yield made
    await made.close()


@pytest.fixture
def realtime_app(settings):  # noqa: ANN001, ANN201
    """The app with the realtime routers, whether or not app.py includes them yet."""
    from carebridge.app import create_app

    application = create_app(settings)
    include_realtime(application)
    return application


def include_realtime(application) -> None:  # noqa: ANN001
    from carebridge.realtime import api

    paths = {getattr(route, "path", None) for route in application.router.routes}
    if "/ws/rooms/{room_id}" not in paths:
        application.include_router(api.ws_router)
    if "/api/v1/realtime/ice-servers" not in paths:
        application.include_router(api.router)
