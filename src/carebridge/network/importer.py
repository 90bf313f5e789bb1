"""Bulk onboarding: facilities with their hub links, departments and administrators from ONE file.

Everything is validated before anything is written; every bad row is reported with where it is,
and a file with any problem imports nothing (`ImportRejected`).

File formats
------------
CSV (UTF-8, with or without BOM; GB18030 as exported by Chinese Excel is also read): a header
row, then one facility per row. JSON: a list of objects, or {"facilities": [...]}, with the same
keys. Problems name the CSV's physical line where the row starts (the header is line 1) or the
JSON's 1-based item number ("item N"); a JSON syntax error names its physical line.

Columns
-------
code             required  institution code, unique: letters, digits, '.', '_', '-'; up to 32
name             required  name (Chinese)
tier             required  village_clinic, township_center, community_center, county_hospital,
                           city_hospital, provincial_hospital, national_center, international_partner
name_en                    English name
parent_codes               hubs, separated by ';' (JSON: a list). Each is the code of a facility of a
                           HIGHER tier in this file (any order) or already in the network, optionally
                           followed by ':' and an alliance name: "H001;H007:West Alliance"
                           (JSON items may also be {"code": "H007", "alliance": "West Alliance"})
province_code, city_code, county_code   GB/T 2260 region codes (digits)
address                    postal address
latitude, longitude        decimal degrees, both or neither (-90..90, -180..180)
phone, email               contact
require_mfa                true/false, yes/no, 1/0 (empty: false): staff must use a second factor
departments                department codes separated by ';' (JSON: a list), from the department list
                           (the standard list is added first if missing)
admin_username             optional: creates one facility_admin user for this facility
admin_name                 that admin's display name (default: the facility's name + "管理员")
admin_email                that admin's e-mail

Administrators and passwords
----------------------------
With a credentials file (CLI `--credentials-out`, API/page "issue passwords") every admin gets a
random one-time password (120 bits); the CLI writes them to a CSV created with mode 0600. Without
one, admins get no usable password (a platform administrator sets one later) and the summary says so.

One-time passwords are hashed with argon2id at a lighter cost than chosen passwords (ONE_TIME_COST,
never above the configured cost), concurrently in batches. Trade-off: stretching exists to slow
guessing of human-chosen passwords; a 120-bit random secret cannot be guessed at any cost, so the
lighter cost gives up nothing measurable, while the production cost (~0.2 s each) would make 1,300
admins take minutes. Admins should replace the one-time password at first sign-in.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from pydantic import Field, ValidationError, model_validator
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.audit import service as audit
from carebridge.auth.models import Role, RoleAssignment, User
from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import TIER_LEVEL, Department, Facility, FacilityDepartment, FacilityLink, Tier
from carebridge.network.schemas import (
    Code,
    DeptCode,
    FacilityFields,
    Input,
    Name,
    Username,
    check_coordinate_pair,
)
from carebridge.network.service import check_network_admin, ensure_standard_departments

COLUMNS = ("code", "name", "name_en", "tier", "parent_codes", "province_code", "city_code", "county_code",
           "address", "latitude", "longitude", "phone", "email", "require_mfa", "departments",
           "admin_username", "admin_name", "admin_email")
REQUIRED = ("code", "name", "tier")
LIST_COLUMNS = ("parent_codes", "departments")
ONE_TIME_COST = (1, 8192)  # argon2id (time cost, memory KiB) for random one-time passwords
CHUNK = 500  # ids per IN (...) lookup


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    line: int
    message: str
    item: bool = False  # JSON items are counted, not lines

    @property
    def where(self) -> str:
        if self.line == 0:  # about the import as a whole, not a place in the file
            return _("the file")
        return (_("item %(n)s") if self.item else _("line %(n)s")) % {"n": self.line}

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class ImportRejected(InvalidInput):
    code = "import_rejected"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(_("%(n)s problem(s) in the file; nothing was imported") % {"n": len(self.problems)},
                         details=[{"line": p.line, "where": p.where, "message": p.message} for p in self.problems])


@dataclass(frozen=True)
class Credential:
    facility_code: str
    username: str
    password: str


@dataclass
class ImportReport:
    facilities: int = 0
    hub_links: int = 0
    department_links: int = 0
    admins: int = 0
    seconds: float = 0.0
    credentials: list[Credential] = field(default_factory=list)
    credentials_file: Path | None = None

    def summary(self) -> str:
        text = _("Imported %(facilities)s facilities, %(links)s hub links, %(departments)s department links "
                 "and %(admins)s facility administrators in %(seconds).1f s.") % {
            "facilities": self.facilities, "links": self.hub_links, "departments": self.department_links,
            "admins": self.admins, "seconds": self.seconds}
        if self.admins and self.credentials_file:
            text += " " + _("One-time passwords were written to %(file)s (readable by you only).") % {
                "file": self.credentials_file}
        elif self.admins and not self.credentials:
            text += " " + _("The administrators have no usable password yet: set one for each before "
                            "they sign in, or import with a credentials file.")
        return text


# --- reading ---------------------------------------------------------------------------------

@dataclass
class RawRow:
    line: int
    item: bool
    values: dict[str, Any]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ImportRejected([Problem(1, _("the file is neither UTF-8 nor GB18030 text"))]) from exc


def read_rows(data: bytes, filename: str = "") -> list[RawRow]:
    text = _decode(data)
    suffix = Path(filename).suffix.lower()
    is_json = suffix == ".json" or (suffix != ".csv" and text.lstrip()[:1] in ("[", "{"))
    rows = _json_rows(text) if is_json else _csv_rows(text)
    if not rows:
        raise ImportRejected([Problem(1, _("the file contains no facilities"))])
    return rows


def _csv_rows(text: str) -> list[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[RawRow] = []
    while True:
        start = reader.line_num + 1  # the physical line the next record starts on
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            message = _("the CSV cannot be read here: %(error)s") % {"error": exc}
            raise ImportRejected([Problem(start, message)]) from exc
        if not any(cell.strip() for cell in record):
            continue
        if header is None:
            header = _check_header(record, start)
            continue
        if len(record) > len(header):
            values = {"__error__": _("this row has %(found)s fields but the header has %(expected)s")
                      % {"found": len(record), "expected": len(header)}}
        else:
            values = {name: cell for name, cell in zip(header, record, strict=False) if cell.strip()}
        rows.append(RawRow(start, False, values))
    return rows


def _check_header(record: list[str], line: int) -> list[str]:
    header = [cell.strip().lower() for cell in record]
    problems = [Problem(line, _("unknown column %(column)s") % {"column": name})
                for name in header if name not in COLUMNS]
    problems += [Problem(line, _("required column %(column)s is missing") % {"column": name})
                 for name in REQUIRED if name not in header]
    problems += [Problem(line, _("column %(column)s appears twice") % {"column": name})
                 for name in sorted({n for n in header if header.count(n) > 1})]
    if problems:
        raise ImportRejected(problems)
    return header


def _json_rows(text: str) -> list[RawRow]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportRejected([Problem(exc.lineno, _("not valid JSON: %(error)s") % {"error": exc.msg})]) from exc
    if isinstance(document, dict) and set(document) == {"facilities"}:
        document = document["facilities"]
    if not isinstance(document, list):
        raise ImportRejected([Problem(1, _('the JSON must be a list of facilities or {"facilities": [...]}'))])
    rows = []
    for index, item in enumerate(document, start=1):
        values = item if isinstance(item, dict) else {"__error__": _("this item is not an object")}
        rows.append(RawRow(index, True, values))
    return rows


# --- checking one row ------------------------------------------------------------------------

class HubRef(Input):
    code: Code
    alliance: str = Field("", max_length=100)


class ImportRow(FacilityFields):
    code: Code
    name: Name
    tier: Tier
    parent_codes: list[HubRef] = Field(default_factory=list, max_length=20)
    departments: list[DeptCode] = Field(default_factory=list, max_length=100)
    admin_username: Username | None = None
    admin_name: Name | None = None
    admin_email: str = Field("", max_length=200, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")

    @model_validator(mode="after")
    def _coordinates(self) -> ImportRow:
        check_coordinate_pair(self.latitude, self.longitude)
        return self


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip()]
    return value


def _hub_ref(value: Any) -> Any:
    if isinstance(value, str):
        code, _sep, alliance = value.partition(":")
        return {"code": code.strip(), "alliance": alliance.strip()}
    return value


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in values.items() if not (isinstance(v, str) and not v.strip())}
    for name in LIST_COLUMNS:
        if name in data:
            data[name] = _split(data[name])
    if isinstance(data.get("parent_codes"), list):
        data["parent_codes"] = [_hub_ref(v) for v in data["parent_codes"]]
    return data


def parse_row(raw: RawRow) -> tuple[ImportRow | None, list[Problem]]:
    if "__error__" in raw.values:
        return None, [Problem(raw.line, raw.values["__error__"], raw.item)]
    try:
        return ImportRow.model_validate(_normalise(raw.values)), []
    except ValidationError as exc:
        return None, [Problem(raw.line, _field_message(error), raw.item) for error in exc.errors()]


def _field_message(error: dict[str, Any]) -> str:
    location = ".".join(str(p) for p in error.get("loc", ()))
    message = error.get("msg", "")
    if error.get("type") == "value_error" and "error" in error.get("ctx", {}):
        message = str(error["ctx"]["error"])  # without pydantic's "Value error, " prefix
    elif error.get("type") == "extra_forbidden":
        message = _("unknown field")
    elif error.get("type") == "enum" and location == "tier":
        message = _("unknown tier; use one of %(tiers)s") % {"tiers": ", ".join(t.value for t in Tier)}
    return f"{location}: {message}" if location else message


# --- checking the file as a whole ------------------------------------------------------------

@dataclass
class Known:
    """What the database already holds that the file refers to."""

    facilities: dict[str, tuple[int, str, bool]]  # code -> (id, tier, active)
    departments: dict[str, int]  # active department code -> id
    usernames: set[str]


async def _in_chunks(session: AsyncSession, query_for, values: list[str]) -> list:  # noqa: ANN001
    found: list = []
    for start in range(0, len(values), CHUNK):
        found += list((await session.execute(query_for(values[start:start + CHUNK]))).all())
    return found


async def load_known(session: AsyncSession, rows: list[ImportRow]) -> Known:
    codes = sorted({r.code for r in rows} | {h.code for r in rows for h in r.parent_codes})
    facilities = await _in_chunks(session, lambda chunk: select(
        Facility.code, Facility.id, Facility.tier, Facility.active).where(Facility.code.in_(chunk)), codes)
    names = sorted({r.admin_username for r in rows if r.admin_username})
    users = await _in_chunks(session, lambda chunk: select(User.username).where(User.username.in_(chunk)), names)
    departments = await session.execute(select(Department.code, Department.id).where(Department.active.is_(True)))
    return Known({code: (fid, tier, active) for code, fid, tier, active in facilities},
                 dict(departments.all()), {u for (u,) in users})


def check_rows(parsed: list[tuple[RawRow, ImportRow]], known: Known, unchecked: set[str]) -> list[Problem]:
    """Problems between rows and with the database. `unchecked` are codes of rows that already have
    problems of their own: rows naming them as hubs are not blamed a second time."""
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    first_admin: dict[str, int] = {}
    in_file: dict[str, Tier] = {}
    for _raw, row in parsed:
        in_file.setdefault(row.code, row.tier)  # a repeated code is reported; the first one counts
    for raw, row in parsed:
        def add(message: str, raw: RawRow = raw) -> None:
            problems.append(Problem(raw.line, message, raw.item))

        if row.code in first_line:
            add(_("code %(code)s is already used on %(where)s")
                % {"code": row.code, "where": _where(first_line[row.code], raw.item)})
        else:
            first_line[row.code] = raw.line
        if row.code in known.facilities:
            add(_("institution code %(code)s is already in use") % {"code": row.code})
        for message in _hub_problems(row, in_file, known, unchecked):
            add(message)
        for code in row.departments:
            if code not in known.departments:
                add(_("unknown department %(code)s") % {"code": code})
        if row.admin_username:
            if row.admin_username in known.usernames:
                add(_("username %(name)s is taken") % {"name": row.admin_username})
            elif row.admin_username in first_admin:
                add(_("username %(name)s is already used on %(where)s")
                    % {"name": row.admin_username, "where": _where(first_admin[row.admin_username], raw.item)})
            else:
                first_admin[row.admin_username] = raw.line
    return problems


def _where(line: int, item: bool) -> str:
    return Problem(line, "", item).where


def _hub_problems(row: ImportRow, in_file: dict[str, Tier], known: Known, unchecked: set[str]) -> list[str]:
    problems, seen = [], set()
    for hub in row.parent_codes:
        if (hub.code, hub.alliance) in seen:
            problems.append(_("hub %(code)s is listed twice") % {"code": hub.code})
            continue
        seen.add((hub.code, hub.alliance))
        if hub.code in unchecked and hub.code not in known.facilities:
            continue
        if hub.code in known.facilities:  # the network's facility, even if a bad row repeats its code
            _id, tier, active = known.facilities[hub.code]
            if not active:
                problems.append(_("hub %(code)s is inactive") % {"code": hub.code})
                continue
            hub_tier = Tier(tier)
        elif hub.code in in_file:
            hub_tier = in_file[hub.code]
        else:
            problems.append(_("hub %(code)s is neither in this file nor in the network") % {"code": hub.code})
            continue
        if TIER_LEVEL[hub_tier] <= TIER_LEVEL[row.tier]:
            problems.append(_("hub %(code)s (%(hub_tier)s) is not a higher tier than %(tier)s")
                            % {"code": hub.code, "hub_tier": hub_tier.value, "tier": row.tier.value})
    return problems


# --- writing ---------------------------------------------------------------------------------

async def _insert_facilities(session: AsyncSession, rows: list[ImportRow]) -> dict[str, int]:
    fields = set(FacilityFields.model_fields)
    values = [{**row.model_dump(include=fields), "code": row.code, "name": row.name, "tier": row.tier.value,
               "active": True} for row in rows]
    result = await session.execute(insert(Facility).returning(Facility.code, Facility.id), values)
    return dict(result.all())


async def _insert_links(session: AsyncSession, rows: list[ImportRow], ids: dict[str, int], known: Known) -> int:
    links = [{"facility_id": ids[row.code], "alliance": hub.alliance,
              "hub_id": known.facilities[hub.code][0] if hub.code in known.facilities else ids[hub.code]}
             for row in rows for hub in row.parent_codes]
    if links:
        await session.execute(insert(FacilityLink), links)
    return len(links)


async def _insert_departments(session: AsyncSession, rows: list[ImportRow], ids: dict[str, int],
                              known: Known) -> int:
    pairs = {(ids[row.code], known.departments[code]) for row in rows for code in row.departments}
    if pairs:
        await session.execute(insert(FacilityDepartment),
                              [{"facility_id": f, "department_id": d} for f, d in sorted(pairs)])
    return len(pairs)


async def hash_one_time_passwords(passwords: list[str]) -> list[str]:
    settings = get_settings()
    hasher = PasswordHasher(time_cost=min(ONE_TIME_COST[0], settings.argon2_time_cost),
                            memory_cost=min(ONE_TIME_COST[1], settings.argon2_memory_kib), parallelism=1)
    # argon2 releases the GIL, so threads use every core; one batch per round bounds the memory.
    batch = os.cpu_count() or 4
    hashes: list[str] = []
    for start in range(0, len(passwords), batch):
        hashes += await asyncio.gather(*(asyncio.to_thread(hasher.hash, p)
                                         for p in passwords[start:start + batch]))
    return hashes


async def _insert_admins(session: AsyncSession, rows: list[ImportRow], ids: dict[str, int],
                         issue_passwords: bool) -> list[Credential]:
    admins = [row for row in rows if row.admin_username]
    if not admins:
        return []
    passwords = [secrets.token_urlsafe(15) for _row in admins] if issue_passwords else []
    hashes = await hash_one_time_passwords(passwords) if issue_passwords else [None] * len(admins)
    users = [{"username": row.admin_username, "display_name": row.admin_name or f"{row.name}管理员",
              "email": row.admin_email, "phone": "", "password_hash": digest, "is_active": True,
              "failed_logins": 0, "totp_enabled": False}
             for row, digest in zip(admins, hashes, strict=True)]
    user_ids = dict((await session.execute(insert(User).returning(User.username, User.id), users)).all())
    await session.execute(insert(RoleAssignment), [
        {"user_id": user_ids[row.admin_username], "role": Role.facility_admin.value, "facility_id": ids[row.code]}
        for row in admins])
    if not issue_passwords:
        return []
    return [Credential(row.code, row.admin_username, password) for row, password in zip(admins, passwords, strict=True)]


def write_credentials(path: Path, credentials: list[Credential]) -> None:
    # Created 0600 from the start (not chmod-ed afterwards), so the passwords are never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["facility_code", "username", "one_time_password"])
        writer.writerows([c.facility_code, c.username, c.password] for c in credentials)


# --- the use case ----------------------------------------------------------------------------

async def validate(session: AsyncSession, raw_rows: list[RawRow]) -> tuple[list[ImportRow], Known]:
    parsed, problems, unchecked = [], [], set()
    for raw in raw_rows:
        row, found = parse_row(raw)
        problems += found
        if row is not None:
            parsed.append((raw, row))
        elif isinstance(raw.values.get("code"), str):
            unchecked.add(raw.values["code"].strip())
    await ensure_standard_departments(session)
    known = await load_known(session, [row for _raw, row in parsed])
    problems += check_rows(parsed, known, unchecked)
    if problems:
        raise ImportRejected(problems)
    return [row for _raw, row in parsed], known


async def import_facilities(
    session: AsyncSession, data: bytes, filename: str = "", *, principal: Principal | None = None,
    issue_passwords: bool = False, credentials_out: Path | None = None,
) -> ImportReport:
    """Validates the whole file, then writes it in the caller's transaction (or raises ImportRejected)."""
    if principal is not None:
        check_network_admin(principal)
    started = time.perf_counter()
    rows, known = await validate(session, read_rows(data, filename))
    ids = await _insert_facilities(session, rows)
    report = ImportReport(facilities=len(ids), hub_links=await _insert_links(session, rows, ids, known),
                          department_links=await _insert_departments(session, rows, ids, known),
                          admins=sum(1 for r in rows if r.admin_username))
    report.credentials = await _insert_admins(session, rows, ids, issue_passwords or credentials_out is not None)
    if credentials_out is not None:
        # Written inside the transaction: if the file cannot be written, nothing is imported.
        try:
            write_credentials(credentials_out, report.credentials)
        except OSError as exc:
            raise ImportRejected([Problem(0, _("cannot write the credentials file %(file)s: %(error)s")
                                          % {"file": credentials_out, "error": exc.strerror})]) from exc
        report.credentials_file = credentials_out
    report.seconds = round(time.perf_counter() - started, 2)
    await _audit(session, principal, report, filename)
    return report


async def _audit(session: AsyncSession, principal: Principal | None, report: ImportReport, filename: str) -> None:
    actor = principal.actor() if principal else audit.Actor(name="carebridge import (command line)",
                                                            role=Role.platform_admin.value)
    await audit.append(session, audit.Entry(
        action="import", outcome="success", actor=actor, resource_type="Facility", resource_id="bulk",
        detail={"file": Path(filename).name, "facilities": report.facilities, "hub_links": report.hub_links,
                "department_links": report.department_links, "admins": report.admins,
                "passwords_issued": bool(report.credentials)}))


async def import_facilities_file(session: AsyncSession, path: Path,
                                 credentials_out: Path | None = None) -> ImportReport:
    """The `carebridge import facilities FILE` command."""
    data = await asyncio.to_thread(Path(path).read_bytes)
    return await import_facilities(session, data, str(path), credentials_out=credentials_out)
