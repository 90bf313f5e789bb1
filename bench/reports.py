"""Signing a diagnosis report: what the reader waits for after pressing "Sign final report".

Per run, on a fresh SQLite database built by the migrations: an order is placed and its study
arrives (one transaction), the reader claims it and saves the draft (one each), then the final
signature is timed as one unit of work exactly as the request runs it: the version and its hash,
the lifecycle move, the bilingual PDF rendered (fpdf2, CJK font) and filed in the record, the
double-read draw, the notifications, the commit. Also timed alone: drawing the PDF, and verifying a
report with 1 version and 50 addenda (what every read of a report recomputes).

    .venv/bin/python bench/reports.py             # 30 signatures (~1 min)
    .venv/bin/python bench/reports.py --runs 10
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


async def _world(session):  # noqa: ANN001, ANN202
    from carebridge.access.models import Consent
    from carebridge.auth import service as auth
    from carebridge.auth.models import Role
    from carebridge.network.models import Facility, Practitioner, ServiceOffering, Tier
    from carebridge.records.models import Patient, PatientRegistration

    hub = Facility(code="BENCH-HUB", name="江城市中心医院", name_en="Jiangcheng Central", tier=Tier.city_hospital.value)
    community = Facility(code="BENCH-COMM", name="东湖社区", name_en="Donghu", tier=Tier.community_center.value)
    session.add_all([hub, community])
    await session.flush()
    session.add(ServiceOffering(facility_id=hub.id, kind="imaging_reading", open_to_all=True, active=True))
    password = "bench-Reports-2026"
    sender = await auth.create_user(session, username="bench.sender", display_name="周敏", password=password,
                                    roles=[(Role.doctor, community.id)])
    reader = await auth.create_user(session, username="bench.reader", display_name="林涛", password=password,
                                    roles=[(Role.doctor, hub.id)])
    session.add(Practitioner(user_id=reader.id, title="attending", license_no="BENCH-1", languages=["zh"]))
    patient = Patient(name="赵德胜", sex="male", birth_date=dt.date(1949, 11, 2), national_id="110105194911020019")
    session.add(patient)
    await session.flush()
    session.add(PatientRegistration(patient_id=patient.id, facility_id=community.id, mrn="B-1"))
    session.add(Consent(patient_id=patient.id, status="granted", scope_all=True, recorded_by_id=sender.id,
                        facility_id=community.id))
    await session.flush()
    return {"hub": hub.id, "community": community.id, "sender": sender.id, "reader": reader.id, "patient": patient.id}


async def _principal(session, user_id: int):  # noqa: ANN001, ANN202
    from carebridge.auth import service as auth
    from carebridge.auth.models import User

    return await auth.load_principal(session, await session.get(User, user_id), via="token")


async def _one_signature(maker, blobs, ids: dict, n: int) -> float:  # noqa: ANN001
    from carebridge.db import unit_of_work
    from carebridge.diagnostics import claims, reports, service, studies
    from carebridge.diagnostics.studies import Arrival

    async with unit_of_work(maker) as s:
        order = await service.order_diagnosis(s, await _principal(s, ids["sender"]), service.OrderRequest(
            patient_id=ids["patient"], modality="CT", body_part="HEAD", clinical_question="头痛，排除出血。"))
        await studies.receive_item(s, Arrival(study_uid=f"1.2.826.0.1.99.{n}", sending_facility_id=ids["community"],
                                              hub_facility_id=ids["hub"], modality="CT", size_bytes=1000,
                                              single_object=True, order_id=order.id))
        order_id = order.id
    async with unit_of_work(maker) as s:
        await claims.claim(s, await _principal(s, ids["reader"]), order_id)
    async with unit_of_work(maker) as s:
        await reports.save_draft(s, await _principal(s, ids["reader"]), order_id, reports.DraftInput(
            findings={"haemorrhage": "none", "midline_shift": "0", "other": "双侧基底节区腔隙性梗死灶"},
            impression="未见颅内出血。双侧基底节区腔隙性脑梗死。", free_text="建议随访。"))
    started = time.perf_counter()
    async with unit_of_work(maker) as s:
        await reports.sign(s, await _principal(s, ids["reader"]), order_id, "final", blobs)
    return (time.perf_counter() - started) * 1000


def _pdf_draw_ms(runs: int) -> list[float]:
    from carebridge.diagnostics.report_pdf import ReportDoc, draw, font_path
    from carebridge.kit.pdf import Line

    doc = ReportDoc(1, "影像诊断报告 / Imaging report", [Line("患者 / Patient", "赵德胜")] * 11, "头痛，排除出血。",
                    "头颅CT / CT head", [Line("颅内出血 / Intracranial haemorrhage", "无 / None")] * 6,
                    "未见颅内出血。" * 5, "", [], [Line("正式报告 / Final", "林涛\nSHA-256: " + "a" * 64)], [])
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        draw(doc, font_path())
        times.append((time.perf_counter() - started) * 1000)
    return times


def _verify_ms(runs: int) -> list[float]:
    from carebridge.diagnostics import report_content as content
    from carebridge.diagnostics.report_models import ReportAddendum, ReportVersion

    text = content.canonical({"kind": "final", "order_id": 1, "signed_by_id": 2, "critical": False,
                              "signed_at": "2026-01-01T00:00:00.000+00:00", "findings": [{"key": "x"}] * 8,
                              "impression": "未见异常。" * 50, "previous_hash": None})
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    version = ReportVersion(id=1, report_id=1, order_id=1, kind="final", content=text,
                            content_hash=content.sha256(text), critical=False, signed_by_id=2, signed_at=at)
    addenda, prev = [], version.content_hash
    for i in range(50):
        h = content.addendum_hash(prev, 1, 2, f"补充 {i}", False, at)
        addenda.append(ReportAddendum(id=i, report_id=1, author_id=2, text=f"补充 {i}", critical=False, created_at=at,
                                      prev_hash=prev, hash=h))
        prev = h
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assert content.verify(1, [version], addenda).verified
        times.append((time.perf_counter() - started) * 1000)
    return times


async def main(runs: int) -> dict:
    from alembic import command

    from carebridge.db import make_engine, make_sessionmaker, unit_of_work
    from carebridge.kit.blobs import LocalBlobStore
    from carebridge.migrations import alembic_config

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench-reports.db"
        await asyncio.to_thread(command.upgrade, alembic_config(url), "heads")
        engine = make_engine(url)
        maker = make_sessionmaker(engine)
        async with unit_of_work(maker) as session:
            ids = await _world(session)
        blobs = LocalBlobStore(Path(tmp) / "blobs")
        signs = [await _one_signature(maker, blobs, ids, n) for n in range(runs)]
        await engine.dispose()
    draws, verifies = _pdf_draw_ms(max(5, runs // 3)), _verify_ms(200)
    result = {}
    for name, values in (("sign final (one transaction, SQLite)", signs), ("PDF draw alone", draws),
                         ("verify 1 version + 50 addenda", verifies)):
        result[name] = {"n": len(values), "p50_ms": round(statistics.median(values), 2),
                        "p95_ms": round(_percentile(values, 0.95), 2)}
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    import os

    os.environ.setdefault("CAREBRIDGE_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789")
    os.environ.setdefault("CAREBRIDGE_DIAGNOSIS_COMPLETION_POLL_SECONDS", "0")
    out = asyncio.run(main(args.runs))
    print(json.dumps(out, ensure_ascii=False, indent=2))
    print("\n| step | n | p50 | p95 |\n|---|---:|---:|---:|")
    for name, r in out.items():
        print(f"| {name} | {r['n']} | {r['p50_ms']} ms | {r['p95_ms']} ms |")
