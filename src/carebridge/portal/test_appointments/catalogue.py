"""Each facility's test catalogue and opening hours, kept by its administrators (or a platform
administrator). Anyone signed in may read a facility's active tests: they are what patients book.
Changes are audited; tests are deactivated, never deleted (bookings point at them)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.config import get_settings
from carebridge.diagnostics.models import Modality
from carebridge.errors import Conflict, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.network.models import Facility
from carebridge.network.service import audit_change, check_facility_admin, get_facility
from carebridge.portal.test_appointments import starter
from carebridge.portal.test_appointments.models import CatalogueTest, OpeningHours
from carebridge.portal.test_appointments.schemas import CatalogueTestIn, CatalogueTestUpdate, HoursIn
from carebridge.records.codes import is_loinc

# Which DICOM modalities each imaging category may use (diagnostics routes the order by modality).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "lab": (),
    "ultrasound": (Modality.US.value,),
    "x_ray": (Modality.DX.value, Modality.CR.value, Modality.MG.value),
    "ct": (Modality.CT.value,),
    "mri": (Modality.MR.value,),
    "ecg": (Modality.ECG.value,),
}
IMAGING_CODE = re.compile(r"^[A-Z]{2,3}(-[A-Z0-9]{2,28})?$")
BODY_PART = re.compile(r"^[A-Z0-9_ ]{0,64}$")  # DICOM Body Part Examined: CS, upper case


def self_bookable_categories() -> frozenset[str]:
    raw = get_settings().test_appointments_self_bookable_categories
    return frozenset(c.strip() for c in raw.split(",") if c.strip())


def may_self_book(test: CatalogueTest) -> bool:
    """The network's list (a setting) and the facility's own flag must both allow it."""
    return test.self_bookable and test.category in self_bookable_categories()


def is_lab(test: CatalogueTest) -> bool:
    return test.category == "lab"


def _check_result_codes(codes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(c.strip() for c in codes))
    bad = [c for c in chosen if not is_loinc(c)]
    if bad:
        raise InvalidInput(N_("not a valid LOINC code (format or check digit)"),
                           details={"field": "result_codes", "codes": bad})
    return chosen


def _check_new(data: CatalogueTestIn) -> dict:
    fields = data.model_dump()
    if data.category not in CATEGORIES:
        raise InvalidInput(N_("unknown test category"), details={"field": "category", "allowed": list(CATEGORIES)})
    fields["code"] = code = data.code.strip().upper() if data.category != "lab" else data.code.strip()
    if data.category == "lab":
        if not is_loinc(code):
            raise InvalidInput(N_("a lab test's code is its LOINC code"), details={"field": "code"})
        fields.update(modality="", body_part="", result_codes=_check_result_codes(data.result_codes or [code]))
        return fields
    modality = (data.modality or code.split("-")[0]).upper()
    if modality not in CATEGORIES[data.category]:
        raise InvalidInput(N_("this modality does not fit the category"),
                           details={"field": "modality", "allowed": list(CATEGORIES[data.category])})
    if not IMAGING_CODE.match(code) or code.split("-")[0] != modality:
        raise InvalidInput(N_("an imaging or ECG code is the modality, optionally followed by - and the body part"),
                           details={"field": "code"})
    body_part = (data.body_part or (code.split("-", 1)[1] if "-" in code else "")).upper()
    if not BODY_PART.match(body_part):
        raise InvalidInput(N_("body part is the DICOM term in capitals"), details={"field": "body_part"})
    fields.update(modality=modality, body_part=body_part, result_codes=[])
    return fields


async def list_tests(session: AsyncSession, facility_id: int, *, include_inactive: bool = False) -> list[CatalogueTest]:
    query = select(CatalogueTest).where(CatalogueTest.facility_id == facility_id)
    if not include_inactive:
        query = query.where(CatalogueTest.active.is_(True))
    return list((await session.scalars(query.order_by(CatalogueTest.category, CatalogueTest.code))).all())


async def hours_of(session: AsyncSession, test_ids: Iterable[int]) -> dict[int, list[OpeningHours]]:
    ids = list(test_ids)
    found: dict[int, list[OpeningHours]] = {i: [] for i in ids}
    if ids:
        for row in (await session.scalars(select(OpeningHours).where(OpeningHours.test_id.in_(ids))
                                          .order_by(OpeningHours.opens_minute, OpeningHours.id))).all():
            found[row.test_id].append(row)
    return found


async def get_test(session: AsyncSession, test_id: int) -> CatalogueTest:
    test = await session.get(CatalogueTest, test_id)
    if test is None:
        raise NotFound(N_("test not found"))
    return test


async def create_test(session: AsyncSession, principal: Principal, facility_id: int,
                      data: CatalogueTestIn) -> CatalogueTest:
    facility = await get_facility(session, facility_id)
    check_facility_admin(principal, facility.id)
    fields = _check_new(data)
    taken = await session.scalar(select(CatalogueTest.id).where(
        CatalogueTest.facility_id == facility.id, CatalogueTest.code == fields["code"]))
    if taken is not None:
        raise Conflict(N_("this facility already lists a test with this code; edit it instead"),
                       code="duplicate_test", details={"test_id": taken})
    test = CatalogueTest(facility_id=facility.id, **fields)
    session.add(test)
    await session.flush()
    await audit_change(session, principal, "create", "CatalogueTest", test.id, facility.id, code=test.code)
    return test


async def update_test(session: AsyncSession, principal: Principal, test_id: int,
                      data: CatalogueTestUpdate) -> CatalogueTest:
    test = await get_test(session, test_id)
    check_facility_admin(principal, test.facility_id)
    changes = data.model_dump(exclude_unset=True)
    if "result_codes" in changes:
        if not is_lab(test):
            raise InvalidInput(N_("only lab tests have result codes"), details={"field": "result_codes"})
        changes["result_codes"] = _check_result_codes(changes["result_codes"] or [test.code])
    for name in ("name", "prep", "prep_en", "name_en"):
        if name in changes and changes[name] is not None:
            changes[name] = changes[name].strip()
    for name, value in changes.items():
        if value is not None:
            setattr(test, name, value)
    test.updated_at = utcnow()
    await session.flush()
    await audit_change(session, principal, "update", "CatalogueTest", test.id, test.facility_id,
                       fields=sorted(changes))
    return test


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _check_hours(hours: list[HoursIn]) -> list[OpeningHours]:
    rows: list[OpeningHours] = []
    for n, h in enumerate(hours):
        opens, closes = _minutes(h.opens), _minutes(h.closes)
        if closes - opens < h.block_minutes:
            raise InvalidInput(N_("opening hours must hold at least one block"), details={"field": f"hours.{n}"})
        rows.append(OpeningHours(weekdays="".join(sorted(set(h.weekdays))), opens_minute=opens,
                                 closes_minute=closes, block_minutes=h.block_minutes, capacity=h.capacity))
    for i, a in enumerate(rows):
        for b in rows[i + 1:]:
            same_day = set(a.weekdays) & set(b.weekdays)
            if same_day and a.opens_minute < b.closes_minute and b.opens_minute < a.closes_minute:
                raise InvalidInput(N_("opening hours overlap on the same weekday"), details={"field": "hours"})
    return rows


async def set_hours(session: AsyncSession, principal: Principal, test_id: int,
                    hours: list[HoursIn]) -> list[OpeningHours]:
    """Replaces the test's hours. Existing bookings keep their times; new blocks follow the new hours."""
    test = await get_test(session, test_id)
    check_facility_admin(principal, test.facility_id)
    rows = _check_hours(hours)
    await session.execute(delete(OpeningHours).where(OpeningHours.test_id == test.id))
    for row in rows:
        row.test_id = test.id
    session.add_all(rows)
    test.updated_at = utcnow()
    await session.flush()
    await audit_change(session, principal, "update", "TestHours", test.id, test.facility_id, blocks=len(rows))
    return rows


