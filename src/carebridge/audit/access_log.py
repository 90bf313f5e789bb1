"""The patient's "Who viewed my record": the audit rows about them, told in plain words.

"Dr. 王伟 (Cardiology, 县人民医院) viewed your record for a consultation on 2026-11-20 14:03."
Refusals and emergency (break-the-glass) access are marked. What the patient did themselves,
including signing in, is left out: the log answers who *else* touched the record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import access_patient
from carebridge.audit.models import AuditEvent
from carebridge.audit.queries import facility_names, is_emergency
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.errors import Forbidden
from carebridge.kit import i18n
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor
from carebridge.network.models import Department, Practitioner
from carebridge.records.models import Patient

WHO = {
    "doctor": N_("Dr. %(name)s"),
    "nurse": N_("Nurse %(name)s"),
    "technician": N_("Technician %(name)s"),
    "pharmacist": N_("Pharmacist %(name)s"),
    "facility_admin": N_("Administrator %(name)s"),
    "platform_admin": N_("Platform administrator %(name)s"),
}
DID = {
    "read": N_("viewed your record"),
    "read:Consent": N_("viewed your sharing consent"),
    "read:AccessGrant": N_("viewed who has access to your record"),
    "search": N_("found you in a patient search"),
    "search:emergency": N_("looked you up by national ID for emergency access"),
    "search:duplicate_shown": N_("saw your record as a possible duplicate while registering a patient"),
    "create": N_("added to your record"),
    "create:Patient": N_("created your record"),
    "register": N_("registered you at their hospital"),
    "update": N_("changed your record"),
    "void": N_("voided an entry in your record"),
    "export": N_("exported your record"),
    "break_glass": N_("opened your record with emergency access"),
    "consent": N_("recorded your sharing consent"),
    "revoke": N_("withdrew an access grant to your record"),
    "link": N_("updated your patient identity"),
    "merge": N_("merged a duplicate of your record into it"),
}
GAVE = N_("gave %(grantee)s access to your record")
ACCESSED = N_("accessed your record")
REFUSED = N_("tried to open your record but was refused")
REFUSED_TO = {
    "consent": N_("tried to change your sharing consent but was refused"),
    "grant": N_("tried to give someone access to your record but was refused"),
    "revoke": N_("tried to withdraw an access grant to your record but was refused"),
    "break_glass": N_("tried to use emergency access to your record but was refused"),
}
PURPOSE = {
    Purpose.treatment.value: N_("for treatment"),
    Purpose.consultation.value: N_("for a consultation"),
    Purpose.referral.value: N_("for a referral"),
    Purpose.diagnosis.value: N_("for a diagnosis"),
    Purpose.emergency.value: N_("in an emergency"),
    Purpose.administration.value: N_("for administration"),
}


@dataclass(frozen=True)
class AccessLogItem:
    seq: int
    at: dt.datetime
    text: str
    who: str
    role: str
    specialty: str
    facility: str
    action: str
    purpose: str
    outcome: str
    denied: bool
    emergency: bool
    reason: str = ""


@dataclass
class _Names:
    english: bool
    facilities: dict[int, tuple[str, str]] = field(default_factory=dict)
    specialties: dict[int, tuple[str, str]] = field(default_factory=dict)
    users: dict[int, str] = field(default_factory=dict)

    def facility(self, facility_id: int | None) -> str:
        names = self.facilities.get(facility_id or 0)
        return "" if names is None else names[1 if self.english else 0]

    def specialty(self, user_id: int | None) -> str:
        names = self.specialties.get(user_id or 0)
        return "" if names is None else names[1 if self.english else 0]


async def patient_access_log(session: AsyncSession, principal: Principal, *, cursor: str | None = None,
                             limit: int = 50) -> Page[AccessLogItem]:
    """Newest first. Reading one's own log goes through the access layer like any other read."""
    if principal.patient_id is None:
        raise Forbidden(N_("only patients have an access log"))
    check_limit(limit)
    access = await access_patient(session, principal, principal.patient_id, purpose=Purpose.patient_self,
                                  resource_type="AccessLog")
    query = select(AuditEvent).where(
        AuditEvent.patient_id.in_(await _record_ids(session, access.patient.id)),
        or_(AuditEvent.actor_user_id.is_(None), AuditEvent.actor_user_id != principal.user_id),
        AuditEvent.action != "sign_in")
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(AuditEvent.seq < int(after[0]))
    rows = (await session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1))).all()
    events = list(rows[:limit])
    names = await _names_for(session, events)
    items = [describe(event, names) for event in events]
    return Page(items, encode_cursor([events[-1].seq]) if len(rows) > limit else None)


