"""Audit tests act in the same small network as the access tests."""

from __future__ import annotations

import pytest

from tests.access.conftest import Scene, make_scene


@pytest.fixture
async def scene(world) -> Scene:  # noqa: ANN001
    return await make_scene(world)
