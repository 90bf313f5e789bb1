"""QIDO-RS: matching, paging, includefield, and that a search only ever shows what the caller may see."""

from __future__ import annotations

import datetime as dt

from carebridge.diagnostics.imaging.study_access import visible_studies_clause
from tests.diagnostics.conftest import place_order
from tests.diagnostics.imaging.imaging_world import store_ct

JSON = {"Accept": "application/dicom+json"}
UID, PATIENT_ID, ACCESSION, DATE, SERIES_UID, SOP_UID = \
    "0020000D", "00100020", "00080050", "00080020", "0020000E", "00080018"


def values(body: list[dict], tag: str) -> list:
    return [item[tag]["Value"][0] if "Value" in item.get(tag, {}) else None for item in body]


async def _three_studies(world, db, dnet, blobs):  # noqa: ANN001, ANN202
    first = await place_order(world, db, dnet)
    second = await place_order(world, db, dnet, modality="MR")
    a = await store_ct(db, blobs, dnet, order=first, count=3, when=dt.datetime(2025, 1, 10, 8, 0))
    b = await store_ct(db, blobs, dnet, order=second, count=2, when=dt.datetime(2026, 2, 20, 8, 0))
    c = await store_ct(db, blobs, dnet, order=None, count=1, patient_id="UNKNOWN-7",
                       when=dt.datetime(2026, 3, 5, 8, 0))  # waits for reconciliation at the hub
    return first, second, a, b, c


