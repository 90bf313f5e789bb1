"""The drug catalogue: the bundled data file (data/drugs.json, sources in data/README.md) kept in
step with the `pharmacy_drugs` table, plus the vocabulary a prescription line is written in
(frequencies, routes, units) and the quantity a line needs.

The table is filled on demand: the first request that needs the catalogue after an upgrade finds
no row of the bundled version and upserts every entry (INSERT ... ON CONFLICT, so two requests
doing it at once do not collide)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from carebridge.kit import i18n
from carebridge.kit.i18n import N_
from carebridge.portal.pharmacy.models import Drug

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Frequency:
    code: str
    per_day: Fraction  # administrations a day; as-needed lines are counted at their most
    label: str  # msgid


FREQUENCIES: dict[str, Frequency] = {f.code: f for f in [
    Frequency("qd", Fraction(1), N_("once a day")),
    Frequency("bid", Fraction(2), N_("twice a day")),
    Frequency("tid", Fraction(3), N_("three times a day")),
    Frequency("qid", Fraction(4), N_("four times a day")),
    Frequency("qn", Fraction(1), N_("once a night, at bedtime")),
    Frequency("q12h", Fraction(2), N_("every 12 hours")),
    Frequency("q8h", Fraction(3), N_("every 8 hours")),
    Frequency("qw", Fraction(1, 7), N_("once a week")),
    # As needed: checked and counted at four times a day, the most the line allows.
    Frequency("prn", Fraction(4), N_("when needed, at most four times a day")),
]}
ROUTES = {"oral": N_("by mouth"), "subcutaneous": N_("injection under the skin"), "inhalation": N_("inhaled")}
DOSE_UNITS = {"mg": N_("mg"), "µg": N_("µg"), "IU": N_("IU"), "puff": N_("puffs"), "g": N_("g")}
PACK_UNITS = {"box": N_("box"), "bottle": N_("bottle"), "pen": N_("pen"), "inhaler": N_("inhaler")}


@lru_cache
def bundle() -> dict:
    with (DATA / "drugs.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def _row(entry: dict, version: str) -> dict:
    return {
        "code": entry["code"], "atc": entry["atc"], "generic_zh": entry["generic"][0],
        "generic_en": entry["generic"][1], "name_zh": entry["name"][0], "name_en": entry["name"][1],
        "form": entry["form"], "strength": entry["strength"], "dose_unit": entry["dose_unit"],
        "unit_amount": float(entry["unit_amount"]), "pack_count": entry["pack_count"],
        "pack_unit": entry["pack_unit"], "routes": entry["routes"], "default_frequency": entry["default_frequency"],
        "max_daily": entry["max_daily"], "therapeutic_class": entry["class"], "chronic": entry["chronic"],
        "cold_chain": entry["cold_chain"], "insured": entry["insured"], "price_fen": entry["price_fen"],
        "allergy_groups": entry["allergy"], "cross_allergy_groups": entry["cross_allergy"],
        "age_cautions": entry["age"], "active": True, "catalogue_version": version,
    }


async def ensure_catalogue(session: AsyncSession) -> None:
    version = bundle()["version"]
    if await session.scalar(select(Drug.code).where(Drug.catalogue_version == version).limit(1)) is not None:
        return
    rows = [_row(entry, version) for entry in bundle()["drugs"]]
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(Drug).values(rows)
    updates = {column: statement.excluded[column] for column in rows[0] if column != "code"}
    await session.execute(statement.on_conflict_do_update(index_elements=["code"], set_=updates))
    # Entries dropped from the bundle stay for the prescriptions that name them, but are not offered.
    await session.execute(Drug.__table__.update().where(Drug.catalogue_version != version).values(active=False))


async def drugs_by_code(session: AsyncSession, codes: set[str]) -> dict[str, Drug]:
    await ensure_catalogue(session)
    rows = (await session.scalars(select(Drug).where(Drug.code.in_(codes)))).all() if codes else []
    return {drug.code: drug for drug in rows}


async def search_drugs(session: AsyncSession, query: str = "", *, chronic_only: bool = False,
                       limit: int = 60) -> list[Drug]:
    """Active catalogue entries whose name, generic name, ATC code or code contains the query."""
    await ensure_catalogue(session)
    statement = select(Drug).where(Drug.active)
    if query.strip():
        like = f"%{query.strip().lower()}%"
        statement = statement.where(or_(Drug.generic_zh.like(like), Drug.name_zh.like(like),
                                        Drug.generic_en.ilike(like), Drug.name_en.ilike(like),
                                        Drug.atc.ilike(like), Drug.code.ilike(like)))
    if chronic_only:
        statement = statement.where(Drug.chronic)
    return list((await session.scalars(statement.order_by(Drug.therapeutic_class, Drug.code).limit(limit))).all())


def english() -> bool:
    return i18n.get_locale() == "en"


def drug_label(drug: Drug, *, en: bool | None = None) -> str:
    en = english() if en is None else en
    return f"{drug.name_en if en else drug.name_zh} {drug.strength}"


def class_label(key: str) -> str:
    names = bundle()["classes"].get(key)
    if names is None:
        return key
    return names[1] if english() else names[0]


def allergy_terms(group: str) -> list[str]:
    return bundle()["allergy_groups"].get(group, [])


def daily_dose(dose: float, frequency: str) -> Fraction:
    return Fraction(str(dose)) * FREQUENCIES[frequency].per_day


def suggest_quantity(drug: Drug, dose: float, frequency: str, duration_days: int) -> int:
    """Packs that cover dose × frequency × duration: a pack holds pack_count units of unit_amount."""
    needed = daily_dose(dose, frequency) * duration_days
    per_pack = Fraction(str(drug.unit_amount)) * drug.pack_count
    return max(1, math.ceil(needed / per_pack))
