"""Exact pixels in and out: every format x depth x channels round-trips without loss; float samples
are never clipped silently; ``fuse -o`` honours the extension and the sources' bit depth.

Files are written by independent encoders (tifffile, OpenCV, Pillow) and read back with
:func:`bench.imageio.read_image`; the expected values are the integers written divided by 255 or
65535 (exact in float32 for 8-bit; within float32 rounding for 16-bit).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.errors import UserError
from bench.imageio import (
    parse_input_range,
    read_image,
    read_image_meta,
    read_sources,
    to_float,
    to_uint8,
    to_uint16,
    write_image,
)

REPO = Path(__file__).resolve().parent.parent


def _data(dtype, channels, seed=3):
    rng = np.random.default_rng(seed)  # fixture values only
    shape = (13, 17) if channels == 1 else (13, 17, 3)
    hi = 256 if dtype == np.uint8 else 65536
    a = rng.integers(0, hi, shape, dtype=np.int64).astype(dtype)
    a.flat[0], a.flat[1] = 0, hi - 1  # both extremes present
    return a


def _write(path: Path, a: np.ndarray, encoder: str) -> None:
    import cv2
    import tifffile

    if encoder == "tifffile":
        tifffile.imwrite(path, a, photometric="rgb" if a.ndim == 3 else "minisblack")
    elif encoder == "cv2":
        assert cv2.imwrite(str(path), a if a.ndim == 2 else a[:, :, ::-1])
    else:
        Image.fromarray(a).save(path)


CASES = [
    (fmt, dt, ch, enc)
    for fmt in ("png", "tif")
    for dt in (np.uint8, np.uint16)
    for ch in (1, 3)
    for enc in (("cv2", "tifffile") if fmt == "tif" else ("cv2",))
]


@pytest.mark.parametrize("fmt,dtype,channels,encoder", CASES,
                         ids=[f"{f}-{d.__name__}-{c}ch-{e}" for f, d, c, e in CASES])
def test_read_is_lossless(tmp_path, fmt, dtype, channels, encoder):
    a = _data(dtype, channels)
    p = tmp_path / f"x.{fmt}"
    _write(p, a, encoder)
    got, meta = read_image_meta(p)
    assert got.dtype == np.float32 and got.shape == a.shape
    assert meta.bit_depth == (16 if dtype == np.uint16 else 8)
    scale = np.float32(255.0 if dtype == np.uint8 else 65535.0)
    np.testing.assert_array_equal(got, a.astype(np.float32) / scale)  # same expression as to_float
    # both decoders agree on the file (OpenCV IMREAD_UNCHANGED as the independent path)
    import cv2

    ref = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    ref = ref if ref.ndim == 2 else ref[:, :, ::-1]
    np.testing.assert_array_equal(ref, a)
    back = to_uint16(got) if dtype == np.uint16 else to_uint8(got)
    np.testing.assert_array_equal(back, a)


def test_16bit_colour_tiff_keeps_all_levels(tmp_path):
    """The finding: a 16-bit colour TIFF was read as 8 bits (64 levels became 2)."""
    import tifffile

    levels = (np.arange(64, dtype=np.uint16) * 4)  # 64 levels within one 8-bit step (0..252 of 65535)
    a = np.repeat(np.tile(levels, (8, 1))[:, :, None], 3, axis=2)
    tifffile.imwrite(tmp_path / "c.tif", a, photometric="rgb")
    got = read_image(tmp_path / "c.tif")
    assert len(np.unique(got)) == 64
    np.testing.assert_array_equal(to_uint16(got), a)


@pytest.mark.parametrize("fmt", ["png", "tif"])
@pytest.mark.parametrize("depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3])
def test_write_read_roundtrip(tmp_path, fmt, depth, channels):
    a = _data(np.uint16 if depth == 16 else np.uint8, channels, seed=5)
    img = to_float(a)
    p = tmp_path / f"o.{fmt}"
    what = write_image(p, img, depth, description='{"k": 1}')
    assert what == f"{depth}-bit {'PNG' if fmt == 'png' else 'TIFF'}"
    head = p.read_bytes()[:4]
    assert head == (b"\x89PNG" if fmt == "png" else b"II*\x00")  # the extension picks the format
    got, meta = read_image_meta(p)
    assert meta.bit_depth == depth
    np.testing.assert_array_equal(got, img)
    assert [q.name for q in tmp_path.iterdir()] == [p.name]  # atomic: no temporary left


def test_8bit_read_is_bit_identical_to_before(tmp_path):
    """8-bit inputs must give exactly ``uint8 / 255`` in float32 (every reference test relies on it)."""
    a = _data(np.uint8, 3, seed=11)
    for ext in ("png", "tif", "bmp"):
        Image.fromarray(a).save(tmp_path / f"e.{ext}")
        want = a.astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(read_image(tmp_path / f"e.{ext}"), want)


def test_float_tiff_out_of_range_is_an_error_not_clipped(tmp_path):
    """The finding: a float TIFF holding 0..255 was clipped to white."""
    import tifffile

    v = np.linspace(0, 255, 60, dtype=np.float32).reshape(6, 10)
    tifffile.imwrite(tmp_path / "f.tif", v)
    with pytest.raises(UserError, match=r"f\.tif: pixel values span \[0, 255\].*--input-range"):
        read_image(tmp_path / "f.tif")
    got = read_image(tmp_path / "f.tif", parse_input_range("0,255"))
    np.testing.assert_allclose(got, v / 255.0, atol=1e-7)
    got_auto, meta = read_image_meta(tmp_path / "f.tif", parse_input_range("auto"))
    np.testing.assert_array_equal(got_auto, got)
    assert meta.scaled_from == (0.0, 255.0) and meta.bit_depth == 32
    with pytest.raises(UserError, match="outside the input range"):
        read_image(tmp_path / "f.tif", parse_input_range("0,100"))


def test_float_tiff_in_unit_range_and_declared_range(tmp_path):
    import tifffile

    v = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 6)
    tifffile.imwrite(tmp_path / "u.tif", v)
    np.testing.assert_array_equal(read_image(tmp_path / "u.tif"), v)
    w = (v * 1000).astype(np.float32)
    tifffile.imwrite(tmp_path / "d.tif", w, extratags=[(340, 11, 1, 0.0, True), (341, 11, 1, 4000.0, True)])
    got = read_image(tmp_path / "d.tif", "auto")  # the declared SMin/SMaxSampleValue win over detection
    np.testing.assert_allclose(got, w / 4000.0, atol=1e-7)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_pixels_are_errors(tmp_path, bad):
    import tifffile

    v = np.full((4, 5), 0.5, np.float32)
    v[2, 3] = bad
    tifffile.imwrite(tmp_path / "n.tif", v)
    for rng in (None, "auto", (0.0, 1.0)):
        with pytest.raises(UserError, match=r"n\.tif: 1 pixel values are NaN or infinite"):
            read_image(tmp_path / "n.tif", rng)
    with pytest.raises(ValueError, match="NaN or infinite"):
        to_float(v)


def test_to_float_refuses_out_of_range_floats():
    with pytest.raises(ValueError, match="outside"):
        to_float(np.array([[0.0, 2.0]], np.float32))
    np.testing.assert_array_equal(to_float(np.array([[-1e-8, 1 + 1e-8]])), [[0.0, 1.0]])  # rounding slack


@pytest.mark.parametrize("spec", ["x", "1", "5,1", "0,nan", "a,b"])
def test_bad_input_range(spec):
    with pytest.raises(UserError, match="--input-range"):
        parse_input_range(spec)


def test_read_sources_reports_depths(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "a.png"), _data(np.uint16, 1))
    Image.fromarray(_data(np.uint8, 1)).save(tmp_path / "b.png")
    metas: list = []
    read_sources([tmp_path / "a.png", tmp_path / "b.png"], None, metas)
    assert [m.bit_depth for m in metas] == [16, 8]


def test_jpeg_output_warns(tmp_path):
    with pytest.warns(UserWarning, match="lossy"):
        write_image(tmp_path / "o.jpg", np.full((8, 8), 0.5, np.float32))
    assert (tmp_path / "o.jpg").read_bytes()[:2] == b"\xff\xd8"
    with pytest.raises(UserError, match="8 bits only"):
        write_image(tmp_path / "p.jpg", np.zeros((8, 8), np.float32), 16)


def _bench(*args):
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=300)


def test_fuse_writes_16_bit_from_16_bit_sources_and_records_it(tmp_path):
    import cv2
    import tifffile

    a, b = _data(np.uint16, 3, seed=1), _data(np.uint16, 3, seed=2)
    pa, pb = tmp_path / "a.tif", tmp_path / "b.tif"
    tifffile.imwrite(pa, a, photometric="rgb")
    tifffile.imwrite(pb, b, photometric="rgb")
    cp = _bench("fuse", "-m", "average", "-o", str(tmp_path / "f.tif"), str(pa), str(pb))
    assert cp.returncode == 0, cp.stderr
    assert "16-bit TIFF" in cp.stdout
    with tifffile.TiffFile(tmp_path / "f.tif") as tf:
        page = tf.pages[0]
        assert page.bitspersample == 16
        rec = json.loads(page.description)["mfif-bench"]
        got = page.asarray()
    assert rec["bit_depth"] == 16 and rec["source_bit_depth"] == 16 and rec["method"] == "average"
    want = to_uint16((to_float(a).astype(np.float64) + to_float(b)) / 2)  # average = mean of the sources
    assert np.abs(got.astype(np.int64) - want).max() <= 1
    cp = _bench("fuse", "-m", "average", "--bit-depth", "8", "-o", str(tmp_path / "f.png"), str(pa), str(pb))
    assert cp.returncode == 0, cp.stderr
    png = cv2.imread(str(tmp_path / "f.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8
    assert b"mfif-bench" in (tmp_path / "f.png").read_bytes()[:2000]  # recorded in a tEXt chunk
