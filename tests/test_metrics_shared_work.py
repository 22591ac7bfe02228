"""Shared per-image work of the mid-tier metrics (issue 15): memoised halves, label tables, the
edge-preservation kernels and the patched moments give the same bits as the computations they replace.

Fast, synthetic scenes built to hit the branches (flat windows in a source and in the fused image, exact
copies, equal gradients, 3 sources, a constant image); the real-image identity checks are the slow
reference tests.
"""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import wavy_scene

from bench.registry import get_metric
from metrics._memo import clear_memos, freeze


def _scene(seed: int, shape=(40, 46), n: int = 2):
    srcs, fused = wavy_scene(seed, shape, n)  # flat windows in a source, exact copies (equal gradients)
    fused[25:38, 30:44] = 200.0  # flat windows in the fused image only
    return [freeze(s) for s in srcs], freeze(fused)


CASES = [_scene(1), _scene(2, n=3), _scene(3, shape=(33, 64))]
CASES.append(([CASES[0][0][0], CASES[0][0][1]], freeze(np.zeros((40, 46)))))


BIG = [_scene(4, shape=(70, 64)), _scene(5, shape=(66, 90), n=3)]  # MEF-SSIM's 3 scales need >= 44 px


@pytest.mark.parametrize(
    "metric, case",
    [(m, c) for m in ("qabf", "qabf@vifb", "qg", "nabf") for c in CASES]
    + [(m, c) for m in ("mef_ssim", "mef_ssim@sesf") for c in BIG]
    + [
        (m, c)
        for m in ("qcb", "qy@sesf", "qc", "qc@sesf")
        for c in (*CASES, *BIG)
        if len(c[0]) == 2 or m == "qcb"
    ],
)
def test_compiled_tails_equal_the_numpy_path(metric, case, monkeypatch):
    pytest.importorskip("numba")
    srcs, f = case
    fn = get_metric(metric)
    clear_memos()
    compiled = fn.call(srcs, f, None)
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    clear_memos()
    plain = fn.call(srcs, f, None)
    assert compiled == plain or (np.isnan(compiled) and np.isnan(plain))


@pytest.mark.parametrize("case", range(len(CASES)))
def test_ssim_cddfuse_equals_scikit_image(case):
    skm = pytest.importorskip("skimage.metrics")
    from metrics.ssim import ssim_skimage_cddfuse

    srcs, f = CASES[case]
    for s in srcs:
        want = float(skm.structural_similarity(f.astype(np.float32), s.astype(np.float32), data_range=2.0))
        assert ssim_skimage_cddfuse(f, s) == want
        assert ssim_skimage_cddfuse(f, s) == want  # memo hit: the same


def test_mi_labels_equal_numpy_unique():
    from metrics.mi import _labels

    rng = np.random.default_rng(0)
    arrays = [
        np.floor(rng.random((30, 31)) * 256).astype(np.float32),
        rng.random((12, 12)),  # non-integer: np.unique path
        np.array([[0.0, -0.0, 3.0], [70000.0, 1.0, 1.0]]),  # beyond the table: np.unique path
        np.array([[2.0, 2.0], [2.0, 2.0]], dtype=np.float32),
        np.array([[65535.0, 0.0], [7.0, 7.0]]),
    ]
    for a in arrays:
        assert np.array_equal(_labels(a), np.unique(a.ravel(), return_inverse=True)[1])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_patched_own_moments_equal_filtering_with_the_partners_flats(case):
    from metrics._memo import flat_windows
    from metrics._structural import _own_moments
    from metrics.qy import _G7

    srcs, f = CASES[case]
    for x, y in [(srcs[0], f), (f, srcs[0]), (srcs[1], f)]:
        fx, fy = flat_windows(x, 7), flat_windows(y, 7)
        ex = fx | fy
        want_m = _G7.filter_valid(x, fx, ex)
        want_v = _G7.filter_valid(x * x, fx, ex) - want_m * want_m
        m, v = _own_moments(x, _G7, fx, fy)
        assert np.array_equal(m, want_m) and np.array_equal(v, want_v)


