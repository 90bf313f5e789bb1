import datetime as dt

import pytest

from carebridge.errors import InvalidInput
from carebridge.records.identifiers import check_national_id, check_phone, mask_phone, national_id_check_char


def test_check_character_follows_gb_11643():
    # The standard's worked example: 11010519491231002X.
    assert national_id_check_char("11010519491231002") == "X"
    assert check_national_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("raw", ["110105194912310021", "11010519491231002", "1101051949123100XX", "abc"])
def test_wrong_check_digit_or_shape_is_refused(raw):
    with pytest.raises(InvalidInput) as caught:
        check_national_id(raw)
    assert caught.value.details == {"field": "national_id"}


def test_impossible_birth_date_inside_the_id_is_refused():
    first17 = "11010519990230001"  # 30 February
    with pytest.raises(InvalidInput, match="impossible birth date"):
        check_national_id(first17 + national_id_check_char(first17))


def test_id_must_agree_with_the_form_birth_date_and_sex():
    nid = "11010519491231002X"  # 17th digit 2: female
    assert check_national_id(nid, birth_date=dt.date(1949, 12, 31), sex="female") == nid
    with pytest.raises(InvalidInput, match="birth date"):
        check_national_id(nid, birth_date=dt.date(1949, 12, 30))
    with pytest.raises(InvalidInput, match="sex"):
        check_national_id(nid, sex="male")
    assert check_national_id(nid, sex="unknown") == nid


def test_phone_is_normalised_and_checked():
    assert check_phone("138-0013 8000") == "13800138000"
    assert check_phone("") == ""
    assert check_phone("+86 (10) 6512-3456") == "+861065123456"
    with pytest.raises(InvalidInput):
        check_phone("12ab")
    assert mask_phone("13800138000") == "138****8000"
