"""Automatic checks run when a prescription is submitted: allergy, duplicate therapy, maximum daily
dose, interactions (bundled rule table, data/interactions.json) and age cautions, against the new
lines and the patient's active medications. They warn; the doctor and the pharmacist decide.

A finding is stored as JSON with the version it was run on: a message id with parameters whose
names and notes are [中文, English] pairs, so each reader sees it in their own language.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit.clock import local_zone
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.pharmacy import catalogue
from carebridge.portal.pharmacy.models import Drug
from carebridge.records.models import Allergy, MedicationStatement, Patient

SEVERITIES = ("minor", "moderate", "major", "contraindicated")
SEVERITY_LABELS = {"minor": N_("Minor"), "moderate": N_("Moderate"), "major": N_("Major"),
                   "contraindicated": N_("Contraindicated")}
KIND_LABELS = {"allergy": N_("Allergy"), "duplicate": N_("Duplicate therapy"), "max_dose": N_("Maximum daily dose"),
               "interaction": N_("Interaction"), "age": N_("Age caution"), "quantity": N_("Quantity")}
UNITS = {"mg": ["mg", "mg"], "µg": ["µg", "µg"], "g": ["g", "g"], "IU": ["单位", "IU"], "puff": ["吸", "puffs"]}
PACKS = {"box": ["盒", "boxes"], "bottle": ["瓶", "bottles"], "pen": ["支", "pens"], "inhaler": ["支", "inhalers"]}
ACTIVE_STATUSES = ("active", "intended", "on-hold")


@dataclass(frozen=True)
class Line:
    drug: Drug
    dose: float
    frequency: str
    duration_days: int
    quantity: int


@dataclass(frozen=True)
class ActiveMed:
    atc: str
    label: str
    therapeutic_class: str | None


@dataclass(frozen=True)
class AllergyNote:
    text: str
    criticality: str


@dataclass(frozen=True)
class PatientFacts:
    age: int
    allergies: tuple[AllergyNote, ...]
    active: tuple[ActiveMed, ...]


@lru_cache
def interaction_rules() -> tuple[dict, ...]:
    with (catalogue.DATA / "interactions.json").open(encoding="utf-8") as handle:
        return tuple(json.load(handle)["rules"])


def names(drug: Drug) -> list[str]:
    return [catalogue.drug_label(drug, en=False), catalogue.drug_label(drug, en=True)]


def finding(kind: str, severity: str, message: str, params: dict, *, advice: list[str] | None = None,
            source: str = "") -> dict:
    return {"kind": kind, "severity": severity, "message": message, "params": params,
            "advice": advice or ["", ""], "source": source}


def level(findings: Iterable[dict]) -> str:
    ranks = [SEVERITIES.index(f["severity"]) for f in findings]
    return SEVERITIES[max(ranks)] if ranks else ""


def run_checks(lines: list[Line], facts: PatientFacts) -> list[dict]:
    """Every finding for these lines, most severe first."""
    found = [*_allergies(lines, facts), *_duplicates(lines, facts), *_max_doses(lines),
             *_interactions(lines, facts), *_ages(lines, facts.age), *_quantities(lines)]
    return sorted(found, key=lambda f: -SEVERITIES.index(f["severity"]))


# ---- allergy ------------------------------------------------------------------------------------

def _mentions(text: str, terms: Iterable[str]) -> bool:
    return any(term and term.lower() in text for term in terms)


def _own_terms(drug: Drug) -> list[str]:
    return [drug.generic_zh, drug.generic_en, drug.name_zh, drug.name_en]


def _allergies(lines: list[Line], facts: PatientFacts) -> list[dict]:
    out = []
    for line in lines:
        drug = line.drug
        direct = _own_terms(drug) + [t for g in drug.allergy_groups for t in catalogue.allergy_terms(g)]
        cross = [t for g in drug.cross_allergy_groups for t in catalogue.allergy_terms(g)]
        for allergy in facts.allergies:
            text = allergy.text.lower()
            if _mentions(text, direct):
                severity = "contraindicated" if allergy.criticality == "high" else "major"
                out.append(finding("allergy", severity, N_("%(drug)s: the patient is recorded as allergic to "
                                                           "“%(allergy)s”."),
                                   {"drug": names(drug), "allergy": allergy.text}))
            elif _mentions(text, cross):
                out.append(finding("allergy", "moderate", N_("%(drug)s: possible cross-reaction with the recorded "
                                                             "allergy to “%(allergy)s”."),
                                   {"drug": names(drug), "allergy": allergy.text}))
    return out


# ---- duplicate therapy --------------------------------------------------------------------------

def _duplicates(lines: list[Line], facts: PatientFacts) -> list[dict]:
    out = []
    for i, line in enumerate(lines):
        klass = line.drug.therapeutic_class
        label = list(catalogue.bundle()["classes"].get(klass, [klass, klass]))
        for other in lines[i + 1:]:
            if other.drug.therapeutic_class == klass:
                out.append(finding("duplicate", "major", N_("%(drug)s and %(other)s are both %(class)s."),
                                   {"drug": names(line.drug), "other": names(other.drug), "class": label}))
        for med in facts.active:
            if med.atc == line.drug.atc:
                out.append(finding("duplicate", "moderate", N_("%(drug)s: the patient is already recorded as "
                                                               "taking %(other)s; check that this replaces it."),
                                   {"drug": names(line.drug), "other": med.label}))
            elif med.therapeutic_class == klass:
                out.append(finding("duplicate", "major", N_("%(drug)s duplicates %(other)s, which the patient "
                                                            "already takes (%(class)s)."),
                                   {"drug": names(line.drug), "other": med.label, "class": label}))
    return out


# ---- maximum daily dose -------------------------------------------------------------------------

def _max_doses(lines: list[Line]) -> list[dict]:
    totals: dict[str, tuple[Drug, Fraction]] = {}
    for line in lines:
        drug, daily = line.drug, catalogue.daily_dose(line.dose, line.frequency)
        before = totals.get(drug.atc)
        totals[drug.atc] = (drug, daily + (before[1] if before else Fraction(0)))
    out = []
    for drug, daily in totals.values():
        if drug.max_daily is not None and daily > Fraction(str(drug.max_daily)):
            out.append(finding("max_dose", "major", N_("%(drug)s: %(daily)s %(unit)s a day is above the maximum "
                                                       "of %(max)s %(unit)s."),
                               {"drug": names(drug), "daily": number(daily), "max": number(drug.max_daily),
                                "unit": UNITS.get(drug.dose_unit, [drug.dose_unit] * 2)}))
    return out


def number(value: object) -> str:
    number = float(value)  # a Fraction or a float
    return f"{number:g}" if number == round(number, 3) else f"{number:.3f}"


# ---- interactions -------------------------------------------------------------------------------

def _matches(rule: dict, one: str, two: str) -> bool:
    def side(prefixes: list[str], atc: str) -> bool:
        return any(atc.startswith(p) for p in prefixes)
    return (side(rule["a"], one) and side(rule["b"], two)) or (side(rule["a"], two) and side(rule["b"], one))


def _interaction(rule: dict, drug: list[str], other: list[str] | str) -> dict:
    return finding("interaction", rule["severity"], N_("%(drug)s with %(other)s: %(effect)s"),
                   {"drug": drug, "other": other, "effect": [rule["zh"], rule["en"]]},
                   advice=[rule["advice_zh"], rule["advice_en"]], source=rule["source"])


def _interactions(lines: list[Line], facts: PatientFacts) -> list[dict]:
    out = []
    for i, line in enumerate(lines):
        for other in lines[i + 1:]:
            out += [_interaction(rule, names(line.drug), names(other.drug))
                    for rule in interaction_rules() if _matches(rule, line.drug.atc, other.drug.atc)]
        for med in facts.active:
            if med.atc != line.drug.atc:
                out += [_interaction(rule, names(line.drug), med.label)
                        for rule in interaction_rules() if _matches(rule, line.drug.atc, med.atc)]
    return out


# ---- age and quantity ---------------------------------------------------------------------------

def _ages(lines: list[Line], age: int) -> list[dict]:
    out = []
    for line in lines:
        for caution in line.drug.age_cautions:
            if ("min" in caution and age >= caution["min"]) or ("max" in caution and age <= caution["max"]):
                out.append(finding("age", caution["severity"], N_("%(drug)s, patient aged %(age)s: %(note)s"),
                                   {"drug": names(line.drug), "age": age, "note": [caution["zh"], caution["en"]]}))
    return out


def _quantities(lines: list[Line]) -> list[dict]:
    out = []
    for line in lines:
        suggested = catalogue.suggest_quantity(line.drug, line.dose, line.frequency, line.duration_days)
        if line.quantity > suggested:
            out.append(finding("quantity", "minor", N_("%(drug)s: %(quantity)s %(pack)s is more than %(days)s days "
                                                       "need (%(suggested)s)."),
                               {"drug": names(line.drug), "quantity": line.quantity, "suggested": suggested,
                                "days": line.duration_days, "pack": PACKS.get(line.drug.pack_unit, ["", ""])}))
    return out


# ---- reading ------------------------------------------------------------------------------------

def render(found: dict) -> str:
    """The finding's sentence in the current language."""
    pick = 1 if catalogue.english() else 0
    params = {k: (v[pick] if isinstance(v, list) else v) for k, v in found["params"].items()}
    message = found["message"]  # a msgid kept with the finding
    return _(message) % params


