"""dicomweb-client, a standard DICOMweb client, stores a study through STOW-RS on a live
`carebridge serve` (granian) with an API token; the study is then in the index."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from dicomweb_client.api import DICOMwebClient
from requests import HTTPError

from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset
from tests.browser.conftest import _free_port, _wait_until_up
from tests.conftest import ENGINES
from tests.diagnostics.imaging import live


@pytest.fixture(params=ENGINES)
async def server(request, tmp_path):  # noqa: ANN001, ANN201
    url = await live.database_url(request.param, tmp_path, "_stow")
    token = await live.arrange(url)
    port = _free_port()
    env = {**os.environ, "CAREBRIDGE_DATABASE_URL": url, "CAREBRIDGE_DATA_DIR": str(tmp_path),
           "CAREBRIDGE_BLOB_DIR": str(tmp_path / "blobs"), "PYTHONPATH": str(live.SRC)}
    log = tmp_path / "server.log"
    process = subprocess.Popen([sys.executable, "-m", "carebridge", "serve", "--host", "127.0.0.1", "--port",  # noqa: ASYNC220
                                str(port)], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(_wait_until_up, base, process, log)
    yield base, token, url
    process.terminate()
    process.wait(timeout=15)


async def test_dicomweb_client_stores_a_study_over_stow_rs(server):
    base, token, url = server
    client = DICOMwebClient(url=f"{base}/dicomweb", headers={"Authorization": f"Bearer {token}"})
    spec = SeriesSpec(count=3, size=128, accession_number="STOW1")
    answer = await asyncio.to_thread(client.store_instances, [ct_dataset(spec, i) for i in range(3)])
    assert len(answer.ReferencedSOPSequence) == 3 and "FailedSOPSequence" not in answer
    assert answer.RetrieveURL.endswith(f"/dicomweb/studies/{spec.study_uid}")
    counted = await live.instance_count(url)
    assert counted == 3
    stranger = DICOMwebClient(url=f"{base}/dicomweb", headers={"Authorization": "Bearer not-a-token"})
    with pytest.raises(HTTPError) as refused:
        await asyncio.to_thread(stranger.store_instances, [ct_dataset(spec, 0)])
    assert refused.value.response.status_code == 401
