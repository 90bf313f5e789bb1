"""JSON routes for auth under /api/v1."""

from __future__ import annotations

from carebridge.web.routing import router as make_router

router = make_router(prefix="/api/v1", tags=["auth"])
