"""Plausible clinical histories: visits over one to three years with vitals and labs that trend
the way treated chronic disease does (blood pressure and HbA1c falling towards target, creatinine
creeping up in kidney disease), coded with ICD-10, LOINC + UCUM and ATC."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from dataclasses import dataclass, field

from carebridge.demo import files
from carebridge.demo.network import FacilitySpec
from carebridge.demo.patients import PatientProfile, patient_rng
from carebridge.demo.staff import CHINA
from carebridge.network.models import Tier
from carebridge.records.codes import CONDITIONS, OBSERVATIONS
from carebridge.records.entries import interpret
from carebridge.records.models import (
    Allergy,
    Condition,
    Document,
    Encounter,
    EntryKind,
    MedicationStatement,
    Observation,
    Procedure,
)

SUBTYPES = {EntryKind.encounter: Encounter, EntryKind.condition: Condition, EntryKind.observation: Observation,
            EntryKind.medication: MedicationStatement, EntryKind.allergy: Allergy,
            EntryKind.procedure: Procedure, EntryKind.document: Document}
FOLLOWED_UP = ("I10", "E11.9", "E78.5", "I25.1", "I48.9", "I50.9", "N18.3", "J44.9", "B18.1", "K74.6",
               "C34.9", "I63.9", "O24.4")

# condition -> (ATC code, 中文药名, dose, route, frequency)
MEDICATIONS = {
    "I10": ("C08CA01", "氨氯地平片", "5 mg", "口服", "qd"),
    "E11.9": ("A10BA02", "二甲双胍片", "500 mg", "口服", "tid"),
    "E78.5": ("C10AA05", "阿托伐他汀钙片", "20 mg", "口服", "qn"),
    "I25.1": ("B01AC06", "阿司匹林肠溶片", "100 mg", "口服", "qd"),
    "I48.9": ("B01AF01", "利伐沙班片", "20 mg", "口服", "qd"),
    "I50.9": ("C03CA01", "呋塞米片", "20 mg", "口服", "qd"),
    "I63.9": ("B01AC04", "氯吡格雷片", "75 mg", "口服", "qd"),
    "J44.9": ("R03BB04", "噻托溴铵吸入粉雾剂", "18 μg", "吸入", "qd"),
    "J45.9": ("R03AK07", "布地奈德福莫特罗吸入剂", "160/4.5 μg", "吸入", "bid"),
    "B18.1": ("J05AF10", "恩替卡韦片", "0.5 mg", "口服", "qd"),
    "K29.7": ("A02BC01", "奥美拉唑肠溶胶囊", "20 mg", "口服", "qd"),
    "F32.9": ("N06AB06", "舍曲林片", "50 mg", "口服", "qd"),
    "K74.6": ("C03DA01", "螺内酯片", "40 mg", "口服", "qd"),
    "O24.4": ("A10AB01", "胰岛素注射液", "4 U", "皮下注射", "tid"),
    "C34.9": ("L01EB02", "厄洛替尼片", "150 mg", "口服", "qd"),
    "M17.9": ("M01AE01", "布洛芬缓释胶囊", "300 mg", "口服", "bid"),
    "J18.9": ("J01DD04", "注射用头孢曲松钠", "2 g", "静脉滴注", "qd"),
}
ALLERGENS = [("青霉素", "medication", "high", "皮疹、呼吸困难"), ("磺胺类药物", "medication", "low", "皮疹"),
             ("头孢类抗生素", "medication", "low", "荨麻疹"), ("海鲜", "food", "low", "荨麻疹"),
             ("花粉", "environment", "low", "鼻塞、打喷嚏")]
PROCEDURES = {"ecg": ("89.52", "心电图检查"), "xray": ("87.44", "胸部X线检查"),
              "angio": ("88.56", "冠状动脉造影"), "stent": ("36.06", "冠状动脉药物洗脱支架置入术")}


@dataclass
class Series:
    """A value that starts at `start` and settles at `target` with time constant `tau` (years)
    once treatment begins at the first visit, plus a steady `slope` per year and noise."""

    start: float
    target: float
    noise: float
    digits: int
    tau: float = 0.6
    slope: float = 0.0

    def at(self, rng: random.Random, years: float) -> float:
        value = self.target + (self.start - self.target) * math.exp(-years / self.tau) + self.slope * years
        value += rng.gauss(0, self.noise)
        return round(value, self.digits) if self.digits else float(round(value))


def _steady(value: float, noise: float, digits: int) -> Series:
    return Series(value, value, noise, digits)


def patient_series(rng: random.Random, p: PatientProfile, age: int) -> dict[str, Series]:
    c, u, male = p.conditions, rng.uniform, p.sex == "male"
    height = u(165, 178) if male else u(153, 165)
    if age < 18:
        height = 75 + 6 * age
    weight = height * height / 10_000 * u(20, 27)
    s = {
        "8480-6": Series(u(150, 172), u(126, 138), 5, 0) if "I10" in c else _steady(u(108, 128) + age / 8, 6, 0),
        "8462-4": Series(u(92, 104), u(76, 86), 4, 0) if "I10" in c else _steady(u(66, 80), 4, 0),
        "8867-4": _steady(u(88, 108), 9, 0) if "I48.9" in c else _steady(u(64, 84), 5, 0),
        "8310-5": _steady(u(36.3, 36.8), 0.15, 1), "9279-1": _steady(u(14, 18), 1, 0),
        "59408-5": _steady(u(91, 94), 1, 0) if "J44.9" in c or "I50.9" in c else _steady(u(96, 99), 0.6, 0),
        "8302-2": _steady(height, 0.3, 1),
        "29463-7": Series(weight, weight - (3 if "E11.9" in c else 0), 0.8, 1, tau=1.5),
        "1558-6": Series(u(9, 12), u(6.4, 7.6), 0.5, 1) if "E11.9" in c or "O24.4" in c
        else _steady(u(4.6, 5.8), 0.3, 1),
        "4548-4": Series(u(8.4, 10.2), u(6.6, 7.4), 0.25, 1) if "E11.9" in c else _steady(u(5.0, 5.8), 0.15, 1),
        "2093-3": Series(u(6.0, 7.2), u(4.3, 5.0), 0.25, 2) if "E78.5" in c else _steady(u(3.8, 5.0), 0.25, 2),
        "13457-7": Series(u(4.0, 4.9), u(2.2, 2.9), 0.2, 2) if "E78.5" in c or "I25.1" in c
        else _steady(u(2.0, 3.2), 0.2, 2),
        "2160-0": Series(u(135, 150), u(135, 150), 6, 0, slope=u(6, 14)) if "N18.3" in c
        else _steady(u(65, 105) if male else u(50, 85), 5, 0),
        "718-7": _steady(u(100, 115), 4, 0) if "N18.3" in c else _steady(u(130, 160) if male else u(115, 140), 4, 0),
        "6690-2": _steady(u(4.0, 8.5), 0.6, 1),
        "1742-6": _steady(u(45, 90), 8, 0) if "B18.1" in c or "K74.6" in c else _steady(u(12, 35), 4, 0),
        "2823-3": _steady(u(4.6, 5.6), 0.2, 1) if "N18.3" in c else _steady(u(3.8, 4.8), 0.2, 1),
        "33762-6": Series(u(900, 2500), u(300, 600), 60, 0),
    }
    return s


@dataclass
class Visit:
    at: dt.datetime
    facility: FacilitySpec
    klass: str
    reason: str
    department: str
    author: int
    days: int = 0
    acute: str = ""
    checkup: bool = False
    number: int = 0  # position among the patient's visits
    procedures: list[str] = field(default_factory=list)


@dataclass
class EntrySink:
    """Record entries with ids local to the run; `rebase` shifts them onto reserved database ids."""

    spine: list[dict] = field(default_factory=list)
    sub: dict[str, list[dict]] = field(default_factory=lambda: {k.value: [] for k in SUBTYPES})
    blobs: dict[str, bytes] = field(default_factory=dict)

    def add(self, kind: EntryKind, patient_id: int, at: dt.datetime, visit: Visit | None, encounter: int | None,
            code: tuple[str, str, str], **typed: object) -> int:
        entry_id = len(self.spine)
        self.spine.append({
            "id": entry_id, "patient_id": patient_id, "kind": kind.value, "occurred_at": at,
            "recorded_at": at + dt.timedelta(minutes=20), "facility_id": visit.facility.id,
            "author_id": visit.author, "encounter_id": encounter, "code_system": code[0], "code": code[1],
            "display": code[2], "voided_at": None, "voided_by_id": None, "void_reason": None})
        self.sub[kind.value].append({"id": entry_id, **typed})
        return entry_id

    def attach(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return digest, len(data)

    def rebase(self, first_id: int) -> None:
        for row in self.spine:
            row["id"] += first_id
            if row["encounter_id"] is not None:
                row["encounter_id"] += first_id
        for rows in self.sub.values():
            for row in rows:
                row["id"] += first_id


def _local_time(day: dt.date, rng: random.Random) -> dt.datetime:
    local = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA) + dt.timedelta(minutes=rng.randint(480, 690))
    return local.astimezone(dt.UTC)


@dataclass
class Staffing:
    """Who may author entries where: facility code -> user ids of doctors practising there."""

    doctors: dict[str, list[int]]
    by_code: dict[str, FacilitySpec]
    departments: dict[str, int]
    cardiologist: int = 0

    def author(self, rng: random.Random, facility: FacilitySpec) -> int:
        return rng.choice(self.doctors[facility.code])


def plan_visits(rng: random.Random, p: PatientProfile, today: dt.date, staff: Staffing) -> list[Visit]:
    start = today - dt.timedelta(days=365 * p.years - rng.randint(0, 60))
    followed = [c for c in p.conditions if c in FOLLOWED_UP]
    if followed:
        count = p.years * (8 if p.showcase else rng.randint(4, 6))
        step = (today - start).days / count
        days = [int(i * step + rng.uniform(0, step * 0.6)) for i in range(count)]
    else:
        days = sorted(rng.randint(0, (today - start).days - 3) for _ in range(rng.randint(1, 4)))
    county = next((f for f in p.registrations if f.tier == Tier.county_hospital), None)
    visits, last_checkup_year = [], None
    for number, offset in enumerate(days):
        day = start + dt.timedelta(days=offset)
        at_county = county is not None and number % 4 == 3
        facility = county if at_county else p.home
        checkup = p.age(day) >= 60 and day.year != last_checkup_year
        last_checkup_year = day.year if checkup else last_checkup_year
        reason = "年度健康体检" if checkup else (f"{CONDITIONS[followed[0]][0]}随访" if followed else "头晕、乏力")
        department = "internal_medicine" if at_county else "general_practice"
        visits.append(Visit(_local_time(day, rng), facility, "outpatient", reason, department,
                            staff.author(rng, facility), checkup=checkup, number=number))
    _add_episodes(rng, p, visits, county, staff)
    return sorted(visits, key=lambda v: v.at)


def _add_episodes(rng: random.Random, p: PatientProfile, visits: list[Visit], county: FacilitySpec | None,
                  staff: Staffing) -> None:
    """Acute and inpatient episodes on top of routine follow-up."""
    if not visits:
        return
    if "J18.9" in p.conditions:
        v = rng.choice(visits)
        v.klass, v.reason, v.acute, v.checkup = "outpatient", "发热、咳嗽、咳痰", "J18.9", False
        v.procedures.append("xray")
    if county is not None and ("I25.1" in p.conditions or "I63.9" in p.conditions):
        v = visits[len(visits) // 3]
        cardiac = "I25.1" in p.conditions
        v.facility, v.klass, v.days, v.checkup = county, "inpatient", rng.randint(5, 10), False
        v.reason = "胸痛3天，拟诊冠心病入院" if cardiac else "突发右侧肢体无力入院"
        v.department = "cardiology" if cardiac else "neurology"
        v.author = staff.author(rng, county)
        v.procedures += ["ecg", "angio", "stent"] if cardiac and (p.showcase or rng.random() < 0.5) else ["ecg"]
    for v in visits:
        if any(c in p.conditions for c in ("I25.1", "I48.9", "I50.9")) and v.number % 3 == 0:
            v.procedures.append("ecg")
    if p.showcase:
        city = staff.by_code[county.hub]
        tele = Visit(visits[-2].at + dt.timedelta(days=3), city, "teleconsultation", "冠心病远程会诊：胸闷复发",
                     "cardiology", staff.cardiologist, number=len(visits), procedures=["ecg"])
        visits.append(tele)


def _codes_for(v: Visit, p: PatientProfile) -> list[str]:
    c, first = p.conditions, v.number == 0
    wanted = ["8480-6", "8462-4", "8867-4"]
    if first:
        wanted.append("8302-2")
    if first or v.checkup or v.number % 4 == 0:
        wanted += ["29463-7", "39156-5"]
    if v.acute == "J18.9":
        wanted += ["8310-5", "9279-1", "59408-5", "6690-2"]
    if "J44.9" in c or "I50.9" in c:
        wanted.append("59408-5")
    if "E11.9" in c or "O24.4" in c:
        wanted += ["1558-6"] + (["4548-4"] if v.number % 3 == 0 else [])
    if any(x in c for x in ("E78.5", "I25.1", "I63.9")) and (v.number % 4 == 0 or v.klass == "inpatient"):
        wanted += ["2093-3", "13457-7"]
    if any(x in c for x in ("N18.3", "I50.9", "E11.9")) and v.number % 3 == 0:
        wanted += ["2160-0"] + (["2823-3"] if "N18.3" in c or "I50.9" in c else [])
    if "I50.9" in c and v.number % 2 == 0:
        wanted.append("33762-6")
    if ("B18.1" in c or "K74.6" in c) and v.number % 3 == 0:
        wanted.append("1742-6")
    if v.checkup or v.klass == "inpatient":
        wanted += ["718-7", "6690-2", "1742-6", "2160-0", "1558-6", "2093-3"]
    return list(dict.fromkeys(wanted))


def _observe(sink: EntrySink, rng: random.Random, p: PatientProfile, v: Visit, encounter: int,
             series: dict[str, Series], years: float) -> dict[str, float]:
    values: dict[str, float] = {}
    for loinc in _codes_for(v, p):
        code = OBSERVATIONS[loinc]
        if loinc == "39156-5":
            height = series["8302-2"].target / 100
            value = round(values["29463-7"] / (height * height), 1)
        else:
            value = series[loinc].at(rng, years)
        if v.acute == "J18.9":
            value = {"8310-5": round(rng.uniform(38.2, 39.3), 1), "6690-2": round(rng.uniform(11, 16), 1),
                     "9279-1": float(rng.randint(22, 28))}.get(loinc, value)
        values[loinc] = value
        sink.add(EntryKind.observation, p.id, v.at + dt.timedelta(minutes=5), v, encounter,
                 ("LOINC", loinc, code.name_en), category=code.category, value_num=value, value_text="",
                 unit=code.unit, ref_low=code.ref_low, ref_high=code.ref_high,
                 interpretation=interpret(value, code.ref_low, code.ref_high))
    return values


def _condition_and_medication(sink: EntrySink, p: PatientProfile, code: str, v: Visit, encounter: int,
                              status: str) -> None:
    # Coded entries carry the code system's own (English) display, as the records service writes them.
    sink.add(EntryKind.condition, p.id, v.at + dt.timedelta(minutes=10), v, encounter,
             ("ICD-10", code, CONDITIONS[code][1]),
             clinical_status=status, verification_status="confirmed",
             note="" if v.acute == code else "既往诊断，纳入慢病随访管理")
    if code in MEDICATIONS:
        atc, drug, dose, route, frequency = MEDICATIONS[code]
        sink.add(EntryKind.medication, p.id, v.at + dt.timedelta(minutes=15), v, encounter, ("ATC", atc, drug),
                 dose=dose, route=route, frequency=frequency, status="completed" if status == "resolved" else "active")


def record_history(sink: EntrySink, p: PatientProfile, today: dt.date, staff: Staffing) -> dt.datetime:
    """Writes the patient's whole history into `sink`; returns when the patient was first seen."""
    rng = patient_rng(p.index)
    rng.random()  # decorrelate from the draws that made the profile
    visits = plan_visits(rng, p, today, staff)
    series = patient_series(rng, p, p.age(today))
    first = visits[0]
    for v in visits:
        encounter = _encounter(sink, p, v, staff)
        years = (v.at - first.at).days / 365.25
        values = _observe(sink, rng, p, v, encounter, series, years)
        if v is first:
            for code in p.conditions:
                if code != "J18.9":
                    _condition_and_medication(sink, p, code, v, encounter, "active")
            _allergy(sink, rng, p, v, encounter)
        if v.acute:
            _condition_and_medication(sink, p, v.acute, v, encounter, "resolved")
        _procedures_and_documents(sink, rng, p, v, encounter, values)
    return first.at - dt.timedelta(days=rng.randint(1, 30))


