"""The network services: facilities, hub links, departments, offerings and the provider query."""

import pytest
from sqlalchemy import func, select

from carebridge.audit.models import AuditEvent
from carebridge.auth.models import Role
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.network import offerings, service
from carebridge.network.catalog import STANDARD_DEPARTMENTS
from carebridge.network.models import Department, Facility, ServiceKind, Tier
from carebridge.network.schemas import (
    DepartmentIn,
    DepartmentUpdate,
    FacilityIn,
    FacilityUpdate,
    OfferingIn,
    OfferingUpdate,
)
from tests.network.conftest import offer


async def test_standard_departments_are_seeded_once_and_edits_survive(db, net):
    cardiology = await service.get_department(db, "cardiology")
    await service.update_department(db, net.admin, "cardiology", DepartmentUpdate(name_en="Heart medicine"))
    assert await service.ensure_standard_departments(db) == 0
    assert cardiology.name_en == "Heart medicine"
    assert await db.scalar(select(func.count()).select_from(Department)) == len(STANDARD_DEPARTMENTS)


async def test_departments_can_be_added_renamed_and_deactivated(db, net):
    added = await service.add_department(db, net.admin, DepartmentIn(code="geriatrics", name="老年医学科",
                                                                      name_en="Geriatrics"))
    with pytest.raises(Conflict):
        await service.add_department(db, net.admin, DepartmentIn(code="geriatrics", name="x", name_en="x"))
    await service.update_department(db, net.admin, "geriatrics", DepartmentUpdate(active=False))
    assert added not in await service.list_departments(db)
    with pytest.raises(InvalidInput):  # an inactive department cannot be given to a facility
        await service.add_facility_department(db, net.admin, net.city.id, "geriatrics")


async def test_duplicate_institution_code_is_a_conflict_naming_the_code(db, net):
    with pytest.raises(Conflict) as caught:
        await service.create_facility(db, net.admin, FacilityIn(code="CTY", name="重复", tier=Tier.city_hospital))
    assert "CTY" in caught.value.message
    assert caught.value.details["code"] == "CTY"


async def test_coordinates_and_region_codes_are_validated():
    from pydantic import ValidationError

    for bad in ({"latitude": 91, "longitude": 100}, {"latitude": 30}, {"province_code": "HB"},
                {"tier": "palace"}, {"code": "has space"}):
        with pytest.raises(ValidationError):
            FacilityIn(**{"code": "X1", "name": "x", "tier": "county_hospital", **bad})


async def test_a_hub_must_be_a_higher_tier(db, net):
    with pytest.raises(InvalidInput):
        await service.add_hub_link(db, net.admin, net.city.id, net.county.id)  # downwards
    with pytest.raises(InvalidInput):
        await service.add_hub_link(db, net.admin, net.city.id, net.far_city.id)  # same level
    with pytest.raises(InvalidInput):  # the national centre cannot hang under a village: no cycle
        await service.add_hub_link(db, net.admin, net.national.id, net.village.id)


async def test_a_facility_may_belong_to_several_alliances(db, net):
    await service.add_hub_link(db, net.admin, net.county.id, net.far_city.id, "West alliance")
    await service.add_hub_link(db, net.admin, net.county.id, net.province.id, "Cardiac alliance")
    hubs = await service.list_hubs(db, net.county.id)
    assert [(h.hub.code, h.alliance) for h in hubs] == [("CTY", ""), ("CTYFAR", "West alliance"),
                                                        ("PRV", "Cardiac alliance")]
    with pytest.raises(Conflict):
        await service.add_hub_link(db, net.admin, net.county.id, net.far_city.id, "West alliance")


async def test_tier_changes_that_would_break_the_hierarchy_are_refused(db, net):
    with pytest.raises(Conflict):  # above its hub (the city)
        await service.update_facility(db, net.admin, net.county.id, FacilityUpdate(tier=Tier.provincial_hospital))
    with pytest.raises(Conflict):  # at the level of its member (the township)
        await service.update_facility(db, net.admin, net.county.id, FacilityUpdate(tier=Tier.community_center))
    await service.update_facility(db, net.admin, net.village.id, FacilityUpdate(tier=Tier.village_clinic))


async def test_facility_admin_manages_only_their_own_facility(db, world, net):
    own = await world.principal(await world.user((Role.facility_admin, net.county.id)))
    updated = await service.update_facility(db, own, net.county.id, FacilityUpdate(phone="0710-1234567",
                                                                                   require_mfa=True))
    assert updated.phone == "0710-1234567" and updated.require_mfa
    with pytest.raises(Forbidden):
        await service.update_facility(db, own, net.city.id, FacilityUpdate(phone="1"))
    with pytest.raises(Forbidden):  # tier and code are the platform's
        await service.update_facility(db, own, net.county.id, FacilityUpdate(tier=Tier.city_hospital))
    with pytest.raises(Forbidden):
        await service.create_facility(db, own, FacilityIn(code="NEW1", name="x", tier=Tier.village_clinic))
    with pytest.raises(Forbidden):
        await service.add_facility_department(db, own, net.city.id, "icu")
    await service.add_facility_department(db, own, net.county.id, "icu")
    assert "icu" in [d.code for d in await service.facility_departments(db, net.county.id)]


