"""SF (block spatial frequency, Li-Kwok-Wang 2001): block SF, decision rule, consistency, N sources.

Reference values are computed in the tests by direct per-block loops over the paper's formulas (a
test-only reference; the library code is vectorised). Random fixtures use a local generator with a
hard-coded seed; no expected value depends on it.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from baselines.spatial_frequency import _consistency, block_spatial_frequency, fuse, sf_fusion

RNG_SEED = 11


def _naive_block_sf(g: np.ndarray, b: int) -> np.ndarray:
    h, w = g.shape
    out = np.zeros((-(-h // b), -(-w // b)))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            blk = g[i * b : (i + 1) * b, j * b : (j + 1) * b]
            rf2 = np.sum(np.diff(blk, axis=1) ** 2) / blk.size
            cf2 = np.sum(np.diff(blk, axis=0) ** 2) / blk.size
            out[i, j] = np.sqrt(rf2 + cf2)
    return out


@pytest.mark.parametrize(("h", "w", "b"), [(32, 48, 8), (37, 50, 16), (7, 9, 4)])
def test_block_sf_matches_the_formula(h, w, b):
    g = np.random.default_rng(RNG_SEED).random((h, w)) * 255
    np.testing.assert_allclose(block_spatial_frequency(g, b), _naive_block_sf(g, b), rtol=1e-12)


def _pair(colour=False):
    rng = np.random.default_rng(RNG_SEED)
    shape = (64, 96, 3) if colour else (64, 96)
    img = gaussian_filter(rng.random(shape), sigma=(1, 1, 0)[: len(shape)])
    img = ((img - img.min()) / np.ptp(img) * 0.8 + 0.1).astype(np.float32)
    blur = gaussian_filter(img, sigma=(3, 3, 0)[: len(shape)]).astype(np.float32)
    a, b = img.copy(), blur.copy()
    a[:, 48:], b[:, 48:] = blur[:, 48:], img[:, 48:]
    return a, b, img


@pytest.mark.parametrize("colour", [False, True])
def test_block_aligned_halves_are_recovered_exactly(colour):
    a, b, sharp = _pair(colour)
    fused, weights = sf_fusion([a, b], block_size=16, threshold=1.0)
    np.testing.assert_allclose(fused, sharp, rtol=0, atol=1e-6)
    assert weights[0, :, :48].min() == 1.0 and weights[1, :, 48:].min() == 1.0


def test_threshold_blends_uncertain_blocks():
    a, b, _ = _pair()
    fused, weights = sf_fusion([a, b], block_size=16, threshold=1e6, consistency=False)
    np.testing.assert_allclose(weights, 0.5)
    np.testing.assert_allclose(fused, (a + b) / 2, atol=1e-6)


def test_consistency_flips_an_isolated_block():
    labels = np.zeros((5, 5), int)
    labels[2, 2] = 1  # one block chose source B, all 8 neighbours chose A
    labels[0, 4] = -1  # an averaged corner block with 3 neighbours, all A -> becomes A
    out = _consistency(labels, 2)
    assert (out == 0).all()
    # a 2x2 cluster of B is not a minority noise block: each has 3 of 8 neighbours as B, 5 as A -> flips
    labels = np.zeros((6, 6), int)
    labels[2:4, 2:4] = 1
    assert (_consistency(labels, 2) == 0).all()
    # a B half-plane stays
    labels = np.zeros((6, 6), int)
    labels[:, 3:] = 1
    np.testing.assert_array_equal(_consistency(labels, 2), labels)


def test_three_sources_natively():
    a, b, sharp = _pair()
    c = gaussian_filter(sharp, 2).astype(np.float32)
    fused, weights = sf_fusion([a, b, c], block_size=16)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose(fused, sharp, atol=1e-6)
    res = fuse([a, b, c])
    assert res.decision_map.shape == a.shape


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"block_size": 1}, "block_size"), ({"threshold": -1.0}, "threshold")]
)
def test_invalid_parameters_raise(kwargs, match):
    a, b, _ = _pair()
    with pytest.raises(ValueError, match=match):
        sf_fusion([a, b], **kwargs)
