"""The patient's visits on the portal's "my orders" page (portal.mine). The page has authorised
the patient; this only reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit.i18n import gettext as _
from carebridge.portal.mine import MyItem, my_items_source
from carebridge.portal.visits.labels import STATE_LABELS
from carebridge.portal.visits.models import Visit


@my_items_source
async def visit_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    rows = (await session.execute(
        select(Visit, User.display_name).join(User, User.id == Visit.doctor_user_id)
        .where(Visit.patient_id == patient_id).order_by(Visit.starts_at.desc()).limit(100))).all()
    return [MyItem(kind="visit", title=_("Follow-up visit with Dr %(name)s") % {"name": doctor},
                   status=visit.state, status_label=_(STATE_LABELS[visit.state]), when=visit.starts_at,
                   url=f"/portal/visits/{visit.id}", needs_action=visit.state == "awaiting_payment")
            for visit, doctor in rows]