def advice(found: dict) -> str:
    return found["advice"][1 if catalogue.english() else 0]


# ---- the patient's side, from the record --------------------------------------------------------

def age_on(birth_date: dt.date, today: dt.date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


async def patient_facts(session: AsyncSession, patient: Patient, *, now: dt.datetime,
                        exclude_entry_ids: Iterable[int] = ()) -> PatientFacts:
    """Recorded medication allergies and active medications; `exclude_entry_ids` leaves out the
    statements of the prescription being checked (a resubmission, a refill of the same order)."""
    excluded = set(exclude_entry_ids)
    allergies = (await session.execute(select(Allergy.display, Allergy.criticality).where(
        Allergy.patient_id == patient.id, Allergy.voided_at.is_(None),
        Allergy.category.in_(("medication", "biologic"))))).all()
    meds = (await session.execute(select(MedicationStatement.id, MedicationStatement.code_system,
                                         MedicationStatement.code, MedicationStatement.display).where(
        MedicationStatement.patient_id == patient.id, MedicationStatement.voided_at.is_(None),
        MedicationStatement.status.in_(ACTIVE_STATUSES)))).all()
    by_atc, by_name = await _catalogue_index(session)
    active: dict[str, ActiveMed] = {}
    for entry_id, system, code, display in meds:
        if entry_id in excluded:
            continue
        atc = code.upper() if system.upper() == "ATC" and code else _atc_by_name(display, by_name)
        if atc and atc not in active:
            active[atc] = ActiveMed(atc, display, by_atc.get(atc))
    today = now.astimezone(local_zone()).date()
    return PatientFacts(age_on(patient.birth_date, today), tuple(AllergyNote(d, c) for d, c in allergies),
                        tuple(active.values()))


async def _catalogue_index(session: AsyncSession) -> tuple[dict[str, str], dict[str, str]]:
    await catalogue.ensure_catalogue(session)
    rows = (await session.execute(select(Drug.atc, Drug.therapeutic_class, Drug.generic_zh, Drug.generic_en))).all()
    return ({atc: klass for atc, klass, _, _ in rows},
            {name.lower(): atc for atc, _, zh, en in rows for name in (zh, en)})


def _atc_by_name(display: str, by_name: dict[str, str]) -> str | None:
    """A statement written by hand ("氨氯地平片 5mg") is matched on the generic names it contains."""
    text = display.lower()
    return next((atc for name, atc in sorted(by_name.items(), key=lambda kv: -len(kv[0])) if name in text), None)
