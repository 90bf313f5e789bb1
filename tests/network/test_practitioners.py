"""Practitioners, practice sites, duty rosters and the directory."""

import datetime as dt

import pytest
from pydantic import ValidationError

from carebridge.auth.models import Role
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.clock import utcnow
from carebridge.network import practitioners
from carebridge.network.schemas import PractitionerIn, PractitionerUpdate, ShiftIn, ShiftUpdate
from tests.network.conftest import doctor, shift


async def test_register_a_practitioner_with_a_new_account(db, net):
    view = await doctor(db, net.admin, net.city, "dr.chen", "110420000012345", languages=("zh", "en"))
    assert view.display_name == "Dr dr.chen"
    assert view.specialty.code == "cardiology"
    assert [s.facility.code for s in view.sites] == ["CTY"]
    assert view.languages == ["zh", "en"] and not view.on_duty_now


async def test_license_numbers_are_unique(db, net):
    await doctor(db, net.admin, net.city, "dr.a", "LIC-0001")
    with pytest.raises(Conflict) as caught:
        await doctor(db, net.admin, net.county, "dr.b", "LIC-0001")
    assert "LIC-0001" in caught.value.message


async def test_an_existing_user_gets_one_profile(db, world, net):
    user = await world.user((Role.doctor, net.county.id))
    data = PractitionerIn(user_id=user.id, title="chief", license_no="LIC-0100", facility_id=net.county.id)
    await practitioners.create_practitioner(db, net.admin, data)
    with pytest.raises(Conflict):
        await practitioners.create_practitioner(db, net.admin, data.model_copy(update={"license_no": "LIC-0101"}))


async def test_facility_admin_registers_only_at_their_facility_and_only_their_staff(db, world, net):
    admin = await world.principal(await world.user((Role.facility_admin, net.county.id)))
    outsider = await world.user((Role.doctor, net.city.id))
    with pytest.raises(Forbidden):
        await doctor(db, admin, net.city, "dr.c", "LIC-0200")
    with pytest.raises(NotFound):  # staff of another facility are not even revealed
        await practitioners.create_practitioner(db, admin, PractitionerIn(
            user_id=outsider.id, title="resident", license_no="LIC-0201", facility_id=net.county.id))
    view = await doctor(db, admin, net.county, "dr.d", "LIC-0202", specialty="internal_medicine")
    assert [s.facility.code for s in view.sites] == ["CNT"]


async def test_one_user_or_the_other_is_required():
    with pytest.raises(ValidationError):
        PractitionerIn(title="chief", license_no="LIC-9", facility_id=1)


async def test_multi_site_practice(db, world, net):
    view = await doctor(db, net.admin, net.city, "dr.e", "LIC-0300")
    county_admin = await world.principal(await world.user((Role.facility_admin, net.county.id)))
    await practitioners.add_practice_site(db, county_admin, view.id, net.county.id, "internal_medicine")
    with pytest.raises(Forbidden):
        await practitioners.add_practice_site(db, county_admin, view.id, net.township.id)
    with pytest.raises(InvalidInput):  # the township has no cardiology department
        await practitioners.add_practice_site(db, net.admin, view.id, net.township.id, "cardiology")
    sites = (await practitioners.practitioner_view(db, view.id)).sites
    assert [(s.facility.code, s.department.code if s.department else None) for s in sites] == [
        ("CNT", "internal_medicine"), ("CTY", None)]
    # The county's admin may now edit the profile of a practitioner who practises there.
    await practitioners.update_practitioner(db, county_admin, view.id, PractitionerUpdate(title="chief"))


