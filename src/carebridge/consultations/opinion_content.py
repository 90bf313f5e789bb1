"""What an opinion says, checked and canonicalised: the draft's fields, ICD-10 diagnoses, and the
canonical JSON whose SHA-256 is the signature's content hash. Pure functions, no database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_
from carebridge.records import codes

TEXT_MAX, NOTE_MAX, DIAGNOSES_MAX, DISPLAY_MAX, ADDENDUM_MIN = 20000, 2000, 12, 300, 3
FOLLOW_UP_MAX = 365


class ReferralAdvice(StrEnum):
    none = "none"
    refer_up = "refer_up"
    refer_down = "refer_down"
    keep_local = "keep_local"


@dataclass(frozen=True)
class Diagnosis:
    code: str
    display: str


@dataclass(frozen=True)
class Draft:
    assessment: str = ""
    diagnoses: tuple[Diagnosis, ...] = ()
    recommendations: str = ""
    treatment_plan: str = ""
    referral_advice: str = ReferralAdvice.none.value
    referral_note: str = ""
    follow_up_days: int | None = None


@dataclass(frozen=True)
class SectionContent:
    author_id: int
    department_id: int | None
    text: str


@dataclass(frozen=True)
class SignedContent:
    """Everything the signature covers."""

    case_id: int
    patient_id: int
    draft: Draft
    sections: tuple[SectionContent, ...] = field(default_factory=tuple)
    signed_by_id: int = 0
    signed_at: dt.datetime | None = None


def check_diagnoses(items: list[dict] | tuple) -> tuple[Diagnosis, ...]:
    """ICD-10 like the record's conditions; a known code gets its bilingual name when none is given."""
    if len(items) > DIAGNOSES_MAX:
        raise InvalidInput(N_("at most 12 diagnoses"), details={"field": "diagnoses"})
    seen: list[Diagnosis] = []
    for item in items:
        code = str(item.get("code", "")).strip().upper()
        if not codes.is_icd10(code):
            raise InvalidInput(N_("not a valid ICD-10 code"), details={"field": "diagnoses", "code": code})
        display = str(item.get("display", "") or "").strip()
        if not display and code in codes.CONDITIONS:
            display = " / ".join(codes.CONDITIONS[code])
        if len(display) > DISPLAY_MAX:
            raise InvalidInput(N_("a diagnosis name is too long (at most 300 characters)"),
                               details={"field": "diagnoses", "code": code})
        if code not in {d.code for d in seen}:
            seen.append(Diagnosis(code, display or code))
    return tuple(seen)


def parse_diagnosis_lines(text: str) -> list[dict]:
    """The form's textarea: one diagnosis a line, the ICD-10 code first, then its name."""
    rows = []
    for line in text.splitlines():
        code, _, display = line.strip().partition(" ")
        if code:
            rows.append({"code": code, "display": display.strip()})
    return rows


def check_draft(draft: Draft) -> Draft:
    for name in ("assessment", "recommendations", "treatment_plan"):
        if len(getattr(draft, name)) > TEXT_MAX:
            raise InvalidInput(N_("the text is too long (at most 20000 characters)"), details={"field": name})
    if draft.referral_advice not in {a.value for a in ReferralAdvice}:
        raise InvalidInput(N_("referral advice must be none, refer_up, refer_down or keep_local"),
                           details={"field": "referral_advice"})
    if len(draft.referral_note) > NOTE_MAX:
        raise InvalidInput(N_("the note is too long (at most 2000 characters)"), details={"field": "referral_note"})
    if draft.follow_up_days is not None and not 1 <= draft.follow_up_days <= FOLLOW_UP_MAX:
        raise InvalidInput(N_("give a follow-up interval between 1 and 365 days"), details={"field": "follow_up_days"})
    return Draft(draft.assessment.strip(), check_diagnoses([vars(d) for d in draft.diagnoses]),
                 draft.recommendations.strip(), draft.treatment_plan.strip(), draft.referral_advice,
                 draft.referral_note.strip(), draft.follow_up_days)


def missing_for_signing(draft: Draft) -> list[str]:
    """A signed opinion answers the question: it says what the expert thinks and what to do."""
    missing = [name for name in ("assessment", "recommendations") if not getattr(draft, name).strip()]
    if draft.referral_advice in (ReferralAdvice.refer_up, ReferralAdvice.refer_down) and not draft.referral_note:
        missing.append("referral_note")
    return missing


def _when(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds") if value else None


def canonical(content: SignedContent) -> bytes:
    """Sorted keys, no spaces, UTF-8, times to the millisecond in UTC: the same bytes on every engine."""
    d = content.draft
    body = {
        "case_id": content.case_id, "patient_id": content.patient_id,
        "assessment": d.assessment, "diagnoses": [{"code": x.code, "display": x.display} for x in d.diagnoses],
        "recommendations": d.recommendations, "treatment_plan": d.treatment_plan,
        "referral_advice": d.referral_advice, "referral_note": d.referral_note, "follow_up_days": d.follow_up_days,
        "sections": [{"author_id": s.author_id, "department_id": s.department_id, "text": s.text}
                     for s in content.sections],
        "signed_by_id": content.signed_by_id, "signed_at": _when(content.signed_at),
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def content_hash(content: SignedContent) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def addendum_hash(prev_hash: str, opinion_id: int, author_id: int, text: str, created_at: dt.datetime) -> str:
    body = {"opinion_id": opinion_id, "author_id": author_id, "text": text, "created_at": _when(created_at)}
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + data).hexdigest()


def truncate_ms(value: dt.datetime) -> dt.datetime:
    """Stored times are hashed; millisecond precision survives every engine's round trip."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
