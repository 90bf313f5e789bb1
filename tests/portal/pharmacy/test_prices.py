"""Medicines on the public price list: the catalogue's pack prices where a pharmacy dispenses."""

from __future__ import annotations

from carebridge.payments.price_list import price_list
from carebridge.portal.pharmacy import prices  # noqa: F401 - registers the source as the app does


async def test_the_dispensing_pharmacy_publishes_its_medicine_prices(client, world, net):
    county, _ = await price_list(world.db, net.county)
    amlodipine = next(p for p in county if p.entry.code == "amlodipine-5mg-tab")
    assert (amlodipine.entry.unit_fen, amlodipine.entry.insured) == (260, True)
    assert "28" in amlodipine.entry.label
    township, _ = await price_list(world.db, net.township)
    assert not [p for p in township if p.entry.code == "amlodipine-5mg-tab"]  # it dispenses nothing itself
    page = await client.get(f"/payments/prices?facility_id={net.county.id}")
    assert page.status_code == 200 and "Amlodipine besylate tablets 5 mg" in page.text
