"""Building blocks of the survey ports (gfdf, quadtree, dsift, mwgf) against literal references.

Each vectorised piece is compared with a direct transcription of the MATLAB rule it replaces (loops
over a small input, written here from the original's text), or with a property the MATLAB routine
has. Inputs are small seeded arrays; no shared data needed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import baselines.dsift as ds
import baselines.gfdf as gd
import baselines.mwgf as mw
import baselines.quadtree as qt
from baselines._matlab_compat import bwareaopen

EIGHT = np.ones((3, 3), bool)


def _blobs(rng, shape, p=0.5, sigma=2.0):
    return ndimage.gaussian_filter(rng.random(shape), sigma) > np.quantile(
        ndimage.gaussian_filter(rng.random(shape), sigma), p
    )


# -- shared -----------------------------------------------------------------------------------------


def test_bwareaopen_keeps_components_of_at_least_p_pixels_8_connected():
    bw = np.zeros((9, 9), bool)
    bw[1, 1] = bw[2, 2] = bw[3, 3] = True  # one diagonal component of 3 (8-connectivity)
    bw[6:8, 6:8] = True  # 4 pixels
    out = bwareaopen(bw, 4)
    assert not out[1:4, 1:4].any() and out[6:8, 6:8].all()
    assert bwareaopen(bw, 3)[2, 2]


# -- gfdf -------------------------------------------------------------------------------------------


def test_gfdf_pair_cleaning_is_main_m_bwareaopen_sequence():
    """For N = 2, clean_labels = main.m: bwareaopen on A's map, then on B's map of the result."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        wmap = _blobs(rng, (40, 50), p=rng.uniform(0.3, 0.7), sigma=1.0)
        t1 = bwareaopen(wmap, 30)
        ref = ~bwareaopen(~t1, 30)  # wmap = 1 - bwareaopen(1 - tempMap1, area)
        labels = np.where(wmap, 0, 1)
        out = gd.clean_labels(labels, rng.random((2, 40, 50)), 30)
        np.testing.assert_array_equal(out == 0, ref)


def test_gfdf_ties_go_to_the_later_source():
    """main.m: ``wmap = gsmA > gsmB``; equal focus measures choose B."""
    x = np.zeros((2, 3, 3))
    assert (gd._argmax_last(x) == 1).all()


# -- quadtree ---------------------------------------------------------------------------------------


def test_quadtree_focus_measure_equals_direct_correlation_with_exact_ties():
    rng = np.random.default_rng(5)
    g = np.floor(rng.random((2, 48, 56)) * 256)
    g[1, :20] = g[0, :20]  # identical region: equal focus measures where the windows agree
    g[:, 30:] = 100.0  # flat region: modified Laplacian zero, focus measure exactly 0
    ml = qt.modified_laplacian(g, 5.0)
    fm = qt.weighted_focus(ml, 17)
    ref = np.stack([ndimage.correlate(m, qt._weight_kernel(17), mode="reflect") for m in ml])
    np.testing.assert_allclose(fm, ref, rtol=1e-12, atol=1e-9)
    same = ndimage.correlate((ml[0] != ml[1]).astype(float), np.ones((17, 17)), mode="reflect") == 0
    assert same.any() and (fm[0][same] == fm[1][same]).all()
    zero = ndimage.correlate((ml != 0).astype(float), np.ones((1, 17, 17)), mode="reflect") == 0
    assert zero.any() and (fm[zero] == 0).all()


def test_quadtree_modified_laplacian_literal():
    rng = np.random.default_rng(6)
    g = np.floor(rng.random((1, 7, 9)) * 50)
    p = np.pad(g[0], 1, mode="symmetric")  # padarray(..., 'symmetric')
    ref = np.zeros((7, 9))
    for y in range(7):
        for x in range(9):
            c = p[y + 1, x + 1]
            ref[y, x] = abs(2 * c - p[y, x + 1] - p[y + 2, x + 1]) + abs(
                2 * c - p[y + 1, x] - p[y + 1, x + 2]
            )
    ref[ref < 5] = 0
    np.testing.assert_array_equal(qt.modified_laplacian(g, 5.0)[0], ref)


