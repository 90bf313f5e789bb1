"""A standard DICOMweb client (dicomweb-client, with a requests session carrying the Bearer token)
against the live granian server: search, retrieve, metadata, frames, rendered."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from PIL import Image
from requests.exceptions import HTTPError


def client_for(server, username: str) -> DICOMwebClient:  # noqa: ANN001
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.world['tokens'][username]}"
    return DICOMwebClient(url=f"{server.base_url}/dicomweb", session=session)


def _exercise(server) -> None:  # noqa: ANN001
    world = server.world
    study, prior = world["study"], world["prior"]
    client = client_for(server, world["reader"])

    found = client.search_for_studies(search_filters={"PatientID": "DB-000731"})
    assert [s["0020000D"]["Value"][0] for s in found] == [study["study_uid"], prior["study_uid"]]
    assert client.search_for_studies(search_filters={"StudyDate": "20260101-20261231"})[0]["0020000D"]["Value"] == [
        study["study_uid"]]
    paged = client.search_for_studies(limit=1, offset=1)
    assert [s["0020000D"]["Value"][0] for s in paged] == [prior["study_uid"]]
    series = client.search_for_series(study_instance_uid=study["study_uid"])
    assert [s["0020000E"]["Value"][0] for s in series] == [study["series_uid"]]
    instances = client.search_for_instances(study_instance_uid=study["study_uid"],
                                            series_instance_uid=study["series_uid"], fields=["PixelSpacing"])
    assert [i["00080018"]["Value"][0] for i in instances] == study["sop_uids"]
    assert instances[0]["00280030"]["Value"] == [0.488, 0.488]

    uids = (study["study_uid"], study["series_uid"], study["sop_uids"][3])
    dataset = client.retrieve_instance(*uids)
    assert dataset.SOPInstanceUID == uids[2] and dataset.pixel_array.shape == (256, 256)
    metadata = client.retrieve_instance_metadata(*uids)
    assert metadata["00100020"]["Value"] == ["DB-000731"] and "BulkDataURI" in metadata["7FE00010"]
    [frame] = client.retrieve_instance_frames(*uids, frame_numbers=[1])
    assert np.array_equal(np.frombuffer(frame, "<u2").reshape(256, 256), dataset.pixel_array)
    rendered = client.retrieve_instance_rendered(*uids, media_types=("image/jpeg",), params={"window": "40,80"})
    assert Image.open(io.BytesIO(rendered)).size == (256, 256)
    png = client.retrieve_instance_rendered(*uids, media_types=("image/png",), params={"viewport": "64,64"})
    assert Image.open(io.BytesIO(png)).format == "PNG"
    assert len(client.retrieve_series(study["study_uid"], study["series_uid"])) == len(study["sop_uids"])

    outsider = client_for(server, world["outsider"])
    assert outsider.search_for_studies() == []
    with pytest.raises(HTTPError) as refused:
        outsider.retrieve_instance_metadata(*uids)
    assert refused.value.response.status_code == 404
    anonymous = DICOMwebClient(url=f"{server.base_url}/dicomweb")
    with pytest.raises(HTTPError) as unauthenticated:
        anonymous.search_for_studies()
    assert unauthenticated.value.response.status_code == 401


async def test_dicomweb_client_searches_and_retrieves_against_the_live_server(imaging_server):
    await asyncio.to_thread(_exercise, imaging_server)  # dicomweb-client is synchronous (requests)
