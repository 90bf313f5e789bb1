"""What the automatic pre-read tells the worklist: a few short labels and a priority rank.

Rank 0 reads first: rates or a QTc that may need action now. Rank 1: abnormal findings. Rank 2:
borderline findings, or a tracing whose quality a reader should judge. Rank 3: nothing abnormal
found. The worklist sorts by it after urgency; it never hides or signs anything."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.diagnostics.ecg.models import EcgRecording
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _

CRITICAL, ABNORMAL, BORDERLINE, NORMAL = 0, 1, 2, 3
CHUNK = 500
RANK_NAMES = {CRITICAL: "critical", ABNORMAL: "abnormal", BORDERLINE: "borderline", NORMAL: "normal"}

FLAG_LABELS = {
    "suspected_af": N_("Suspected AF"),
    "irregular_rhythm": N_("Irregular rhythm"),
    "sinus_rhythm": N_("Sinus rhythm"),
    "bradycardia": N_("Bradycardia"),
    "tachycardia": N_("Tachycardia"),
    "wide_qrs": N_("Wide QRS"),
    "long_pr": N_("Long PR"),
    "long_qtc": N_("Long QTc"),
    "left_axis_deviation": N_("Left axis deviation"),
    "right_axis_deviation": N_("Right axis deviation"),
    "signal_quality": N_("Check signal quality"),
}
# Labels in the order a reader wants to see them: rhythm first, the reassuring one last.
LABEL_ORDER = ("suspected_af", "tachycardia", "bradycardia", "irregular_rhythm", "long_qtc", "wide_qrs", "long_pr",
               "left_axis_deviation", "right_axis_deviation", "signal_quality", "sinus_rhythm")


def rank_of(preread: dict[str, Any] | None) -> int | None:
    if not preread:
        return None
    flags = set(preread.get("flags", []))
    rate = preread.get("heart_rate_bpm")
    qtc = (preread.get("measurements") or {}).get("qtc_bazett_ms")
    if (rate is not None and (rate >= 150 or rate < 40)) or (qtc is not None and qtc >= 500) \
            or ("suspected_af" in flags and rate is not None and rate > 110):
        return CRITICAL
    if flags & {"suspected_af", "wide_qrs", "long_qtc", "long_pr", "left_axis_deviation", "right_axis_deviation",
                "irregular_rhythm", "tachycardia"} or ("bradycardia" in flags and rate is not None and rate < 50):
        return ABNORMAL
    if flags & {"bradycardia", "signal_quality"} or "sinus_rhythm" not in flags:
        return BORDERLINE
    return NORMAL


def labels_of(preread: dict[str, Any]) -> list[str]:
    """Short labels in the current language, e.g. ["Suspected AF", "HR 128/min"]."""
    flags = preread.get("flags", [])
    labels = [_(FLAG_LABELS[f]) for f in LABEL_ORDER if f in flags]
    if preread.get("heart_rate_bpm") is not None:
        labels.insert(0, _("HR %(rate)s/min") % {"rate": preread["heart_rate_bpm"]})
    return labels


def summary_note(preread: dict[str, Any]) -> str:
    """One line for the order's timeline (English codes: the timeline is not translated text)."""
    rate = preread.get("heart_rate_bpm")
    return f"automatic pre-read v{preread.get('version')}: HR {rate if rate is not None else '-'}; " + \
        (", ".join(preread.get("flags", [])) or "no flags")


async def preread_hints(session: AsyncSession, order_ids: Iterable[int]) -> dict[int, dict]:
    """For each order with an ECG pre-read: {"labels": [...], "flags": [...], "priority": 0-3,
    "priority_name": "critical" | "abnormal" | "borderline" | "normal", "abnormal": bool,
    "heart_rate_bpm": int | None}. Orders without one are left out.

    No authorization here: the caller (the worklist) has already decided that the user may see these
    orders on the hub's worklist, and audits that listing."""
    ids = sorted({int(i) for i in order_ids})
    if not ids:
        return {}
    rows = []
    for start in range(0, len(ids), CHUNK):  # bound the IN list whatever the worklist passes
        rows += (await session.execute(select(EcgRecording.order_id, EcgRecording.preread, EcgRecording.preread_rank)
                                       .where(EcgRecording.order_id.in_(ids[start:start + CHUNK]),
                                              EcgRecording.preread.is_not(None)))).all()
    hints = {}
    for order_id, result, rank in rows:
        if not result:
            continue
        rank = rank if rank is not None else rank_of(result)
        hints[order_id] = {"labels": labels_of(result), "flags": list(result.get("flags", [])), "priority": rank,
                           "priority_name": RANK_NAMES.get(rank, ""), "abnormal": rank is not None and rank < NORMAL,
                           "heart_rate_bpm": result.get("heart_rate_bpm")}
    return hints
