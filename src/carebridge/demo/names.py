"""Fictional places and people, each with its Chinese name and pinyin, and valid national IDs.

Every place here is invented. Region codes sit in real-looking provincial ranges so national IDs
built from them look like what clerks type every day.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    code: str  # region code (GB/T 2260 shape)
    zh: str
    en: str
    lat: float
    lon: float


PROVINCES = [
    Place("410000", "中原省", "Zhongyuan", 34.76, 113.65),
    Place("420000", "伏牛省", "Funiu", 33.00, 112.53),
]

# Two cities per province, in PROVINCES order.
CITIES = [
    Place("410100", "嵩阳市", "Songyang", 34.75, 113.62),
    Place("410300", "河洛市", "Heluo", 34.62, 112.45),
    Place("420100", "白河市", "Baihe", 33.00, 112.53),
    Place("420300", "淮源市", "Huaiyuan", 32.13, 114.07),
]

# Two counties per city, in CITIES order.
COUNTIES = [
    ("410121", "青石县", "Qingshi"), ("410122", "柳林县", "Liulin"),
    ("410321", "枣园县", "Zaoyuan"), ("410322", "麦田县", "Maitian"),
    ("420121", "桃溪县", "Taoxi"), ("420122", "松岗县", "Songgang"),
    ("420321", "泉水县", "Quanshui"), ("420322", "荷塘县", "Hetang"),
]

# Three per county; the third of each county is an urban community health centre.
TOWNSHIPS = [
    ("石桥", "Shiqiao"), ("杨庄", "Yangzhuang"), ("新华", "Xinhua"),
    ("李集", "Liji"), ("王店", "Wangdian"), ("长乐", "Changle"),
    ("高庙", "Gaomiao"), ("马村", "Macun"), ("安平", "Anping"),
    ("白沙", "Baisha"), ("黄岭", "Huangling"), ("太平", "Taiping"),
    ("东关", "Dongguan"), ("西河", "Xihe"), ("永和", "Yonghe"),
    ("南岗", "Nangang"), ("北坡", "Beipo"), ("兴隆", "Xinglong"),
    ("双井", "Shuangjing"), ("九龙", "Jiulong"), ("福田", "Futian"),
    ("三里河", "Sanlihe"), ("八里桥", "Baliqiao"), ("红旗", "Hongqi"),
]

# Two per township, in TOWNSHIPS order.
VILLAGES = [
    ("张庄", "Zhangzhuang"), ("刘湾", "Liuwan"), ("陈岗", "Chengang"), ("赵楼", "Zhaolou"),
    ("孙寨", "Sunzhai"), ("周营", "Zhouying"), ("吴桥", "Wuqiao"), ("郑坡", "Zhengpo"),
    ("冯庄", "Fengzhuang"), ("褚集", "Chuji"), ("卫村", "Weicun"), ("蒋湾", "Jiangwan"),
    ("沈庄", "Shenzhuang"), ("韩岗", "Hangang"), ("杨湾", "Yangwan"), ("朱楼", "Zhulou"),
    ("秦寨", "Qinzhai"), ("尤庄", "Youzhuang"), ("许营", "Xuying"), ("何湾", "Hewan"),
    ("施庄", "Shizhuang"), ("孔集", "Kongji"), ("曹庄", "Caozhuang"), ("严湾", "Yanwan"),
    ("华村", "Huacun"), ("金岗", "Jingang"), ("魏楼", "Weilou"), ("陶庄", "Taozhuang"),
    ("姜寨", "Jiangzhai"), ("谢营", "Xieying"), ("邹湾", "Zouwan"), ("喻庄", "Yuzhuang"),
    ("柏村", "Baicun"), ("水坡", "Shuipo"), ("窦楼", "Doulou"), ("云湾", "Yunwan"),
    ("苏集", "Suji"), ("潘岗", "Pangang"), ("葛庄", "Gezhuang"), ("奚村", "Xicun"),
    ("范楼", "Fanlou"), ("彭寨", "Pengzhai"), ("郎庄", "Langzhuang"), ("鲁湾", "Luwan"),
    ("昌村", "Changcun"), ("马坡", "Mapo"), ("苗集", "Miaoji"), ("方营", "Fangying"),
]

STREETS = [("人民路", "Renmin Rd"), ("解放路", "Jiefang Rd"), ("建设路", "Jianshe Rd"),
           ("文化路", "Wenhua Rd"), ("健康路", "Jiankang Rd"), ("中原路", "Zhongyuan Rd")]

SURNAMES = [
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
    ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu"), ("徐", "Xu"), ("孙", "Sun"),
    ("马", "Ma"), ("朱", "Zhu"), ("胡", "Hu"), ("郭", "Guo"), ("何", "He"), ("高", "Gao"),
    ("林", "Lin"), ("罗", "Luo"), ("郑", "Zheng"), ("梁", "Liang"), ("谢", "Xie"), ("宋", "Song"),
    ("唐", "Tang"), ("韩", "Han"), ("冯", "Feng"), ("邓", "Deng"), ("曹", "Cao"), ("彭", "Peng"),
    ("田", "Tian"), ("董", "Dong"), ("袁", "Yuan"), ("潘", "Pan"), ("蒋", "Jiang"), ("蔡", "Cai"),
    ("魏", "Wei"), ("薛", "Xue"), ("闫", "Yan"), ("段", "Duan"),
]

GIVEN_MALE = [
    ("建", "jian"), ("国", "guo"), ("伟", "wei"), ("强", "qiang"), ("军", "jun"), ("明", "ming"),
    ("勇", "yong"), ("涛", "tao"), ("斌", "bin"), ("磊", "lei"), ("志", "zhi"), ("刚", "gang"),
    ("海", "hai"), ("鹏", "peng"), ("峰", "feng"), ("文", "wen"), ("德", "de"), ("平", "ping"),
    ("华", "hua"), ("宇", "yu"), ("浩", "hao"), ("俊", "jun"), ("成", "cheng"), ("东", "dong"),
]
GIVEN_FEMALE = [
    ("丽", "li"), ("芳", "fang"), ("娟", "juan"), ("敏", "min"), ("静", "jing"), ("霞", "xia"),
    ("秀", "xiu"), ("英", "ying"), ("玲", "ling"), ("红", "hong"), ("梅", "mei"), ("燕", "yan"),
    ("雪", "xue"), ("慧", "hui"), ("琳", "lin"), ("婷", "ting"), ("兰", "lan"), ("萍", "ping"),
    ("佳", "jia"), ("欣", "xin"), ("月", "yue"), ("云", "yun"), ("琴", "qin"), ("洁", "jie"),
]


@dataclass(frozen=True)
class PersonName:
    zh: str
    en: str  # pinyin, family name first as Chinese usage has it
    family_en: str
    given_en: str


def person_name(rng: random.Random, sex: str) -> PersonName:
    family_zh, family_en = rng.choice(SURNAMES)
    pool = GIVEN_MALE if sex == "male" else GIVEN_FEMALE
    parts = [rng.choice(pool) for _ in range(1 if rng.random() < 0.3 else 2)]
    given_zh = "".join(z for z, _ in parts)
    given_en = "".join(p for _, p in parts).capitalize()
    return PersonName(family_zh + given_zh, f"{family_en} {given_en}", family_en, given_en)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def national_id(region: str, birth: dt.date, serial: int, sex: str) -> str:
    """18-digit resident ID; the serial's last digit is odd for men and even for women."""
    serial = serial % 500 * 2 + (1 if sex == "male" else 0)
    first17 = f"{region}{birth:%Y%m%d}{serial:03d}"
    return first17 + id_check_digit(first17)


def is_valid_national_id(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return id_check_digit(value[:17]) == value[17].upper()


def mobile_phone(rng: random.Random) -> str:
    return rng.choice(["13", "15", "18", "17", "19"]) + f"{rng.randrange(10**9):09d}"
