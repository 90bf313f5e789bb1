"""The bundled starter catalogue a facility loads with one click (and the demo loads): the tests a
county network books most, with preparation instructions, list prices of a county hospital in
fen, opening hours and the result components of each lab panel (LOINC + UCUM + adult reference
range). Primary-care centres get the part they can perform (no CT or MRI)."""

from __future__ import annotations

from dataclasses import dataclass

from carebridge.records.codes import OBSERVATIONS


@dataclass(frozen=True)
class Component:
    loinc: str
    name: str
    name_en: str
    unit: str  # UCUM
    ref_low: float | None
    ref_high: float | None


# Result components not in the record's starter code list. Lipids, bilirubin, urea and urate are in
# moles per litre (China's units), hence the [Moles/volume] LOINC codes.
_EXTRA = [
    Component("789-8", "红细胞计数", "Red blood cell count", "10*12/L", 3.8, 5.1),
    Component("777-3", "血小板计数", "Platelet count", "10*9/L", 125, 350),
    Component("14927-8", "甘油三酯", "Triglycerides", "mmol/L", None, 1.7),
    Component("14646-4", "高密度脂蛋白胆固醇", "HDL cholesterol", "mmol/L", 1.04, None),
    Component("1920-8", "天门冬氨酸氨基转移酶", "AST", "U/L", 13, 35),
    Component("14631-6", "总胆红素", "Total bilirubin", "umol/L", None, 21),
    Component("22664-7", "尿素", "Urea", "mmol/L", 2.6, 7.5),
    Component("14933-6", "尿酸", "Urate", "umol/L", 150, 420),
]
COMPONENTS: dict[str, Component] = {
    **{o.loinc: Component(o.loinc, o.name, o.name_en, o.unit, o.ref_low, o.ref_high)
       for o in OBSERVATIONS.values() if o.category == "laboratory"},
    **{c.loinc: c for c in _EXTRA},
}


@dataclass(frozen=True)
class Hours:
    weekdays: str
    opens: str  # HH:MM local time
    closes: str
    block_minutes: int
    capacity: int


@dataclass(frozen=True)
class StarterTest:
    code: str
    name: str
    name_en: str
    category: str
    list_price_fen: int
    prep: str
    prep_en: str
    duration_minutes: int
    hours: tuple[Hours, ...]
    modality: str = ""
    body_part: str = ""
    result_codes: tuple[str, ...] = ()
    insured: bool = True
    hospital_only: bool = False
    self_bookable: bool = True


FASTING = ("检查前一晚22点后禁食，可少量饮水；次日早晨空腹抽血。",
           "No food after 10 pm the evening before (small sips of water are fine); blood is drawn in the "
           "morning before breakfast.")
NO_FASTING = ("无需空腹，可正常饮食。", "No fasting needed; eat as usual.")
# Blood is drawn in the morning; the fasting tests must be done before breakfast.
MORNING_DRAW = (Hours("123456", "07:30", "10:30", 30, 12),)
DAY_DRAW = (Hours("123456", "07:30", "11:30", 30, 12), Hours("12345", "14:00", "16:30", 30, 8))
IMAGING_DAY = (Hours("12345", "08:00", "11:30", 30, 2), Hours("12345", "14:00", "17:00", 30, 2))
SCANNER_DAY = (Hours("12345", "08:00", "11:30", 30, 1), Hours("12345", "14:00", "17:00", 30, 1))