def test_matlab_disk3_is_the_5x5_square_of_the_decomposition():
    """quadtree's hand-derived strel('disk', 3) equals mwgf's generic decomposition rule."""
    np.testing.assert_array_equal(qt._disk3(), mw._disk_strel(3))
    se9 = mw._disk_strel(9)
    assert se9.shape == (17, 17) and (se9 == se9[::-1]).all() and (se9 == se9.T).all()


# -- dsift ------------------------------------------------------------------------------------------


def _refine_literal(g1, g2, map1, map2, n1, n2, r=3):
    """refine_withmatching.m transcribed (per-pixel loops), on precomputed normalised descriptors."""
    h, w = g1.shape
    fmap = map1 * 1.0 + 0.5 * (1 - map1 - map2)

    def sf(a):
        dc = a[1:, :] - a[:-1, :]
        dr = a[:, 1:] - a[:, :-1]
        return np.sqrt((dc**2).sum() / a.size + (dr**2).sum() / a.size)

    out = fmap.copy()
    for j in range(r, h - r):
        for i in range(r, w - r):
            if fmap[j, i] != 0.5:
                continue
            b1 = n1[j - r : j + r + 1, i - r : i + r + 1]
            b2 = n2[j - r : j + r + 1, i - r : i + r + 1]
            dis1 = ((b2 - n1[j, i]) ** 2).sum(-1)
            dis2 = ((b1 - n2[j, i]) ** 2).sum(-1)
            k1 = np.argmin(dis1.T.ravel())  # MATLAB find: column-major, first minimum
            k2 = np.argmin(dis2.T.ravel())
            y1, x1 = j - r + k1 % (2 * r + 1), i - r + k1 // (2 * r + 1)
            y2, x2 = j - r + k2 % (2 * r + 1), i - r + k2 // (2 * r + 1)
            if not all(r <= v < lim - r for v, lim in ((y1, h), (x1, w), (y2, h), (x2, w))):
                continue
            fm1 = sf(g1[j - r : j + r + 1, i - r : i + r + 1])
            fm12 = sf(g2[y1 - r : y1 + r + 1, x1 - r : x1 + r + 1])
            fm2 = sf(g2[j - r : j + r + 1, i - r : i + r + 1])
            fm21 = sf(g1[y2 - r : y2 + r + 1, x2 - r : x2 + r + 1])
            if fm1 > fm12 and fm2 < fm21:
                out[j, i] = 1
            if fm1 < fm12 and fm2 > fm21:
                out[j, i] = 0
    return out


def test_dsift_vectorised_refinement_equals_the_loop():
    rng = np.random.default_rng(11)
    h, w = 30, 37
    g1 = np.floor(ndimage.gaussian_filter(rng.random((h, w)), 1.0) * 255)
    g2 = np.floor(ndimage.gaussian_filter(rng.random((h, w)), 2.0) * 255)
    p1, p2 = ds.orientation_planes(g1), ds.orientation_planes(g2)
    map1 = np.zeros((h, w), bool)
    map2 = np.zeros((h, w), bool)
    map1[:, :8] = True
    map2[:, 28:] = True
    yy, xx = np.mgrid[0:h, 0:w]
    n1 = ds.normalise(ds.descriptors(np.ascontiguousarray(p1.transpose(1, 2, 0)), yy.ravel(), xx.ravel()))
    n2 = ds.normalise(ds.descriptors(np.ascontiguousarray(p2.transpose(1, 2, 0)), yy.ravel(), xx.ravel()))
    ref = _refine_literal(g1, g2, map1, map2, n1.reshape(h, w, 128), n2.reshape(h, w, 128))
    out = ds.refine(g1, g2, map1, map2, p1, p2)
    assert (ref == 0.5).sum() < (map1 | map2).size  # some pixels were decided
    np.testing.assert_array_equal(out, ref)


