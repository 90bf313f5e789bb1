"""The automatic ECG pre-read, as the report form sees it: measured values mapped onto the ECG
template's fields. The ECG package stores each recording's pre-read as JSON in
`ecg_recordings.preread` (shape in docs/architecture.md, "ECG"); keys this does not know are
ignored, and a value a field cannot take is not pre-filled.

The pre-read only fills fields. It never signs: a report is signed by a reader holding the claim,
and the signed content marks each value still equal to the pre-read's as coming from it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.diagnostics import report_templates as templates
from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.errors import InvalidInput

# Our field <- the names a pre-read may use for it (first found wins).
ALIASES: dict[str, tuple[str, ...]] = {
    "heart_rate": ("heart_rate", "heart_rate_bpm", "hr", "hr_bpm", "rate"),
    "pr": ("pr", "pr_ms", "pr_interval", "pr_interval_ms"),
    "qrs": ("qrs", "qrs_ms", "qrs_duration", "qrs_duration_ms"),
    "qt": ("qt", "qt_ms", "qt_interval", "qt_interval_ms"),
    "qtc_bazett": ("qtc_bazett", "qtc_bazett_ms", "qtc_b", "qtc", "qtc_ms"),  # Bazett: the usual unnamed QTc
    "qtc_fridericia": ("qtc_fridericia", "qtc_fridericia_ms", "qtc_f"),
    "axis": ("axis", "axis_deg", "qrs_axis", "qrs_axis_deg", "frontal_axis"),
}
RHYTHM_KEYS = ("flags", "rhythm_flags", "rhythm", "rhythms")
QUALITY_KEYS = ("quality_warning", "signal_quality", "quality", "warnings")


@dataclass(frozen=True)
class Preread:
    values: dict[str, Any]  # our field key -> value the field accepts
    notes: list[str] = field(default_factory=list)  # e.g. the signal-quality warning, as the engine said it


def _flatten(data: dict) -> dict:
    """One level of nesting (e.g. {"intervals": {"pr_ms": 160}}) is read as if flat."""
    flat = dict(data)
    for value in data.values():
        if isinstance(value, dict):
            for key, inner in value.items():
                flat.setdefault(key, inner)
    return flat


def _rhythm(raw: Any) -> str | None:
    words = " ".join(raw if isinstance(raw, list) else [str(raw)]).lower() if raw else ""
    if "fibrillation" in words or "afib" in words or "suspected_af" in words:
        return "atrial_fibrillation"
    if "flutter" in words:
        return "atrial_flutter"
    if "brady" in words:
        return "sinus_bradycardia"
    if "tachy" in words:
        return "sinus_tachycardia"
    if "sinus" in words:
        return "sinus"
    return None


def from_json(data: Any) -> Preread | None:
    """Map a stored pre-read onto the ECG template; values a field cannot take are left out."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if not isinstance(data, dict):
        return None
    flat = _flatten(data)
    values: dict[str, Any] = {}
    for key, names in ALIASES.items():
        raw = next((flat[n] for n in names if flat.get(n) is not None), None)
        spec = templates.ECG_12_LEAD.field(key)
        try:
            checked = templates.check_value(spec, raw) if raw is not None else None
        except InvalidInput:  # a value out of the field's range is simply not pre-filled
            checked = None
        if checked is not None:
            values[key] = checked
    rhythm = _rhythm(next((flat[k] for k in RHYTHM_KEYS if flat.get(k) and not isinstance(flat[k], dict)), None))
    if rhythm:
        values["rhythm"] = rhythm
    notes = [str(flat[k]) for k in QUALITY_KEYS if flat.get(k) and not isinstance(flat[k], dict | list | bool)]
    notes += [f"{w.get('code')}: {', '.join(w.get('leads') or [])}".rstrip(": ")
              for w in flat.get("warnings") or [] if isinstance(w, dict)]
    if not values and not notes:
        return None
    return Preread(values, notes[:3])


async def for_order(session: AsyncSession, order_id: int) -> Preread | None:
    raw = await session.scalar(select(EcgRecording.preread).where(
        EcgRecording.order_id == order_id, EcgRecording.preread.is_not(None)))
    return from_json(raw) if raw is not None else None
