"""Synthetic CT-like instances (512 x 512, 16-bit, Explicit VR Little Endian) for the demo, the
tests and the ingest benchmark: real pydicom data sets of the CT Image Storage class with a
plausible phantom in the pixels, so viewers and rendering have something to show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid


@dataclass
class SeriesSpec:
    patient_id: str = "CB-TEST-1"
    patient_name: str = "TEST^PATIENT"
    accession_number: str = ""
    study_uid: str = field(default_factory=generate_uid)
    series_uid: str = field(default_factory=generate_uid)
    count: int = 3
    size: int = 512
    series_number: int = 1
    study_description: str = "CT HEAD"
    when: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 3, 1, 9, 30))


def _phantom(size: int, index: int) -> np.ndarray:
    y, x = np.ogrid[:size, :size]
    centre = size / 2
    radius = (x - centre) ** 2 + (y - centre) ** 2
    image = np.full((size, size), -1000, dtype=np.int16)  # air, in HU after the rescale below
    image[radius < (0.42 * size) ** 2] = 40  # soft tissue
    image[(radius < (0.42 * size) ** 2) & (radius > (0.38 * size) ** 2)] = 700  # skull
    blob = (x - centre - 40 - index) ** 2 + (y - centre + 30) ** 2 < (0.05 * size) ** 2
    image[blob] = 80
    return (image + 1024).astype(np.uint16)


def ct_dataset(spec: SeriesSpec, index: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = spec.study_uid, spec.series_uid
    ds.PatientID, ds.PatientName = spec.patient_id, spec.patient_name
    ds.PatientBirthDate, ds.PatientSex = "19600101", "F"
    ds.AccessionNumber, ds.StudyID, ds.ReferringPhysicianName = spec.accession_number, "1", ""
    ds.StudyDate = ds.SeriesDate = f"{spec.when:%Y%m%d}"
    ds.StudyTime = ds.SeriesTime = f"{spec.when:%H%M%S}"
    ds.StudyDescription, ds.SeriesDescription = spec.study_description, "AXIAL 5mm"
    ds.Modality, ds.BodyPartExamined, ds.Manufacturer = "CT", "HEAD", "CareBridge synthetic"
    ds.SeriesNumber, ds.InstanceNumber = spec.series_number, index + 1
    ds.ImagePositionPatient = [-125.0, -125.0, -5.0 * index]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceLocation, ds.SliceThickness, ds.PixelSpacing = -5.0 * index, 5.0, [0.488, 0.488]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = spec.size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 80
    ds.PixelData = _phantom(spec.size, index).tobytes()
    return ds


def part10_bytes(ds: Dataset) -> bytes:
    out = DicomBytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def ct_series(spec: SeriesSpec) -> Iterator[bytes]:
    for index in range(spec.count):
        yield part10_bytes(ct_dataset(spec, index))
