"""Prices a patient would see: the community discount, the insurance share, and lines that add up."""

from __future__ import annotations

from sqlalchemy import select

from carebridge.payments import service
from carebridge.payments.models import PricingRule
from carebridge.payments.price_list import PriceEntry, price_source
from carebridge.payments.service import PriceLine
from tests.payments.conftest import FEE, ULTRASOUND


async def test_community_centre_is_ten_percent_cheaper_than_the_county_hospital(world, scene):
    county = await service.quote(world.db, facility_id=scene.county.id, patient_id=None, lines=[ULTRASOUND])
    community = await service.quote(world.db, facility_id=scene.community.id, patient_id=None, lines=[ULTRASOUND])
    assert (county.self_pay_fen, county.rules) == (12_000, [])
    assert (community.discount_fen, community.self_pay_fen, community.rules) == (1_200, 10_800, ["community_discount"])


async def test_the_discount_is_a_rule_administrators_change(client, world, scene):
    rule = await world.db.scalar(select(PricingRule).where(PricingRule.code == "community_discount"))
    response = await client.put(f"/api/v1/payments/pricing-rules/{rule.id}", json={"percent_off": 15},
                                headers=await world.token(scene.platform_admin))
    assert response.status_code == 200
    community = await service.quote(world.db, facility_id=scene.community.id, patient_id=None, lines=[ULTRASOUND])
    assert community.self_pay_fen == 10_200
    refused = await client.put(f"/api/v1/payments/pricing-rules/{rule.id}", json={"percent_off": 5},
                               headers=await world.token(scene.county_admin))
    assert refused.status_code == 403


async def test_declared_insurance_pays_its_share_of_insured_items_only(client, world, scene):
    headers = await world.token(scene.patient_user)
    declared = await client.put(f"/api/v1/payments/coverage/{scene.patient.id}",
                                json={"scheme": "resident", "member_number": "R12345678"}, headers=headers)
    assert declared.status_code == 200
    quoted = await client.post("/api/v1/payments/quote", headers=headers, json={
        "facility_id": scene.community.id, "patient_id": scene.patient.id,
        "lines": [vars(ULTRASOUND), vars(FEE)]})
    body = quoted.json()
    # Ultrasound 120.00 - 10 % = 108.00, half by the resident scheme; the fee is not insured.
    assert (body["discount_fen"], body["insurance_fen"], body["self_pay_fen"]) == (1_300, 5_400, 5_400 + 900)
    assert sum(line["self_pay_fen"] + line["insurance_fen"] + line["discount_fen"] for line in body["lines"]) == (
        body["total_fen"])


async def test_rounding_is_per_line_and_still_adds_up(world, scene):
    odd = [PriceLine("A", "a", 333, 3, insured=True), PriceLine("B", "b", 1, 1, insured=True)]
    quoted = await service.quote(world.db, facility_id=scene.community.id, patient_id=None, lines=odd)
    assert quoted.total_fen == quoted.discount_fen + quoted.insurance_fen + quoted.self_pay_fen == 1_000


async def test_another_patients_coverage_cannot_be_read_or_set(client, world, scene):
    headers = await world.token(scene.other_patient_user)
    response = await client.put(f"/api/v1/payments/coverage/{scene.patient.id}",
                                json={"scheme": "employee", "member_number": "E1234"}, headers=headers)
    assert response.status_code == 404


async def test_bad_prices_are_refused_with_the_field(client, world, scene):
    response = await client.post("/api/v1/payments/quote", headers=await world.token(scene.patient_user), json={
        "facility_id": scene.county.id, "lines": [{"code": "X", "label": "x", "unit_fen": -5}]})
    assert response.status_code == 422


@price_source
async def _one_test_per_facility(session, facility_id: int) -> list[PriceEntry]:  # noqa: ANN001
    # Stands for a feature's catalogue: a facility sells one ultrasound at the hospital price.
    return [PriceEntry("Tests", f"US-{facility_id}", "Abdominal ultrasound", 12_000, insured=True)]


async def test_the_public_price_list_shows_the_community_price(client, world, scene):
    county = await client.get(f"/payments/prices?facility_id={scene.county.id}")
    community = await client.get(f"/payments/prices?facility_id={scene.community.id}")
    assert county.status_code == community.status_code == 200
    assert "<strong>¥120.00</strong>" in county.text
    assert "<strong>¥108.00</strong>" in community.text and "Community and township centre discount" in community.text
