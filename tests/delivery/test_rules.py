"""The fee rules and the lifecycle table, as the patient and the pharmacy meet them."""

from __future__ import annotations

import pytest

from carebridge.errors import Conflict, Forbidden
from carebridge.portal.delivery import lifecycle, pricing
from carebridge.portal.delivery.lifecycle import Action, Method, Party, State
from carebridge.portal.delivery.sources import Dispensable, DispensedLine

PILLS = DispensedLine("C08CA01", "氨氯地平片 5mg", 2850, 2, insured=True)
INSULIN = DispensedLine("A10AE04", "甘精胰岛素注射液", 16800, 1, insured=True)


def test_pickup_costs_the_drugs_only_even_when_cold(settings):  # noqa: ANN001
    price = pricing.price(Dispensable(1, 1, "续方", [PILLS, INSULIN], cold_chain=True), Method.pickup, settings)
    assert (price.drugs_fen, price.fees_fen, price.total_fen, price.cold_chain) == (22500, 0, 22500, True)


def test_delivery_adds_the_fee_and_the_cold_chain_surcharge(settings, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(settings, "delivery_fee_fen", 1000)
    monkeypatch.setattr(settings, "delivery_cold_chain_fee_fen", 2000)
    plain = pricing.price(Dispensable(1, 1, "续方", [PILLS]), Method.delivery, settings)
    assert [(line.code, line.total_fen) for line in plain.lines] == [("C08CA01", 5700), ("delivery_fee", 1000)]
    cold = pricing.price(Dispensable(1, 1, "续方", [INSULIN], cold_chain=True), Method.delivery, settings)
    assert [line.code for line in cold.lines if line.kind == "fee"] == ["delivery_fee", "cold_chain_fee"]
    assert cold.total_fen == 16800 + 1000 + 2000


def test_delivery_fee_waived_from_the_configured_amount(settings, monkeypatch):  # noqa: ANN001
    monkeypatch.setattr(settings, "delivery_free_over_fen", 10000)
    cheap = pricing.price(Dispensable(1, 1, "续方", [PILLS]), Method.delivery, settings)
    dear = pricing.price(Dispensable(1, 1, "续方", [INSULIN], cold_chain=True), Method.delivery, settings)
    assert cheap.fees_fen == settings.delivery_fee_fen and not cheap.fee_waived
    assert dear.fee_waived and [line.code for line in dear.lines if line.kind == "fee"] == ["cold_chain_fee"]


def test_a_delivered_parcel_never_goes_back_in_transit():
    assert lifecycle.next_state(State.shipped, Action.track, {Party.courier}, Method.delivery) is State.shipped
    assert lifecycle.next_state(State.failed, Action.deliver, {Party.courier}, Method.delivery) is State.delivered
    with pytest.raises(Conflict):
        lifecycle.next_state(State.delivered, Action.track, {Party.courier}, Method.delivery)
    with pytest.raises(Conflict):
        lifecycle.next_state(State.delivered, Action.fail, {Party.courier}, Method.delivery)


def test_each_party_moves_only_its_own_steps():
    with pytest.raises(Forbidden):
        lifecycle.next_state(State.paid, Action.pack, {Party.patient}, Method.delivery)
    with pytest.raises(Forbidden):
        lifecycle.next_state(State.shipped, Action.deliver, {Party.pharmacy}, Method.delivery)
    with pytest.raises(Forbidden):
        lifecycle.next_state(State.awaiting_payment, Action.pay, {Party.patient}, Method.delivery)
    with pytest.raises(Conflict):  # cancelled only before packing
        lifecycle.next_state(State.packed, Action.cancel, {Party.patient}, Method.delivery)


def test_pickup_and_delivery_offer_different_steps():
    assert lifecycle.actions_for(State.paid, {Party.pharmacy}, Method.delivery) == [Action.cancel, Action.pack]
    assert lifecycle.actions_for(State.paid, {Party.pharmacy}, Method.pickup) == [Action.cancel, Action.prepare]
    with pytest.raises(Conflict):
        lifecycle.next_state(State.paid, Action.pack, {Party.pharmacy}, Method.pickup)
