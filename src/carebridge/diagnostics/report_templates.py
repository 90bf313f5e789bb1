"""Structured report templates per modality and body part: each a list of finding fields (label in
Chinese and English, kind text/choice/number with a UCUM unit), then the impression and free text.

The labels are bilingual data, like the code lists' names: the page shows the reader's language,
the PDF and the signed content carry both. `choose` picks by the order's modality and body part
(DICOM Body Part Examined values, or words in either language) and falls back to a generic one.
Findings are checked here against their template, so the draft and the signed version only ever
hold values a field can take."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

TEXT_MAX = 4000


class Kind(StrEnum):
    text = "text"
    choice = "choice"
    number = "number"


@dataclass(frozen=True)
class Choice:
    value: str
    en: str
    zh: str


@dataclass(frozen=True)
class FieldSpec:
    key: str
    en: str
    zh: str
    kind: Kind = Kind.text
    unit: str = ""  # UCUM
    choices: tuple[Choice, ...] = ()
    low: float | None = None
    high: float | None = None
    required: bool = False

    def label(self, english: bool) -> str:
        return self.en if english else self.zh

    def choice_label(self, value: str, english: bool) -> str:
        found = next((c for c in self.choices if c.value == value), None)
        return (found.en if english else found.zh) if found else value


@dataclass(frozen=True)
class ReportTemplate:
    key: str
    en: str
    zh: str
    modalities: frozenset[str]
    body_parts: tuple[str, ...] = ()  # words matched against the order's body part; () matches any
    fields: tuple[FieldSpec, ...] = ()
    frozen_section: bool | None = None  # pathology: only for (True) or never for (False) frozen sections

    def label(self, english: bool) -> str:
        return self.en if english else self.zh

    def field(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)


def _c(*triples: tuple[str, str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(*t) for t in triples)


def _text(key: str, en: str, zh: str, required: bool = False) -> FieldSpec:
    return FieldSpec(key, en, zh, Kind.text, required=required)


def _num(key: str, en: str, zh: str, unit: str, low: float, high: float) -> FieldSpec:
    return FieldSpec(key, en, zh, Kind.number, unit, low=low, high=high)


def _choice(key: str, en: str, zh: str, choices: tuple[Choice, ...], required: bool = False) -> FieldSpec:
    return FieldSpec(key, en, zh, Kind.choice, choices=choices, required=required)


NONE_PRESENT = _c(("none", "None", "无"), ("present", "Present", "有"))
NORMAL_ABNORMAL = _c(("normal", "Normal", "正常"), ("abnormal", "Abnormal", "异常"))
SIDES = _c(("none", "None", "无"), ("left", "Left", "左侧"), ("right", "Right", "右侧"),
           ("bilateral", "Bilateral", "双侧"))
MARGINS = _c(("not_applicable", "Not applicable", "不适用"), ("clear", "Clear", "阴性"),
             ("involved", "Involved", "阳性"))
IMAGING = frozenset({"CT", "MR", "DX", "CR", "US", "MG"})

CT_HEAD = ReportTemplate("ct_head", "CT head", "头颅CT", frozenset({"CT"}),
                         ("HEAD", "BRAIN", "SKULL", "头", "颅", "脑"), (
    _choice("haemorrhage", "Intracranial haemorrhage", "颅内出血", _c(
        ("none", "None", "无"), ("epidural", "Epidural", "硬膜外"), ("subdural", "Subdural", "硬膜下"),
        ("subarachnoid", "Subarachnoid", "蛛网膜下腔"), ("intraparenchymal", "Intraparenchymal", "脑实质内"),
        ("intraventricular", "Intraventricular", "脑室内")), required=True),
    _num("midline_shift", "Midline shift", "中线移位", "mm", 0, 50),
    _choice("ventricles", "Ventricles", "脑室系统", _c(
        ("normal", "Normal", "正常"), ("dilated", "Dilated", "扩大"), ("compressed", "Compressed", "受压"))),
    _choice("infarct", "Early ischaemic change / infarct", "早期缺血改变/梗死", NONE_PRESENT),
    _choice("fracture", "Skull fracture", "颅骨骨折", NONE_PRESENT),
    _text("other", "Other findings", "其他所见"),
))

CT_CHEST = ReportTemplate("ct_chest", "CT chest", "胸部CT", frozenset({"CT"}),
                          ("CHEST", "THORAX", "LUNG", "胸", "肺"), (
    _text("nodules", "Pulmonary nodules", "肺结节"),
    _num("largest_nodule", "Largest nodule", "最大结节直径", "mm", 0, 300),
    _choice("consolidation", "Consolidation", "实变", NONE_PRESENT),
    _choice("effusion", "Pleural effusion", "胸腔积液", SIDES),
    _choice("pneumothorax", "Pneumothorax", "气胸", SIDES),
    _choice("embolism", "Pulmonary embolism", "肺栓塞", _c(
        ("not_assessed", "Not assessed (no contrast)", "未评估（平扫）"), ("none", "None", "无"),
        ("present", "Present", "有"))),
    _text("mediastinum", "Mediastinum and heart", "纵隔及心脏"),
))

CHEST_XRAY = ReportTemplate("chest_xray", "Chest X-ray", "胸部X线", frozenset({"DX", "CR"}),
                            ("CHEST", "THORAX", "LUNG", "胸", "肺"), (
    _choice("lung_fields", "Lung fields", "肺野", _c(
        ("clear", "Clear", "清晰"), ("opacity", "Opacity", "有阴影"),
        ("interstitial", "Interstitial pattern", "间质改变"))),
    _choice("heart_size", "Heart size", "心影大小", _c(("normal", "Normal", "正常"), ("enlarged", "Enlarged", "增大"))),
    _num("ctr", "Cardiothoracic ratio", "心胸比", "1", 0.2, 0.9),
    _choice("costophrenic", "Costophrenic angles", "肋膈角", _c(
        ("sharp", "Sharp", "锐利"), ("blunted_left", "Blunted left", "左侧变钝"),
        ("blunted_right", "Blunted right", "右侧变钝"), ("blunted_both", "Blunted both", "双侧变钝"))),
    _choice("pneumothorax", "Pneumothorax", "气胸", SIDES),
    _text("devices", "Lines and tubes", "导管及置入物"),
))

US_ABDOMEN = ReportTemplate("us_abdomen", "Abdominal ultrasound", "腹部超声", frozenset({"US"}),
                            ("ABDOMEN", "ABDOMINAL", "LIVER", "腹", "肝"), (
    _text("liver", "Liver", "肝脏"),
    _choice("gallbladder", "Gallbladder", "胆囊", _c(
        ("normal", "Normal", "正常"), ("stones", "Stones", "结石"), ("wall_thickening", "Wall thickening", "壁增厚"),
        ("not_seen", "Not visualised", "未显示"))),
    _num("cbd", "Common bile duct", "胆总管内径", "mm", 0, 30),
    _num("spleen", "Spleen length", "脾脏长径", "cm", 0, 30),
    _text("kidneys", "Kidneys", "双肾"),
    _choice("free_fluid", "Free fluid", "腹腔积液", _c(
        ("none", "None", "无"), ("small", "Small", "少量"), ("moderate", "Moderate", "中量"),
        ("large", "Large", "大量"))),
))

MAMMOGRAPHY = ReportTemplate("mg_breast", "Mammography (BI-RADS)", "乳腺X线摄影（BI-RADS）", frozenset({"MG"}), (), (
    _choice("composition", "Breast composition", "乳腺构成", _c(
        ("a", "a: almost entirely fatty", "a：几乎全部为脂肪"), ("b", "b: scattered fibroglandular", "b：散在纤维腺体"),
        ("c", "c: heterogeneously dense", "c：不均匀致密"), ("d", "d: extremely dense", "d：极度致密"))),
    _choice("side", "Side of findings", "病变侧别", SIDES),
    _text("mass", "Mass", "肿块"),
    _text("calcifications", "Calcifications", "钙化"),
    _choice("birads", "BI-RADS assessment", "BI-RADS分类", _c(
        ("0", "0: incomplete, needs additional imaging", "0类：需进一步影像评估"),
        ("1", "1: negative", "1类：阴性"), ("2", "2: benign", "2类：良性"),
        ("3", "3: probably benign", "3类：可能良性"), ("4A", "4A: low suspicion", "4A类：低度可疑"),
        ("4B", "4B: moderate suspicion", "4B类：中度可疑"), ("4C", "4C: high suspicion", "4C类：高度可疑"),
        ("5", "5: highly suggestive of malignancy", "5类：高度提示恶性"),
        ("6", "6: known biopsy-proven malignancy", "6类：活检证实恶性")), required=True),
))

MR_BRAIN = ReportTemplate("mr_brain", "MR brain", "头颅MR", frozenset({"MR"}), ("HEAD", "BRAIN", "头", "颅", "脑"), (
    _choice("diffusion", "Restricted diffusion", "弥散受限", NONE_PRESENT),
    _choice("haemorrhage", "Haemorrhage", "出血", NONE_PRESENT),
    _text("lesions", "Lesions", "病灶"),
    _text("white_matter", "White matter", "脑白质"),
    _choice("enhancement", "Enhancement", "强化", _c(
        ("not_given", "No contrast given", "未增强"), ("none", "None", "无"), ("present", "Present", "有"))),
    _num("midline_shift", "Midline shift", "中线移位", "mm", 0, 50),
))

RHYTHMS = _c(("sinus", "Sinus rhythm", "窦性心律"), ("sinus_bradycardia", "Sinus bradycardia", "窦性心动过缓"),
             ("sinus_tachycardia", "Sinus tachycardia", "窦性心动过速"),
             ("atrial_fibrillation", "Atrial fibrillation", "心房颤动"),
             ("atrial_flutter", "Atrial flutter", "心房扑动"),
             ("paced", "Paced rhythm", "起搏心律"), ("other", "Other", "其他"))
ECG_12_LEAD = ReportTemplate("ecg_12lead", "12-lead resting ECG", "12导联静息心电图", frozenset({"ECG"}), (), (
    _choice("rhythm", "Rhythm", "心律", RHYTHMS, required=True),
    _num("heart_rate", "Heart rate", "心率", "/min", 10, 350),
    _num("pr", "PR interval", "PR间期", "ms", 40, 600),
    _num("qrs", "QRS duration", "QRS时限", "ms", 40, 300),
    _num("qt", "QT interval", "QT间期", "ms", 150, 800),
    _num("qtc_bazett", "QTc (Bazett)", "QTc（Bazett）", "ms", 150, 800),
    _num("qtc_fridericia", "QTc (Fridericia)", "QTc（Fridericia）", "ms", 150, 800),
    _num("axis", "QRS axis", "QRS电轴", "deg", -180, 180),
    _choice("conduction", "Conduction", "传导", _c(
        ("normal", "Normal", "正常"), ("av1", "First-degree AV block", "一度房室传导阻滞"),
        ("av2", "Second-degree AV block", "二度房室传导阻滞"), ("av3", "Third-degree AV block", "三度房室传导阻滞"),
        ("lbbb", "Left bundle branch block", "左束支传导阻滞"),
        ("rbbb", "Right bundle branch block", "右束支传导阻滞"))),
    _text("st_t", "ST segment and T waves", "ST段及T波"),
))

PATHOLOGY_BIOPSY = ReportTemplate("pathology_biopsy", "Pathology: biopsy", "病理：活检", frozenset({"SM"}), (), (
    _text("specimen", "Specimen", "标本", required=True),
    _text("gross", "Gross description", "大体所见"),
    _text("microscopic", "Microscopic description", "镜下所见"),
    _num("tumour_size", "Tumour size", "肿瘤大小", "mm", 0, 500),
    _text("grade", "Histological grade", "组织学分级"),
    _choice("margins", "Margins", "切缘", MARGINS),
), frozen_section=False)

FROZEN_SECTION = ReportTemplate("pathology_frozen", "Pathology: frozen section", "病理：术中冰冻", frozenset({"SM"}),
                                (), (
    _text("specimen", "Specimen", "标本", required=True),
    _choice("frozen_diagnosis", "Frozen-section diagnosis", "冰冻诊断", _c(
        ("benign", "Benign", "良性"), ("malignant", "Malignant", "恶性"), ("atypical", "Atypical", "不典型"),
        ("deferred", "Deferred to paraffin sections", "待石蜡切片")), required=True),
    _choice("margins", "Margins", "切缘", MARGINS),
), frozen_section=True)

GENERIC = ReportTemplate("generic", "General report", "通用报告", IMAGING | {"ECG", "SM"}, (), (
    _text("findings", "Findings", "所见"),
))

TEMPLATES: dict[str, ReportTemplate] = {t.key: t for t in (
    CT_HEAD, CT_CHEST, CHEST_XRAY, US_ABDOMEN, MAMMOGRAPHY, MR_BRAIN, ECG_12_LEAD, PATHOLOGY_BIOPSY, FROZEN_SECTION,
    GENERIC)}


def _matches_body_part(template: ReportTemplate, body_part: str) -> bool:
    if not template.body_parts:
        return True
    words = body_part.upper()
    return bool(words) and any(w in words for w in template.body_parts)


def choose(modality: str, body_part: str = "", frozen_section: bool = False) -> ReportTemplate:
    """The most specific template for the order: modality first, then body part; generic otherwise.
    A template without body parts (mammography, ECG, pathology) fits its whole modality."""
    for template in TEMPLATES.values():
        if template is GENERIC or modality not in template.modalities:
            continue
        if template.frozen_section is not None and template.frozen_section != frozen_section:
            continue
        if _matches_body_part(template, body_part):
            return template
    return GENERIC


def for_modality(modality: str) -> list[ReportTemplate]:
    """Templates a reader may switch to for this modality (a mislabelled body part happens)."""
    return [t for t in TEMPLATES.values() if modality in t.modalities]


def template(key: str, modality: str) -> ReportTemplate:
    found = TEMPLATES.get(key)
    if found is None or modality not in found.modalities:
        raise InvalidInput(N_("this report template does not fit the order's modality"),
                           details={"field": "template_key"})
    return found


def _number(spec: FieldSpec, raw: object) -> int | float:
    if isinstance(raw, bool):
        raise ValueError
    value = float(str(raw).strip().replace(",", ".")) if not isinstance(raw, int | float) else float(raw)
    if not math.isfinite(value) or (spec.low is not None and value < spec.low) or (
            spec.high is not None and value > spec.high):
        raise ValueError
    # One spelling per value (5, not 5.0), so the signed JSON of a number never depends on how it was typed.
    value = round(value, 3)
    return int(value) if value.is_integer() else value


def check_value(spec: FieldSpec, raw: object) -> str | int | float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if spec.kind == Kind.number:
        try:
            return _number(spec, raw)
        except (TypeError, ValueError):
            raise InvalidInput(N_("give a number in the field's range"), details={
                "field": f"findings.{spec.key}", "low": spec.low, "high": spec.high, "unit": spec.unit}) from None
    text = str(raw).strip()
    if spec.kind == Kind.choice and text not in {c.value for c in spec.choices}:
        raise InvalidInput(N_("choose one of the field's options"), details={
            "field": f"findings.{spec.key}", "options": [c.value for c in spec.choices]})
    if len(text) > TEXT_MAX:
        raise InvalidInput(N_("the text is too long (at most 4000 characters)"),
                           details={"field": f"findings.{spec.key}"})
    return text


def check_findings(tmpl: ReportTemplate, raw: dict) -> dict:
    """Only the template's fields, each a value the field can take; empty ones are left out."""
    unknown = sorted(set(raw) - {f.key for f in tmpl.fields})
    if unknown:
        raise InvalidInput(N_("these findings are not part of the report template"),
                           details={"field": "findings", "unknown": unknown})
    checked = {}
    for spec in tmpl.fields:
        value = check_value(spec, raw.get(spec.key))
        if value is not None:
            checked[spec.key] = value
    return checked


def missing_required(tmpl: ReportTemplate, findings: dict) -> list[str]:
    return [f.key for f in tmpl.fields if f.required and findings.get(f.key) in (None, "")]


def display_value(spec: FieldSpec | None, value: object, english: bool) -> str:
    if spec is None:
        return str(value)
    if spec.kind == Kind.choice:
        return spec.choice_label(str(value), english)
    if spec.kind == Kind.number and spec.unit and spec.unit != "1":
        return f"{value} {spec.unit}"
    return str(value)
