"""Content-addressed blob store. Local folder by default; the interface is what an S3 store
would implement too."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from carebridge.errors import NotFound


class BlobStore(Protocol):
    async def put(self, data: bytes) -> str: ...
    async def get(self, digest: str) -> bytes: ...
    async def exists(self, digest: str) -> bool: ...


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise NotFound("no such blob")
        return self.root / digest[:2] / digest[2:4] / digest

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write_once, self._path(digest), data)
        return digest

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename so a crash never leaves a half-written blob under its final name.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put_file(self, source: Path) -> str:
        """Stores a file without reading it into memory (whole-slide images run to gigabytes): hard
        linked when it is on the same file system, copied otherwise."""
        return await asyncio.to_thread(self._put_file, source)

    def _put_file(self, source: Path) -> str:
        sha = hashlib.sha256()
        with source.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                sha.update(chunk)
        digest = sha.hexdigest()
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".incoming-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            try:
                os.link(source, tmp)
            except OSError:
                shutil.copyfile(source, tmp)
            with tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest

    async def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise NotFound("no such blob") from exc

    async def exists(self, digest: str) -> bool:
        return self._path(digest).exists()
