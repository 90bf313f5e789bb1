"""Diagnosis reports: the reader's draft, signing (preliminary and final), addenda, and what each
side sees.

Who does what (lifecycle parties):
- a reader (doctor at the hub) holding the order's live claim writes the draft and signs;
- with two-step reading (hub setting, or the order's own flag) anyone reading signs the
  preliminary report and an attending who is someone else signs the final one; without it an
  attending signs final straight from ready. A resident never signs final;
- after the final signature nothing is edited; readers add addenda, hash-chained to it;
- the sender (clinicians and technicians of the requesting facility) reads signed versions only,
  never the draft, and a doctor or nurse there acknowledges a critical finding (report_critical).

Every read goes through `service.read_order` (authorised and audited) and re-verifies the signed
content from the stored rows. A hub attending picked for a blind double read of the order sees none
of the report until they have submitted their own reading (quality.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.diagnostics import assignment, claims, quality, reading_settings, service
from carebridge.diagnostics import report_content as content
from carebridge.diagnostics import report_critical as critical
from carebridge.diagnostics import report_notices as notices
from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.ecg_preread import Preread
from carebridge.diagnostics.ecg_preread import for_order as preread_for_order
from carebridge.diagnostics.lifecycle import ON_WORKLIST, Action, Party, State, next_state
from carebridge.diagnostics.models import DiagnosisOrder, Modality
from carebridge.diagnostics.report_models import DiagnosisReport, ReportAddendum, ReportVersion
from carebridge.errors import Conflict, Forbidden, InvalidInput
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.records.views import user_names

TEXT_MAX, NOTE_MAX, ADDENDUM_MIN, ADDENDUM_MAX = 20000, 500, 3, 4000
PRELIMINARY, FINAL = content.PRELIMINARY, content.FINAL


@dataclass(frozen=True)
class DraftInput:
    findings: dict = field(default_factory=dict)
    impression: str = ""
    free_text: str = ""
    critical: bool = False
    critical_note: str = ""
    template_key: str | None = None


@dataclass(frozen=True)
class ReportView:
    order: DiagnosisOrder
    parties: frozenset[Party]
    template: templates.ReportTemplate
    row: DiagnosisReport | None = None  # critical state and the filed document, for both sides
    draft: DiagnosisReport | None = None  # the working copy: readers only
    versions: list[ReportVersion] = field(default_factory=list)
    addenda: list[ReportAddendum] = field(default_factory=list)
    verification: content.Verification | None = None
    blinded: bool = False
    holds_claim: bool = False
    is_attending: bool = False
    two_step: bool = False
    may_acknowledge: bool = False
    preread: Preread | None = None
    user_id: int = 0
    names: dict[int, str] = field(default_factory=dict)  # people the report names: ack, addenda authors

    def version(self, kind: str) -> ReportVersion | None:
        return next((v for v in self.versions if v.kind == kind), None)

    @property
    def latest(self) -> ReportVersion | None:
        return self.version(FINAL) or self.version(PRELIMINARY)

    @property
    def signed(self) -> bool:
        return self.latest is not None

    @property
    def final(self) -> bool:
        return self.version(FINAL) is not None

    @property
    def content(self) -> dict:
        return content.parsed(self.latest) if self.latest else {}

    @property
    def critical_state(self) -> str:
        return critical.state_of(self.row).value

    @property
    def may_read(self) -> bool:
        """Only the two sides of the order read its report (not hub technicians, not the blind)."""
        return bool(self.parties) and not self.blinded

    @property
    def is_reader(self) -> bool:
        return Party.reader in self.parties and not self.blinded

    @property
    def may_edit(self) -> bool:
        return self.is_reader and self.holds_claim and self.order.state in ON_WORKLIST

    @property
    def may_sign_preliminary(self) -> bool:
        return self.may_edit and self.order.state == State.ready

    @property
    def may_sign_final(self) -> bool:
        if not (self.may_edit and self.is_attending):
            return False
        if self.order.state == State.preliminary:
            return self.order.preliminary_reader_id != self.user_id
        return not self.two_step

    @property
    def may_add_addendum(self) -> bool:
        return self.is_reader and self.order.state == State.reported and self.final


async def report_of(session: AsyncSession, order_id: int) -> DiagnosisReport | None:
    return await session.scalar(select(DiagnosisReport).where(DiagnosisReport.order_id == order_id))


async def versions_of(session: AsyncSession, report_id: int) -> list[ReportVersion]:
    return list((await session.scalars(select(ReportVersion).where(ReportVersion.report_id == report_id)
                                       .order_by(ReportVersion.id))).all())


async def addenda_of(session: AsyncSession, report_id: int) -> list[ReportAddendum]:
    return list((await session.scalars(select(ReportAddendum).where(ReportAddendum.report_id == report_id)
                                       .order_by(ReportAddendum.id))).all())


def template_for(order: DiagnosisOrder, report: DiagnosisReport | None) -> templates.ReportTemplate:
    if report is not None and report.template_key in templates.TEMPLATES:
        return templates.TEMPLATES[report.template_key]
    return templates.choose(order.modality, order.body_part, order.frozen_section)


async def two_step_for(session: AsyncSession, order: DiagnosisOrder) -> bool:
    return order.two_step or (await reading_settings.settings_for(session, order.hub_facility_id)).two_step


async def _preread(session: AsyncSession, order: DiagnosisOrder, tmpl: templates.ReportTemplate) -> Preread | None:
    if order.modality != Modality.ECG or tmpl is not templates.ECG_12_LEAD:
        return None
    return await preread_for_order(session, order.id)


async def signed_view(session: AsyncSession, order: DiagnosisOrder) -> ReportView:
    """The signed part as it stands, verified, for nobody in particular (the filed PDF)."""
    report = await report_of(session, order.id)
    versions = await versions_of(session, report.id) if report else []
    addenda = await addenda_of(session, report.id) if report else []
    names = await user_names(session, {report.critical_ack_by_id if report else None, order.requesting_user_id}
                             | {a.author_id for a in addenda} | {v.signed_by_id for v in versions})
    return ReportView(order, frozenset(), template_for(order, report), row=report, versions=versions, addenda=addenda,
                      verification=content.verify(order.id, versions, addenda) if versions else None, names=names)


async def view_for(session: AsyncSession, principal: Principal, order: DiagnosisOrder,
                   parties: frozenset[Party]) -> ReportView:
    """What this caller sees of an order's report, for a caller `read_order` has already let in
    (the lead's order page uses this for the report panel)."""
    if not parties:
        return ReportView(order, parties, template_for(order, None), user_id=principal.user_id)
    signed = await signed_view(session, order)
    mine = {"parties": parties, "user_id": principal.user_id,
            "may_acknowledge": Party.sender in parties and critical.may_acknowledge(principal, order)}
    if Party.reader not in parties:
        return replace(signed, **mine)
    if await quality.blinded(session, principal.user_id, order.id):
        return ReportView(order, parties, signed.template, user_id=principal.user_id, blinded=True)
    return replace(signed, **mine, draft=signed.row, holds_claim=claims.holds_claim(principal, order),
                   is_attending=await assignment.may_sign_final(session, principal.user_id, order.hub_facility_id),
                   two_step=await two_step_for(session, order), preread=await _preread(session, order, signed.template))


async def access_report(session: AsyncSession, principal: Principal, order_id: int,
                        action: str = "report_read") -> ReportView:
    """For the two sides of the order; hub technicians (who link studies) do not read reports."""
    order, parties = await service.read_order(session, principal, order_id, action=f"diagnosis_{action}")
    if not parties:
        raise Forbidden(N_("only the sending facility and the reading hub's doctors read reports"))
    return await view_for(session, principal, order, parties)


async def written_view(session: AsyncSession, principal: Principal, order_id: int) -> ReportView:
    """After a write the caller made (and its audit row): the view without a second audit row."""
    order, parties = await service.load_order(session, principal, order_id)
    return await view_for(session, principal, order, parties)


async def _writer(session: AsyncSession, principal: Principal, order_id: int) -> DiagnosisOrder:
    order, parties = await service.load_order(session, principal, order_id)
    if Party.reader not in parties:
        raise Forbidden(N_("only a doctor at the reading hub writes the report"), code="not_reader")
    if order.state not in ON_WORKLIST:
        raise Conflict(N_("the report can no longer be edited; add an addendum instead"), code="not_editable")
    await claims.require_claim(session, principal, order)
    return order


def _check_texts(data: DraftInput) -> None:
    for name in ("impression", "free_text"):
        if len(getattr(data, name)) > TEXT_MAX:
            raise InvalidInput(N_("the text is too long (at most 20000 characters)"), details={"field": name})
    if len(data.critical_note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 500 characters)"), details={"field": "critical_note"})


async def save_draft(session: AsyncSession, principal: Principal, order_id: int, data: DraftInput) -> DiagnosisReport:
    """The claim holder saves the working copy (the reading page autosaves it)."""
    order = await _writer(session, principal, order_id)
    _check_texts(data)
    report = await report_of(session, order.id)
    tmpl = templates.template(data.template_key, order.modality) if data.template_key else template_for(order, report)
    findings = templates.check_findings(tmpl, data.findings or {})
    preread = await _preread(session, order, tmpl)
    if report is None:
        report = DiagnosisReport(order_id=order.id, template_key=tmpl.key)
        session.add(report)
    report.template_key, report.findings = tmpl.key, findings
    # A value is the pre-read's until the reader changes it; confirming it unchanged keeps the mark.
    report.preread_keys = sorted(k for k, v in (preread.values if preread else {}).items() if findings.get(k) == v)
    report.impression, report.free_text = data.impression.strip(), data.free_text.strip()
    report.critical, report.critical_note = bool(data.critical), data.critical_note.strip() if data.critical else ""
    report.updated_at, report.updated_by_id = utcnow(), principal.user_id
    await session.flush()
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "report_draft")
    return report


