"""Starter code lists: the LOINC observations and ICD-10 diagnoses a county network records most.
Entry forms offer these; the API accepts any well-formed code of the right system."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ObservationCode:
    loinc: str
    name: str
    name_en: str
    unit: str  # UCUM
    ref_low: float | None
    ref_high: float | None
    category: str  # FHIR observation-category: vital-signs | laboratory


OBSERVATIONS: dict[str, ObservationCode] = {o.loinc: o for o in [
    ObservationCode("8480-6", "收缩压", "Systolic blood pressure", "mm[Hg]", 90, 139, "vital-signs"),
    ObservationCode("8462-4", "舒张压", "Diastolic blood pressure", "mm[Hg]", 60, 89, "vital-signs"),
    ObservationCode("8867-4", "心率", "Heart rate", "/min", 60, 100, "vital-signs"),
    ObservationCode("8310-5", "体温", "Body temperature", "Cel", 36.0, 37.3, "vital-signs"),
    ObservationCode("9279-1", "呼吸频率", "Respiratory rate", "/min", 12, 20, "vital-signs"),
    ObservationCode("59408-5", "血氧饱和度", "Oxygen saturation (SpO2)", "%", 95, 100, "vital-signs"),
    ObservationCode("29463-7", "体重", "Body weight", "kg", None, None, "vital-signs"),
    ObservationCode("8302-2", "身高", "Body height", "cm", None, None, "vital-signs"),
    ObservationCode("39156-5", "体重指数", "Body mass index", "kg/m2", 18.5, 23.9, "vital-signs"),
    ObservationCode("1558-6", "空腹血糖", "Fasting glucose", "mmol/L", 3.9, 6.1, "laboratory"),
    ObservationCode("4548-4", "糖化血红蛋白", "HbA1c", "%", 4.0, 6.0, "laboratory"),
    ObservationCode("2093-3", "总胆固醇", "Total cholesterol", "mmol/L", None, 5.2, "laboratory"),
    ObservationCode("13457-7", "低密度脂蛋白胆固醇", "LDL cholesterol", "mmol/L", None, 3.4, "laboratory"),
    ObservationCode("2160-0", "血肌酐", "Creatinine", "umol/L", 44, 133, "laboratory"),
    ObservationCode("718-7", "血红蛋白", "Hemoglobin", "g/L", 115, 150, "laboratory"),
    ObservationCode("6690-2", "白细胞计数", "White blood cell count", "10*9/L", 3.5, 9.5, "laboratory"),
    ObservationCode("1742-6", "丙氨酸氨基转移酶", "ALT", "U/L", 7, 40, "laboratory"),
    ObservationCode("2823-3", "血钾", "Potassium", "mmol/L", 3.5, 5.3, "laboratory"),
    ObservationCode("33762-6", "N末端脑钠肽前体", "NT-proBNP", "pg/mL", None, 125, "laboratory"),
]}

# Common ICD-10 codes (China's national clinical edition uses the same WHO stems).
CONDITIONS: dict[str, tuple[str, str]] = {
    "I10": ("原发性高血压", "Essential (primary) hypertension"),
    "E11.9": ("2型糖尿病，无并发症", "Type 2 diabetes mellitus without complications"),
    "I25.1": ("动脉粥样硬化性心脏病", "Atherosclerotic heart disease"),
    "I48.9": ("心房颤动", "Atrial fibrillation, unspecified"),
    "I50.9": ("心力衰竭", "Heart failure, unspecified"),
    "I63.9": ("脑梗死", "Cerebral infarction, unspecified"),
    "J44.9": ("慢性阻塞性肺疾病", "Chronic obstructive pulmonary disease, unspecified"),
    "J18.9": ("肺炎", "Pneumonia, unspecified organism"),
    "N18.3": ("慢性肾脏病3期", "Chronic kidney disease, stage 3"),
    "K74.6": ("肝硬化", "Other and unspecified cirrhosis of liver"),
    "C34.9": ("肺恶性肿瘤", "Malignant neoplasm of bronchus or lung, unspecified"),
    "E78.5": ("高脂血症", "Hyperlipidaemia, unspecified"),
    "M17.9": ("膝关节病", "Gonarthrosis, unspecified"),
    "O24.4": ("妊娠期糖尿病", "Diabetes mellitus arising in pregnancy"),
    "J45.9": ("哮喘", "Asthma, unspecified"),
    "K29.7": ("胃炎", "Gastritis, unspecified"),
    "B18.1": ("慢性乙型病毒性肝炎", "Chronic viral hepatitis B"),
    "F32.9": ("抑郁发作", "Depressive episode, unspecified"),
}

ICD10_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$")
LOINC_PATTERN = re.compile(r"^[0-9]{1,7}-[0-9]$")


def is_icd10(code: str) -> bool:
    return bool(ICD10_PATTERN.match(code))


def is_loinc(code: str) -> bool:
    """Format and LOINC's mod-10 check digit, so typos are caught, not stored."""
    if not LOINC_PATTERN.match(code):
        return False
    digits, check = code.split("-")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return (10 - total % 10) % 10 == int(check)
