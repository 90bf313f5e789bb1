"""An ECG order of the `dnet` network and helpers to upload to it through the API."""

from __future__ import annotations

import httpx
import pytest

from tests.diagnostics.conftest import place_order


@pytest.fixture
async def ecg_order(world, db, dnet):  # noqa: ANN001, ANN201
    return await place_order(world, db, dnet, modality="ECG", clinical_question="Palpitations: rhythm?")


async def upload(client: httpx.AsyncClient, headers: dict, order_id: int, parts: list[tuple[str, bytes]],
                 **form: str) -> httpx.Response:
    files = [("file", (name, data, "application/octet-stream")) for name, data in parts]
    return await client.post(f"/api/v1/diagnosis/orders/{order_id}/ecg", files=files, data=form, headers=headers)
