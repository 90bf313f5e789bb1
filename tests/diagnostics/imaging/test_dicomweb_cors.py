"""A viewer served from another address (OHIF) reads /dicomweb from the browser with an API token:
only the configured origins, only /dicomweb, never with cookies."""

from __future__ import annotations

import pytest

from carebridge.errors import ConfigurationError
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.imaging_world import store_ct

VIEWER = "https://viewer.hospital.example"


@pytest.fixture
def settings(settings):  # noqa: ANN001, ANN201
    # As an admin may write it: the browser's Origin is lower-case, without the default port.
    return settings.model_copy(update={"dicomweb_allowed_origins": "HTTPS://Viewer.Hospital.Example:443/, "
                                                                   "http://localhost:3000"})


async def test_a_listed_viewer_may_search_and_retrieve_with_its_token(client, world, db, dnet, blobs) -> None:  # noqa: ANN001
    stored = await store_ct(db, blobs, dnet, order=await place_order(world, db, dnet), count=1)
    token = await world.token(dnet.reader)

    preflight = await client.options("/dicomweb/studies", headers={
        "Origin": VIEWER, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization,accept"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == VIEWER
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers

    found = await client.get("/dicomweb/studies", headers={**token, "Origin": VIEWER,
                                                           "Accept": "application/dicom+json"})
    assert found.status_code == 200 and found.headers["access-control-allow-origin"] == VIEWER
    assert [study["0020000D"]["Value"][0] for study in found.json()] == [stored.study_uid]


async def test_other_origins_and_other_paths_get_no_cross_origin_access(client, world, db, dnet) -> None:  # noqa: ANN001
    token = await world.token(dnet.reader)
    stranger = await client.options("/dicomweb/studies", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert stranger.status_code == 400 and "access-control-allow-origin" not in stranger.headers
    read = await client.get("/dicomweb/studies", headers={**token, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in read.headers  # the browser withholds the answer
    api = await client.get("/api/v1/diagnosis/worklist", headers={**token, "Origin": VIEWER})
    assert api.status_code == 200 and "access-control-allow-origin" not in api.headers


@pytest.mark.parametrize("origin", ["https://viewer.example/path", "https://a:b:c", "ftp://viewer.example",
                                    "https://user@viewer.example", "viewer.example"])
async def test_a_malformed_origin_stops_start_up(settings, origin) -> None:  # noqa: ANN001
    from carebridge.app import create_app

    with pytest.raises(ConfigurationError, match="ALLOWED_ORIGINS"):
        create_app(settings.model_copy(update={"dicomweb_allowed_origins": origin}))
