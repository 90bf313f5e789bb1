"""The opinion: the lead expert's draft, team members' sections, signing, addenda, verification.

Who writes: the assigned expert (the lead of a team) edits the draft and signs; each team member
writes only their own section; after signing, the lead or a member may add addenda. Signing is the
only way a case reaches `opinion_signed`: `service.take_action` asks `check_move` here, which refuses
the move unless the case's opinion carries a signature, so the generic action route cannot skip it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.access.models import Purpose
from carebridge.access.service import PatientAccess, access_patient
from carebridge.auth.principal import Principal
from carebridge.consultations import opinion_content as content
from carebridge.consultations import service
from carebridge.consultations.lifecycle import Action, Actor, State
from carebridge.consultations.models import CaseEvent, CaseTeamSeat, ConsultationCase
from carebridge.consultations.opinion_models import ConsultationOpinion, OpinionAddendum, OpinionSection
from carebridge.errors import Conflict, Forbidden, InvalidInput, NotFound
from carebridge.kit.blobs import BlobStore
from carebridge.kit.clock import utcnow
from carebridge.kit.i18n import N_
from carebridge.notifications.service import notify

WRITING_STATES = frozenset({State.accepted, State.scheduled, State.in_session})
SIGNED_STATES = frozenset({State.opinion_signed, State.acknowledged, State.closed})
WRITERS = frozenset({Actor.expert, Actor.member})


@dataclass(frozen=True)
class Verification:
    verified: bool
    content_hash: str
    recomputed: str
    addenda_verified: bool = True
    broken_addendum_id: int | None = None


@dataclass(frozen=True)
class OpinionView:
    case: ConsultationCase
    parts: frozenset[Actor]
    opinion: ConsultationOpinion | None
    sections: list[OpinionSection] = field(default_factory=list)
    addenda: list[OpinionAddendum] = field(default_factory=list)
    verification: Verification | None = None
    patient: PatientAccess | None = None

    @property
    def signed(self) -> bool:
        return self.opinion is not None and self.opinion.signed_at is not None

    @property
    def may_edit(self) -> bool:
        return Actor.expert in self.parts and not self.signed and self.case.state in WRITING_STATES

    @property
    def may_write_section(self) -> bool:
        return bool(WRITERS & self.parts) and not self.signed and self.case.state in WRITING_STATES

    @property
    def may_add_addendum(self) -> bool:
        return bool(WRITERS & self.parts) and self.signed


async def opinion_of(session: AsyncSession, case_id: int) -> ConsultationOpinion | None:
    return await session.scalar(select(ConsultationOpinion).where(ConsultationOpinion.case_id == case_id))


async def _sections(session: AsyncSession, opinion_id: int) -> list[OpinionSection]:
    return list((await session.scalars(select(OpinionSection).where(OpinionSection.opinion_id == opinion_id)
                                       .order_by(OpinionSection.id))).all())


async def _addenda(session: AsyncSession, opinion_id: int) -> list[OpinionAddendum]:
    return list((await session.scalars(select(OpinionAddendum).where(OpinionAddendum.opinion_id == opinion_id)
                                       .order_by(OpinionAddendum.id))).all())


def draft_of(opinion: ConsultationOpinion) -> content.Draft:
    return content.Draft(
        opinion.assessment, tuple(content.Diagnosis(d["code"], d["display"]) for d in opinion.diagnoses or []),
        opinion.recommendations, opinion.treatment_plan, opinion.referral_advice, opinion.referral_note,
        opinion.follow_up_days)


def signed_content(case: ConsultationCase, opinion: ConsultationOpinion,
                   sections: list[OpinionSection]) -> content.SignedContent:
    return content.SignedContent(
        case.id, case.patient_id, draft_of(opinion),
        tuple(content.SectionContent(s.author_id, s.department_id, s.text) for s in sections),
        opinion.signed_by_id or 0, opinion.signed_at)


def verify(case: ConsultationCase, opinion: ConsultationOpinion, sections: list[OpinionSection],
           addenda: list[OpinionAddendum]) -> Verification:
    """Recomputed from the stored rows: any change to a signed field, a section or an addendum shows."""
    recomputed = content.content_hash(signed_content(case, opinion, sections))
    stored = opinion.content_hash or ""
    prev, broken = stored, None
    for a in addenda:
        if a.prev_hash != prev or content.addendum_hash(prev, opinion.id, a.author_id, a.text, a.created_at) != a.hash:
            broken = a.id
            break
        prev = a.hash
    return Verification(recomputed == stored, stored, recomputed, broken is None, broken)


async def _writer(session: AsyncSession, principal: Principal, case_id: int,
                  allowed: frozenset[Actor]) -> tuple[ConsultationCase, frozenset[Actor], ConsultationOpinion | None]:
    case, parts = await service._load(session, principal, case_id)
    if not allowed & parts:
        raise Forbidden(N_("your part in this case does not allow writing the opinion"), code="not_your_move")
    await service.patient_of_case(session, principal, case, "opinion_write")
    opinion = await opinion_of(session, case.id)
    if opinion is not None and opinion.signed_at is not None:
        raise Conflict(N_("the opinion is signed; corrections are addenda"), code="opinion_signed")
    if case.state not in WRITING_STATES:
        raise Conflict(N_("the opinion is written after the case is accepted and before it is signed"),
                       code="invalid_transition")
    return case, parts, opinion


async def save_draft(session: AsyncSession, principal: Principal, case_id: int,
                     draft: content.Draft) -> ConsultationOpinion:
    case, _, opinion = await _writer(session, principal, case_id, frozenset({Actor.expert}))
    draft = content.check_draft(draft)
    if opinion is None:
        opinion = ConsultationOpinion(case_id=case.id)
        session.add(opinion)
    opinion.assessment, opinion.recommendations = draft.assessment, draft.recommendations
    opinion.diagnoses = [{"code": d.code, "display": d.display} for d in draft.diagnoses]
    opinion.treatment_plan, opinion.referral_advice = draft.treatment_plan, draft.referral_advice
    opinion.referral_note, opinion.follow_up_days = draft.referral_note, draft.follow_up_days
    opinion.updated_at, opinion.updated_by_id = utcnow(), principal.user_id
    await session.flush()
    await service._audit(session, principal, case, "opinion_draft", case.state, case.state, Actor.expert)
    return opinion


async def _section_department(session: AsyncSession, case: ConsultationCase, user_id: int) -> int | None:
    seat = await session.scalar(select(CaseTeamSeat.department_id).where(
        CaseTeamSeat.case_id == case.id, CaseTeamSeat.member_user_id == user_id))
    return seat if seat is not None else case.specialty_department_id


async def save_section(session: AsyncSession, principal: Principal, case_id: int, text: str) -> OpinionSection:
    """A team member's (or the lead's) own part; nobody writes another's section."""
    case, parts, opinion = await _writer(session, principal, case_id, WRITERS)
    text = text.strip()
    if not text or len(text) > content.TEXT_MAX:
        raise InvalidInput(N_("write your section (up to 20000 characters)"), details={"field": "text"})
    if opinion is None:
        opinion = ConsultationOpinion(case_id=case.id)
        session.add(opinion)
        await session.flush()
    section = await session.scalar(select(OpinionSection).where(
        OpinionSection.opinion_id == opinion.id, OpinionSection.author_id == principal.user_id))
    if section is None:
        section = OpinionSection(opinion_id=opinion.id, author_id=principal.user_id,
                                 department_id=await _section_department(session, case, principal.user_id))
        session.add(section)
    section.text, section.updated_at = text, utcnow()
    await session.flush()
    part = Actor.expert if Actor.expert in parts else Actor.member
    await service._audit(session, principal, case, "opinion_section", case.state, case.state, part)
    return section


