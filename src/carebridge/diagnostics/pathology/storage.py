"""Where a slide's files live. The blob store holds them (it is the record); OpenSlide needs real
file paths, with the original extension for some formats and all of a DICOM series in one folder,
so each slide also has a working copy under `pathology_slide_dir/<digest[:2]>/<digest>/`. The same
slide sent twice shares one working copy; a missing working copy (a new server, a cleared cache)
is rebuilt from the blob store when the slide is next opened."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path

from carebridge.config import get_settings
from carebridge.diagnostics.pathology.intake import Found
from carebridge.diagnostics.pathology.models import PathologySlide
from carebridge.kit.blobs import BlobStore


def slide_root() -> Path:
    return get_settings().pathology_slide_dir


def staging_dir() -> Path:
    """A fresh folder for one upload, on the same file system as the working copies (moves, not copies)."""
    path = slide_root() / ".incoming" / secrets.token_hex(8)
    path.mkdir(parents=True)
    return path


def working_dir(digest: str) -> Path:
    return slide_root() / digest[:2] / digest


def working_path(slide: PathologySlide) -> Path:
    """The file OpenSlide opens (for a DICOM series: any one of its files; OpenSlide finds the rest)."""
    return working_dir(slide.blob_digest) / slide.files[0]["name"]


def keep(found: Found) -> None:
    """Moves the upload's files into the slide's working copy (blocking; call in a thread)."""
    final = working_dir(found.digest)
    if not _complete(final, [m.name for m in found.members]):
        _install(final, [(m.path, m.name) for m in found.members])
    for member in found.members:
        member.path = final / member.name


def _complete(folder: Path, names: list[str]) -> bool:
    return all((folder / name).is_file() for name in names)


def _install(final: Path, sources: list[tuple[Path, str]]) -> None:
    """Fills a temporary folder and renames it into place, so a reader never sees half a series."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".incoming-{secrets.token_hex(6)}"
    tmp.mkdir()
    try:
        for source, name in sources:
            os.replace(source, tmp / name)
        shutil.rmtree(final, ignore_errors=True)  # an incomplete copy left by a crash
        os.replace(tmp, final)
    except OSError:
        if not final.exists():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def store_blobs(blobs: BlobStore, found: Found) -> None:
    for member in found.members:
        put_file = getattr(blobs, "put_file", None)
        if put_file is not None:
            await put_file(member.path)
        else:
            await blobs.put(await asyncio.to_thread(member.path.read_bytes))


async def ensure_working_copy(slide: PathologySlide, blobs: BlobStore) -> Path:
    path = working_path(slide)
    folder = path.parent
    names = [f["name"] for f in slide.files]
    if await asyncio.to_thread(_complete, folder, names):
        return path
    tmp = slide_root() / ".incoming" / secrets.token_hex(8)
    await asyncio.to_thread(tmp.mkdir, parents=True)
    try:
        for entry in slide.files:
            data = await blobs.get(entry["digest"])
            await asyncio.to_thread((tmp / entry["name"]).write_bytes, data)
        await asyncio.to_thread(_install, folder, [(tmp / name, name) for name in names])
    finally:
        await asyncio.to_thread(shutil.rmtree, tmp, True)
    return path


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
