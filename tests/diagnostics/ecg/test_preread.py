"""The automatic pre-read measured on real recordings and checked against independent numbers: the
ECG cart's own measurements stored in the DICOM file and the aECG example, the reference beat
annotations of MIT-BIH records, and labelled AF/normal records of the PhysioNet/CinC 2017 set.
The bounds are what two measuring programs usually agree within, not the values we happen to get."""

from __future__ import annotations

import math

import numpy as np
import pytest
import wfdb
import wfdb.processing

from carebridge.diagnostics.ecg import qrs, read_aecg, read_dicom, read_wfdb
from carebridge.diagnostics.ecg.preread import preread
from carebridge.diagnostics.ecg.tracing import build
from tests.diagnostics.ecg import samples


def _cinc(record: str) -> dict:
    files = [read_wfdb.NamedFile(name, data) for name, data in samples.cinc_parts(record)]
    return preread(read_wfdb.read(files, 10**8))


def _mitdb(record: str, start_s: float, seconds: float) -> dict:
    source = wfdb.rdrecord(str(samples.MITDB / record), sampfrom=int(start_s * 360),
                           sampto=int((start_s + seconds) * 360))
    return preread(build(source.sig_name, [source.p_signal[:, k] for k in range(source.n_sig)], source.fs, "wfdb"))


def test_the_dicom_ecg_agrees_with_the_carts_own_measurements():
    cart = samples.cart_measurements()
    result = preread(read_dicom.read(samples.dicom_ecg()))
    m = result["measurements"]
    assert abs(result["heart_rate_bpm"] - 60000 / cart["RR Interval"]) <= 2
    assert abs(result["rr_ms"]["mean"] - cart["RR Interval"]) <= 15
    assert abs(m["pr_ms"] - cart["PR Interval"]) <= 20
    assert abs(m["qrs_ms"] - cart["QRS Duration"]) <= 15
    assert abs(m["qt_ms"] - cart["QT Interval"]) <= 25
    assert abs(m["axis_deg"] - cart["QRS Axis"]) <= 20
    assert "sinus_rhythm" in result["flags"] and "suspected_af" not in result["flags"]
    assert result["quality"]["ok"] and not result["unmeasured"]


def test_the_aecg_example_agrees_with_its_annotations():
    reference = samples.aecg_measurements()
    result = preread(read_aecg.read(samples.aecg()))
    m = result["measurements"]
    assert abs(m["pr_ms"] - reference["TIME_PD_PR"]) <= 20
    assert abs(m["qrs_ms"] - reference["TIME_PD_QRS"]) <= 15
    assert abs(m["qt_ms"] - reference["TIME_PD_QT"]) <= 25
    assert abs(m["axis_deg"] - reference["ANGLE_QRS_FRONT"]) <= 20
    assert {"sinus_rhythm", "left_axis_deviation"} <= set(result["flags"])


@pytest.mark.parametrize(("record", "start"), [("100", 300), ("103", 600), ("119", 60), ("208", 900)])
def test_heart_rate_matches_the_annotated_beats_of_mitdb(record, start):
    beats = samples.mitdb_beats(record, start, 60)
    reference = 60 * 360 / float(np.mean(np.diff(beats)))
    result = _mitdb(record, start, 60)
    assert abs(result["heart_rate_bpm"] - reference) <= 2


def test_qtc_follows_bazett_and_fridericia_from_the_reads_own_qt_and_rr():
    for result in (preread(read_dicom.read(samples.dicom_ecg())), preread(read_aecg.read(samples.aecg())),
                   _cinc("A00007")):
        m, rr = result["measurements"], result["rr_ms"]["mean"] / 1000
        assert abs(m["qtc_bazett_ms"] - m["qt_ms"] / math.sqrt(rr)) <= 1
        assert abs(m["qtc_fridericia_ms"] - m["qt_ms"] / rr ** (1 / 3)) <= 1
        assert 300 <= m["qtc_bazett_ms"] <= 500


@pytest.mark.parametrize("record", ["A00009", "A00015", "A00054", "A00090"])
def test_known_af_records_are_flagged(record):
    result = _cinc(record)
    assert "suspected_af" in result["flags"] and "sinus_rhythm" not in result["flags"]
    # an AF tracing has no PR interval and no single QT to correct: unmeasured, with the reason
    assert result["measurements"]["pr_ms"] is None and result["unmeasured"]["pr_ms"]


@pytest.mark.parametrize("record", ["A00001", "A00007", "A00011", "A00016"])
def test_normal_records_are_not_flagged(record):
    result = _cinc(record)
    assert "suspected_af" not in result["flags"] and "sinus_rhythm" in result["flags"]


def test_af_in_mitdb_is_flagged_and_sinus_with_ventricular_ectopics_is_not():
    assert "suspected_af" in _mitdb("201", 60, 30)["flags"]    # inside (AFIB episodes of the annotations
    assert "suspected_af" in _mitdb("219", 400, 30)["flags"]
    assert "suspected_af" not in _mitdb("119", 0, 30)["flags"]  # sinus rhythm with ventricular bigeminy


def test_r_peaks_of_five_minutes_of_mitdb_100_match_the_annotations():
    record = wfdb.rdrecord(str(samples.MITDB / "100"), sampto=300 * 360)
    found = qrs.detect_r_peaks(record.p_signal[:, 0], record.fs)
    reference = samples.mitdb_beats("100", 0, 300)
    reference = reference[(reference > 360) & (reference < 299 * 360)]
    found = found[(found > 360) & (found < 299 * 360)]
    matched = wfdb.processing.compare_annotations(reference, found, int(0.15 * 360))
    assert matched.sensitivity >= 0.995 and matched.positive_predictivity >= 0.995


def _dicom_leads() -> tuple[list[str], np.ndarray]:
    tracing = read_dicom.read(samples.dicom_ecg())
    return list(tracing.leads), tracing.signal.astype(np.float64)


def test_a_flat_lead_and_a_clipped_lead_are_named_and_measuring_goes_on():
    names, signal = _dicom_leads()
    signal[:, names.index("V3")] = 0.0
    v5 = signal[:, names.index("V5")]
    signal[:, names.index("V5")] = np.clip(v5, -0.3, 0.3)
    result = preread(build(names, list(signal.T), 1000.0, "csv"))
    warnings = {w["code"]: w.get("leads") for w in result["quality"]["warnings"]}
    assert warnings["flat_lead"] == ["V3"] and warnings["saturation"] == ["V5"]
    assert "signal_quality" in result["flags"] and abs(result["heart_rate_bpm"] - 61) <= 2


def test_noise_and_wander_are_warned_about():
    names, signal = _dicom_leads()
    rng = np.random.default_rng(7)
    t = np.arange(signal.shape[0]) / 1000
    signal[:, names.index("V1")] += rng.normal(0, 0.15, signal.shape[0])  # muscle tremor
    signal[:, names.index("V2")] += 1.0 * np.sin(2 * np.pi * 0.25 * t)   # breathing baseline
    result = preread(build(names, list(signal.T), 1000.0, "csv"))
    warnings = {w["code"]: w.get("leads") for w in result["quality"]["warnings"]}
    assert "V1" in warnings["noise"] and "V2" in warnings["baseline_wander"]


def test_noise_alone_gives_no_numbers():
    rng = np.random.default_rng(3)
    result = preread(build(["I", "II"], [rng.normal(0, 0.01, 5000), rng.normal(0, 0.01, 5000)], 500.0, "csv"))
    assert all(v is None for v in result["measurements"].values())
    assert result["heart_rate_bpm"] is None or "signal_quality" in result["flags"]