def _missing(tmpl: templates.ReportTemplate, report: DiagnosisReport | None) -> list[str]:
    if report is None:
        return ["impression"]
    missing = templates.missing_required(tmpl, report.findings or {})
    return missing + (["impression"] if not report.impression.strip() else [])


async def _check_signer(session: AsyncSession, principal: Principal, order: DiagnosisOrder, kind: str) -> str:
    """The two-step rules; returns the signer's title as it is signed."""
    title = await reading_settings.title_of(session, principal.user_id) or ""
    if kind != FINAL:
        return title
    if not await assignment.may_sign_final(session, principal.user_id, order.hub_facility_id):
        raise Forbidden(N_("only an attending, associate chief or chief physician signs a final report"),
                        code="not_attending")
    if order.state == State.ready and await two_step_for(session, order):
        raise Conflict(N_("this hub reads in two steps: a preliminary report comes first"), code="preliminary_first")
    if order.preliminary_reader_id == principal.user_id:
        raise Forbidden(N_("the final report is signed by someone other than the preliminary reader"),
                        code="same_reader")
    return title


async def sign(session: AsyncSession, principal: Principal, order_id: int, kind: str,
               blobs: BlobStore) -> ReportVersion:
    """Freeze the draft as an immutable version, move the order, and return the report to the sender."""
    if kind not in (PRELIMINARY, FINAL):
        raise InvalidInput(N_("sign a preliminary or a final report"), details={"field": "kind"})
    action = Action.sign_final if kind == FINAL else Action.sign_preliminary
    order, parties = await service.load_order(session, principal, order_id)
    if Party.reader not in parties:
        raise Forbidden(N_("only a doctor at the reading hub writes the report"), code="not_reader")
    next_state(order.state, action, [Party.reader])  # an impossible step is a 409 before anything else
    order = await _writer(session, principal, order_id)
    report = await report_of(session, order.id)
    missing = _missing(template_for(order, report), report)
    if missing:
        raise Conflict(N_("the report is not complete yet"), code="report_incomplete", details={"missing": missing})
    title = await _check_signer(session, principal, order, kind)
    earlier = next((v for v in await versions_of(session, report.id) if v.kind == PRELIMINARY), None)
    signer = content.Signer(principal.user_id, principal.display_name, title, content.truncate_ms(utcnow()))
    text = content.canonical(content.version_body(order, report, kind, signer,
                                                  earlier.content_hash if earlier else None))
    version = ReportVersion(report_id=report.id, order_id=order.id, kind=kind, content=text,
                            content_hash=content.sha256(text), critical=report.critical,
                            signed_by_id=principal.user_id, signed_at=signer.at)
    session.add(version)
    await session.flush()
    await _move(session, principal, order, action, version)
    await critical.after_version(session, order, report, version, earlier, principal.display_name)
    if kind == FINAL:
        from carebridge.diagnostics import report_record  # it renders the PDF, which reads this module

        await report_record.file_report(session, principal, order, blobs)
        await quality.maybe_select(session, order, version)
    else:  # the final read is someone else's: an attending is assigned as when the study completed
        await assignment.on_ready(session, order)
    await notices.report_signed(session, order, kind, principal.display_name)
    return version


