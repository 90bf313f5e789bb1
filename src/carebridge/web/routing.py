"""Routers whose every request runs in one unit of work: committed after the handler returns and
before the response leaves, so a client is never told 'saved' about something that was not."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from carebridge.db import unit_of_work


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            async with unit_of_work(request.app.state.sessionmaker) as session:
                request.state.db = session
                return await handler(request)

        return run_in_transaction


def router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=TransactionalRoute, **kwargs)