def test_ifc_distortion_kernel_equals_the_numpy_path(monkeypatch):
    """Every clamp branch of distsub_est_m (ssx < tol, ssy < tol, negative gain, tiny noise variance)."""
    pytest.importorskip("numba")
    from metrics import ifc

    rng = np.random.default_rng(7)
    x = np.round(rng.random((30, 33)) * 255)
    y = x.copy()
    y[:, 10:20] = np.round(rng.random((30, 10)) * 255)  # independent part: negative gains
    y[:, 20:] = 255 - x[:, 20:]
    x[:9, :9] = 5.0  # flat: ssx < tol
    y[12:21, :9] = 7.0  # flat: ssy < tol
    win, n = 3, 9.0
    stats = []
    for img in (x, y):
        mean = ifc._block_sums(img, win) / n
        ss = ifc._block_sums(img * img, win) - n * (mean * mean)
        ss[ss < 0] = 0.0
        stats.append((mean, ss))
    (mx, ssx), (my, ssy) = stats
    out = []
    for flag in ("0", "1"):
        monkeypatch.setenv("MFIF_NO_NUMBA", flag)
        out.append(ifc._distortion_channel(x, y, 1, mx, ssx, my, ssy))
    (g0, v0), (g1, v1) = out
    assert np.array_equal(g0, g1) and np.array_equal(v0, v1)
    assert (g1 == 0).any() and (g1 > 0).any() and (v1 == ifc._TOL).any()


def test_mi_cddfuse_many_distinct_values_is_sklearn_mutual_info_score():
    """[0, 1] luminance (sesf2020 protocol): tens of thousands of labels, where a dense joint table would
    need gigabytes; only the pairs present are counted, in the same order."""
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(9)
    a, b = (np.round(rng.random((120, 130)), 6) for _ in range(2))
    f = (a + b) / 2
    expected = sum(
        skm.mutual_info_score(f.ravel().astype(np.float32), s.ravel().astype(np.float32)) for s in (a, b)
    )
    assert get_metric("mi@cddfuse").fn([a, b], f) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("shape", [(131, 77), (76, 90), (17, 18), (10, 11), (4, 9)])
def test_ifc_decimating_lowpass_equals_filter_then_decimate(shape, monkeypatch):
    from metrics import ifc

    x = np.random.default_rng(shape[0]).random(shape) * 255
    for flag in ("0", "1"):
        monkeypatch.setenv("MFIF_NO_NUMBA", flag)
        full = ifc._corr(x, ifc._LOF)[::2, ::2]
        assert np.array_equal(ifc._corr(x, ifc._LOF, step2=True), full)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_ssim_map_is_symmetric_bit_for_bit(case, monkeypatch):
    """qs asks SSIM(S, F) in ssim's (S, F) order to share the moments: the map must not depend on it."""
    from metrics.ssim import ssim_map

    srcs, f = CASES[case]
    for flag in ("0", "1"):
        monkeypatch.setenv("MFIF_NO_NUMBA", flag)
        clear_memos()
        for s in srcs:
            assert np.array_equal(ssim_map(s, f), ssim_map(f, s), equal_nan=True)


@pytest.mark.parametrize("shape", [(7, 7), (8, 30), (41, 19), (64, 65)])
def test_symmetric_valid_equals_scipy_correlate1d(shape):
    """qy@sesf's compiled filter2 'valid' is SciPy's two correlate1d passes bit for bit."""
    pytest.importorskip("numba")
    from scipy import ndimage

    from metrics._jit import kernels
    from metrics.qy_sesf import _window_factor

    k = kernels("structural")
    g = _window_factor()
    rng = np.random.default_rng(shape[1])
    x, y = np.floor(rng.random(shape) * 256), rng.random(shape) * 255
    for img, args in ((x, (x, None)), (x * y, (x, y)), (y * y, (y, y))):
        want = ndimage.correlate1d(
            ndimage.correlate1d(img, g, axis=0, mode="constant"), g, axis=1, mode="constant"
        )
        out = np.empty((shape[0] - 6, shape[1] - 6))
        assert np.array_equal(k.symmetric_valid(*args, g, out), want[3:-3, 3:-3])
