"""DICOM waveform ECGs (PS3.3 A.34: 12-lead, general and ambulatory ECG) into a Tracing.

The rhythm multiplex group is read (PS3.3 C.10.9: a cart also stores a median beat, which is a
derived 1.2 s template, not the recording). `Dataset.waveform_array` applies each channel's
sensitivity, correction factor and baseline, giving values in the channel's sensitivity unit."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from carebridge.diagnostics.dicom_guard import is_deflated
from carebridge.diagnostics.ecg.tracing import Tracing, build
from carebridge.diagnostics.ecg.when import device_time
from carebridge.errors import InvalidInput
from carebridge.kit.i18n import N_

ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG Waveform Storage",
}
# Sensitivity units (UCUM) to millivolts.
TO_MV = {"uV": 1e-3, "mV": 1.0, "V": 1e3, "nV": 1e-6}
# SCP-ECG lead codes (CID 3001) for files whose code meanings are not the plain lead names.
SCPECG_LEADS = {"5.6.3-9-1": "I", "5.6.3-9-2": "II", "5.6.3-9-61": "III", "5.6.3-9-62": "aVR",
                "5.6.3-9-63": "aVL", "5.6.3-9-64": "aVF", "5.6.3-9-3": "V1", "5.6.3-9-4": "V2",
                "5.6.3-9-5": "V3", "5.6.3-9-6": "V4", "5.6.3-9-7": "V5", "5.6.3-9-8": "V6"}
MDC_LEADS = {"2:1": "I", "2:2": "II", "2:61": "III", "2:62": "aVR", "2:63": "aVL", "2:64": "aVF",
             "2:3": "V1", "2:4": "V2", "2:5": "V3", "2:6": "V4", "2:7": "V5", "2:8": "V6"}


def looks_like(data: bytes) -> bool:
    return data[128:132] == b"DICM"


def is_ecg_class(sop_class_uid: str) -> bool:
    return sop_class_uid in ECG_SOP_CLASSES


def read(data: bytes) -> Tracing:
    if is_deflated(data):
        raise InvalidInput(N_("deflated DICOM is not accepted; send the file uncompressed"), details={"field": "file"})
    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InvalidInput(N_("the file is not a readable DICOM file"), details={"field": "file",
                                                                                "reason": str(exc)[:200]}) from exc
    if str(ds.get("SOPClassUID", "")) not in ECG_SOP_CLASSES:
        raise InvalidInput(N_("this DICOM file is not an ECG waveform"),
                           details={"field": "file", "sop_class": str(ds.get("SOPClassUID", ""))})
    try:
        index, group = _rhythm_group(ds)
        values = ds.waveform_array(index)
        leads, columns = _channels(group, values)
        rate = float(group.SamplingFrequency)
    except InvalidInput:
        raise
    except Exception as exc:  # a damaged waveform module surfaces as any of pydicom's or numpy's errors
        raise InvalidInput(N_("the ECG waveform in this DICOM file cannot be read"),
                           details={"field": "file", "reason": str(exc)[:200]}) from exc
    return build(leads, columns, rate, "dicom", start=_start(ds), patient_key=str(ds.get("PatientID", "")),
                 patient_name=str(ds.get("PatientName", "")), accession_number=str(ds.get("AccessionNumber", "")),
                 study_uid=str(ds.get("StudyInstanceUID", "")))


def _rhythm_group(ds: pydicom.Dataset) -> tuple[int, pydicom.Dataset]:
    groups = list(ds.get("WaveformSequence", []))
    if not groups:
        raise InvalidInput(N_("the ECG waveform in this DICOM file cannot be read"),
                           details={"field": "file", "reason": "no WaveformSequence"})
    for index, group in enumerate(groups):
        if str(group.get("MultiplexGroupLabel", "")).upper() == "RHYTHM":
            return index, group
    longest = max(range(len(groups)), key=lambda k: int(groups[k].NumberOfWaveformSamples))
    return longest, groups[longest]


def _channels(group: pydicom.Dataset, values: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    leads, columns = [], []
    for k, channel in enumerate(group.ChannelDefinitionSequence):
        source = channel.ChannelSourceSequence[0]
        code = str(source.get("CodeValue", ""))
        name = SCPECG_LEADS.get(code) or MDC_LEADS.get(code) or str(source.get("CodeMeaning", f"lead{k + 1}"))
        units = channel.get("ChannelSensitivityUnitsSequence")
        unit = str(units[0].CodeValue) if units else "uV"
        if unit not in TO_MV:
            raise InvalidInput(N_("an ECG channel is not in volts"), details={"field": "file", "unit": unit})
        leads.append(name)
        columns.append(values[:, k] * TO_MV[unit])
    return leads, columns


def _start(ds: pydicom.Dataset) -> dt.datetime | None:
    text = str(ds.get("AcquisitionDateTime", "") or "")
    if not text and ds.get("ContentDate"):
        text = str(ds.ContentDate) + str(ds.get("ContentTime", "") or "")
    return device_time(text, str(ds.get("TimezoneOffsetFromUTC", "") or ""))
