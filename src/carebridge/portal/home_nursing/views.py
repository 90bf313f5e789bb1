"""Turning orders, nurses and candidates into what the API returns (shared with the pages)."""

from __future__ import annotations

from carebridge.kit.clock import today_local
from carebridge.kit.i18n import gettext as _
from carebridge.portal.home_nursing.dispatch import Candidate
from carebridge.portal.home_nursing.lifecycle import Party
from carebridge.portal.home_nursing.models import NursingEvent, NursingOrder
from carebridge.portal.home_nursing.nurses import Nurse
from carebridge.portal.home_nursing.schemas import CandidateOut, CredentialOut, EventOut, NurseOut, OrderOut
from carebridge.portal.home_nursing.service import OrderAccess


def order_out(order: NursingOrder, parties: set[Party], events: list[NursingEvent] | None = None,
              actions: list[str] | None = None) -> OrderOut:
    out = OrderOut.model_validate(order).model_copy(update={
        "allowed_actions": actions or [],
        "events": [EventOut.model_validate(e) for e in events] if events is not None else None})
    if not parties:  # a nurse who was offered the visit but did not get it keeps no address
        out = out.model_copy(update={"address": "", "latitude": None, "longitude": None, "contact_phone": "",
                                     "notes": ""})
    return out


def seen_out(seen: OrderAccess, events: list[NursingEvent] | None = None) -> OrderOut:
    return order_out(seen.order, seen.parties, events, [a.value for a in seen.actions])


def nurse_out(nurse: Nurse) -> NurseOut:
    profile = nurse.profile
    return NurseOut(
        practitioner_id=nurse.practitioner.id, user_id=nurse.user.id, name=nurse.user.display_name,
        license_no=nurse.practitioner.license_no,
        license_valid_until=profile.license_valid_until if profile else None,
        practising_since=profile.practising_since if profile else None, years=nurse.years_on(today_local()),
        base_label=profile.base_label if profile else "", base_latitude=profile.base_latitude if profile else None,
        base_longitude=profile.base_longitude if profile else None, active=bool(profile and profile.active),
        credentials=[CredentialOut(credential=c.credential, certificate_no=c.certificate_no, valid_until=c.valid_until)
                     for c in nurse.credentials.values()])


def candidate_out(candidate: Candidate) -> CandidateOut:
    return CandidateOut(
        practitioner_id=candidate.nurse.practitioner.id, user_id=candidate.nurse.user.id,
        name=candidate.nurse.user.display_name, qualified=candidate.qualified, available=candidate.available,
        distance_m=candidate.distance_m, position=candidate.position, free_minutes=candidate.free_minutes,
        problems=[problem_text(p) for p in candidate.problems],
        busy=problem_text(candidate.busy) if candidate.busy else None, offer_state=candidate.offer_state)


def problem_text(problem: tuple[str, dict]) -> str:
    message, params = problem
    return _(message) % {k: _(v) if isinstance(v, str) else v for k, v in params.items()}