async def test_studies_match_by_patient_accession_date_range_uid_and_modality(client, world, db, dnet, blobs):
    first, _second, a, b, c = await _three_studies(world, db, dnet, blobs)
    reader = {**await world.token(dnet.reader), **JSON}

    async def search(**params) -> list[dict]:  # noqa: ANN003
        response = await client.get("/dicomweb/studies", params=params, headers=reader)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/dicom+json")
        return response.json()

    assert set(values(await search(), UID)) == {a.study_uid, b.study_uid, c.study_uid}
    assert values(await search(PatientID=dnet.mrn), UID) == [b.study_uid, a.study_uid]  # newest first
    assert values(await search(PatientID="UNKNOWN-*"), UID) == [c.study_uid]
    assert values(await search(AccessionNumber=first.accession_number), UID) == [a.study_uid]
    assert values(await search(StudyDate="20260101-20260301"), UID) == [b.study_uid]
    assert values(await search(StudyDate="-20251231"), UID) == [a.study_uid]
    assert values(await search(**{"00080020": "20260305"}), UID) == [c.study_uid]
    assert values(await search(StudyInstanceUID=f"{a.study_uid},{c.study_uid}"), UID) == [c.study_uid, a.study_uid]
    assert len(await search(ModalitiesInStudy="CT")) == 3 and await search(ModalitiesInStudy="US") == []
    study = (await search(StudyInstanceUID=a.study_uid))[0]
    assert study["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "TEST^PATIENT"}]}
    assert study["00201208"]["Value"] == [3] and study["00080061"]["Value"] == ["CT"]
    assert study["00081190"]["Value"][0].endswith(f"/dicomweb/studies/{a.study_uid}")


async def test_paging_with_limit_and_offset_warns_when_more_remain(client, world, db, dnet, blobs):
    _f, _s, a, b, c = await _three_studies(world, db, dnet, blobs)
    headers = {**await world.token(dnet.reader), **JSON}
    page1 = await client.get("/dicomweb/studies?limit=2", headers=headers)
    page2 = await client.get("/dicomweb/studies?limit=2&offset=2", headers=headers)
    assert "additional results" in page1.headers["warning"] and "warning" not in page2.headers
    assert values(page1.json(), UID) + values(page2.json(), UID) == [c.study_uid, b.study_uid, a.study_uid]
    bad = await client.get("/dicomweb/studies?limit=0", headers=headers)
    assert bad.status_code == 400 and bad.json()["details"]["limit"] == "0"


async def test_series_and_instances_of_a_study_with_includefield(client, world, db, dnet, blobs):
    order = await place_order(world, db, dnet)
    study = await store_ct(db, blobs, dnet, order=order, count=4)
    headers = {**await world.token(dnet.sender), **JSON}
    series = (await client.get(f"/dicomweb/studies/{study.study_uid}/series", headers=headers)).json()
    assert values(series, SERIES_UID) == [study.series_uid] and series[0]["00201209"]["Value"] == [4]
    url = f"/dicomweb/studies/{study.study_uid}/series/{study.series_uid}/instances"
    plain = (await client.get(url, headers=headers)).json()
    assert values(plain, SOP_UID) == study.sop_uids and values(plain, "00200013") == [1, 2, 3, 4]
    assert "00280030" not in plain[0]  # PixelSpacing only when asked for
    rich = (await client.get(url + "?includefield=PixelSpacing,00281050&InstanceNumber=2", headers=headers)).json()
    assert values(rich, SOP_UID) == [study.sop_uids[1]]
    assert rich[0]["00280030"] == {"vr": "DS", "Value": [0.488, 0.488]} and rich[0]["00281050"]["Value"] == [40.0]
    at_study = (await client.get(f"/dicomweb/studies/{study.study_uid}/instances?includefield=all",
                                 headers=headers)).json()
    assert len(at_study) == 4 and at_study[0]["00083002"]["Value"] == ["1.2.840.10008.1.2.1"]
    everywhere = (await client.get(f"/dicomweb/instances?{PATIENT_ID}={dnet.mrn}&limit=2", headers=headers)).json()
    assert len(everywhere) == 2 and everywhere[0][PATIENT_ID]["Value"] == [dnet.mrn]


async def test_bad_queries_are_400_naming_the_problem(client, world, db, dnet):
    headers = {**await world.token(dnet.reader), **JSON}
    for query, named in (("NoSuchKeyword=1", "attribute"), ("SOPInstanceUID=1.2", "attribute"),
                         ("StudyDate=2026-01-01", "value"), ("StudyDate=-", "value"), ("offset=x", "offset")):
        response = await client.get(f"/dicomweb/studies?{query}", headers=headers)
        assert response.status_code == 400, query
        assert named in response.json()["details"], query
    refused = await client.get("/dicomweb/studies", headers={**headers, "Accept": "application/dicom+xml"})
    assert refused.status_code == 406


async def test_a_search_shows_each_caller_only_the_studies_they_may_see(client, world, db, dnet, blobs):
    _f, _s, a, b, c = await _three_studies(world, db, dnet, blobs)
    expected = {dnet.sender: {a.study_uid, b.study_uid}, dnet.sender_tech: {a.study_uid, b.study_uid},
                dnet.reader: {a.study_uid, b.study_uid, c.study_uid},
                dnet.hub_tech: {a.study_uid, b.study_uid, c.study_uid}, dnet.outsider: set()}
    for user, uids in expected.items():
        for url in ("/dicomweb/studies", "/dicomweb/instances", f"/dicomweb/studies/{a.study_uid}/series"):
            body = (await client.get(url, headers={**await world.token(user), **JSON})).json()
            seen = set(values(body, UID))
            assert seen == (uids if url != f"/dicomweb/studies/{a.study_uid}/series" else uids & {a.study_uid}), \
                (user.username, url)
    assert (await client.get("/dicomweb/studies", headers=JSON)).status_code == 401


async def test_the_visibility_clause_is_sql_that_both_engines_run(world, db, dnet, blobs):
    from sqlalchemy import func, select

    from carebridge.diagnostics.models import DiagnosticStudy

    await _three_studies(world, db, dnet, blobs)
    for user, count in ((dnet.reader, 3), (dnet.sender, 2), (dnet.outsider, 0)):
        principal = await world.principal(user)
        assert await db.scalar(select(func.count()).select_from(DiagnosticStudy)
                               .where(visible_studies_clause(principal))) == count
