"""What the records pages share: form parsing, error display, localized code labels, and the
patient page's context (header, trend charts, first timeline page)."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from carebridge.access.service import PatientAccess, access_patient
from carebridge.auth.principal import Principal
from carebridge.errors import CareBridgeError, InvalidInput
from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.records import codes, service
from carebridge.records.charts import SeriesInput, build_chart
from carebridge.records.models import EntryKind, RecordEntry
from carebridge.records.schemas import EntryOut
from carebridge.records.views import CST
from carebridge.web.deps import Db
from carebridge.web.templating import render

TIMELINE_PAGE = 25
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
FEATURED = ["1558-6", "4548-4"]  # glucose and HbA1c come first, after blood pressure
MAX_CHARTS = 8


def form_fields(form) -> dict[str, str]:  # noqa: ANN001 - a starlette FormData
    """Submitted text fields without the CSRF token; empty fields count as not given."""
    return {k: v.strip() for k, v in form.items() if k != "csrf_token" and isinstance(v, str) and v.strip()}


def parse_form(model: type[BaseModel], fields: dict) -> BaseModel:
    try:
        return model(**fields)
    except ValidationError as exc:
        names = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise InvalidInput(N_("please check these fields"), details={"fields": names}) from exc


def local_time(value: str | None, field: str):  # noqa: ANN201 - datetime | None
    """<input type=datetime-local> sends wall-clock time without a zone: it is China time."""
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=CST)
    except ValueError as exc:
        raise InvalidInput(N_("please check these fields"), details={"fields": [field]}) from exc


def error_view(exc: CareBridgeError) -> dict:
    details = exc.details if isinstance(exc.details, dict) else {}
    return {"message": i18n.gettext(exc.message), "code": exc.code, "details": details,
            "fields": details.get("fields") or ([details["field"]] if "field" in details else [])}


def observation_label(code: str, fallback: str = "") -> str:
    known = codes.OBSERVATIONS.get(code)
    if known is None:
        return fallback or code
    return known.name_en if i18n.get_locale() == "en" else known.name


def condition_label(code: str, fallback: str = "") -> str:
    known = codes.CONDITIONS.get(code)
    if known is None:
        return fallback or code
    return known[1] if i18n.get_locale() == "en" else known[0]


def entry_label(entry: EntryOut | RecordEntry) -> str:
    """Coded kinds by their code, in the reader's language; works for API shapes and table rows, so
    every feature that lists record items (consultations, referrals) names them the same way."""
    if entry.kind == EntryKind.observation:
        return observation_label(entry.code, entry.display)
    if entry.kind == EntryKind.condition:
        return condition_label(entry.code, entry.display)
    details = entry.details if isinstance(entry, EntryOut) else {}
    return entry.display or details.get("title", "") or entry.code


def catalogue() -> dict:
    return {
        "observation_codes": [(o, observation_label(o.loinc)) for o in codes.OBSERVATIONS.values()],
        "condition_codes": [(code, condition_label(code)) for code in codes.CONDITIONS],
    }


async def charts_for(db: Db, access: PatientAccess) -> list:
    repeated = await service.repeated_observation_codes_for(db, access)
    charts = []
    if SYSTOLIC in repeated or DIASTOLIC in repeated:
        inputs = [SeriesInput(observation_label(code), await service.series_for(db, access, code),
                              codes.OBSERVATIONS[code].ref_low, codes.OBSERVATIONS[code].ref_high)
                  for code in (SYSTOLIC, DIASTOLIC)]
        charts.append(build_chart("blood-pressure", i18n.gettext("Blood pressure"), "mm[Hg]", inputs))
    ordered = [c for c in FEATURED if c in repeated] + [c for c in repeated
                                                         if c not in FEATURED and c not in (SYSTOLIC, DIASTOLIC)]
    for code in ordered[:MAX_CHARTS]:
        known = codes.OBSERVATIONS.get(code)
        points = await service.series_for(db, access, code)
        charts.append(build_chart(code, observation_label(code), known.unit if known else "",
                                  [SeriesInput(observation_label(code), points,
                                               known.ref_low if known else None,
                                               known.ref_high if known else None)]))
    return [c for c in charts if c is not None]


async def patient_context(db: Db, principal: Principal, access: PatientAccess, *,
                          timeline_url: str, readonly: bool = False) -> dict:
    patient = await service.patient_out_for(db, access)
    page = await service.timeline_for(db, access, limit=TIMELINE_PAGE)
    can_write = patient.can_write and not readonly
    return {
        "patient": patient, "page": page, "entry_label": entry_label, "kinds": [k.value for k in EntryKind],
        "timeline_facilities": await service.timeline_facilities_for(db, access),
        "charts": await charts_for(db, access), "can_write": can_write,
        "duplicates": await service.possible_duplicates_of(db, principal, access) if can_write else [],
        "timeline_url": timeline_url, "filters": {}, "error": None, "open_form": None, "values": {},
        **catalogue(),
    }


async def render_patient(request: Request, db: Db, principal: Principal, patient_id: int, *,
                         status_code: int = 200, **extra) -> Response:
    access = await access_patient(db, principal, patient_id, action="read", resource_type="Patient")
    context = await patient_context(db, principal, access, timeline_url=f"/patients/{access.patient.id}/timeline")
    context.update(extra)
    return render(request, "records/patient.html", context, status_code=status_code)
