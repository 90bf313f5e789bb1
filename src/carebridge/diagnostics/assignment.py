"""Automatic assignment of a ready order to a reader (by subspecialty, on duty now, current load).
Called by studies.py when an order's study completes and it enters the worklist."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.diagnostics.models import DiagnosisOrder


async def on_ready(session: AsyncSession, order: DiagnosisOrder) -> None:
    """Placeholder until the worklist lands: the order waits unassigned for any reader to claim."""
    return None
