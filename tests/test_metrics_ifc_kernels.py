"""IFC's compiled helpers (metrics._kernels_ifc) give the very bits of the paths they replace (issue 15).

IFC moves by ~1e-4 where the fused image copies a source if the pyramid or box sums change in their last
bits (see metrics/ifc.py), so these are equality tests, not tolerances: the 9x9 low-pass against SciPy's
``correlate`` (mode 'mirror'), the block-centre box sums against OpenCV's ``sepFilter2D`` with ones, and
IFC itself with and without numba on a scene with exact copies.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("numba")

from metrics import ifc  # noqa: E402

SHAPES = [(520, 520), (261, 130), (65, 66), (18, 21), (9, 12), (5, 7), (4, 4), (2, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_lowpass_correlation_bit_identical_to_scipy(monkeypatch, shape):
    from scipy import ndimage

    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    img = rng.normal(size=(shape[0] + 3, shape[1] + 2)) * rng.choice([1e-3, 1.0, 255.0])
    view = img[1 : shape[0] + 1, 2:]  # a non-contiguous view, as the cropped bands are
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    for filt in (ifc._LOF, ifc._LO0, ifc._BF[0]):
        ref = ndimage.correlate(np.ascontiguousarray(view), filt, mode="mirror")
        assert np.array_equal(ifc._corr(view, filt), ref)


@pytest.mark.parametrize("shape", SHAPES + [(519, 519), (258, 258), (63, 63)])
@pytest.mark.parametrize("w", [3, 5, 9, 17])
def test_block_sums_bit_identical_to_opencv(monkeypatch, shape, w):
    rng = np.random.default_rng(w * 7 + shape[1])
    img = rng.normal(size=(shape[0] + 1, shape[1])) * rng.choice([1e-3, 1.0, 1e3])
    img[: shape[0] // 3, : shape[1] // 4] = 2.5  # a flat patch
    view = img[1:]  # a view that is not the start of its buffer
    ones = np.ones(w)
    x = np.ascontiguousarray(view)
    full = cv2.sepFilter2D(x, cv2.CV_64F, ones, ones, borderType=cv2.BORDER_REFLECT_101)
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    assert np.array_equal(ifc._block_sums(view, w), full[1::3, 1::3])
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    assert np.array_equal(ifc._block_sums(view, w), full[1::3, 1::3])


def test_ifc_same_bits_with_and_without_numba(monkeypatch):
    from metrics._memo import clear_memos

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:96, 0:90]
    a = np.round(127 + 90 * np.sin(xx / 5.0) * np.cos(yy / 7.0) + rng.normal(0, 5, yy.shape)).clip(0, 255)
    b = np.round(cv2.GaussianBlur(a, (7, 7), 2.0))
    f = np.round((a + b) / 2)
    f[:, :40] = a[:, :40]  # an exact copy of the reference: the regulariser-dominated case
    values = []
    for flag in ("1", "0"):
        monkeypatch.setenv("MFIF_NO_NUMBA", flag)
        clear_memos()
        values.append((ifc.ifcvec(a, f), ifc.ifcvec(b, f), ifc.ifcvec(a, a)))
    clear_memos()
    assert values[0] == values[1]
