"""What a signed report says, as canonical JSON, and how its integrity is checked. Pure functions.

The version row stores the canonical text itself (sorted keys, no spaces, UTF-8, times in UTC to
the millisecond), so the hash is recomputed from exactly the stored bytes on every engine, and a
parse-and-redump shows whether the text is still canonical. The content names its template's
labels and the display of each value in both languages, so what was signed stays readable even if
the templates change later, and it says which values came from the automatic pre-read."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.report_models import DiagnosisReport, ReportAddendum, ReportVersion

SCHEMA = 1
PRELIMINARY, FINAL = "preliminary", "final"


def when(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds") if value else None


def truncate_ms(value: dt.datetime) -> dt.datetime:
    """Stored times are hashed; millisecond precision survives every engine's round trip."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Signer:
    user_id: int
    name: str
    title: str
    at: dt.datetime


def findings_content(tmpl: templates.ReportTemplate, report: DiagnosisReport) -> list[dict[str, Any]]:
    rows = []
    for spec in tmpl.fields:
        value = (report.findings or {}).get(spec.key)
        if value is None:
            continue
        rows.append({"key": spec.key, "en": spec.en, "zh": spec.zh, "kind": spec.kind.value, "unit": spec.unit,
                     "value": value, "display_en": templates.display_value(spec, value, True),
                     "display_zh": templates.display_value(spec, value, False),
                     "source": "preread" if spec.key in (report.preread_keys or []) else "reader"})
    return rows


def version_body(order: Any, report: DiagnosisReport, kind: str, signer: Signer,
                 previous_hash: str | None) -> dict[str, Any]:
    """Everything the signature covers (`order` is the DiagnosisOrder)."""
    tmpl = templates.TEMPLATES[report.template_key]
    return {
        "schema": SCHEMA, "kind": kind, "order_id": order.id, "patient_id": order.patient_id,
        "accession_number": order.accession_number, "modality": order.modality, "body_part": order.body_part,
        "requesting_facility_id": order.requesting_facility_id, "hub_facility_id": order.hub_facility_id,
        "template": {"key": tmpl.key, "en": tmpl.en, "zh": tmpl.zh},
        "findings": findings_content(tmpl, report),
        "impression": report.impression, "free_text": report.free_text,
        "critical": report.critical, "critical_note": report.critical_note if report.critical else "",
        "previous_hash": previous_hash,
        "signed_by_id": signer.user_id, "signer_name": signer.name, "signer_title": signer.title,
        "signed_at": when(signer.at),
    }


def addendum_hash(prev_hash: str, report_id: int, author_id: int, text: str, critical: bool,
                  created_at: dt.datetime) -> str:
    body = {"report_id": report_id, "author_id": author_id, "text": text, "critical": critical,
            "created_at": when(created_at)}
    return hashlib.sha256(prev_hash.encode() + canonical(body).encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    verified: bool
    problems: tuple[str, ...] = ()


def _version_problems(order_id: int, v: ReportVersion) -> list[str]:
    name = f"{v.kind} version"
    if sha256(v.content) != v.content_hash:
        return [f"{name}: content does not match its hash"]
    try:
        body = json.loads(v.content)
    except ValueError:
        return [f"{name}: content is not JSON"]
    problems = []
    if canonical(body) != v.content:
        problems.append(f"{name}: content is not canonical")
    columns = {"kind": v.kind, "order_id": order_id, "signed_by_id": v.signed_by_id,
               "signed_at": when(v.signed_at), "critical": v.critical}
    problems += [f"{name}: {k} differs from the signed content" for k, val in columns.items() if body.get(k) != val]
    return problems


def verify(order_id: int, versions: list[ReportVersion], addenda: list[ReportAddendum]) -> Verification:
    """Recomputed from the stored rows on every read: a changed version, a broken link between the
    preliminary and final versions, or an altered, removed or reordered addendum shows."""
    problems: list[str] = []
    by_kind = {v.kind: v for v in versions}
    for v in versions:
        problems += _version_problems(order_id, v)
    final, prelim = by_kind.get(FINAL), by_kind.get(PRELIMINARY)
    if final is not None and not problems:
        expected = prelim.content_hash if prelim else None
        if json.loads(final.content).get("previous_hash") != expected:
            problems.append("final version: link to the preliminary version is broken")
    prev = final.content_hash if final else None
    for a in addenda:
        if prev is None or a.prev_hash != prev or addendum_hash(
                prev, a.report_id, a.author_id, a.text, a.critical, a.created_at) != a.hash:
            problems.append(f"addendum {a.id}: chain broken")
            break
        prev = a.hash
    return Verification(not problems, tuple(problems))


def parsed(version: ReportVersion) -> dict[str, Any]:
    """The signed content for display; a version that is not JSON any more shows as empty (and unverified)."""
    try:
        return json.loads(version.content)
    except ValueError:
        return {}
