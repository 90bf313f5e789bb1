"""Live notifications over WS /ws/notifications, as a signed-in page sees them: pushed only after
the action commits, only to the recipient, with the unread count; refused without a valid session
or from another site. The app runs with its real lifespan (which installs the hub for after-commit
pushes); every test runs on the in-process hub and on the Redis hub."""

from __future__ import annotations

import pytest

from carebridge.auth import service as auth
from carebridge.auth.models import Role
from carebridge.db import unit_of_work
from carebridge.notifications.live import CLOSE_FORBIDDEN_ORIGIN, CLOSE_UNAUTHENTICATED
from carebridge.notifications.service import notify
from tests.notifications.asgi_ws import AsgiSocket


@pytest.fixture(params=["in_process", "redis"])
async def live_app(request, app):  # noqa: ANN001, ANN201
    if request.param == "redis":
        from tests.realtime.conftest import _redis_hub

        app.state.realtime_hub = await _redis_hub()
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sockets():  # noqa: ANN201
    opened: list[AsgiSocket] = []
    yield opened
    for socket in opened:
        await socket.close()


async def session_cookie(db, user, *, mfa_verified: bool = True) -> dict[str, str]:  # noqa: ANN001
    token, _ = await auth.start_session(db, user, ip="203.0.113.7", mfa_verified=mfa_verified)
    return {"cookie": f"cb_session={token}"}


async def connect(app, sockets, headers: dict[str, str]) -> AsgiSocket:  # noqa: ANN001
    socket = AsgiSocket(app, "/ws/notifications", headers)
    sockets.append(socket)
    return await socket.open()


async def signed_in(app, sockets, db, user, **headers: str) -> AsgiSocket:  # noqa: ANN001
    socket = await connect(app, sockets, await session_cookie(db, user) | headers)
    assert (await socket.receive_json())["type"] == "hello"
    return socket


async def committed_notify(sessionmaker, user_ids, title: str = "New consultation") -> None:  # noqa: ANN001
    async with unit_of_work(sessionmaker) as session:
        await notify(session, user_ids, kind="consultation", title=title, body="A case awaits you.",
                     link="/consultations/7", channels=[])


@pytest.fixture
async def doctor(world):  # noqa: ANN001, ANN201
    facility = await world.facility()
    return await world.user((Role.doctor, facility.id))


async def test_committed_notification_is_pushed_with_the_unread_count(live_app, sockets, db, sessionmaker,
                                                                      doctor) -> None:
    await committed_notify(sessionmaker, [doctor.id], "Earlier")
    socket = await connect(live_app, sockets, await session_cookie(db, doctor))
    assert await socket.receive_json() == {"type": "hello", "unread": 1}
    await committed_notify(sessionmaker, [doctor.id])
    pushed = await socket.receive_json()
    assert pushed["type"] == "notification" and pushed["title"] == "New consultation"
    assert pushed["link"] == "/consultations/7" and pushed["body"] == "A case awaits you."
    assert pushed["unread"] == 2 and isinstance(pushed["id"], int)


async def test_rolled_back_action_pushes_nothing(live_app, sockets, db, sessionmaker, doctor) -> None:
    socket = await signed_in(live_app, sockets, db, doctor)
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessionmaker) as session:
            await notify(session, [doctor.id], kind="consultation", title="never saved", channels=[])
            raise RuntimeError("the action failed after notify()")
    await socket.nothing_for(0.5)
    await committed_notify(sessionmaker, [doctor.id], "saved")
    pushed = await socket.receive_json()
    assert pushed["title"] == "saved" and pushed["unread"] == 1


async def test_only_the_recipient_receives_it_on_every_open_tab(live_app, sockets, db, sessionmaker, world,
                                                                doctor) -> None:
    other = await world.user((Role.doctor, (await world.facility()).id))
    tab1 = await signed_in(live_app, sockets, db, doctor)
    tab2 = await signed_in(live_app, sockets, db, doctor)
    bystander = await signed_in(live_app, sockets, db, other)
    await committed_notify(sessionmaker, [doctor.id])
    assert (await tab1.receive_json())["title"] == "New consultation"
    assert (await tab2.receive_json())["title"] == "New consultation"
    await bystander.nothing_for(0.5)


async def test_marking_all_read_elsewhere_clears_the_badge(live_app, sockets, db, sessionmaker, client, world,
                                                           doctor) -> None:
    socket = await signed_in(live_app, sockets, db, doctor)
    await committed_notify(sessionmaker, [doctor.id])
    assert (await socket.receive_json())["unread"] == 1
    response = await client.post("/api/v1/notifications/read", headers=await world.token(doctor))
    assert response.status_code == 200
    assert await socket.receive_json() == {"type": "unread", "unread": 0}


async def test_anonymous_socket_is_closed_with_4401(live_app, sockets) -> None:
    socket = await connect(live_app, sockets, {})
    assert await socket.close_code() == CLOSE_UNAUTHENTICATED


async def test_forged_ended_or_half_signed_in_sessions_are_refused(live_app, sockets, db, doctor) -> None:
    forged = await connect(live_app, sockets, {"cookie": "cb_session=not-a-session"})
    assert await forged.close_code() == CLOSE_UNAUTHENTICATED
    token, web_session = await auth.start_session(db, doctor, ip="203.0.113.7", mfa_verified=True)
    await auth.end_session(db, web_session)
    ended = await connect(live_app, sockets, {"cookie": f"cb_session={token}"})
    assert await ended.close_code() == CLOSE_UNAUTHENTICATED
    pending = await connect(live_app, sockets, await session_cookie(db, doctor, mfa_verified=False))
    assert await pending.close_code() == CLOSE_UNAUTHENTICATED


async def test_a_page_of_another_site_cannot_ride_the_cookie(live_app, sockets, db, sessionmaker, doctor) -> None:
    cookie = await session_cookie(db, doctor)
    evil = await connect(live_app, sockets, cookie | {"origin": "https://evil.example"})
    assert await evil.close_code() == CLOSE_FORBIDDEN_ORIGIN
    lookalike = await connect(live_app, sockets, cookie | {"origin": "http://testserver.evil.example"})
    assert await lookalike.close_code() == CLOSE_FORBIDDEN_ORIGIN
    own = await signed_in(live_app, sockets, db, doctor, origin="http://testserver")
    await committed_notify(sessionmaker, [doctor.id])
    assert (await own.receive_json())["type"] == "notification"


async def test_a_program_may_listen_with_an_api_token(live_app, sockets, db, sessionmaker, world, doctor) -> None:
    socket = await connect(live_app, sockets, await world.token(doctor))
    assert (await socket.receive_json())["type"] == "hello"
    await committed_notify(sessionmaker, [doctor.id])
    assert (await socket.receive_json())["title"] == "New consultation"
    bad = await connect(live_app, sockets, {"authorization": "Bearer nope"})
    assert await bad.close_code() == CLOSE_UNAUTHENTICATED
