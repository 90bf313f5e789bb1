"""Slide files for the tests: the real Aperio sample (data/README.md), and made from a region of
it: a pyramidal tiled TIFF written with tifffile, a DICOM VL Whole Slide Microscopy series built
with pydicom (one file per level, TILED_FULL, JPEG baseline frames, as a scanner's DICOM export
lays it out; OpenSlide reads it back with the same pixels, checked in test_slides_api), and
micrographs made with Pillow."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import openslide
import tifffile
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, generate_uid

DATA = Path(__file__).resolve().parent / "data"
SVS = DATA / "CMU-1-Small-Region.svs"
DICOM_ZIP = DATA / "CMU-1-Small-Region-dicom.zip"  # the same slide as wsidicomizer exports it (data/README.md)
WSI_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.77.1.6"


def micrograph(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", colour: str = "#c8507a") -> bytes:
    image = Image.new("RGB", size, "white")
    image.paste(Image.new("RGB", (size[0] // 2, size[1] // 2), colour), (size[0] // 4, size[1] // 4))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def svs_region(width: int = 600, height: int = 400) -> Image.Image:
    with openslide.OpenSlide(str(SVS)) as slide:
        return slide.read_region((700, 900), 0, (width, height)).convert("RGB")


def pyramidal_tiff(image: Image.Image | None = None, mpp: float = 0.5) -> bytes:
    """A tiled, deflate-compressed TIFF with each level half the one before (OpenSlide: generic-tiff)."""
    level = np.asarray(image or svs_region(1000, 800))
    out = io.BytesIO()
    with tifffile.TiffWriter(out) as tiff:
        for index in range(4):
            tiff.write(level, tile=(128, 128), compression="zlib", photometric="rgb", subfiletype=1 if index else 0,
                       resolution=(1e4 / mpp, 1e4 / mpp), resolutionunit="CENTIMETER")
            level = np.asarray(Image.fromarray(level).resize((level.shape[1] // 2, level.shape[0] // 2)))
    return out.getvalue()


def _frames(image: Image.Image, tile: int) -> list[bytes]:
    frames = []
    width, height = image.size
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            piece = Image.new("RGB", (tile, tile), "white")
            piece.paste(image.crop((left, top, min(width, left + tile), min(height, top + tile))))
            out = io.BytesIO()
            piece.save(out, "JPEG", quality=92)
            frames.append(out.getvalue())
    return frames


def _level(image: Image.Image, tile: int, uids: dict, index: int, spacing_mm: float) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = WSI_SOP_CLASS, generate_uid()
    meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = WSI_SOP_CLASS, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids["study"], uids["series"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.Modality, ds.PatientName, ds.PatientID, ds.InstanceNumber = "SM", "Test^Slide", "T-1", index + 1
    ds.ImageType = ["ORIGINAL", "PRIMARY", "VOLUME", "NONE"] if index == 0 else [
        "DERIVED", "PRIMARY", "VOLUME", "RESAMPLED"]
    frames = _frames(image, tile)
    ds.Rows = ds.Columns = tile
    ds.NumberOfFrames = len(frames)
    ds.TotalPixelMatrixColumns, ds.TotalPixelMatrixRows = image.size
    ds.TotalPixelMatrixFocalPlanes = 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "YBR_FULL_422", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.DimensionOrganizationType = "TILED_FULL"
    ds.ImagedVolumeWidth = image.size[0] * spacing_mm
    ds.ImagedVolumeHeight = image.size[1] * spacing_mm
    ds.ImagedVolumeDepth = 0.001
    measures = Dataset()
    measures.PixelSpacing, measures.SliceThickness = [spacing_mm, spacing_mm], 0.001
    frame_type = Dataset()
    frame_type.FrameType = ds.ImageType
    shared = Dataset()
    shared.PixelMeasuresSequence, shared.WholeSlideMicroscopyImageFrameTypeSequence = [measures], [frame_type]
    ds.SharedFunctionalGroupsSequence = [shared]
    origin = Dataset()
    origin.XOffsetInSlideCoordinateSystem, origin.YOffsetInSlideCoordinateSystem = 0, 0
    ds.TotalPixelMatrixOriginSequence = [origin]
    path = Dataset()
    path.OpticalPathIdentifier = "1"
    ds.OpticalPathSequence, ds.NumberOfOpticalPaths = [path], 1
    ds.ContainerIdentifier, ds.VolumetricProperties = "SLIDE-1", "VOLUME"
    ds.SpecimenLabelInImage = ds.BurnedInAnnotation = ds.ExtendedDepthOfField = "NO"
    ds.FocusMethod = "AUTO"
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].is_undefined_length = True
    return ds


def dicom_wsi(image: Image.Image, tile: int = 128, mpp: float = 0.5) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each level, halving until one tile holds the image."""
    uids = {"study": generate_uid(), "series": generate_uid(), "frame": generate_uid()}
    files, index, base_width = [], 0, image.size[0]
    while True:
        spacing_mm = mpp * base_width / image.size[0] / 1000
        out = io.BytesIO()
        _level(image, tile, uids, index, spacing_mm).save_as(out, enforce_file_format=True)
        files.append((f"level-{index}.dcm", out.getvalue()))
        if max(image.size) <= tile:
            return files
        image = image.resize((max(1, image.size[0] // 2), max(1, image.size[1] // 2)))
        index += 1
