"""The listener's remembered `UID.is_valid` (listener_processes.remember_uid_validity) answers as
pydicom's own does, for UIDs asked once and asked again."""

import pytest
from pydicom.uid import UID

from carebridge.diagnostics.imaging.listener_processes import remember_uid_validity

UIDS = ["1.2.840.10008.1.2.1", "1.2.840.10008.5.1.4.1.1.2", "1.2.3", "0", "1.02.3", "1..2", "1.2.", ".1.2",
        "1.2.a", "1.2.3 ", "", "1." + "2" * 62, "1." + "2" * 63, "2.25." + "9" * 39]


@pytest.fixture
def remembered(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """pydicom's own answers; then the remembered property in place (pydicom's comes back after the test)."""
    monkeypatch.setattr(UID, "is_valid", UID.is_valid)
    original = {text: UID(text).is_valid for text in UIDS}
    remember_uid_validity()
    return original


def test_remembered_validity_answers_as_pydicom(remembered: dict[str, bool]) -> None:
    remembered_answers = UID.is_valid.fget
    for _ in range(2):  # the second round comes from what was remembered
        assert {text: UID(text).is_valid for text in UIDS} == remembered
    assert remembered_answers.cache_info().hits >= len(UIDS)
    assert remembered["1.2.840.10008.1.2.1"] and not remembered["1.02.3"] and not remembered["1." + "2" * 63]


def test_remembering_twice_keeps_one_layer(remembered: dict[str, bool]) -> None:
    replaced = UID.is_valid
    remember_uid_validity()
    assert UID.is_valid is replaced