async def _record_ids(session: AsyncSession, patient_id: int) -> list[int]:
    """The patient's id and every duplicate merged into it: their history is the patient's too."""
    ids, frontier = {patient_id}, {patient_id}
    while frontier:
        frontier = set((await session.scalars(select(Patient.id).where(
            Patient.merged_into_id.in_(frontier)))).all()) - ids
        ids |= frontier
    return sorted(ids)


async def _names_for(session: AsyncSession, events: list[AuditEvent]) -> _Names:
    names = _Names(english=i18n.get_locale() == "en")
    facility_ids = {e.facility_id for e in events if e.facility_id}
    facility_ids |= {e.detail.get("grantee_facility_id") for e in events if (e.detail or {}).get("grantee_facility_id")}
    names.facilities = await facility_names(session, facility_ids)
    actors = {e.actor_user_id for e in events if e.actor_user_id}
    if actors:
        rows = await session.execute(select(Practitioner.user_id, Department.name, Department.name_en)
                                     .join(Department, Department.id == Practitioner.specialty_id)
                                     .where(Practitioner.user_id.in_(actors)))
        names.specialties = {uid: (name, name_en or name) for uid, name, name_en in rows}
    grantees = {e.detail.get("grantee_user_id") for e in events if (e.detail or {}).get("grantee_user_id")}
    if grantees:
        rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(grantees)))
        names.users = dict(rows.all())
    return names


def _who(event: AuditEvent, names: _Names) -> str:
    if event.actor_user_id is None and not event.actor_name:
        return _("The system")
    title = WHO.get(event.actor_role)
    who = _(title) % {"name": event.actor_name} if title else event.actor_name
    facility, specialty = names.facility(event.facility_id), names.specialty(event.actor_user_id)
    if facility and specialty:
        return _("%(who)s (%(specialty)s, %(facility)s)") % {"who": who, "specialty": specialty, "facility": facility}
    if facility:
        return _("%(who)s (%(facility)s)") % {"who": who, "facility": facility}
    return who


def _did(event: AuditEvent, names: _Names) -> str:
    detail = event.detail or {}
    if event.outcome == "denied":
        return _(REFUSED_TO.get(event.action, REFUSED))
    if event.action == "grant":
        grantee = (names.users.get(detail.get("grantee_user_id") or 0)
                   or names.facility(detail.get("grantee_facility_id")) or _("someone"))
        return _(GAVE) % {"grantee": grantee}
    key = next((k for k in ("search:emergency" if detail.get("emergency_lookup") else "",
                            f"{event.action}:{event.outcome}", f"{event.action}:{event.resource_type}",
                            event.action) if k in DID), None)
    return _(DID[key]) if key else _(ACCESSED)


def describe(event: AuditEvent, names: _Names) -> AccessLogItem:
    detail = event.detail or {}
    denied = event.outcome == "denied"
    emergency = is_emergency(event)
    who, did = _who(event, names), _did(event, names)
    when = event.at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    purpose = "" if denied or event.action in ("break_glass", "search") else PURPOSE.get(event.purpose, "")
    if purpose:
        text = _("%(who)s %(did)s %(purpose)s on %(when)s.") % {"who": who, "did": did, "purpose": _(purpose),
                                                               "when": when}
    else:
        text = _("%(who)s %(did)s on %(when)s.") % {"who": who, "did": did, "when": when}
    return AccessLogItem(
        seq=event.seq, at=event.at, text=text, who=event.actor_name, role=event.actor_role,
        specialty=names.specialty(event.actor_user_id), facility=names.facility(event.facility_id),
        action=event.action, purpose=event.purpose, outcome=event.outcome, denied=denied, emergency=emergency,
        reason=str(detail.get("reason", "")) if event.action == "break_glass" else "")
