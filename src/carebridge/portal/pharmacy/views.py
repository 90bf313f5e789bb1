"""A prescription put together for reading (pages and API alike): the current version and the
history, the checks in the reader's language, the people and places by name, what the reader may
do now. Callers have authorised the reader (`service.access_prescription`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.models import User
from carebridge.kit.clock import today_local, utcnow
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.network.models import Facility
from carebridge.portal.pharmacy import catalogue, checks, refills, service
from carebridge.portal.pharmacy.lifecycle import actions_for
from carebridge.portal.pharmacy.models import Prescription, PrescriptionEvent, PrescriptionItem, PrescriptionVersion
from carebridge.records.models import Patient

STATE_LABELS = {
    "pending_review": N_("Waiting for pharmacist review"), "returned": N_("Returned to the doctor"),
    "approved": N_("Approved"), "dispensed": N_("Dispensed"), "cancelled": N_("Cancelled"), "expired": N_("Expired"),
}
REFILL_LABELS = {"requested": N_("Waiting for the doctor"), "approved": N_("Approved by the doctor"),
                 "declined": N_("Declined"), "cancelled": N_("Withdrawn")}
KIND_LABELS = {"chronic": N_("Long-term"), "acute": N_("Short-term")}
ACTION_LABELS = {"approve": N_("Approve"), "return": N_("Return to doctor"), "cancel": N_("Cancel prescription"),
                 "resubmit": N_("Revise and resubmit"), "submit": N_("Submitted"), "dispense": N_("Dispensed"),
                 "expire": N_("Expired")}


@dataclass
class Finding:
    kind: str
    severity: str
    text: str
    advice: str
    source: str

    @property
    def kind_label(self) -> str:
        return _(checks.KIND_LABELS.get(self.kind, self.kind))

    @property
    def severity_label(self) -> str:
        return _(checks.SEVERITY_LABELS.get(self.severity, self.severity))


@dataclass
class Line:
    item: PrescriptionItem

    @property
    def label(self) -> str:
        return self.item.label_en if catalogue.english() else self.item.label

    @property
    def dose(self) -> str:
        unit = checks.UNITS.get(self.item.dose_unit, [self.item.dose_unit] * 2)[1 if catalogue.english() else 0]
        return f"{self.item.dose:g} {unit}"

    @property
    def route(self) -> str:
        return _(catalogue.ROUTES.get(self.item.route, self.item.route))

    @property
    def frequency(self) -> str:
        found = catalogue.FREQUENCIES.get(self.item.frequency)
        return _(found.label) if found else self.item.frequency

    @property
    def pack(self) -> str:
        return checks.PACKS.get(self.item.pack_unit, ["", ""])[1 if catalogue.english() else 0]

    @property
    def line_fen(self) -> int:
        return self.item.unit_fen * self.item.quantity


@dataclass
class VersionView:
    version: PrescriptionVersion
    lines: list[Line]
    findings: list[Finding]


@dataclass
class PrescriptionView:
    prescription: Prescription
    current: VersionView
    history: list[VersionView]  # every version, newest first
    events: list[PrescriptionEvent]
    actions: list[str]
    patient: Patient
    patient_age: int
    facility: str
    pharmacy: str
    prescriber: str
    names: dict[int, str] = field(default_factory=dict)
    refill_refusal: str | None = None
    refill_code: str | None = None

    @property
    def state_label(self) -> str:
        return _(STATE_LABELS.get(self.prescription.state, self.prescription.state))

    @property
    def kind_label(self) -> str:
        return _(KIND_LABELS.get(self.prescription.kind, self.prescription.kind))

    @property
    def total_fen(self) -> int:
        return sum(line.line_fen for line in self.current.lines)

    @property
    def refills_left(self) -> int:
        return max(0, self.prescription.refills_allowed - self.prescription.refills_used)


def findings(version: PrescriptionVersion) -> list[Finding]:
    return [Finding(f["kind"], f["severity"], checks.render(f), checks.advice(f), f.get("source", ""))
            for f in version.checks]


async def facility_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    english = catalogue.english()
    rows = (await session.execute(select(Facility.id, Facility.name, Facility.name_en)
                                  .where(Facility.id.in_(ids)))).all() if ids else []
    return {fid: (name_en or name) if english else name for fid, name, name_en in rows}


async def user_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict((await session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))).all())


async def _versions(session: AsyncSession, prescription: Prescription) -> list[VersionView]:
    versions = (await session.scalars(select(PrescriptionVersion).where(
        PrescriptionVersion.prescription_id == prescription.id).order_by(PrescriptionVersion.number.desc()))).all()
    out = []
    for version in versions:
        out.append(VersionView(version, [Line(i) for i in await service.items_of(session, version.id)],
                               findings(version)))
    return out


async def describe(session: AsyncSession, prescription: Prescription, parties: set) -> PrescriptionView:
    history = await _versions(session, prescription)
    events = list((await session.scalars(select(PrescriptionEvent).where(
        PrescriptionEvent.prescription_id == prescription.id).order_by(PrescriptionEvent.at, PrescriptionEvent.id)))
        .all())
    patient = await session.get(Patient, prescription.patient_id)
    places = await facility_names(session, {prescription.facility_id, prescription.dispensing_facility_id})
    people = await user_names(session, {prescription.prescriber_id, *(e.actor_id for e in events)})
    view = PrescriptionView(
        prescription=prescription, current=history[0], history=history, events=events,
        actions=[a.value for a in actions_for(prescription.state, parties)], patient=patient,
        patient_age=checks.age_on(patient.birth_date, today_local()),
        facility=places.get(prescription.facility_id, ""), pharmacy=places.get(prescription.dispensing_facility_id, ""),
        prescriber=people.get(prescription.prescriber_id, ""), names=people)
    if prescription.kind == "chronic":
        order = prescription if prescription.refill_of_id is None else await session.get(
            Prescription, prescription.refill_of_id)
        found = await refills.refusal(session, order)
        view.refill_refusal, view.refill_code = (_(found.message), found.code) if found else (None, None)
    return view


@dataclass
class Summary:
    prescription: Prescription
    lines: list[Line]
    check_level: str
    patient_name: str = ""

    @property
    def state_label(self) -> str:
        return _(STATE_LABELS.get(self.prescription.state, self.prescription.state))


async def summaries(session: AsyncSession, rows: list[Prescription], *, with_names: bool = False) -> list[Summary]:
    if not rows:
        return []
    versions = {(v.prescription_id, v.number): v for v in (await session.scalars(select(PrescriptionVersion).where(
        PrescriptionVersion.prescription_id.in_([r.id for r in rows])))).all()}
    current = {r.id: versions[(r.id, r.version_no)] for r in rows}
    items = (await session.scalars(select(PrescriptionItem).where(
        PrescriptionItem.version_id.in_([v.id for v in current.values()])).order_by(PrescriptionItem.position))).all()
    by_version: dict[int, list[Line]] = {}
    for item in items:
        by_version.setdefault(item.version_id, []).append(Line(item))
    names = {}
    if with_names:
        names = dict((await session.execute(select(Patient.id, Patient.name).where(
            Patient.id.in_({r.patient_id for r in rows})))).all())
    return [Summary(r, by_version.get(current[r.id].id, []), current[r.id].check_level, names.get(r.patient_id, ""))
            for r in rows]


def refill_state_label(state: str) -> str:
    return _(REFILL_LABELS.get(state, state))


def waiting_since(when: dt.datetime) -> str:
    minutes = int((utcnow() - when).total_seconds() // 60)
    if minutes < 60:
        return _("%(n)s min") % {"n": max(minutes, 0)}
    if minutes < 48 * 60:
        return _("%(n)s h") % {"n": minutes // 60}
    return _("%(n)s days") % {"n": minutes // (24 * 60)}

