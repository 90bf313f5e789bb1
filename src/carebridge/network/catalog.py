"""The standard department list every facility starts from (editable per deployment)."""

from __future__ import annotations

# (code, 中文, English)
STANDARD_DEPARTMENTS: list[tuple[str, str, str]] = [
    ("internal_medicine", "内科", "Internal medicine"),
    ("cardiology", "心血管内科", "Cardiology"),
    ("neurology", "神经内科", "Neurology"),
    ("respiratory", "呼吸内科", "Respiratory medicine"),
    ("endocrinology", "内分泌科", "Endocrinology"),
    ("gastroenterology", "消化内科", "Gastroenterology"),
    ("nephrology", "肾内科", "Nephrology"),
    ("radiology", "放射科", "Radiology"),
    ("ultrasound", "超声科", "Ultrasound"),
    ("pathology", "病理科", "Pathology"),
    ("ecg", "心电图室/电生理", "ECG / electrophysiology"),
    ("pediatrics", "儿科", "Pediatrics"),
    ("obstetrics", "妇产科", "Obstetrics and gynecology"),
    ("surgery", "普外科", "General surgery"),
    ("orthopedics", "骨科", "Orthopedics"),
    ("icu", "重症医学科", "Intensive care (ICU)"),
    ("infectious_disease", "感染科", "Infectious disease"),
    ("oncology", "肿瘤科", "Oncology"),
    ("emergency", "急诊科", "Emergency medicine"),
    ("general_practice", "全科医学科", "General practice"),
    ("rehabilitation", "康复医学科", "Rehabilitation"),
    ("dermatology", "皮肤科", "Dermatology"),
    ("ophthalmology", "眼科", "Ophthalmology"),
    ("traditional_chinese_medicine", "中医科", "Traditional Chinese medicine"),
    ("nursing", "护理部", "Nursing"),
    ("pharmacy", "药剂科", "Pharmacy"),
    ("laboratory", "检验科", "Laboratory medicine"),
]


async def department_names(session) -> dict[int, str]:  # noqa: ANN001 - an AsyncSession
    """Every department's name in the reader's language, by id (for pages that name specialties)."""
    from sqlalchemy import select

    from carebridge.kit import i18n
    from carebridge.network.models import Department

    english = i18n.get_locale() == "en"
    rows = (await session.scalars(select(Department))).all()
    return {d.id: (d.name_en or d.name) if english else d.name for d in rows}
