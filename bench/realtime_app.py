"""The ASGI app that bench/realtime.py serves with granian: CareBridge as shipped (configured from
the environment, like `carebridge serve`), plus one route the benchmark uses as its trigger. It
stamps the time and publishes to a user's notification topic on the process's hub, so the
benchmark measures hub -> every open /ws/notifications socket, not the trigger's own HTTP trip.
time.monotonic() is CLOCK_MONOTONIC, one clock for every process on the machine."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from carebridge.app import create_app
from carebridge.notifications.push import user_topic
from carebridge.realtime.api import hub_for

trigger = APIRouter()


@trigger.post("/bench/publish/{user_id}/{seq}")
async def publish(request: Request, user_id: int, seq: int) -> dict:
    sent_at = time.monotonic()
    await hub_for(request.app).publish_topic(user_topic(user_id), {"type": "bench", "seq": seq, "t0": sent_at})
    return {"t0": sent_at}


app = create_app()
app.include_router(trigger)
