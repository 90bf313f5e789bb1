"""Deep Zoom tile latency of pathology slides, through the whole application.

A fresh SQLite database built by the migrations, a pathology order arranged through the services,
the slide uploaded through `POST /api/v1/diagnosis/orders/{id}/slides`, then tiles requested as
the viewer requests them, by the hub's pathologist with an API token, through the app in process
(httpx ASGI transport: routing, authentication, the authorising transaction, OpenSlide, JPEG
encoding; no network hop). Per slide:

- open + first tile: the process has no open slide (cache emptied), so the request opens it;
- cold tile: the slide is open, the tile's region was never decoded;
- warm tile: the same tile again (OpenSlide's decoded-tile cache holds the region; JPEG is encoded anew);
- revalidated tile: the browser asks with If-None-Match and gets 304;
- .dzi: the audited opening of the slide (one audit row, a write);
- cold tiles with 4 viewers asking at once (throughput).

    .venv/bin/python bench/pathology_tiles.py [--tiles 300] [--slides svs,dicom]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
_TMP = Path(tempfile.mkdtemp(prefix="carebridge-bench-pathology-"))
os.environ.update({"CAREBRIDGE_DATA_DIR": str(_TMP),
                   "CAREBRIDGE_SECRET_KEY": "bench-secret-key-long-enough-0123456789ab",
                   "CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS": "0", "CAREBRIDGE_CONSULT_TIMER_SECONDS": "0"})

import httpx  # noqa: E402
from alembic import command  # noqa: E402

from carebridge.app import create_app  # noqa: E402
from carebridge.config import get_settings  # noqa: E402
from carebridge.db import unit_of_work  # noqa: E402
from carebridge.migrations import alembic_config  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, ms: list[float]) -> str:
    return f"| {name} | {len(ms)} | {statistics.median(ms):.1f} | {_pct(ms, 0.95):.1f} | {max(ms):.1f} |"


async def _arrange(app) -> tuple[dict, dict, int]:  # noqa: ANN001
    from carebridge.access.models import Consent
    from carebridge.auth import service as auth
    from carebridge.auth.models import Role
    from carebridge.diagnostics import service as orders
    from carebridge.network.models import Facility, ServiceOffering, Tier
    from carebridge.records.models import Patient, PatientRegistration

    async with unit_of_work(app.state.sessionmaker) as s:
        centre = Facility(code="B-CHC", name="社区", tier=Tier.community_center.value)
        hub = Facility(code="B-HUB", name="病理中心", tier=Tier.city_hospital.value)
        s.add_all([centre, hub])
        await s.flush()
        s.add(ServiceOffering(facility_id=hub.id, kind="pathology_reading", open_to_all=True, active=True))
        sender = await auth.create_user(s, username="b.sender", display_name="S", password="bench-Pathology-2026",
                                        roles=[(Role.doctor, centre.id)])
        reader = await auth.create_user(s, username="b.reader", display_name="R", password="bench-Pathology-2026",
                                        roles=[(Role.doctor, hub.id)])
        patient = Patient(name="基准", sex="female", birth_date=dt.date(1968, 9, 14), national_id="110105196809140022")
        s.add(patient)
        await s.flush()
        s.add(PatientRegistration(patient_id=patient.id, facility_id=centre.id, mrn="B-1"))
        s.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                      facility_id=centre.id))
        await s.flush()
        tokens = []
        for user in (sender, reader):
            principal = await auth.load_principal(s, user, via="token")
            tokens.append({"Authorization": "Bearer " + (await auth.create_api_token(s, principal, "bench"))[0]})
        order_ids = []
        for _ in range(2):
            order = await orders.order_diagnosis(s, await auth.load_principal(s, sender, via="token"),
                                                 orders.OrderRequest(patient_id=patient.id, modality="SM",
                                                                     clinical_question="bench slide"))
            order_ids.append(order.id)
    return tokens[0], tokens[1], order_ids


def _slide_files(kind: str) -> list[tuple[str, bytes]]:
    from tests.diagnostics.pathology.slide_files import SVS, dicom_wsi, svs_region

    if kind == "svs":
        return [(SVS.name, SVS.read_bytes())]
    return dicom_wsi(svs_region(2048, 2048), tile=256)  # a 4-level DICOM WSI series


async def _timed(client: httpx.AsyncClient, url: str, headers: dict, expect: int = 200) -> float:
    start = time.perf_counter()
    response = await client.get(url, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != expect:
        raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return elapsed


async def _bench_slide(app, client, sender, reader, order_id, kind, n_tiles) -> list[str]:  # noqa: ANN001
    import math

    files = _slide_files(kind)
    made = await client.post(f"/api/v1/diagnosis/orders/{order_id}/slides", headers=sender,
                             files=[("files", (n, d, "application/octet-stream")) for n, d in files])
    slide = made.json()[0]
    base = f"/api/v1/diagnosis/orders/{order_id}/slides/{slide['id']}"
    deepest = math.ceil(math.log2(max(slide["width"], slide["height"])))
    tiles = [(level, c, r) for level in range(deepest - 3, deepest + 1)
             for c in range(math.ceil(slide["width"] / 2 ** (deepest - level) / 254))
             for r in range(math.ceil(slide["height"] / 2 ** (deepest - level) / 254))]
    random.Random(7).shuffle(tiles)
    tiles = tiles[:n_tiles]
    url = [f"{base}_files/{lv}/{c}_{r}.jpeg" for lv, c, r in tiles]
    first = []
    for i in range(20):
        app.state.pathology_slides = None  # the process has no slide open
        first.append(await _timed(client, url[i % len(url)], reader))
    app.state.pathology_slides = None
    cold = [await _timed(client, u, reader) for u in url]
    warm = [await _timed(client, u, reader) for u in url]
    etag = (await client.get(url[0], headers=reader)).headers["etag"]
    revalidated = [await _timed(client, url[0], {**reader, "If-None-Match": etag}, 304) for _ in range(100)]
    dzi = [await _timed(client, base + ".dzi", reader) for _ in range(50)]
    app.state.pathology_slides = None
    start = time.perf_counter()
    queue = list(url)

    async def viewer() -> None:
        while queue:
            await _timed(client, queue.pop(), reader)

    await asyncio.gather(*(viewer() for _ in range(4)))
    throughput = len(url) / (time.perf_counter() - start)
    title = f"{kind}: {slide['width']}×{slide['height']}, {slide['level_count']} level(s), {len(url)} tiles"
    return [f"\n**{title}**\n", "| request | n | median ms | p95 ms | max ms |", "|---|---|---|---|---|",
            _row("open + first tile", first), _row("cold tile", cold), _row("warm tile", warm),
            _row("revalidated tile (304)", revalidated), _row(".dzi (audited opening)", dzi),
            f"\nCold tiles, 4 viewers at once: {throughput:.0f} tiles/s"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=300)
    parser.add_argument("--slides", default="svs,dicom")
    args = parser.parse_args()
    settings = get_settings()
    await asyncio.to_thread(command.upgrade, alembic_config(settings.database_url), "heads")
    app = create_app(settings)
    sender, reader, order_ids = await _arrange(app)
    transport = httpx.ASGITransport(app=app)
    lines = [f"CPU: {os.cpu_count()} cores · Python {sys.version.split()[0]} · SQLite · tile quality "
             f"{settings.pathology_tile_quality}"]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
        for kind, order_id in zip(args.slides.split(","), order_ids, strict=False):
            lines += await _bench_slide(app, client, sender, reader, order_id, kind, args.tiles)
    await app.state.engine.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main())
