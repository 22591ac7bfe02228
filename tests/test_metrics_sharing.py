"""Work shared between metrics and across the fused images of a scene gives the cold values bit for bit.

Issue 15: the structural family (Qy, Qc, Qs, SSIM, MS-SSIM, VIF, VIFF) shares window moments per (image
pair, window) and per image; MEF-SSIM, Qy@sesf, Qcv and Qp keep their source-side work per scene; Octave's
exact ``filter2`` windows and phase congruency run compiled. Every expected value here is a cold
recomputation (memos cleared, writable inputs, so no memo is used) -- never a stored constant.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.registry import get_metric
from metrics._memo import clear_memos, freeze

SHARED = [
    "qy", "qy@liu", "qy@mefb", "qy@sesf", "qc", "qc@sesf", "qs", "ssim", "ssim@af", "ms_ssim", "vif",
    "vif@af", "viff", "viff@cddfuse", "mef_ssim", "mef_ssim@sesf", "qcv", "qcb", "qp", "nabf", "qg",
    "qg@liu2020",
]  # fmt: skip
TWO_ONLY = {"qy", "qy@liu", "qy@mefb", "qy@sesf", "qc", "qc@sesf"}


def _scene(seed: int, shape: tuple[int, int], n: int = 2):
    """Sources with exactly flat patches (Octave's exact windows), and three fused images: an average,
    one with a flat patch where the sources vary (a partner's flat windows), one copying a source."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    srcs = [
        np.round(127 + 90 * np.sin(xx / (4.0 + k) + yy / (7.0 + 2 * k)) + rng.normal(0, 8, shape)).clip(
            0, 255
        )
        for k in range(n)
    ]
    srcs[0][4:20, 6:30] = 151.0
    srcs[-1][-18:, -22:] = 16.0
    avg = np.round(sum(srcs) / n)
    flat = avg.copy()
    flat[10:30, 30:52] = 90.0
    copy = srcs[0].copy()
    copy[:, shape[1] // 2 :] = srcs[-1][:, shape[1] // 2 :]
    return srcs, [avg, flat, copy]


def _cold(mid: str, srcs, fused) -> float:
    clear_memos()
    return get_metric(mid).fn([s.copy() for s in srcs], fused.copy(), reference=None)


@pytest.mark.parametrize("shape,n", [((60, 68), 2), ((56, 64), 3), ((180, 184), 2)])
def test_scene_pass_with_shared_work_equals_cold_values(shape, n):
    srcs, fuseds = _scene(shape[0] + n, shape, n)
    ids = [m for m in SHARED if n == 2 or m not in TWO_ONLY]
    if shape[0] > 100:
        ids = ["ms_ssim", "ms_ssim@bf", "ssim", "qs", "qy", "qc"]  # MS-SSIM needs sides >= 176
    expected = {(m, k): _cold(m, srcs, f) for m in ids for k, f in enumerate(fuseds)}
    clear_memos()
    frozen_srcs = [freeze(s.copy()) for s in srcs]
    for k, f in enumerate(fuseds):  # one pass per fused image, sources shared: every memo in play
        ff = freeze(f.copy())
        for m in ids:
            got = get_metric(m).fn(frozen_srcs, ff, reference=None)
            want = expected[m, k]
            assert got == want or (np.isnan(got) and np.isnan(want)), (m, k, got, want)
    clear_memos()


def test_local_moments_memo_is_read_only_and_keyed_by_content():
    from metrics._structural import local_moments
    from metrics.qy import _G7

    srcs, (f, _, _) = _scene(1, (40, 44))
    a = freeze(srcs[0].copy())
    clear_memos()
    first = local_moments(a, freeze(f.copy()), _G7, exact_near_flat=True)
    assert all(not m.flags.writeable for m in first)
    again = local_moments(freeze(srcs[0].copy()), freeze(f.copy()), _G7, exact_near_flat=True)
    assert all(x is y for x, y in zip(first, again, strict=True))  # a hit: new objects, same content
    f2 = f.copy()
    f2[3, 3] += 1
    other = local_moments(a, freeze(f2), _G7, exact_near_flat=True)
    plain = local_moments(srcs[0].copy(), f2, _G7, exact_near_flat=True)  # writable: no memo
    for x, y in zip(other, plain, strict=True):
        assert np.array_equal(x, y)
    clear_memos()


def test_exact_windows_compiled_equal_numpy_path(monkeypatch):
    pytest.importorskip("numba")
    from metrics._jit import kernels
    from metrics._matlab import OctaveWindow

    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    assert kernels("structural") is not None  # the kernel builds (else the comparison below is void)
    rng = np.random.default_rng(7)
    for win in (OctaveWindow(7, 1.5, renormalize=True), OctaveWindow(11, None), OctaveWindow(17, 3.4)):
        for img in (
            np.round(rng.random((50, 60)) * 255),
            rng.random((50, 60)) * 1e-3,
            np.full((50, 60), 151.0),
        ):
            rows, cols = np.nonzero(rng.random((50 - win.n + 1, 60 - win.n + 1)) < 0.3)
            monkeypatch.setenv("MFIF_NO_NUMBA", "0")
            fast = win.exact_at(img, rows, cols)
            monkeypatch.setenv("MFIF_NO_NUMBA", "1")
            slow = win.exact_at(img, rows, cols)
            assert np.array_equal(fast, slow)


@pytest.mark.parametrize("group_bytes", [1, 3 * 4 * 40 * 44 * 16])
def test_phasecong_orientation_groups_give_the_same_bits(monkeypatch, group_bytes):
    """Big images keep fewer orientations' responses at once (accumulators carried between groups)."""
    pytest.importorskip("numba")
    from metrics import _phasecong

    srcs, (f, _, _) = _scene(2, (40, 44))
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    whole = _phasecong.phasecong_liu(f)
    monkeypatch.setattr(_phasecong, "_GROUP_BYTES", group_bytes)  # groups of 1, then of 3 orientations
    grouped = _phasecong.phasecong_liu(f)
    for x, y in zip(whole, grouped, strict=True):
        assert np.array_equal(x, y)
