"""Realtime routes: the signalling WebSocket (a plain router: a socket is not one unit of work) and
the ICE configuration under /api/v1 (transactional like every API route)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, FastAPI, Request, WebSocket
from pydantic import BaseModel

from carebridge.errors import Forbidden, NotAuthenticated
from carebridge.realtime import rooms, signalling
from carebridge.realtime.hub import Hub, InProcessHub
from carebridge.realtime.ice import ice_config
from carebridge.realtime.tokens import check_room_token
from carebridge.web.deps import CurrentPrincipal
from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["realtime"])
ws_router = APIRouter()


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceConfigOut(BaseModel):
    ice_servers: list[IceServerOut]
    expires_at: int | None = None


@router.get("/realtime/ice-servers", response_model=IceConfigOut)
async def ice_servers(request: Request, principal: CurrentPrincipal) -> IceConfigOut:
    """STUN/TURN servers for RTCPeerConnection; TURN credentials are for this user and expire."""
    return IceConfigOut.model_validate(asdict(ice_config(request.app.state.settings, principal.user_id)))


def hub_for(app: FastAPI) -> Hub:
    """The process's hub, made on first use: Redis when configured (several server processes),
    in-process otherwise."""
    hub = getattr(app.state, "realtime_hub", None)
    if hub is None:
        url = app.state.settings.realtime_redis_url
        if url:
            from carebridge.realtime.redis_hub import RedisHub

            hub = RedisHub(url)
        else:
            hub = InProcessHub()
        app.state.realtime_hub = hub
    return hub


@ws_router.websocket("/ws/rooms/{room_id}")
async def room_socket(websocket: WebSocket, room_id: str, token: str | None = None) -> None:
    settings = websocket.app.state.settings
    # Accept first: a close code (4401/4403) reaches the browser only on an open socket.
    await websocket.accept()
    try:
        grant = check_room_token(settings.require_secret(), token, room_id=room_id)
    except NotAuthenticated as exc:
        await websocket.close(signalling.CLOSE_UNAUTHENTICATED, exc.code)
        return
    except Forbidden as exc:
        await websocket.close(signalling.CLOSE_FORBIDDEN, exc.code)
        return
    await signalling.run_participant(websocket, hub_for(websocket.app), grant,
                                     capacity=settings.realtime_max_participants,
                                     max_bytes=settings.realtime_max_message_bytes,
                                     watcher=rooms.watcher_for(room_id, websocket.app.state))
