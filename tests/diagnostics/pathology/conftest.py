"""Pathology orders on the small diagnosis network of tests/diagnostics/conftest.py."""

from __future__ import annotations

import pytest

from tests.diagnostics.conftest import build_diag_net, place_order


@pytest.fixture
async def dnet(world, db):  # noqa: ANN001, ANN201
    return await build_diag_net(world, db)


async def pathology_order(world, db, dnet, **kw):  # noqa: ANN001, ANN003, ANN201
    return await place_order(world, db, dnet, modality="SM",
                             clinical_question=kw.pop("clinical_question", "Breast lump: benign or malignant?"), **kw)


def slides_url(order_id: int) -> str:
    return f"/api/v1/diagnosis/orders/{order_id}/slides"


async def upload(client, headers: dict, order_id: int, files: list[tuple[str, bytes]], **fields):  # noqa: ANN001, ANN003, ANN201
    return await client.post(slides_url(order_id), headers=headers, data=fields,
                             files=[("files", (name, data, "application/octet-stream")) for name, data in files])
