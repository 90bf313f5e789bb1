"""Bulk onboarding from one CSV or JSON file: validate everything, report every bad row, import all or nothing."""

import json
import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import RoleAssignment, User
from carebridge.auth.passwords import verify_password
from carebridge.errors import Forbidden
from carebridge.kit import i18n
from carebridge.network import importer, service
from carebridge.network.importer import ImportRejected, import_facilities, import_facilities_file
from carebridge.network.models import Facility, FacilityDepartment, FacilityLink
from tests.network.files import network_rows, to_csv, to_json


async def _count(db, model) -> int:  # noqa: ANN001
    return await db.scalar(select(func.count()).select_from(model))


GOOD_CSV = """code,name,name_en,tier,parent_codes,latitude,longitude,departments,admin_username,require_mfa
NEWCNT,新县医院,New County,county_hospital,CTY;PRV:Cardiac,30.3,114.8,internal_medicine;radiology,admin.newcnt,1
NEWTWN,新镇卫生院,New Township Center,township_center,NEWCNT,,,general_practice,,
NEWVIL,新村卫生室,,village_clinic,NEWTWN,,,,admin.newvil,
"""


async def test_a_good_csv_creates_facilities_links_departments_and_admins(db, net):
    report = await import_facilities(db, GOOD_CSV.encode(), "good.csv")
    assert (report.facilities, report.hub_links, report.department_links, report.admins) == (3, 4, 3, 2)
    county = await service.get_facility_by_code(db, "NEWCNT")
    assert county.require_mfa and county.latitude == 30.3
    hubs = {(h.hub.code, h.alliance) for h in await service.list_hubs(db, county.id)}
    assert hubs == {("CTY", ""), ("PRV", "Cardiac")}
    assert [n.facility.code for n in await service.tree_children(db, county.id)] == ["NEWTWN"]
    admin = await db.scalar(select(User).where(User.username == "admin.newcnt"))
    role = await db.scalar(select(RoleAssignment).where(RoleAssignment.user_id == admin.id))
    assert (role.role, role.facility_id) == ("facility_admin", county.id)
    assert admin.password_hash is None  # no credentials file: no usable password
    assert "admin.newcnt" not in report.summary() and report.credentials == []
    event = await db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event.action == "import" and event.detail["facilities"] == 3 and event.detail["admins"] == 2


async def test_a_good_json_file_with_one_time_passwords(db, net):
    items = {"facilities": [
        {"code": "J1", "name": "甲", "tier": "county_hospital", "parent_codes": [{"code": "CTY", "alliance": "A"}],
         "departments": ["icu"], "admin_username": "Admin.J1", "admin_name": "J1 admin", "require_mfa": True},
        {"code": "J2", "name": "乙", "tier": "village_clinic", "parent_codes": ["J1"],
         "latitude": 30, "longitude": 115},
    ]}
    report = await import_facilities(db, json.dumps(items).encode(), "net.json", issue_passwords=True)
    assert (report.facilities, report.hub_links, report.admins) == (2, 2, 1)
    [credential] = report.credentials
    assert credential.username == "admin.j1" and len(credential.password) >= 20
    user = await db.scalar(select(User).where(User.username == "admin.j1"))
    assert user.display_name == "J1 admin"
    assert await verify_password(user.password_hash, credential.password)
    assert not await verify_password(user.password_hash, "not-the-password")


# Line 7-8 hold one row whose quoted address spans two physical lines: line numbers stay physical.
BAD_CSV = """code,name,tier,parent_codes,latitude,longitude,departments,admin_username,address
OK1,好医院,county_hospital,CTY,,,,boss.ok1,
BAD2,坏,palace,CTY,,,,,
OK1,重复,county_hospital,CTY,,,,,
CTY,已存在,county_hospital,PRV,,,,,
BAD6,无上级,village_clinic,NOPE,,,,,
OK7,两行地址,township_center,OK1,,,,,"first line
second line"
BAD9,上级太低,county_hospital,OK7,,,,,
BAD10,科室,village_clinic,OK7,,,dentistry_of_mars,,
BAD11,坐标,village_clinic,OK7,95,200,,,
BAD12,管理员,village_clinic,OK7,,,,boss.ok1,
BAD13,半个坐标,village_clinic,OK7,30,,,,
"""


async def test_every_bad_row_is_reported_with_its_line_and_nothing_is_imported(db, net):
    facilities, users, links = await _count(db, Facility), await _count(db, User), await _count(db, FacilityLink)
    with pytest.raises(ImportRejected) as caught:
        await import_facilities(db, BAD_CSV.encode(), "bad.csv")
    lines = sorted({p.line for p in caught.value.problems})
    assert lines == [3, 4, 5, 6, 9, 10, 11, 12, 13]
    by_line = {p.line: p.message for p in caught.value.problems}
    assert "tier" in by_line[3]
    assert "line 2" in by_line[4] or "2" in by_line[4]
    assert "CTY" in by_line[5]
    assert "NOPE" in by_line[6]
    assert "OK7" in by_line[9]
    assert "dentistry_of_mars" in by_line[10]
    assert {"latitude", "longitude"} <= {p.message.split(":")[0] for p in caught.value.problems if p.line == 11}
    assert "boss.ok1" in by_line[12]
    assert (await _count(db, Facility), await _count(db, User), await _count(db, FacilityLink)) == (
        facilities, users, links)


async def test_json_problems_name_the_item(db, net):
    i18n.set_locale("en")
    items = [{"code": "A1", "name": "a", "tier": "county_hospital"}, "not an object",
             {"code": "A3", "name": "c", "tier": "county_hospital", "colour": "red"},
             {"code": "A1", "name": "d", "tier": "county_hospital"}]
    with pytest.raises(ImportRejected) as caught:
        await import_facilities(db, json.dumps(items).encode(), "x.json")
    assert [(p.line, p.item) for p in caught.value.problems] == [(2, True), (3, True), (4, True)]
    assert "colour" in caught.value.problems[1].message
    assert caught.value.problems[0].where.endswith("2")


