"""The pharmacy's entries on the patient's "my orders" page: prescriptions and refill requests.
The portal page has authorised the patient; this only reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.i18n import gettext as _
from carebridge.portal.mine import MyItem, my_items_source
from carebridge.portal.pharmacy import views
from carebridge.portal.pharmacy.models import Prescription, RefillRequest


def _title(summary: views.Summary) -> str:
    names = [line.label for line in summary.lines]
    shown = "、".join(names[:2]) if not views.catalogue.english() else ", ".join(names[:2])
    more = len(names) - 2
    text = _("Prescription: %(drugs)s") % {"drugs": shown}
    return text + (_(" and %(n)s more") % {"n": more} if more > 0 else "")


@my_items_source
async def prescription_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    rows = list((await session.scalars(select(Prescription).where(Prescription.patient_id == patient_id)
                                       .order_by(Prescription.id.desc()).limit(50))).all())
    return [MyItem(kind="prescription", title=_title(s), status=s.prescription.state, status_label=s.state_label,
                   when=s.prescription.submitted_at, url=f"/portal/prescriptions/{s.prescription.id}",
                   needs_action=s.prescription.state == "approved")  # the medicine waits to be fetched
            for s in await views.summaries(session, rows)]


@my_items_source
async def refill_items(session: AsyncSession, patient_id: int) -> list[MyItem]:
    rows = (await session.scalars(select(RefillRequest).where(RefillRequest.patient_id == patient_id)
                                  .order_by(RefillRequest.id.desc()).limit(50))).all()
    return [MyItem(kind="refill", title=_("Refill of prescription %(id)s") % {"id": r.prescription_id},
                   status=r.state, status_label=views.refill_state_label(r.state), when=r.created_at,
                   url=f"/portal/prescriptions/{r.prescription_id}") for r in rows]
