"""GF (guided-filtering fusion): filter equivalence, N sources, reproduction switch.

The SESF Table 2 GF row (38/38 images within 1e-3 of the authors' records) is checked in
``tests/test_baselines_sesf_table2.py``. Random fixtures use a local generator with a hard-coded
seed; no expected value depends on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from baselines._guided_filter import box_mean, box_mean_stack, guided_filter, guided_filter_stack
from baselines.guided_filtering import _gaussian_kernel_1d, _matlab_u8, fuse, gff

RNG_SEED = 7


def _pair(h=48, w=60, colour=True):
    rng = np.random.default_rng(RNG_SEED)
    img = gaussian_filter(rng.random((h, w, 3) if colour else (h, w)), sigma=(1, 1, 0)[: 3 if colour else 2])
    img = ((img - img.min()) / np.ptp(img) * 0.8 + 0.1).astype(np.float32)
    blur = gaussian_filter(img, sigma=(3, 3, 0)[: img.ndim]).astype(np.float32)
    a, b = img.copy(), blur.copy()
    a[:, w // 2 :], b[:, w // 2 :] = blur[:, w // 2 :], img[:, w // 2 :]
    return a, b


# -- the fast guided filter is He's filter with clipped windows --------------------------------------


@pytest.mark.parametrize(("h", "w", "r"), [(50, 70, 7), (50, 70, 45), (20, 30, 45), (5, 4, 2)])
def test_box_mean_matches_shared_filter(h, w, r):
    x = np.random.default_rng(RNG_SEED).random((2, h, w))
    np.testing.assert_allclose(box_mean_stack(x, r)[1], box_mean(x[1], r), rtol=0, atol=1e-12)


@pytest.mark.parametrize(("r", "eps"), [(45, 0.3), (7, 1e-6), (2, 1e-3)])
def test_guided_filter_stack_matches_shared_filter(r, eps):
    rng = np.random.default_rng(RNG_SEED)
    guides = rng.random((3, 60, 75))
    p = (rng.random((3, 60, 75)) > 0.5).astype(np.float64)
    ours = guided_filter_stack(guides, p, r, eps)
    for k in range(3):
        np.testing.assert_allclose(ours[k], guided_filter(guides[k], p[k], r, eps), rtol=0, atol=1e-9)


def test_guided_filter_stack_rejects_bad_shapes():
    with pytest.raises(ValueError, match="KxHxW"):
        guided_filter_stack(np.zeros((2, 5, 5)), np.zeros((2, 5, 4)), 1, 0.1)


# -- MATLAB helpers ----------------------------------------------------------------------------------


def test_gaussian_kernel_matches_fspecial():
    """fspecial('gaussian', 11, 5) is the outer product of our normalised 1-D factor."""
    x = np.arange(11) - 5.0
    k2 = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / 50.0)
    k2 /= k2.sum()
    g = _gaussian_kernel_1d()
    np.testing.assert_allclose(np.outer(g, g), k2, rtol=1e-14, atol=0)


def test_matlab_uint8_rounding():
    x = np.array([-3.0, -0.5, 0.49, 0.5, 1.5, 2.5, 254.5, 300.0])
    np.testing.assert_array_equal(_matlab_u8(x), [0, 0, 0, 1, 2, 3, 255, 255])


# -- behaviour ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("colour", [False, True])
def test_selects_the_sharp_halves(colour):
    a, b = _pair(colour=colour)
    fused, labels = gff([a, b])
    w = a.shape[1]
    # initial choice: A on the left, B on the right (away from the seam and the saliency blur)
    assert (labels[:, : w // 2 - 8] == 0).mean() > 0.9
    assert (labels[:, w // 2 + 8 :] == 1).mean() > 0.9
    left = np.arange(w)[None, :] < w // 2
    ideal = np.where(left[..., None] if colour else left, a, b)
    assert np.abs(fused - ideal).mean() < 0.5 * np.abs((a + b) / 2 - ideal).mean()


def test_n_sources_natively():
    a, b = _pair()
    c = gaussian_filter(a, sigma=(2, 2, 0)).astype(np.float32)
    fused, labels = gff([a, b, c])
    assert fused.shape == a.shape
    assert set(np.unique(labels)) <= {0, 1, 2}
    # the defocused third source never wins a pixel over the sharp halves in the interior
    assert (labels[8:-8, 8:-8] == 2).mean() < 0.05
    res = fuse([a, b, c])
    assert res.decision_map.max() <= 1.0


def test_sesf2020_call_collapses_to_first_source():
    """GFF.m on 0..255 doubles: gray clamps to 1, saliency ties, weights -> source A (methods.md 7.13)."""
    a, b = _pair()
    fused, labels = gff([a, b], sesf2020_call=True)
    assert (labels == 0).mean() > 0.99
    assert np.abs(fused - np.floor(a.astype(np.float64) * 255 + 0.5) / 255).max() <= 1 / 255 + 1e-9
    assert np.allclose(fused * 255, np.round(fused * 255), atol=1e-9)  # on the 8-bit grid


def test_clean_default_differs_from_sesf_emulation():
    a, b = _pair()
    assert np.abs(gff([a, b])[0] - gff([a, b], sesf2020_call=True)[0]).mean() > 0.01
