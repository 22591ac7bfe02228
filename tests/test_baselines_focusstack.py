"""FocusStack: selection rule, tie rule, N sources, alignment, SESF reproduction mode.

The SESF Table 2 FocusStack row (mean Qg within 0.005) is checked in
``tests/test_baselines_sesf_table2.py``. Random fixtures use a local generator with a hard-coded
seed; no expected value depends on it.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from baselines.focusstack import align_to_first, focus_measure, focusstack, fuse
from bench.imageio import to_uint8

RNG_SEED = 5


def _texture(shape=(96, 128, 3)):
    rng = np.random.default_rng(RNG_SEED)
    img = gaussian_filter(rng.random(shape), sigma=(1.2, 1.2, 0)[: len(shape)])
    return ((img - img.min()) / np.ptp(img) * 0.8 + 0.1).astype(np.float32)


def _pair(colour=True):
    img = _texture((96, 128, 3) if colour else (96, 128))
    blur = gaussian_filter(img, sigma=(3, 3, 0)[: img.ndim]).astype(np.float32)
    a, b = img.copy(), blur.copy()
    a[:, 64:], b[:, 64:] = blur[:, 64:], img[:, 64:]
    return a, b, img


def test_focus_measure_is_abs_laplacian_of_blurred_gray():
    """OpenCV's GaussianBlur with ksize 5 and sigma 0 uses the fixed binomial kernel [1 4 6 4 1]/16."""
    g = _texture((40, 50))
    k = np.array([1, 4, 6, 4, 1], np.float32) / 16
    blurred = cv2.sepFilter2D(g, -1, k, k, borderType=cv2.BORDER_REFLECT_101)
    expect = np.abs(cv2.Laplacian(blurred, cv2.CV_64F, ksize=5))
    np.testing.assert_allclose(focus_measure(g), expect, rtol=0, atol=1e-5)


def _rectangles(shape=(96, 128, 3)):
    """Random filled rectangles: corners at many scales, so SIFT finds matches despite defocus."""
    rng = np.random.default_rng(RNG_SEED)
    img = np.full(shape, 0.5, np.float32)
    for _ in range(40):
        x, y = (int(v) for v in rng.integers(0, (shape[1], shape[0])))
        w, h = (int(v) for v in rng.integers(5, 30, 2))
        cv2.rectangle(img, (x, y), (x + w, y + h), tuple(float(c) for c in rng.random(3)), -1)
    return img


@pytest.mark.parametrize("colour", [False, True])
def test_takes_pixels_from_the_sharp_source(colour):
    a, b, sharp = _pair(colour)
    fused, index = focusstack([a, b])
    # pixels are copied, never blended
    assert np.isin(index, [0, 1]).all()
    chosen = np.where(index[..., None] == 0, a, b) if colour else np.where(index == 0, a, b)
    np.testing.assert_array_equal(fused, chosen)
    assert (index[:, 8:56] == 0).mean() > 0.9 and (index[:, 72:120] == 1).mean() > 0.9
    assert np.abs(fused - sharp).mean() < 0.3 * np.abs((a + b) / 2 - sharp).mean()


def test_ties_go_to_the_last_source():
    a, _, _ = _pair()
    _, index = focusstack([a, a.copy(), a.copy()])
    assert (index == 2).all()


def test_three_sources_and_decision_map():
    a, b, sharp = _pair()
    c = gaussian_filter(sharp, sigma=(2, 2, 0)).astype(np.float32)
    res = fuse([a, b, c])
    assert res.image.shape == a.shape
    assert set(np.unique(res.decision_map)) <= {0.0, 0.5, 1.0}


def test_alignment_undoes_a_shift():
    img = to_uint8(_texture((120, 160, 3)))
    m = np.float32([[1, 0, 4], [0, 1, -3]])
    moved = cv2.warpAffine(img, m, (160, 120), flags=cv2.INTER_LINEAR)
    aligned = align_to_first([img, moved], bgr_quirk=False)[1]
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(aligned[inner].astype(int) - img[inner].astype(int)).mean() < 2.0
    assert np.abs(moved[inner].astype(int) - img[inner].astype(int)).mean() > 10.0


def test_alignment_without_features_raises():
    flat = np.full((40, 50, 3), 0.5, np.float32)
    with pytest.raises(ValueError, match="SIFT matches"):
        focusstack([flat, flat.copy()], align=True)


def test_sesf2020_output_on_the_8bit_grid():
    img = _rectangles()
    blur = gaussian_filter(img, sigma=(2, 2, 0)).astype(np.float32)
    a, b = img.copy(), blur.copy()
    a[:, 64:], b[:, 64:] = blur[:, 64:], img[:, 64:]
    fused, _ = focusstack([a, b], sesf2020=True)
    np.testing.assert_allclose(fused * 255, np.round(fused * 255), atol=1e-4)


def test_default_does_not_align():
    """Alignment is off by default: a registered pair gives the same result with or without it only
    when the homography is the identity, so check the flag is really honoured on a shifted pair."""
    img = _texture((120, 160, 3))
    moved = np.roll(img, 3, axis=1)
    plain = focusstack([img, moved])[0]
    aligned = focusstack([img, moved], align=True)[0]
    assert np.abs(plain - aligned).mean() > 1e-3


def test_float_focus_measure_is_opencvs_float64_pipeline_on_every_cpu():
    """Version 2: the float focus measure is OpenCV's float64 GaussianBlur + Laplacian (same bits here),
    computed with NumPy only, so OpenCV's CPU dispatch (AVX2 vs SSE, AVX-512) cannot move it: the same
    bits with OpenCV's vector paths disabled in a child process."""
    import hashlib
    import os
    import subprocess
    import sys

    import cv2

    rng = np.random.default_rng(7)
    g = rng.random((37, 41)).astype(np.float32)
    ref = np.abs(cv2.Laplacian(cv2.GaussianBlur(g.astype(np.float64), (5, 5), 0), cv2.CV_64F, ksize=5))
    got = focus_measure(g)
    np.testing.assert_array_equal(got, ref)
    code = (
        "import hashlib, numpy as np\n"
        "from baselines.focusstack import focus_measure\n"
        "g = np.random.default_rng(7).random((37, 41)).astype(np.float32)\n"
        "print(hashlib.sha256(focus_measure(g).tobytes()).hexdigest())\n"
    )
    env = dict(os.environ, OPENCV_CPU_DISABLE="AVX2,FMA3,AVX,SSE4_2,SSE4_1,SSSE3,SSE3,POPCNT,F16C")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == hashlib.sha256(got.tobytes()).hexdigest()