async def _members_without_section(session: AsyncSession, case: ConsultationCase,
                                   sections: list[OpinionSection]) -> list[int]:
    written = {s.author_id for s in sections if s.text.strip()}
    return sorted(m for m in await service.team_member_ids(session, case.id) if m not in written)


async def sign(session: AsyncSession, principal: Principal, case_id: int, blobs: BlobStore) -> ConsultationOpinion:
    """Freeze the whole opinion under its content hash, move the case, file the report in the record."""
    from carebridge.consultations import opinion_record  # it renders the report, which reads this module

    case, parts = await service._load(session, principal, case_id)
    if Actor.expert not in parts:
        raise Forbidden(N_("only the lead expert signs the opinion"), code="not_your_move")
    await service.patient_of_case(session, principal, case, "opinion_sign")
    opinion = await opinion_of(session, case.id)
    if opinion is not None and opinion.signed_at is not None:
        raise Conflict(N_("the opinion is already signed"), code="opinion_signed")
    if opinion is None:
        raise Conflict(N_("write the opinion before signing it"), code="opinion_incomplete",
                       details={"missing": ["assessment", "recommendations"]})
    sections = await _sections(session, opinion.id)
    missing = content.missing_for_signing(draft_of(opinion))
    absent = await _members_without_section(session, case, sections)
    if missing or absent:
        raise Conflict(N_("the opinion is not complete yet"), code="opinion_incomplete",
                       details={"missing": missing, "members_without_section": absent})
    opinion.signed_at, opinion.signed_by_id = content.truncate_ms(utcnow()), principal.user_id
    opinion.content_hash = content.content_hash(signed_content(case, opinion, sections))
    await session.flush()
    await service.take_action(session, principal, case.id, Action.sign_opinion.value)
    await opinion_record.file_signed_opinion(session, principal, case, opinion, blobs)
    return opinion


