"""Checks on the identifiers a patient is found by: the resident ID number and the phone number."""

from __future__ import annotations

import datetime as dt
import re

from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

# GB 11643-1999: 17 weighted digits, ISO 7064 MOD 11-2 check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
NATIONAL_ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
_PHONE_PATTERN = re.compile(r"^\+?[0-9]{7,15}$")
_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def national_id_check_char(first17: str) -> str:
    total = sum(int(ch) * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def looks_like_national_id(text: str) -> bool:
    return bool(NATIONAL_ID_PATTERN.match(text.strip().upper()))


def national_id_birth_date(national_id: str) -> dt.date | None:
    try:
        return dt.date(int(national_id[6:10]), int(national_id[10:12]), int(national_id[12:14]))
    except ValueError:
        return None


def check_national_id(raw: str, *, birth_date: dt.date | None = None, sex: str | None = None) -> str:
    """The normalised ID, or InvalidInput naming what is wrong. The ID encodes the birth date and
    (17th digit, odd = male) the sex, so a mismatch with the form is a typo somewhere."""
    value = raw.strip().upper()
    if not NATIONAL_ID_PATTERN.match(value):
        raise InvalidInput(N_("the national ID must be 17 digits followed by a digit or X"),
                           details={"field": "national_id"})
    if national_id_check_char(value[:17]) != value[17]:
        raise InvalidInput(N_("the national ID check digit is wrong; please re-check the number"),
                           details={"field": "national_id"})
    encoded = national_id_birth_date(value)
    if encoded is None:
        raise InvalidInput(N_("the national ID contains an impossible birth date"),
                           details={"field": "national_id"})
    if birth_date is not None and encoded != birth_date:
        raise InvalidInput(N_("the birth date does not match the one in the national ID"),
                           details={"field": "birth_date", "national_id_birth_date": encoded.isoformat()})
    encoded_sex = "male" if int(value[16]) % 2 else "female"
    if sex in ("male", "female") and sex != encoded_sex:
        raise InvalidInput(N_("the sex does not match the one in the national ID"),
                           details={"field": "sex"})
    return value


def normalise_phone(raw: str) -> str:
    return _PHONE_SEPARATORS.sub("", raw or "")


def check_phone(raw: str) -> str:
    """Empty is allowed (not every patient has one); otherwise 7-15 digits, optional leading +."""
    value = normalise_phone(raw)
    if value and not _PHONE_PATTERN.match(value):
        raise InvalidInput(N_("the phone number must be 7 to 15 digits"), details={"field": "phone"})
    return value


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