async def test_changes_are_audited(db, net):
    before = await db.scalar(select(func.count()).select_from(AuditEvent))
    await service.update_facility(db, net.admin, net.city.id, FacilityUpdate(address="1 Jiefang Road"))
    event = await db.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert await db.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
    assert (event.action, event.resource_type, event.resource_id) == ("update", "Facility", str(net.city.id))


async def test_deactivated_facilities_leave_the_directory_and_the_tree(db, net):
    await service.deactivate_facility(db, net.admin, net.far_city.id)
    page = await service.list_facilities(db, tier=Tier.city_hospital)
    assert [f.code for f in page.items] == ["CTY"]
    members = await service.tree_children(db, net.province.id)
    assert [n.facility.code for n in members] == ["CTY"]
    assert [f.code for f in (await service.list_facilities(db, tier=Tier.city_hospital,
                                                           include_inactive=True)).items] == ["CTY", "CTYFAR"]


async def test_facility_list_filters_and_cursor(db, net):
    await service.update_facility(db, net.admin, net.county.id, FacilityUpdate(county_code="420102"))
    assert [f.code for f in (await service.list_facilities(db, region="420102")).items] == ["CNT"]
    assert [f.code for f in (await service.list_facilities(db, hub_id=net.province.id)).items] == ["CTY", "CTYFAR"]
    assert [f.code for f in (await service.list_facilities(db, q="facility vil")).items] == ["VIL"]
    first = await service.list_facilities(db, limit=3)
    second = await service.list_facilities(db, limit=3, cursor=first.next_cursor)
    codes = [f.code for f in first.items + second.items]
    assert len(codes) == 6 and len(set(codes)) == 6 and codes == sorted(codes)


async def test_tree_starts_at_the_top_and_counts_members(db, net):
    roots = await service.tree_children(db, None)
    assert [(n.facility.code, n.members) for n in roots] == [("NAT", 1)]
    assert [(n.facility.code, n.members) for n in await service.tree_children(db, net.province.id)] == [
        ("CTY", 1), ("CTYFAR", 0)]
    counts = await service.tier_counts(db)
    assert counts["city_hospital"] == 2 and counts["village_clinic"] == 1


async def test_providers_nearest_higher_tier_first(db, net):
    for facility in (net.national, net.province, net.city, net.far_city):
        await offer(db, net.admin, facility, ServiceKind.consultation, "cardiology")
    found = await offerings.find_service_providers(db, kind="consultation", specialty="cardiology",
                                                   for_facility_id=net.county.id)
    # City hospitals before the province before the national centre; the nearer city first.
    assert [m.facility.code for m in found] == ["CTY", "CTYFAR", "PRV", "NAT"]
    assert found[0].distance_km < found[1].distance_km


async def test_providers_respect_recipients_specialty_and_status(db, net):
    await offer(db, net.admin, net.province, ServiceKind.ecg_reading, "ecg", open_to_all=False, recipients=[net.city])
    await offer(db, net.admin, net.national, ServiceKind.imaging_reading)  # no department: every specialty
    cardio = await offer(db, net.admin, net.city, ServiceKind.consultation, "cardiology")
    assert [m.facility.code for m in await offerings.find_service_providers(
        db, kind="ecg_reading", for_facility_id=net.city.id)] == ["PRV"]
    assert await offerings.find_service_providers(db, kind="ecg_reading", for_facility_id=net.county.id) == []
    imaging = await offerings.find_service_providers(db, kind="imaging_reading", specialty="radiology",
                                                     for_facility_id=net.village.id)
    assert [m.facility.code for m in imaging] == ["NAT"]
    await offerings.update_offering(db, net.admin, cardio.id, OfferingUpdate(active=False))
    assert await offerings.find_service_providers(db, kind="consultation", specialty="cardiology",
                                                  for_facility_id=net.county.id) == []


async def test_an_offering_needs_the_department_and_is_not_duplicated(db, net):
    with pytest.raises(InvalidInput):
        await offer(db, net.admin, net.county, ServiceKind.consultation, "pathology")
    await offer(db, net.admin, net.city, ServiceKind.consultation, "cardiology")
    with pytest.raises(Conflict):
        await offer(db, net.admin, net.city, ServiceKind.consultation, "cardiology")
    with pytest.raises(Conflict):  # a department still offering a service cannot be removed
        await service.remove_facility_department(db, net.admin, net.city.id, "cardiology")


async def test_offering_recipients_must_exist(db, net):
    with pytest.raises(InvalidInput) as caught:
        await offerings.create_offering(db, net.admin, net.city.id, OfferingIn(
            kind="consultation", open_to_all=False, recipient_ids=[net.county.id, 999999]))
    assert caught.value.details["unknown"] == [999999]


async def test_unknown_facility_is_not_found(db, net):
    with pytest.raises(NotFound):
        await service.get_facility(db, 999999)
    assert await db.get(Facility, net.city.id) is not None
