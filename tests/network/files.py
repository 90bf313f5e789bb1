"""Import files for the tests: a deterministic tiered network of any size, as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json

HEADER = ["code", "name", "name_en", "tier", "parent_codes", "province_code", "city_code", "county_code",
          "address", "latitude", "longitude", "phone", "email", "require_mfa", "departments",
          "admin_username", "admin_name", "admin_email"]

# (tier, how many, departments)
SHAPE = [
    ("national_center", 1, "internal_medicine;cardiology;radiology;pathology;ecg"),
    ("provincial_hospital", 2, "internal_medicine;cardiology;radiology;pathology"),
    ("city_hospital", 4, "internal_medicine;radiology;ecg"),
    ("county_hospital", 8, "internal_medicine;radiology"),
    ("township_center", 32, "general_practice;nursing"),
]


def network_rows(total: int, prefix: str = "T") -> list[dict[str, str]]:
    """`total` facilities: national -> provincial -> city -> county -> township -> villages."""
    rows: list[dict[str, str]] = []
    previous: list[str] = []
    for tier, count, departments in SHAPE:
        codes = []
        for i in range(count):
            code = f"{prefix}{tier[:3].upper()}{i:04d}"
            parent = previous[i % len(previous)] if previous else ""
            rows.append(_row(code, tier, parent, departments, len(rows)))
            codes.append(code)
        previous = codes
    for i in range(total - len(rows)):
        rows.append(_row(f"{prefix}VIL{i:05d}", "village_clinic", previous[i % len(previous)], "general_practice",
                         len(rows)))
    return rows[:total]


def _row(code: str, tier: str, parent: str, departments: str, n: int) -> dict[str, str]:
    return {"code": code, "name": f"测试机构{n}", "name_en": f"Test facility {n}", "tier": tier,
            "parent_codes": parent, "province_code": "420000", "city_code": "420100", "county_code": "420102",
            "address": f"{n} Test Road", "latitude": f"{30 + n % 100 / 100:.4f}",
            "longitude": f"{114 + n % 50 / 100:.4f}", "phone": "027-8888 0000", "email": "",
            "require_mfa": "yes" if n % 2 else "no", "departments": departments,
            "admin_username": f"admin.{code.lower()}", "admin_name": "", "admin_email": ""}


def to_csv(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_json(rows: list[dict[str, str]]) -> bytes:
    items = []
    for row in rows:
        item = {k: v for k, v in row.items() if v != ""}
        item["parent_codes"] = [p for p in row["parent_codes"].split(";") if p]
        item["departments"] = row["departments"].split(";")
        if "latitude" in item:
            item["latitude"], item["longitude"] = float(item["latitude"]), float(item["longitude"])
        item["require_mfa"] = row["require_mfa"] == "yes"
        items.append(item)
    return json.dumps(items, ensure_ascii=False, indent=1).encode("utf-8")