async def test_broken_json_names_the_physical_line(db, net):
    with pytest.raises(ImportRejected) as caught:
        await import_facilities(db, b'[\n {"code": "A1",\n  "name": }\n]', "x.json")
    assert caught.value.problems[0].line == 3 and not caught.value.problems[0].item


async def test_header_problems_stop_before_the_rows(db, net):
    with pytest.raises(ImportRejected) as caught:
        await import_facilities(db, b"code,name,colour\nA,b,red\n", "x.csv")
    messages = [p.message for p in caught.value.problems]
    assert all(p.line == 1 for p in caught.value.problems)
    assert any("colour" in m for m in messages) and any("tier" in m for m in messages)


async def test_an_empty_file_is_rejected(db, net):
    with pytest.raises(ImportRejected):
        await import_facilities(db, b"code,name,tier\n", "x.csv")


async def test_gb18030_csv_from_chinese_excel_is_read(db, net):
    data = "code,name,tier,parent_codes\nGBK1,武汉市第一医院,county_hospital,CTY\n".encode("gb18030")
    await import_facilities(db, data, "gbk.csv")
    assert (await service.get_facility_by_code(db, "GBK1")).name == "武汉市第一医院"


async def test_only_platform_admins_import(db, world, net):
    from carebridge.auth.models import Role

    facility_admin = await world.principal(await world.user((Role.facility_admin, net.city.id)))
    with pytest.raises(Forbidden):
        await import_facilities(db, GOOD_CSV.encode(), "good.csv", principal=facility_admin)


async def test_thirteen_hundred_facilities_in_one_file(db):
    rows = network_rows(1300, prefix="BIG")
    report = await import_facilities(db, to_csv(rows), "big.csv", issue_passwords=True)
    assert (report.facilities, report.admins, len(report.credentials)) == (1300, 1300, 1300)
    assert report.hub_links == 1299
    assert await db.scalar(select(func.count()).select_from(FacilityDepartment)
                           .join(Facility, Facility.id == FacilityDepartment.facility_id)
                           .where(Facility.code.like("BIG%"))) == report.department_links
    roots = [n for n in await service.tree_children(db, None) if n.facility.code.startswith("BIG")]
    assert [(n.facility.code, n.members) for n in roots] == [("BIGNAT0000", 2)]


async def test_json_version_of_the_same_network(db):
    report = await import_facilities(db, to_json(network_rows(120, prefix="JS")), "net.json")
    assert report.facilities == 120 and report.hub_links == 119


async def test_credentials_file_is_private(db, net, tmp_path):
    source = tmp_path / "good.csv"
    source.write_text(GOOD_CSV)
    out = tmp_path / "credentials.csv"
    report = await import_facilities_file(db, source, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text().splitlines()
    assert lines[0] == "facility_code,username,one_time_password" and len(lines) == 3
    assert str(out) in report.summary()


def _cli(tmp_path, *args, lang: str = "en_US.UTF-8"):  # noqa: ANN001, ANN202
    env = {**os.environ, "CAREBRIDGE_DATA_DIR": str(tmp_path / "var"), "LANG": lang, "LC_ALL": lang}
    env.pop("CAREBRIDGE_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "carebridge", "import", "facilities", *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)


def test_cli_imports_a_file_and_writes_private_credentials(tmp_path):
    source = tmp_path / "network.csv"
    source.write_bytes(to_csv(network_rows(60, prefix="CLI")))
    result = _cli(tmp_path, source, "--credentials-out", tmp_path / "creds.csv")
    assert result.returncode == 0, result.stderr
    assert "60" in result.stdout
    assert stat.S_IMODE((tmp_path / "creds.csv").stat().st_mode) == 0o600
    assert len((tmp_path / "creds.csv").read_text().splitlines()) == 61


def test_cli_rejects_a_bad_file_naming_every_line(tmp_path):
    source = tmp_path / "bad.csv"
    rows = network_rows(10, prefix="CLB")
    rows[3]["tier"] = "castle"
    rows[6]["parent_codes"] = "NOWHERE"
    source.write_bytes(to_csv(rows))
    result = _cli(tmp_path, source)
    assert result.returncode == 1
    assert "line 5:" in result.stderr and "line 8:" in result.stderr and "NOWHERE" in result.stderr
    assert "nothing was imported" in result.stderr
    with sqlite3.connect(tmp_path / "var" / "carebridge.db") as database:
        assert database.execute("SELECT count(*) FROM facilities").fetchone() == (0,)


def test_cli_speaks_chinese_in_a_chinese_locale(tmp_path):
    source = tmp_path / "bad.csv"
    rows = network_rows(3, prefix="CLZ")
    rows[1]["tier"] = "castle"
    source.write_bytes(to_csv(rows))
    result = _cli(tmp_path, source, lang="zh_CN.UTF-8")
    assert result.returncode == 1
    assert "第 3 行" in result.stderr


def test_problem_reads_as_where_and_what():
    assert str(importer.Problem(7, "x")).endswith(": x")


async def test_an_unwritable_credentials_file_imports_nothing(db, net, tmp_path):
    source = tmp_path / "good.csv"
    source.write_text(GOOD_CSV)
    before = await _count(db, Facility)
    with pytest.raises(ImportRejected) as caught:
        async with db.begin_nested():
            await import_facilities_file(db, source, tmp_path / "no-such-dir" / "creds.csv")
    assert "no-such-dir" in caught.value.problems[0].message
    assert await _count(db, Facility) == before