async def _move(session: AsyncSession, principal: Principal, order: DiagnosisOrder, action: Action,
                version: ReportVersion) -> None:
    at = version.signed_at
    changes = {"claimed_by_id": None, "claimed_until": None}  # signing ends the claim: the next step is someone else's
    if action == Action.sign_final:
        changes |= {"signed_at": at, "final_reader_id": principal.user_id}
    else:
        changes |= {"preliminary_at": at, "preliminary_reader_id": principal.user_id}
    await service.move(session, order, action, Party.reader, actor_user_id=principal.user_id,
                       note=f"SHA-256 {version.content_hash}", changes=changes)
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, f"report_{version.kind}",
                              detail={"content_hash": version.content_hash, "critical": version.critical})


async def add_addendum(session: AsyncSession, principal: Principal, order_id: int, text: str, blobs: BlobStore, *,
                       is_critical: bool = False) -> ReportAddendum:
    order, parties = await service.load_order(session, principal, order_id)
    if Party.reader not in parties or await quality.blinded(session, principal.user_id, order.id):
        raise Forbidden(N_("only a doctor at the reading hub adds to the report"), code="not_reader")
    report = await report_of(session, order.id)
    versions = await versions_of(session, report.id) if report else []
    final = next((v for v in versions if v.kind == FINAL), None)
    if order.state != State.reported or final is None:
        raise Conflict(N_("an addendum follows the final report; until then edit the draft"), code="not_final")
    text = (text or "").strip()
    if not ADDENDUM_MIN <= len(text) <= ADDENDUM_MAX:
        raise InvalidInput(N_("write the addendum (3 to 4000 characters)"), details={"field": "text"})
    addenda = await addenda_of(session, report.id)
    prev = addenda[-1].hash if addenda else final.content_hash
    at = content.truncate_ms(utcnow())
    addendum = ReportAddendum(report_id=report.id, author_id=principal.user_id, text=text, critical=bool(is_critical),
                              created_at=at, prev_hash=prev, hash=content.addendum_hash(
                                  prev, report.id, principal.user_id, text, bool(is_critical), at))
    session.add(addendum)
    await session.flush()
    # The timeline shows every party (and hub technicians, and a blinded second reader): the hash, not the text.
    await service.record_event(session, principal.user_id, order, Party.reader, "report_addendum",
                               f"SHA-256 {addendum.hash}")
    await service.audit_order(session, principal.actor(order.hub_facility_id), order, "report_addendum",
                              detail={"hash": addendum.hash, "critical": addendum.critical})
    if addendum.critical:
        await critical.flag(session, order, report, at, principal.display_name)
    from carebridge.diagnostics import report_record

    await report_record.file_report(session, principal, order, blobs)
    await notices.addendum_added(session, order, principal.display_name)
    return addendum