STARTER: list[StarterTest] = [
    StarterTest("58410-2", "血常规", "Complete blood count", "lab", 2000, *NO_FASTING, 5, DAY_DRAW,
                result_codes=("6690-2", "789-8", "718-7", "777-3")),
    StarterTest("1558-6", "空腹血糖", "Fasting glucose", "lab", 800, *FASTING, 5, MORNING_DRAW,
                result_codes=("1558-6",)),
    StarterTest("4548-4", "糖化血红蛋白", "HbA1c", "lab", 6000, *NO_FASTING, 5, DAY_DRAW,
                result_codes=("4548-4",)),
    StarterTest("57698-3", "血脂四项", "Lipid panel", "lab", 4000, *FASTING, 5, MORNING_DRAW,
                result_codes=("2093-3", "14927-8", "14646-4", "13457-7")),
    StarterTest("24325-3", "肝功能", "Liver function panel", "lab", 5000, *FASTING, 5, MORNING_DRAW,
                result_codes=("1742-6", "1920-8", "14631-6")),
    StarterTest("24362-6", "肾功能", "Kidney function panel", "lab", 3500, *FASTING, 5, MORNING_DRAW,
                result_codes=("2160-0", "22664-7", "14933-6")),
    StarterTest("33762-6", "N末端脑钠肽前体", "NT-proBNP", "lab", 18000, *NO_FASTING, 5, DAY_DRAW,
                result_codes=("33762-6",), hospital_only=True),
    StarterTest("ECG", "十二导联心电图", "12-lead ECG", "ecg", 2500,
                "检查前静坐休息5分钟；检查前2小时内避免剧烈运动、吸烟和饮用咖啡或浓茶；请穿便于解开的上衣。",
                "Rest for 5 minutes before; no strenuous exercise, smoking, coffee or strong tea in the 2 hours "
                "before; wear a top that opens easily.", 10,
                (Hours("12345", "08:00", "11:30", 30, 3), Hours("12345", "14:00", "17:00", 30, 3)),
                modality="ECG", body_part="HEART"),
    StarterTest("US-ABDOMEN", "腹部超声（肝胆胰脾）", "Abdominal ultrasound (liver, gallbladder, pancreas, spleen)",
                "ultrasound", 12000,
                "检查前空腹8小时以上：前一晚晚餐后禁食，检查当天早晨不吃早餐、不喝水。",
                "Fast for at least 8 hours: nothing after dinner the evening before, no breakfast or drinks on "
                "the morning of the scan.", 15, (Hours("123456", "08:00", "11:30", 30, 2),),
                modality="US", body_part="ABDOMEN"),
    StarterTest("US-THYROID", "甲状腺超声", "Thyroid ultrasound", "ultrasound", 8000,
                "无需空腹；请穿低领上衣，不要佩戴项链。", "No fasting; wear an open-necked top and no necklace.",
                15, IMAGING_DAY, modality="US", body_part="THYROID"),
    StarterTest("US-HEART", "心脏彩超", "Echocardiogram", "ultrasound", 20000,
                "无需空腹；请穿便于解开的上衣。", "No fasting; wear a top that opens easily.", 30, SCANNER_DAY,
                modality="US", body_part="HEART", hospital_only=True),
    StarterTest("DX-CHEST", "胸部X线正位片", "Chest X-ray (PA)", "x_ray", 6000,
                "检查前取下项链、带金属扣的内衣等金属物品；孕妇或可能怀孕者请提前告知工作人员。",
                "Remove metal (necklaces, underwear with metal clasps); tell the staff if you are or may be "
                "pregnant.", 10, IMAGING_DAY, modality="DX", body_part="CHEST"),
    StarterTest("CT-HEAD", "头颅CT平扫", "CT head (non-contrast)", "ct", 28000,
                "取下发夹、耳环等头部金属饰物；孕妇或可能怀孕者请提前告知。",
                "Remove hair clips, earrings and other metal from the head; tell the staff if you are or may be "
                "pregnant.", 15, SCANNER_DAY, modality="CT", body_part="HEAD", hospital_only=True,
                self_bookable=False),
    StarterTest("CT-CHEST", "胸部CT平扫", "CT chest (non-contrast)", "ct", 30000,
                "取下胸部金属物品；检查时按技师指示屏气。",
                "Remove metal from the chest; hold your breath when the radiographer asks.", 15, SCANNER_DAY,
                modality="CT", body_part="CHEST", hospital_only=True, self_bookable=False),
    StarterTest("MR-LSPINE", "腰椎磁共振", "MRI lumbar spine", "mri", 60000,
                "体内有心脏起搏器、金属植入物或支架者请提前告知；检查前取下所有金属物品；检查约20分钟，请保持不动。",
                "Tell the staff beforehand about a pacemaker, metal implants or stents; remove all metal; the scan "
                "takes about 20 minutes lying still.", 30, SCANNER_DAY, modality="MR", body_part="LSPINE",
                hospital_only=True, self_bookable=False),
]


def starter_for(level: int) -> list[StarterTest]:
    """Hospitals (county and above) get everything; township and community centres the part without
    CT, MRI and echo; a village clinic draws blood and records ECGs."""
    if level >= 3:
        return list(STARTER)
    if level == 2:
        return [t for t in STARTER if not t.hospital_only]
    return [t for t in STARTER if not t.hospital_only and t.category in ("lab", "ecg")]
