"""The prescription form shared by writing, revising and editing a refill: its lines as the page
posts them (repeated fields, one set per row; empty rows are ignored) and what the form needs to
draw itself (the catalogue grouped by class, the vocabularies)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_
from carebridge.kit.i18n import gettext as _
from carebridge.portal.pharmacy import catalogue, checks, service
from carebridge.portal.pharmacy.models import Drug, PrescriptionItem

ROWS = service.MAX_ITEMS
FIELDS = ("drug_code", "dose", "frequency", "duration_days", "route", "quantity", "instructions")


@dataclass
class Row:
    drug_code: str = ""
    dose: str = ""
    frequency: str = ""
    duration_days: str = ""
    route: str = ""
    quantity: str = ""
    instructions: str = ""


@dataclass
class FormState:
    rows: list[Row] = field(default_factory=list)
    kind: str = "chronic"
    diagnosis: str = ""
    refills_allowed: str = "0"
    valid_days: str = ""
    note: str = ""


def _number(text: str, kind: type, line: int, name: str) -> float | int:
    try:
        return kind(text.strip())
    except ValueError:
        raise InvalidInput(N_("the dose, duration and quantity must be numbers"),
                           details={"field": name, "line": line}) from None


def rows_from(form: FormData) -> list[Row]:
    columns = {name: [str(v) for v in form.getlist(name)] for name in FIELDS}
    count = max((len(values) for values in columns.values()), default=0)
    rows = [Row(**{name: (columns[name][n] if n < len(columns[name]) else "") for name in FIELDS})
            for n in range(count)]
    return [row for row in rows if row.drug_code.strip()]


def items_from(rows: list[Row]) -> tuple[service.ItemInput, ...]:
    items = []
    for n, row in enumerate(rows, start=1):
        quantity = row.quantity.strip()
        items.append(service.ItemInput(
            drug_code=row.drug_code.strip(), dose=_number(row.dose, float, n, "dose"),
            frequency=row.frequency.strip(), duration_days=_number(row.duration_days, int, n, "duration"),
            route=row.route.strip(), quantity=_number(quantity, int, n, "quantity") if quantity else None,
            instructions=row.instructions.strip()[:200]))
    if not items:
        raise InvalidInput(N_("a prescription has one to five drugs"), details={"field": "items"})
    return tuple(items)


def state_from(form: FormData) -> FormState:
    return FormState(rows=rows_from(form), kind=str(form.get("kind", "chronic")),
                     diagnosis=str(form.get("diagnosis", ""))[:300],
                     refills_allowed=str(form.get("refills_allowed", "0")),
                     valid_days=str(form.get("valid_days", "")), note=str(form.get("note", ""))[:500])


def rows_of(items: list[PrescriptionItem]) -> list[Row]:
    return [Row(i.drug_code, f"{i.dose:g}", i.frequency, str(i.duration_days), i.route, str(i.quantity),
                i.instructions) for i in items]


def padded(rows: list[Row]) -> list[Row]:
    return rows + [Row() for _ in range(max(0, ROWS - len(rows)))]


@dataclass(frozen=True)
class DrugGroup:
    label: str
    drugs: list[Drug]


async def catalogue_groups(session: AsyncSession, *, chronic_only: bool = False) -> list[DrugGroup]:
    groups: dict[str, list[Drug]] = {}
    for drug in await catalogue.search_drugs(session, chronic_only=chronic_only, limit=500):
        groups.setdefault(drug.therapeutic_class, []).append(drug)
    return [DrugGroup(catalogue.class_label(key), drugs) for key, drugs in groups.items()]


def vocabulary() -> dict:
    pick = 1 if catalogue.english() else 0
    return {
        "frequencies": [(f.code, _(f.label)) for f in catalogue.FREQUENCIES.values()],
        "routes": [(code, _(label)) for code, label in catalogue.ROUTES.items()],
        "units": {code: pair[pick] for code, pair in checks.UNITS.items()},
        "english": catalogue.english(),
    }
