"""A large request body kept on disk instead of in memory.

STOW-RS and the DICOM upload routes take whole studies in one request (up to
`dicom_max_request_bytes`, 1 GiB by default). Read with `request.body()`, each such request held
the study in memory, and a few sites sending at once could take the server's memory with them. The
body is streamed into an unlinked temporary file under the data directory (not /tmp, which may be
a RAM file system) and mapped read-only: a caller slicing out one object at a time holds one object
in memory, the rest stays in the page cache, which the kernel may drop."""

from __future__ import annotations

import asyncio
import mmap
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

from starlette.requests import Request

WRITE_BATCH = 1 << 20  # bytes gathered before one write in a worker thread (chunks arrive at ~64 kB)


@asynccontextmanager
async def spooled_body(request: Request, directory: Path) -> AsyncIterator[bytes | mmap.mmap]:
    """The body as a read-only buffer (`find`, slicing and `len` as on bytes), valid inside the block."""
    handle = await asyncio.to_thread(_temporary_file, directory)
    try:
        size = await _copy(request, handle)
        if size == 0:
            yield b""  # an empty file cannot be mapped
            return
        with mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_READ) as mapped:
            yield mapped
    finally:
        handle.close()


def _temporary_file(directory: Path) -> IO[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryFile(dir=directory, prefix="body-")


async def _copy(request: Request, handle: IO[bytes]) -> int:
    pending: list[bytes] = []
    pending_size = size = 0
    async for chunk in request.stream():
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size >= WRITE_BATCH:
            await asyncio.to_thread(handle.writelines, pending)
            size += pending_size
            pending, pending_size = [], 0
    await asyncio.to_thread(_finish, handle, pending)
    return size + pending_size


def _finish(handle: IO[bytes], pending: list[bytes]) -> None:
    handle.writelines(pending)
    handle.flush()