def test_dsift_initial_map_votes_literal():
    """generate_initmap.m's sliding-window votes (before bwareaopen) with the loop of the original."""
    rng = np.random.default_rng(12)
    s1, s2 = rng.random((2, 20, 24)).astype(np.float32)
    s2[:, 12:] *= 0.2
    b = 8
    h, w = s1.shape
    score = np.zeros((h, w))
    cnt = np.zeros((h, w))
    for y in range(h - b + 1):
        for x in range(w - b + 1):
            a_, b_ = s1[y : y + b, x : x + b].astype(np.float64).sum(), s2[y : y + b, x : x + b].sum()
            score[y : y + b, x : x + b] += a_ > b_
            cnt[y : y + b, x : x + b] += 1
    ref = score / np.maximum(cnt, 1) > 0.99
    m1, _ = ds.initial_maps(s1, s2, b, 0)
    np.testing.assert_array_equal(m1, ref)


# -- mwgf -------------------------------------------------------------------------------------------


def _delete_line_literal(nn, limit=13):
    nn = nn.copy()
    h, w = nn.shape
    for ii in range(w):
        col = nn[:, ii]
        ones, zeros = np.flatnonzero(col), np.flatnonzero(~col)
        if ones.size and zeros.size and ones[0] == 0 and zeros[0] + 1 < limit:
            col[: zeros[0] + 1] = False
        ones, zeros = np.flatnonzero(col), np.flatnonzero(~col)
        if ones.size and zeros.size and ones[-1] == h - 1 and ones[-1] - zeros[-1] < limit:
            col[zeros[-1] :] = False
    for ii in range(h):
        row = nn[ii]
        ones, zeros = np.flatnonzero(row), np.flatnonzero(~row)
        if ones.size and zeros.size and ones[0] == 0 and zeros[0] + 1 < limit:
            row[: zeros[0] + 1] = False
        ones, zeros = np.flatnonzero(row), np.flatnonzero(~row)
        if ones.size and zeros.size and ones[-1] == w - 1 and ones[-1] - zeros[-1] < limit:
            row[zeros[-1] :] = False
    return nn


@pytest.mark.parametrize("seed", range(4))
def test_mwgf_delete_line_literal(seed):
    rng = np.random.default_rng(seed)
    nn = _blobs(rng, (40, 45), p=rng.uniform(0.2, 0.8), sigma=3.0)
    np.testing.assert_array_equal(mw._delete_line(nn), _delete_line_literal(nn))


def test_mwgf_imresize_preserves_constants_and_interior_ramps():
    """MATLAB imresize (bicubic, antialiased): weights sum to 1, linear ramps stay linear inside."""
    x = np.full((37, 41), 3.5)
    np.testing.assert_allclose(mw.imresize(x, 0.25), 3.5, rtol=0, atol=1e-12)
    ramp = np.tile(np.arange(64.0), (8, 1))
    out = mw.imresize(ramp, 0.25)
    assert out.shape == (2, 16)
    u = np.arange(1, 17) / 0.25 + 0.5 * (1 - 4)  # output centres in input coordinates (1-based)
    np.testing.assert_allclose(out[0, 3:-3], u[3:-3] - 1, atol=1e-9)


def test_mwgf_median_is_ordfilt2_with_zero_padding():
    x = np.ones((5, 6))
    out = mw._median3_zero(x)
    assert out[0, 0] == 0 and out[-1, -1] == 0  # corners: 5 of 9 neighbours are padding zeros
    assert (out[1:-1, :] == 1).all() and out[0, 1] == 1
    rng = np.random.default_rng(2)
    x = np.where(rng.random((30, 33)) < 0.6, 1.0, rng.random((30, 33)))
    p = np.pad(x, 1)
    ref = np.median(np.stack([p[i : i + 30, j : j + 33] for i in range(3) for j in range(3)]), axis=0)
    np.testing.assert_array_equal(mw._median3_zero(x), ref)