def hours_text(row: OpeningHours) -> tuple[str, str]:
    return f"{row.opens_minute // 60:02d}:{row.opens_minute % 60:02d}", \
        f"{row.closes_minute // 60:02d}:{row.closes_minute % 60:02d}"


async def load_starter(session: AsyncSession, principal: Principal | None, facility: Facility) -> list[CatalogueTest]:
    """Adds the starter tests this facility's tier can perform and does not list yet, with their
    hours. `principal` None is the demo loader."""
    if principal is not None:
        check_facility_admin(principal, facility.id)
    have = set((await session.scalars(select(CatalogueTest.code).where(
        CatalogueTest.facility_id == facility.id))).all())
    added = []
    for item in starter.starter_for(facility.level):
        if item.code in have:
            continue
        test = CatalogueTest(
            facility_id=facility.id, code=item.code, name=item.name, name_en=item.name_en, category=item.category,
            modality=item.modality, body_part=item.body_part, result_codes=list(item.result_codes), prep=item.prep,
            prep_en=item.prep_en, duration_minutes=item.duration_minutes, list_price_fen=item.list_price_fen,
            insured=item.insured, self_bookable=item.self_bookable, active=True)
        session.add(test)
        await session.flush()
        session.add_all(OpeningHours(test_id=test.id, weekdays=h.weekdays, opens_minute=_minutes(h.opens),
                                     closes_minute=_minutes(h.closes), block_minutes=h.block_minutes,
                                     capacity=h.capacity) for h in item.hours)
        added.append(test)
    await session.flush()
    if principal is not None:
        await audit_change(session, principal, "create", "CatalogueTest", facility.id, facility.id,
                           starter=[t.code for t in added])
    return added
