"""Pages for audit."""

from __future__ import annotations

from carebridge.web.routing import router as make_router

router = make_router(include_in_schema=False)