async def test_shifts_must_end_after_they_start_and_not_overlap(db, net):
    view = await doctor(db, net.admin, net.city, "dr.f", "LIC-0400")
    await practitioners.add_practice_site(db, net.admin, view.id, net.county.id)
    first = await shift(db, net.admin, view.id, net.city, 1, 8)
    with pytest.raises(InvalidInput):
        await shift(db, net.admin, view.id, net.city, 20, 0)
    with pytest.raises(InvalidInput):
        await shift(db, net.admin, view.id, net.city, 20, 72)
    with pytest.raises(Conflict):  # the same practitioner cannot be in two places at once
        await shift(db, net.admin, view.id, net.county, 5, 8)
    second = await shift(db, net.admin, view.id, net.county, 9, 8)  # back to back is fine
    with pytest.raises(Conflict):
        await practitioners.update_shift(db, net.admin, second.id, ShiftUpdate(starts_at=first.ends_at
                                                                               - dt.timedelta(hours=1)))
    with pytest.raises(InvalidInput):  # only at a facility where they practise
        await shift(db, net.admin, view.id, net.village, 30, 4)


async def test_rosters_are_managed_by_the_site_facility_admin(db, world, net):
    view = await doctor(db, net.admin, net.city, "dr.g", "LIC-0500")
    city_admin = await world.principal(await world.user((Role.facility_admin, net.city.id)))
    county_admin = await world.principal(await world.user((Role.facility_admin, net.county.id)))
    created = await shift(db, city_admin, view.id, net.city, 2, 4)
    with pytest.raises(Forbidden):
        await practitioners.delete_shift(db, county_admin, created.id)
    with pytest.raises(Forbidden):
        await shift(db, county_admin, view.id, net.city, 10, 4)
    await practitioners.delete_shift(db, city_admin, created.id)
    assert await practitioners.list_shifts(db, view.id, utcnow(), utcnow() + dt.timedelta(days=2)) == []


async def test_on_duty_now(db, net):
    on = await doctor(db, net.admin, net.city, "dr.on", "LIC-0600")
    later = await doctor(db, net.admin, net.city, "dr.later", "LIC-0601")
    await shift(db, net.admin, on.id, net.city, -1, 4)
    await shift(db, net.admin, later.id, net.city, 3, 4)
    assert [p.id for p in await practitioners.on_duty_now(db, net.city.id)] == [on.id]
    assert await practitioners.on_duty_now(db, net.county.id) == []
    assert (await practitioners.practitioner_view(db, on.id)).on_duty_now


async def test_a_site_with_future_shifts_cannot_be_removed(db, net):
    view = await doctor(db, net.admin, net.city, "dr.h", "LIC-0700")
    await shift(db, net.admin, view.id, net.city, 2, 4)
    with pytest.raises(Conflict):
        await practitioners.remove_practice_site(db, net.admin, view.id, net.city.id)


async def test_directory_filters(db, net):
    a = await doctor(db, net.admin, net.city, "anna", "LIC-0800", languages=("zh", "en"), title="chief")
    b = await doctor(db, net.admin, net.county, "bo", "LIC-0801", specialty="internal_medicine", languages=("zh",))
    c = await doctor(db, net.admin, net.city, "cai", "LIC-0802", languages=("yue",))
    await shift(db, net.admin, c.id, net.city, -1, 3)

    async def ids(**filters):  # noqa: ANN003, ANN202
        return [p.id for p in (await practitioners.list_practitioners(db, **filters)).items]

    assert await ids(specialty="cardiology") == [a.id, c.id]
    assert await ids(facility_id=net.county.id) == [b.id]
    assert await ids(title="chief") == [a.id]
    assert await ids(language="en") == [a.id]
    assert await ids(language="yue") == [c.id]
    assert await ids(on_duty=True) == [c.id]
    assert await ids(q="Dr bo") == [b.id]
    assert await ids(q="LIC-0802") == [c.id]


async def test_directory_cursor_walks_every_practitioner_once(db, net):
    made = [await doctor(db, net.admin, net.city, f"p{i:02d}", f"LIC-1{i:03d}") for i in range(7)]
    seen, cursor = [], None
    while True:
        page = await practitioners.list_practitioners(db, limit=3, cursor=cursor)
        seen += [p.id for p in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [p.id for p in made]


async def test_shift_input_must_be_timezone_aware():
    with pytest.raises(ValidationError):
        ShiftIn(facility_id=1, starts_at=dt.datetime(2026, 1, 1, 8), ends_at=dt.datetime(2026, 1, 1, 16))
