"""Rendering: modality LUT, VOI window (given, stored, or min/max), MONOCHROME1, colour, multi-frame,
viewport and encodings, on pydicom's own test files and on small data sets built here."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.uid import RLELossless

from carebridge.diagnostics.imaging import rendering
from carebridge.diagnostics.imaging.rendering import PNG, RenderOptions, Window
from carebridge.diagnostics.imaging.samples import SeriesSpec, ct_dataset, part10_bytes


def decoded(data: bytes, **options) -> np.ndarray:  # noqa: ANN003
    options.setdefault("media_type", PNG)  # lossless, so pixel values can be checked exactly
    return np.asarray(Image.open(io.BytesIO(rendering.render(data, RenderOptions(**options)))))


def shipped(name: str) -> bytes:
    return open(get_testdata_file(name), "rb").read()  # noqa: SIM115 - small test files


def ramp(photometric: str = "MONOCHROME2", **attrs) -> bytes:  # noqa: ANN003
    """One 16-bit frame of stored values 0..1023 along the columns, 8 rows."""
    ds = ct_dataset(SeriesSpec(size=8), 0)
    for name in ("WindowCenter", "WindowWidth", "RescaleIntercept", "RescaleSlope"):
        delattr(ds, name)
    ds.set_pixel_data(np.tile(np.linspace(0, 1023, 32).astype(np.uint16), (8, 1)), photometric, 16)
    for name, value in attrs.items():
        setattr(ds, name, value)
    return part10_bytes(ds)


def test_the_window_maps_modality_values_to_grey_as_ps3_3_linear_does():
    values = np.array([-1000.0, 0.0, 39.5, 40.0, 79.0, 80.0, 2000.0])
    grey = rendering.apply_window(values, Window(40, 80))
    assert grey[0] == grey[1] == 0 and grey[-1] == grey[-2] == 255
    assert abs(grey[3] - 129.0) < 2  # the centre is mid-grey
    exact = rendering.apply_window(values, Window(40, 80, "LINEAR_EXACT"))
    assert exact[3] == pytest.approx(127.5)
    sigmoid = rendering.apply_window(values, Window(40, 80, "SIGMOID"))
    assert sigmoid[3] == pytest.approx(127.5) and 0 < sigmoid[0] < 1 and 254 < sigmoid[-1] <= 255


def test_rescale_then_window_from_the_request_or_the_header_or_min_max():
    plain = decoded(ramp())  # no window in the header: min..max of the frame spans black to white
    assert plain[0, 0] == 0 and plain[0, -1] == 255 and np.all(np.diff(plain[0].astype(int)) >= 0)
    stored = decoded(ramp(WindowCenter=512, WindowWidth=256))
    assert stored[0, 0] == 0 and stored[0, -1] == 255 and 100 < stored[0, 16] < 160
    asked = decoded(ramp(WindowCenter=512, WindowWidth=256), window=Window(100, 50))
    assert asked[0, 0] == 0 and asked[0, 8] == 255  # 8/31 of 1023 ≈ 264 > 125, white
    rescaled = decoded(ramp(RescaleSlope=2, RescaleIntercept=-1000), window=Window(0, 100))
    # stored 496 and 528 (columns 15, 16) become -8 and 56 HU: either side of the window centre 0
    assert rescaled[0, 14] == 0 and 0 < rescaled[0, 15] < 255 and rescaled[0, 16] == 255


def test_monochrome1_is_inverted():
    normal, inverted = decoded(ramp()), decoded(ramp("MONOCHROME1"))
    assert np.array_equal(inverted, 255 - normal)


def test_real_ct_and_mr_files_render_at_their_size():
    ct = Image.open(io.BytesIO(rendering.render(shipped("CT_small.dcm"), RenderOptions())))
    mr = decoded(shipped("MR_small.dcm"))
    assert (ct.format, ct.size, ct.mode) == ("JPEG", (128, 128), "L") and mr.shape == (64, 64)
    lung, bone = decoded(shipped("CT_small.dcm"), window=Window(-600, 1500)), \
        decoded(shipped("CT_small.dcm"), window=Window(400, 1800))
    assert not np.array_equal(lung, bone)


def test_colour_passes_through_and_each_frame_of_a_multi_frame_object_renders():
    data = shipped("SC_rgb_rle_2frame.dcm")
    frames = pydicom.dcmread(io.BytesIO(data)).pixel_array
    for index in (0, 1):
        assert np.array_equal(decoded(data, frame=index), frames[index])
    ybr = decoded(shipped("examples_ybr_color.dcm"), frame=29)
    assert ybr.shape == (240, 320, 3)
    with pytest.raises(rendering.BadParameter):
        decoded(data, frame=2)


def test_sixteen_bit_colour_is_scaled_to_eight_bits():
    data = shipped("SC_rgb_rle_16bit.dcm")
    expected = (pydicom.dcmread(io.BytesIO(data)).pixel_array >> 8).astype(np.uint8)
    assert np.array_equal(decoded(data), expected)


def test_compressed_multi_frame_grayscale():
    ds = ct_dataset(SeriesSpec(size=16), 0)
    ds.NumberOfFrames = 3
    ds.set_pixel_data(np.stack([np.full((16, 16), v, np.uint16) for v in (0, 500, 1000)]), "MONOCHROME2", 16)
    ds.compress(RLELossless)
    del ds.WindowCenter, ds.WindowWidth
    data = part10_bytes(ds)
    middle = decoded(data, frame=1, window=Window(-524, 1000))  # stored 500 is -524 HU after the rescale
    assert abs(int(middle[0, 0]) - 128) <= 1


def test_viewport_fits_the_image_keeping_its_aspect_ratio():
    data = shipped("examples_ybr_color.dcm")  # 320 x 240
    assert decoded(data, viewport=(160, 160)).shape[:2] == (120, 160)
    assert decoded(data, viewport=(640, 100)).shape[:2] == (100, 133)


@pytest.mark.parametrize(("text", "ok"), [("40,80", True), ("-600,1500,LINEAR_EXACT", True), ("40,80,sigmoid", True),
                                          ("40", False), ("40,0", False), ("a,b", False), ("40,80,CUBIC", False),
                                          ("nan,80", False), ("40,0.5", False)])
def test_window_parameters_are_checked(text: str, ok: bool):
    if ok:
        assert isinstance(rendering.parse_window(text), Window)
    else:
        with pytest.raises(rendering.BadParameter):
            rendering.parse_window(text)


def test_objects_without_pixels_are_not_renderable():
    with pytest.raises(rendering.NotRenderable):
        rendering.render(shipped("waveform_ecg.dcm"), RenderOptions())
    with pytest.raises(rendering.NotRenderable):
        rendering.render(b"not dicom at all", RenderOptions())
