"""QIDO-RS searches (PS3.18 10.6) answered from the DICOM index, never from the files.

Matching (PS3.4 C.2.2.2): single value, wildcard (`*`, `?`; names case-insensitive), UID lists
(comma or backslash separated), date ranges (`20260101-20260131`, `-20260131`, `20260101-`), and
universal matching for an empty value. Every search is limited to the studies the caller may see
(`study_access.visible_studies_clause`) inside the same SQL, so paging never leaks a count.
Query keys may be keywords or tags (`PatientID` or `00100020`); an unknown key is a 400 that names
it, rather than a silent "match everything"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.auth.principal import Principal
from carebridge.diagnostics.imaging.models import DicomInstance, DicomSeries, DicomStudy
from carebridge.diagnostics.imaging.rendering import BadParameter
from carebridge.diagnostics.imaging.study_access import visible_studies_clause
from carebridge.diagnostics.models import DiagnosticStudy
from carebridge.kit.i18n import N_

MAX_LIMIT = 1000
DEFAULT_LIMIT = {"study": 200, "series": 500, "instance": 1000}
RESERVED = {"limit", "offset", "includefield", "fuzzymatching"}
DATE = re.compile(r"^\d{8}$")


class Level(StrEnum):
    study = "study"
    series = "series"
    instance = "instance"


# Returned by default at each level (PS3.18 Table 10.6.3-3 … -5), as far as the index holds them.
STUDY_DEFAULT = ("StudyDate", "StudyTime", "AccessionNumber", "InstanceAvailability", "ModalitiesInStudy",
                 "ReferringPhysicianName", "RetrieveURL", "PatientName", "PatientID", "PatientBirthDate",
                 "PatientSex", "StudyInstanceUID", "StudyID", "NumberOfStudyRelatedSeries",
                 "NumberOfStudyRelatedInstances", "StudyDescription")
SERIES_DEFAULT = ("Modality", "SeriesDescription", "SeriesNumber", "SeriesInstanceUID",
                  "NumberOfSeriesRelatedInstances", "RetrieveURL")
INSTANCE_DEFAULT = ("SOPClassUID", "SOPInstanceUID", "InstanceAvailability", "RetrieveURL", "InstanceNumber",
                    "Rows", "Columns", "BitsAllocated", "NumberOfFrames")
# Also held by the index; returned on `includefield` (the viewer asks for them).
SERIES_EXTRA = ("BodyPartExamined",)
INSTANCE_EXTRA = ("PhotometricInterpretation", "PixelSpacing", "SliceLocation", "WindowCenter", "WindowWidth",
                  "RescaleIntercept", "RescaleSlope", "AvailableTransferSyntaxUID")

MATCHING = {
    Level.study: {"StudyInstanceUID", "PatientID", "PatientName", "AccessionNumber", "StudyDate",
                  "ModalitiesInStudy", "StudyDescription", "StudyID"},
    Level.series: {"SeriesInstanceUID", "Modality", "SeriesNumber"},
    Level.instance: {"SOPInstanceUID", "SOPClassUID", "InstanceNumber"},
}


@dataclass
class Search:
    level: Level
    filters: dict[str, str] = field(default_factory=dict)
    include: set[str] = field(default_factory=set)
    include_all: bool = False
    limit: int = 100
    offset: int = 0


def keyword_of(key: str) -> str:
    """`PatientID` or `00100020` → `PatientID`; anything else is a 400 naming the key."""
    if re.fullmatch(r"[0-9A-Fa-f]{8}", key):
        keyword = keyword_for_tag(int(key, 16))
        if keyword:
            return keyword
    elif tag_for_keyword(key) is not None:
        return key
    raise BadParameter(N_("unknown attribute in the query"), details={"attribute": key})


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(N_("a paging parameter is out of range"), details={name: raw, "min": low, "max": high})
    return int(raw)


def parse_search(level: Level, params: list[tuple[str, str]]) -> Search:
    """Query string pairs → a Search; the levels above `level` may be matched too."""
    allowed = set().union(*(MATCHING[lv] for lv in Level if list(Level).index(lv) <= list(Level).index(level)))
    single = {k: v for k, v in params}
    search = Search(level, limit=_int_param(single, "limit", DEFAULT_LIMIT[level], 1, MAX_LIMIT),
                    offset=_int_param(single, "offset", 0, 0, 10_000_000))
    for key, value in params:
        if key in RESERVED:
            if key == "includefield":
                for item in filter(None, (v.strip() for v in value.split(","))):
                    if item == "all":
                        search.include_all = True
                    else:
                        search.include.add(keyword_of(item))
            continue
        keyword = keyword_of(key)
        if keyword not in allowed:
            raise BadParameter(N_("this attribute cannot be matched at this level"),
                               details={"attribute": key, "matchable": sorted(allowed)})
        search.filters[keyword] = value.strip()
    return search


def _uids(value: str) -> list[str]:
    return [u.strip() for u in re.split(r"[,\\]", value) if u.strip()]


def _like(value: str) -> str:
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped.replace("*", "%").replace("?", "_")


def _text_match(column, value: str, case_insensitive: bool = False):  # noqa: ANN001, ANN202
    if case_insensitive:
        column, value = func.lower(column), value.lower()
    if "*" in value or "?" in value:
        return column.like(_like(value), escape="!")
    return column == value


def _date_match(column, value: str):  # noqa: ANN001, ANN202
    low, dash, high = value.partition("-")
    for part in (low, high):
        if part and not DATE.match(part):
            raise BadParameter(N_("dates are YYYYMMDD, or a range YYYYMMDD-YYYYMMDD"), details={"value": value})
    if not dash:
        return column == low
    if not low and not high:
        raise BadParameter(N_("dates are YYYYMMDD, or a range YYYYMMDD-YYYYMMDD"), details={"value": value})
    conditions = [column != ""]
    if low:
        conditions.append(column >= low)
    if high:
        conditions.append(column <= high)
    return and_(*conditions)


def _number_match(column, value: str):  # noqa: ANN001, ANN202
    if not re.fullmatch(r"-?\d+", value):
        raise BadParameter(N_("this attribute matches a whole number"), details={"value": value})
    return column == int(value)


def _modalities_match(value: str):  # noqa: ANN202
    wanted = _uids(value)
    in_series = exists().where(DicomSeries.study_id == DiagnosticStudy.id, DicomSeries.modality.in_(wanted))
    return or_(DiagnosticStudy.modality.in_(wanted), in_series)


COLUMNS = {
    "StudyInstanceUID": DiagnosticStudy.study_uid, "PatientID": DiagnosticStudy.sent_patient_key,
    "PatientName": DiagnosticStudy.sent_patient_name, "AccessionNumber": DiagnosticStudy.accession_number,
    "StudyDate": DicomStudy.study_date, "StudyDescription": DiagnosticStudy.description,
    "StudyID": DicomStudy.dicom_study_id, "SeriesInstanceUID": DicomSeries.series_uid,
    "Modality": DicomSeries.modality, "SeriesNumber": DicomSeries.series_number,
    "SOPInstanceUID": DicomInstance.sop_instance_uid, "SOPClassUID": DicomInstance.sop_class_uid,
    "InstanceNumber": DicomInstance.instance_number,
}


def filter_clause(keyword: str, value: str):  # noqa: ANN201
    if keyword == "ModalitiesInStudy":
        return _modalities_match(value)
    column = COLUMNS[keyword]
    if keyword.endswith("UID"):
        return column.in_(_uids(value))
    if keyword == "StudyDate":
        return _date_match(column, value)
    if keyword in ("SeriesNumber", "InstanceNumber"):
        return _number_match(column, value)
    return _text_match(column, value, case_insensitive=keyword == "PatientName")


def _statement(search: Search, principal: Principal) -> Select:
    entities = {Level.study: (DiagnosticStudy, DicomStudy),
                Level.series: (DicomSeries, DiagnosticStudy, DicomStudy),
                Level.instance: (DicomInstance, DicomSeries, DiagnosticStudy, DicomStudy)}[search.level]
    stmt = select(*entities).select_from(DiagnosticStudy).join(DicomStudy, DicomStudy.study_id == DiagnosticStudy.id)
    if search.level != Level.study:
        stmt = stmt.join(DicomSeries, DicomSeries.study_id == DiagnosticStudy.id)
    if search.level == Level.instance:
        stmt = stmt.join(DicomInstance, DicomInstance.series_id == DicomSeries.id)
    stmt = stmt.where(visible_studies_clause(principal))
    for keyword, value in search.filters.items():
        if value:  # an empty value is universal matching: it only asks for the attribute back
            stmt = stmt.where(filter_clause(keyword, value))
    order = {Level.study: (DiagnosticStudy.id.desc(),),
             Level.series: (DiagnosticStudy.id.desc(), DicomSeries.series_number.asc().nulls_last(), DicomSeries.id),
             Level.instance: (DicomSeries.id, DicomInstance.instance_number.asc().nulls_last(),
                              DicomInstance.id)}[search.level]
    return stmt.order_by(*order).limit(search.limit + 1).offset(search.offset)


@dataclass
class SearchResult:
    rows: list[tuple]
    more: bool
    modalities: dict[int, list[str]]  # study id → modalities in study


async def run_search(session: AsyncSession, principal: Principal, search: Search) -> SearchResult:
    rows = [tuple(r) for r in (await session.execute(_statement(search, principal))).all()]
    more = len(rows) > search.limit
    rows = rows[:search.limit]
    modalities: dict[int, list[str]] = {}
    study_ids = {r[0].id for r in rows} if search.level == Level.study else set()
    if study_ids:
        found = await session.execute(select(DicomSeries.study_id, DicomSeries.modality).distinct()
                                      .where(DicomSeries.study_id.in_(study_ids)))
        for study_id, modality in found.all():
            if modality:
                modalities.setdefault(study_id, []).append(modality)
    return SearchResult(rows, more, {k: sorted(v) for k, v in modalities.items()})


def vr_of(keyword: str) -> str:
    return dictionary_VR(tag_for_keyword(keyword))


def _element(keyword: str, value: object) -> dict:
    vr = vr_of(keyword)
    if value is None or value == "" or value == []:
        return {"vr": vr}
    values = value if isinstance(value, list) else [value]
    if vr == "PN":
        values = [{"Alphabetic": v} for v in values]
    return {"vr": vr, "Value": values}


def _decimals(text: str) -> list[float]:
    out = []
    for part in text.split("\\"):
        try:
            out.append(float(part))
        except ValueError:
            continue
    return out


def study_values(study: DiagnosticStudy, extra: DicomStudy, modalities: list[str], base: str) -> dict[str, object]:
    return {
        "StudyDate": extra.study_date, "StudyTime": extra.study_time, "AccessionNumber": study.accession_number,
        "InstanceAvailability": "ONLINE", "ModalitiesInStudy": modalities or ([study.modality] if study.modality
                                                                              else []),
        "ReferringPhysicianName": extra.referring_physician, "RetrieveURL": f"{base}/studies/{study.study_uid}",
        "PatientName": study.sent_patient_name, "PatientID": study.sent_patient_key,
        "PatientBirthDate": extra.patient_birth_date, "PatientSex": extra.patient_sex,
        "StudyInstanceUID": study.study_uid, "StudyID": extra.dicom_study_id,
        "NumberOfStudyRelatedSeries": extra.series_count, "NumberOfStudyRelatedInstances": extra.instance_count,
        "StudyDescription": study.description,
    }


def series_values(series: DicomSeries, study: DiagnosticStudy, base: str) -> dict[str, object]:
    return {
        "Modality": series.modality, "SeriesDescription": series.description, "SeriesNumber": series.series_number,
        "SeriesInstanceUID": series.series_uid, "NumberOfSeriesRelatedInstances": series.instance_count,
        "RetrieveURL": f"{base}/studies/{study.study_uid}/series/{series.series_uid}",
        "BodyPartExamined": series.body_part, "StudyInstanceUID": study.study_uid,
    }


def instance_values(instance: DicomInstance, series: DicomSeries, study: DiagnosticStudy,
                    base: str) -> dict[str, object]:
    return {
        "SOPClassUID": instance.sop_class_uid, "SOPInstanceUID": instance.sop_instance_uid,
        "InstanceAvailability": "ONLINE", "InstanceNumber": instance.instance_number,
        "RetrieveURL": f"{base}/studies/{study.study_uid}/series/{series.series_uid}/instances/"
                       f"{instance.sop_instance_uid}",
        "Rows": instance.rows, "Columns": instance.columns, "BitsAllocated": instance.bits_allocated,
        "NumberOfFrames": instance.number_of_frames, "PhotometricInterpretation": instance.photometric,
        "PixelSpacing": _decimals(instance.pixel_spacing) if instance.pixel_spacing else None,
        "SliceLocation": instance.slice_location, "WindowCenter": instance.window_center,
        "WindowWidth": instance.window_width, "RescaleIntercept": instance.rescale_intercept,
        "RescaleSlope": instance.rescale_slope, "AvailableTransferSyntaxUID": instance.transfer_syntax_uid,
        "SeriesInstanceUID": series.series_uid, "StudyInstanceUID": study.study_uid,
    }


def _wanted(search: Search, defaults: tuple[str, ...], available: Mapping[str, object]) -> list[str]:
    if search.include_all:
        return list(available)
    keys = [*defaults, *(k for k in available if k in search.include or k in search.filters)]
    return [k for k in dict.fromkeys(keys) if k in available]


def to_json(search: Search, result: SearchResult, base: str, with_study: bool) -> list[dict]:
    """Index rows → DICOM JSON objects (PS3.18 F.2), keyed by tag, in tag order."""
    out = []
    for row in result.rows:
        if search.level == Level.study:
            study, extra = row
            available = study_values(study, extra, result.modalities.get(study.id, []), base)
            defaults = STUDY_DEFAULT
        elif search.level == Level.series:
            series, study, extra = row
            available = series_values(series, study, base)
            defaults = SERIES_DEFAULT + ("StudyInstanceUID",)
        else:
            instance, series, study, extra = row
            available = instance_values(instance, series, study, base)
            defaults = INSTANCE_DEFAULT + ("SeriesInstanceUID", "StudyInstanceUID")
        if with_study and search.level != Level.study:
            study_part = study_values(study, extra, [], base)
            study_part.pop("RetrieveURL")
            study_part.pop("ModalitiesInStudy")
            available = {**study_part, **available}
            defaults = defaults + tuple(study_part)
        chosen = _wanted(search, defaults, available)
        out.append({f"{tag_for_keyword(k):08X}": _element(k, available[k])
                    for k in sorted(chosen, key=tag_for_keyword)})
    return out
