from __future__ import annotations

import pytest

from carebridge.kit import i18n
from carebridge.portal.home_nursing import paying  # noqa: F401 - the on_paid handler, as the app registers it
from tests.portal.home_nursing.scene import Scene, build_scene


@pytest.fixture(autouse=True)
def english():  # noqa: ANN201
    """Service-level texts are read in English here (the API client also asks for English)."""
    token = i18n.enter_locale("en")
    yield
    i18n.exit_locale(token)


@pytest.fixture
async def scene(world, db) -> Scene:  # noqa: ANN001
    return await build_scene(world, db)
