"""The hand-off to pickup and delivery: only an approved prescription within its validity is
dispensable, and it is dispensed exactly once."""

from __future__ import annotations

import dataclasses

import pytest

from carebridge.errors import Conflict
from carebridge.portal.pharmacy import dispensing
from tests.portal.pharmacy.conftest import age_out, approve, line, write


async def test_only_an_approved_prescription_is_dispensable(world, net):
    prescription = await write(world, net, items=[line(), line("insulin-glargine-300iu-pen", 12, "qd", 30)])
    assert await dispensing.dispensable_prescription(world.db, prescription.id) is None
    with pytest.raises(Conflict):
        await dispensing.mark_dispensed(world.db, prescription.id)
    await approve(world, net, prescription)

    ready = await dispensing.dispensable_prescription(world.db, prescription.id)
    assert ready.patient_id == net.patient.id and ready.facility_id == net.county.id
    assert ready.cold_chain is True  # the insulin pen travels at 2-8 °C
    assert [dataclasses.astuple(x) for x in ready.lines] == [
        ("amlodipine-5mg-tab", "苯磺酸氨氯地平片 5 mg", 260, 2, True),
        ("insulin-glargine-300iu-pen", "甘精胰岛素注射液（预填充笔） 100 IU/mL, 3 mL", 7980, 2, True)]

    await dispensing.mark_dispensed(world.db, prescription.id)
    assert prescription.state == "dispensed" and prescription.dispensed_at is not None
    assert await dispensing.dispensable_prescription(world.db, prescription.id) is None
    with pytest.raises(Conflict):
        await dispensing.mark_dispensed(world.db, prescription.id)


async def test_an_approved_prescription_past_its_validity_expires_instead(world, net):
    prescription = await write(world, net)
    await approve(world, net, prescription)
    await age_out(world.db, prescription, days=31)
    assert await dispensing.dispensable_prescription(world.db, prescription.id) is None
    assert prescription.state == "expired"
    with pytest.raises(Conflict):
        await dispensing.mark_dispensed(world.db, prescription.id)
