"""Imaging tests share the diagnosis network of tests/diagnostics/conftest.py and a blob store."""

from __future__ import annotations

import pytest

from carebridge.kit.blobs import LocalBlobStore


@pytest.fixture
def blobs(tmp_path):  # noqa: ANN001, ANN201
    return LocalBlobStore(tmp_path / "blobs")
