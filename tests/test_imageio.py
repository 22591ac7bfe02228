"""The one image convention at the boundary, and every bad input as a one-line UserError."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bench.errors import UserError
from bench.imageio import harmonise, read_image, read_sources, to_float, to_uint8, write_png


def _rng():
    return np.random.default_rng(1234)  # fixed seed: fixtures only, no expected value depends on it


def test_uint8_and_float_conventions(tmp_path):
    a = _rng().integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "a.png")
    got = read_image(tmp_path / "a.png")
    assert got.dtype == np.float32 and got.shape == (20, 30, 3)
    np.testing.assert_array_equal(got, a.astype(np.float32) / 255)
    np.testing.assert_array_equal(to_uint8(got), a)
    np.testing.assert_array_equal(to_float(a), got)


@pytest.mark.parametrize("ext", ["png", "jpg", "tif", "bmp"])
def test_formats_gray(tmp_path, ext):
    a = _rng().integers(0, 256, (16, 24), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / f"g.{ext}")
    got = read_image(tmp_path / f"g.{ext}")
    assert got.shape == (16, 24) and got.dtype == np.float32
    if ext != "jpg":
        np.testing.assert_array_equal(to_uint8(got), a)


def test_rgba_drops_alpha_with_warning(tmp_path):
    a = _rng().integers(0, 256, (8, 8, 4), dtype=np.uint8)
    Image.fromarray(a, "RGBA").save(tmp_path / "x.png")
    with pytest.warns(UserWarning, match="alpha"):
        got = read_image(tmp_path / "x.png")
    np.testing.assert_array_equal(to_uint8(got), a[:, :, :3])


def test_16bit_gray_and_colour(tmp_path):
    import cv2

    g = _rng().integers(0, 65536, (10, 12), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "g16.png"), g)
    np.testing.assert_allclose(read_image(tmp_path / "g16.png"), g / 65535.0, rtol=0, atol=1e-7)
    c = _rng().integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), c[:, :, ::-1])  # OpenCV writes BGR
    got = read_image(tmp_path / "c16.png")
    assert got.shape == (10, 12, 3)
    np.testing.assert_allclose(got, c / 65535.0, rtol=0, atol=1e-7)


def test_gray_next_to_colour_is_promoted():
    g = np.zeros((4, 5), np.float32)
    c = np.ones((4, 5, 3), np.float32)
    out = harmonise([g, c])
    assert all(o.shape == (4, 5, 3) for o in out)


def test_write_png_roundtrip_is_atomic(tmp_path):
    img = _rng().random((9, 7, 3)).astype(np.float32)
    write_png(tmp_path / "sub" / "o.png", img)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["o.png"]
    np.testing.assert_array_equal(to_uint8(read_image(tmp_path / "sub" / "o.png")), to_uint8(img))


# ---- bad inputs: each a one-line UserError naming the file -------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"nope\.png: file not found"):
        read_image(tmp_path / "nope.png")


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello, I am text")
    with pytest.raises(UserError, match=r"notes\.png: not an image"):
        read_image(p)


def test_truncated_file(tmp_path):
    a = _rng().integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(a).save(tmp_path / "full.jpg", quality=95)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match=r"cut\.jpg: truncated"):
        read_image(tmp_path / "cut.jpg")


def test_unreadable_file(tmp_path, monkeypatch):
    # CI runs as root, which reads mode-000 files, so the permission check is exercised by
    # making os.access report the file unreadable (the file itself is real).
    import bench.imageio as io

    p = tmp_path / "secret.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(p)
    monkeypatch.setattr(io.os, "access", lambda path, mode: False)
    with pytest.raises(UserError, match=r"secret\.png: permission denied"):
        read_image(p)


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(UserError, match="is a directory"):
        read_image(tmp_path)


def test_sizes_differ(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(tmp_path / "b.png")
    with pytest.raises(UserError, match=r"b\.png: size 5x4 differs from .*a\.png \(4x4\)"):
        read_sources([tmp_path / "a.png", tmp_path / "b.png"])


def test_fewer_than_two_sources(tmp_path):
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "a.png")
    with pytest.raises(UserError, match="at least two source images, got 1"):
        read_sources([tmp_path / "a.png"])


def test_error_messages_are_one_line(tmp_path):
    p = tmp_path / "bad.tif"
    p.write_bytes(b"II*\x00garbage")
    with pytest.raises(UserError) as ei:
        read_image(p)
    assert "\n" not in str(ei.value) and "bad.tif" in str(ei.value)
