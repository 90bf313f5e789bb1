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
