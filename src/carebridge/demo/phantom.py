"""Synthetic images for the demo, made here so the demo ships no patient data: a head CT series
(skull, brain, ventricles and a small hyperdense bleed that appears over a few slices) and a chest
radiograph. Real DICOM (CT Image Storage / Digital X-Ray), 16-bit, in Hounsfield units via
rescale intercept, so the viewer's window presets behave as on a scanner's images."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian, generate_uid

INTERCEPT = -1024


def _ellipse(shape: tuple[int, int], cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
    y, x = np.ogrid[:shape[0], :shape[1]]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1


def head_slice(index: int, count: int, size: int = 256, rng: np.random.Generator | None = None) -> np.ndarray:
    """Hounsfield units of one axial slice; the head narrows towards the top of the series."""
    rng = rng or np.random.default_rng(index)
    scale = 1 - 0.5 * abs(index - count * 0.4) / count
    c = size / 2
    hu = np.full((size, size), -1000.0)
    hu[_ellipse(hu.shape, c, c, 0.42 * size * scale, 0.36 * size * scale)] = 1000  # skull
    hu[_ellipse(hu.shape, c, c, 0.39 * size * scale, 0.33 * size * scale)] = 35  # brain
    for dx in (-0.05, 0.05):  # lateral ventricles
        hu[_ellipse(hu.shape, c - 0.03 * size, c + dx * size, 0.09 * size * scale, 0.025 * size)] = 5
    if abs(index - count // 2) <= 2:  # a small acute bleed, right parietal
        hu[_ellipse(hu.shape, c - 0.12 * size, c + 0.18 * size, 0.05 * size, 0.035 * size)] = 70
    return hu + rng.normal(0, 4, hu.shape)


def _base(sop_class: str, modality: str, patient: tuple[str, str], accession: str, study_uid: str,
          series_uid: str, when: dt.datetime) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName = patient
    ds.AccessionNumber, ds.Modality = accession, modality
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyDate = ds.SeriesDate = when.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = when.strftime("%H%M%S")
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    return ds


def _encode(ds: FileDataset, pixels: np.ndarray) -> bytes:
    ds.Rows, ds.Columns = pixels.shape
    ds.PixelData = pixels.astype(np.int16).tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def head_ct(patient: tuple[str, str], accession: str, when: dt.datetime, slices: int = 24) -> list[bytes]:
    study_uid, series_uid = generate_uid(), generate_uid()
    out = []
    for i in range(slices):
        ds = _base(CTImageStorage, "CT", patient, accession, study_uid, series_uid, when)
        ds.StudyDescription, ds.SeriesDescription, ds.BodyPartExamined = "CT HEAD", "Axial 5mm", "HEAD"
        ds.SeriesNumber, ds.InstanceNumber = 2, i + 1
        ds.ImagePositionPatient, ds.ImageOrientationPatient = [-125, -125, 5.0 * i], [1, 0, 0, 0, 1, 0]
        ds.SliceThickness, ds.PixelSpacing, ds.SliceLocation = 5.0, [0.98, 0.98], 5.0 * i
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1, "HU"
        ds.WindowCenter, ds.WindowWidth = 40, 80
        out.append(_encode(ds, head_slice(i, slices) - INTERCEPT))
    return out


def chest_radiograph(patient: tuple[str, str], accession: str, when: dt.datetime, size: int = 512) -> bytes:
    ds = _base(DigitalXRayImageStorageForPresentation, "DX", patient, accession, generate_uid(), generate_uid(), when)
    ds.StudyDescription, ds.SeriesDescription, ds.BodyPartExamined = "CHEST PA", "PA", "CHEST"
    ds.SeriesNumber, ds.InstanceNumber, ds.PixelSpacing = 1, 1, [0.7, 0.7]
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    c = size / 2
    img = np.full((size, size), 3600.0)
    img[_ellipse(img.shape, c, c, 0.45 * size, 0.42 * size)] = 2600  # soft tissue
    for dx in (-0.17, 0.17):  # lungs
        img[_ellipse(img.shape, c, c + dx * size, 0.33 * size, 0.13 * size)] = 600
    img[_ellipse(img.shape, c + 0.08 * size, c - 0.04 * size, 0.13 * size, 0.11 * size)] = 2400  # heart
    img += np.random.default_rng(7).normal(0, 30, img.shape)
    return _encode(ds, np.clip(img, 0, 4095))


def stained_section(width: int = 1600, height: int = 1200, seed: int = 11) -> bytes:
    """A PNG that looks like an H&E section at low power: eosin-pink stroma with haematoxylin-purple
    nuclei, denser in a few glands. For the demo's pathology order (a micrograph, no scanner)."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), dtype=np.float32)
    img[:] = (236, 186, 206)
    img += rng.normal(0, 6, img.shape)
    y, x = np.mgrid[:height, :width]
    for cy, cx, r in rng.uniform((0, 0, 60), (height, width, 160), size=(14, 3)):
        ring = np.abs(np.hypot(y - cy, x - cx) - r) < 14
        img[ring] = (150, 90, 160)
        img[np.hypot(y - cy, x - cx) < r - 14] = (250, 235, 242)  # the gland's lumen
    nuclei = rng.uniform((0, 0), (height, width), size=(2500, 2)).astype(int)
    for ny, nx in nuclei:
        img[max(ny - 3, 0):ny + 3, max(nx - 3, 0):nx + 3] = (95, 60, 140)
    picture = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