def _encounter(sink: EntrySink, p: PatientProfile, v: Visit, staff: Staffing) -> int:
    length = dt.timedelta(days=v.days) if v.days else dt.timedelta(minutes=45 if v.klass == "teleconsultation" else 20)
    return sink.add(EntryKind.encounter, p.id, v.at, v, None, ("", "", v.reason), encounter_class=v.klass,
                    department_id=staff.departments[v.department], reason=v.reason, ended_at=v.at + length)


def _allergy(sink: EntrySink, rng: random.Random, p: PatientProfile, v: Visit, encounter: int) -> None:
    if not (p.showcase or rng.random() < 0.08):
        return
    substance, category, criticality, reaction = ALLERGENS[0] if p.showcase else rng.choice(ALLERGENS)
    sink.add(EntryKind.allergy, p.id, v.at + dt.timedelta(minutes=12), v, encounter, ("", "", substance),
             category=category, criticality=criticality, reaction=reaction)


def _procedures_and_documents(sink: EntrySink, rng: random.Random, p: PatientProfile, v: Visit, encounter: int,
                              values: dict[str, float]) -> None:
    for key in dict.fromkeys(v.procedures):
        code, name = PROCEDURES[key]
        sink.add(EntryKind.procedure, p.id, v.at + dt.timedelta(minutes=30), v, encounter,
                 ("ICD-9-CM-3", code, name), body_site="心脏" if key != "xray" else "胸部", outcome="完成")
    if "ecg" in v.procedures and rng.random() < (0.5 if p.showcase else 0.05):
        data = files.ecg_strip_png(int(values.get("8867-4", 72)))
        _document(sink, p, v, encounter, ("11524-6", "心电图（节律条）"), data, "image/png", "ecg.png")
    if v.klass == "inpatient" and (p.showcase or rng.random() < 0.4):
        lines = [f"Patient: {p.name.en}   Admitted: {v.at:%Y-%m-%d}   Days: {v.days}",
                 f"Facility: {v.facility.name_en}", f"Reason: {v.department.replace('_', ' ')} admission",
                 *_lab_lines(values), "Discharged in stable condition; follow-up at primary care in 2 weeks."]
        _document(sink, p, v, encounter, ("18842-5", "出院小结"), files.pdf_report("Discharge summary", lines),
                  "application/pdf", "discharge-summary.pdf")
    elif v.checkup and rng.random() < (0.5 if p.showcase else 0.03):
        lines = [f"Patient: {p.name.en}   Date: {v.at:%Y-%m-%d}", f"Facility: {v.facility.name_en}",
                 *_lab_lines(values)]
        _document(sink, p, v, encounter, ("11502-2", "体检检验报告"), files.pdf_report("Laboratory report", lines),
                  "application/pdf", "lab-report.pdf")


def _lab_lines(values: dict[str, float]) -> list[str]:
    out = []
    for loinc, value in values.items():
        code = OBSERVATIONS[loinc]
        flag = interpret(value, code.ref_low, code.ref_high)
        out.append(f"{code.name_en}: {value:g} {code.unit} {'(' + flag + ')' if flag not in ('', 'N') else ''}")
    return out


def _document(sink: EntrySink, p: PatientProfile, v: Visit, encounter: int, code: tuple[str, str],
              data: bytes, media_type: str, filename: str) -> None:
    digest, size = sink.attach(data)
    sink.add(EntryKind.document, p.id, v.at + dt.timedelta(hours=1), v, encounter, ("LOINC", *code),
             title=code[1], media_type=media_type, size_bytes=size, blob_digest=digest,
             filename=f"{v.at:%Y%m%d}-{filename}")