async def add_addendum(session: AsyncSession, principal: Principal, case_id: int, text: str) -> OpinionAddendum:
    case, parts = await service._load(session, principal, case_id)
    if not WRITERS & parts:
        raise Forbidden(N_("only the lead expert or a team member adds to the opinion"), code="not_your_move")
    opinion = await opinion_of(session, case.id)
    if opinion is None or opinion.signed_at is None:
        raise Conflict(N_("an addendum follows a signed opinion; edit the draft instead"), code="not_signed")
    text = text.strip()
    if not content.ADDENDUM_MIN <= len(text) <= content.NOTE_MAX:
        raise InvalidInput(N_("write the addendum (3 to 2000 characters)"), details={"field": "text"})
    addenda = await _addenda(session, opinion.id)
    prev = addenda[-1].hash if addenda else opinion.content_hash
    at = content.truncate_ms(utcnow())
    part = Actor.expert if Actor.expert in parts else Actor.member
    addendum = OpinionAddendum(opinion_id=opinion.id, author_id=principal.user_id, author_part=part.value,
                               text=text, created_at=at, prev_hash=prev,
                               hash=content.addendum_hash(prev, opinion.id, principal.user_id, text, at))
    session.add(addendum)
    session.add(CaseEvent(case_id=case.id, actor_user_id=principal.user_id, actor_part=part.value,
                          action="opinion_addendum", from_state=case.state, to_state=case.state, note=text))
    await session.flush()
    await service._audit(session, principal, case, "opinion_addendum", case.state, case.state, part)
    await notify(session, [case.requesting_doctor_id], kind="consultation",
                 title=f"consultation #{case.id}: opinion_addendum", body=principal.display_name,
                 link=f"/consultations/{case.id}/opinion")
    return addendum


async def view_for(session: AsyncSession, case: ConsultationCase, parts: frozenset[Actor],
                   patient: PatientAccess | None = None) -> OpinionView:
    """What this participant sees: writers see the draft; everyone else only a signed opinion."""
    opinion = await opinion_of(session, case.id)
    if opinion is None or (opinion.signed_at is None and not WRITERS & parts):
        return OpinionView(case, parts, None, patient=patient)
    sections = await _sections(session, opinion.id)
    addenda = await _addenda(session, opinion.id)
    checked = verify(case, opinion, sections, addenda) if opinion.signed_at else None
    return OpinionView(case, parts, opinion, sections, addenda, checked, patient)


async def access_opinion(session: AsyncSession, principal: Principal, case_id: int,
                         action: str = "read") -> OpinionView:
    """For a case reader who may see the patient's data; the access is audited like any record read."""
    case, parts = await service._load(session, principal, case_id)
    if not principal.is_clinician:
        raise Forbidden(N_("only clinicians read the opinion"), code="not_clinician")
    patient = await access_patient(session, principal, case.patient_id, purpose=Purpose.consultation,
                                   action=action, resource_type="ConsultationOpinion", resource_id=case.id)
    view = await view_for(session, case, parts, patient)
    if view.opinion is None and not WRITERS & parts:
        raise NotFound(N_("the opinion is not signed yet"), code="no_opinion")
    return view


async def check_move(session: AsyncSession, case: ConsultationCase, move: Action) -> None:
    """Called by service.take_action before a move: the case is signed only through `sign`."""
    if move != Action.sign_opinion:
        return
    opinion = await opinion_of(session, case.id)
    if opinion is None or opinion.signed_at is None:
        raise Conflict(N_("sign the opinion from the opinion form: it must be complete and is frozen when signed"),
                       code="opinion_not_signed")


async def after_move(session: AsyncSession, case: ConsultationCase, move: Action) -> None:
    """Called by service.take_action after a move."""
    if move == Action.acknowledge:
        from carebridge.consultations import opinion_followup

        await opinion_followup.start_follow_up(session, case)
