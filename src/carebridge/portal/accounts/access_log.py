"""'Who viewed my record' for the portal, also for a family member looking on the patient's behalf.
The sentences come from `audit.access_log`; what this adds is the patient id of the URL (not the
caller's own), leaving out what the patient's own accounts and the viewer did, and plain words
for the rows only the portal writes (a family member acting for the patient, account links)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import CAREGIVER_ROLE, PatientAccess, access_patient_side
from carebridge.audit.access_log import AccessLogItem, _did, _names_for, _record_ids, describe
from carebridge.audit.models import AuditEvent
from carebridge.auth.models import User
from carebridge.auth.principal import Principal
from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.kit.pagination import Page, check_limit, decode_cursor, encode_cursor

PORTAL_TEXT = {
    ("portal_link", "pending"): N_("%(who)s asked to link a patient account to your record on %(when)s; "
                                   "staff will check who they are."),
    ("portal_link", "linked"): N_("A patient account was linked to your record on %(when)s (%(who)s)."),
    ("portal_link", "confirmed"): N_("%(who)s confirmed that a patient account is yours on %(when)s."),
    ("portal_link", "rejected"): N_("%(who)s refused to link a patient account to your record on %(when)s."),
    ("grant", "CaregiverPermission"): N_("%(who)s gave a family member permission to act for you on %(when)s."),
    ("revoke", "CaregiverPermission"): N_("%(who)s withdrew a family member's permission to act for you on %(when)s."),
    ("family_invitation", "CaregiverPermission"): N_("Your family member signed in and can now act for you "
                                                     "(%(when)s)."),
}
ACTING_FOR_YOU = N_("Your family member %(name)s %(did)s on %(when)s, acting for you.")


def _when(event: AuditEvent) -> str:
    return event.at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")


def explain(event: AuditEvent, names) -> AccessLogItem:  # noqa: ANN001 - access_log's name cache
    item = describe(event, names)
    portal = PORTAL_TEXT.get((event.action, event.outcome)) or PORTAL_TEXT.get((event.action, event.resource_type))
    if portal is not None:
        text = _(portal) % {"who": event.actor_name or _("Someone"), "when": _when(event)}
    elif event.actor_role == CAREGIVER_ROLE and event.outcome != "denied":
        text = _(ACTING_FOR_YOU) % {"name": event.actor_name, "did": _did(event, names), "when": _when(event)}
    else:
        return item
    return dataclasses.replace(item, text=text)


async def access_log(session: AsyncSession, principal: Principal, patient_id: int, *, cursor: str | None = None,
                     limit: int = 30) -> tuple[PatientAccess, Page[AccessLogItem]]:
    """Newest first, for the patient or a family member allowed to act for them."""
    check_limit(limit)
    access = await access_patient_side(session, principal, patient_id, purpose=Purpose.patient_self,
                                  resource_type="AccessLog")
    record_ids = await _record_ids(session, access.patient.id)
    own_users = list((await session.scalars(select(User.id).where(User.patient_id.in_(record_ids)))).all())
    hidden = {principal.user_id, *own_users}
    query = select(AuditEvent).where(
        AuditEvent.patient_id.in_(record_ids),
        or_(AuditEvent.actor_user_id.is_(None), AuditEvent.actor_user_id.not_in(hidden)),
        AuditEvent.action != "sign_in")
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(AuditEvent.seq < int(after[0]))
    rows = (await session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1))).all()
    events = list(rows[:limit])
    names = await _names_for(session, events)
    return access, Page([explain(e, names) for e in events], encode_cursor([events[-1].seq]) if len(rows) > limit
                        else None)
