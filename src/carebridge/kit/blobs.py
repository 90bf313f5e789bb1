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
    async def put_hashed(self, data: bytes, digest: str) -> str:
        """`put` when the caller has hashed `data` already (SHA-256, hex), as it arrived."""
        ...
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
        # Hashing a large object in the worker thread too keeps the event loop free (hashlib drops the GIL).
        return await asyncio.to_thread(self._put, data)

    async def put_hashed(self, data: bytes, digest: str) -> str:
        await asyncio.to_thread(self._write_once, self._path(digest), data)
        return digest

    def _put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self._write_once(self._path(digest), data)
        return digest

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        """Durable before it returns: the file is written under its final name and fsynced, then its
        directory (a temporary name and a rename would cost a second journal commit on ext4). A crash
        mid-write can leave a short file under the name, so a file found there is trusted only when
        its content hashes to its name; a damaged one is replaced atomically."""
        if path.exists():
            if _holds(path):
                _fsync_file(path)  # an earlier writer may have died before its own sync
                _fsync_dir(path.parent)
                return
            _replace(path, data)
            return
        created = _make_parents(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another writer of the same content got there first: check theirs
            LocalBlobStore._write_once(path, data)
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            # Directories after the file: on ext4 the file's sync already committed their new
            # entries in the same journal transaction, so these syncs find little left to do.
            for directory in [path.parent, *created]:
                _fsync_dir(directory)
        except BaseException:
            path.unlink(missing_ok=True)
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


def _make_parents(directory: Path) -> list[Path]:
    """Creates the missing levels; returns the parents whose entries changed, innermost first."""
    missing = []
    while not directory.is_dir():
        missing.append(directory)
        directory = directory.parent
    for level in reversed(missing):
        level.mkdir(exist_ok=True)
    return [level.parent for level in missing]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _holds(path: Path) -> bool:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest() == path.name


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _replace(path: Path, data: bytes) -> None:
    """Write-then-rename, so the damaged copy is never seen half-replaced."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
