"""Content-keyed memoisation of per-source work in Qp (phase congruency) and FMI (wavelet/edge maps).

The runner scores every fused image of a scene against the same sources, so those modules cache the
sources' expensive intermediate maps by content. These tests check that a cache hit returns exactly the
cold value (bit for bit), that the cache is keyed by content (not by array identity, so an in-place edit
of the caller's array can never return stale maps), and that cached maps are read-only.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrics import fmi as fmi_mod
from metrics import qp as qp_mod


def _images(seed: int = 0, shape: tuple[int, int] = (48, 56)):
    # local generator with a fixed seed; the expected values are cold recomputations, not constants
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    a = np.round(127 + 100 * np.sin(xx / 3.0) + rng.normal(0, 5, shape)).clip(0, 255)
    b = np.round(127 + 100 * np.cos(yy / 4.0) + rng.normal(0, 5, shape)).clip(0, 255)
    f = np.round((a + b) / 2)
    return a, b, f


def _clear() -> None:
    qp_mod._source_phasecong.cache.clear()
    qp_mod._source_side.cache.clear()
    for fe in fmi_mod._SOURCE_FEATURES.values():
        if hasattr(fe, "cache"):
            fe.cache.clear()


def test_qp_cache_hit_equals_cold_value():
    a, b, f = _images()
    _clear()
    cold = qp_mod.qp_zhao([a, b], f)
    assert len(qp_mod._source_phasecong.cache) == 2  # both sources cached, the fused image not
    warm = qp_mod.qp_zhao([a.copy(), b.copy()], f)  # new array objects, same content: hits
    assert warm == cold
    f2 = f.copy()
    f2[3, 4] += 1  # another fused image of the same scene
    _clear()
    expected = qp_mod.qp_zhao([a, b], f2)
    qp_mod.qp_zhao([a, b], f)  # warm the cache with this scene's sources
    assert qp_mod.qp_zhao([a, b], f2) == expected


def test_qp_cache_is_keyed_by_content():
    a, b, f = _images(1)
    _clear()
    qp_mod.qp_zhao([a, b], f)
    a[10:20, 10:20] = 0.0  # in-place edit of the caller's array after it was cached
    cached = qp_mod.qp_zhao([a, b], f)
    _clear()
    assert qp_mod.qp_zhao([a, b], f) == cached
    pc, big, small = qp_mod._source_phasecong(a)
    for arr in (pc, big, small):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0, 0] = 1.0


@pytest.mark.parametrize("feature", ["wavelet", "edge", "dct", "gradient", "none"])
def test_fmi_cache_hit_equals_cold_value(feature):
    a, b, f = _images(2, (24, 30))
    _clear()
    cold = fmi_mod.fmi([a, b], f, feature)
    warm = fmi_mod.fmi([a.copy(), b.copy()], f, feature)
    assert warm == cold
    a[0:5, 0:5] = 255.0  # content changed in place: must not hit the old entry
    changed = fmi_mod.fmi([a, b], f, feature)
    _clear()
    assert fmi_mod.fmi([a, b], f, feature) == changed


def test_fmi_cached_maps_are_read_only():
    a, _, _ = _images(3, (20, 20))
    _clear()
    for name in ("wavelet", "edge"):
        m = fmi_mod._SOURCE_FEATURES[name](a)
        assert not m.flags.writeable
        assert len(fmi_mod._SOURCE_FEATURES[name].cache) == 1


@pytest.mark.parametrize("feature", ["none", "gradient", "dct", "wavelet"])
def test_fmi_source_windows_built_on_repeat_and_exact(feature, monkeypatch):
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")  # SourceWindows belong to the NumPy path
    a, b, f = _images(3, (40, 70))
    fmi_mod._source_windows.cache.clear()
    feats = [fmi_mod.FEATURES[feature](x) for x in (a, b)]
    ff = fmi_mod.FEATURES[feature](f)
    inline = fmi_mod.fmi_value(feats, ff)
    first = fmi_mod.fmi([a, b], f, feature)  # first sight: nothing built
    assert len(fmi_mod._source_windows.cache) == 0
    second = fmi_mod.fmi([a, b], f + 1.0, feature)  # sources come back: built and kept
    assert len(fmi_mod._source_windows.cache) == 2
    third = fmi_mod.fmi([a, b], f, feature)  # served from the precomputed windows
    assert first == inline == third  # bit for bit
    ws = [fmi_mod.SourceWindows(x) for x in feats]
    assert fmi_mod.fmi_value(feats, ff, ws) == inline
    assert fmi_mod.fmi_value(feats, fmi_mod.FEATURES[feature](f + 1.0)) == second
    assert not ws[0].p.flags.writeable


def test_fmi_source_windows_shape_mismatch_raises():
    a, b, f = _images(4, (30, 30))
    ws = fmi_mod.SourceWindows(a[:, :20])
    with pytest.raises(ValueError, match="source_windows"):
        fmi_mod.fmi_value([a, b], f, [ws, None])


def test_memo_byte_budget_keeps_within_budget():
    from metrics._memo import memoize_images

    calls = []

    def fn(x):
        calls.append(1)
        return np.zeros(100)  # 800 bytes

    memo = memoize_images(fn, maxsize=10, max_bytes=2000, nbytes=lambda v: v.nbytes)
    for k in range(4):
        memo(np.full((4, 4), float(k)))
    assert len(memo.cache) == 2  # 3 x 800 bytes would exceed 2000
    big = memoize_images(lambda x: np.zeros(1000), max_bytes=100, nbytes=lambda v: v.nbytes)
    big(np.ones((2, 2)))
    assert len(big.cache) == 0  # larger than the whole budget: returned, not kept


def test_frozen_inputs_are_hashed_once_and_writable_ones_every_time():
    from metrics import _memo as st

    a = np.arange(12.0).reshape(3, 4)
    k1 = st.array_key(a)
    assert id(a) not in st._FROZEN_KEYS  # writable: never remembered
    a[0, 0] = 99.0
    assert st.array_key(a) != k1  # and so an in-place edit is seen
    f = st.freeze(a.copy())
    assert not f.flags.writeable
    kf = st.array_key(f)
    assert st._FROZEN_KEYS[id(f)][1] == kf == st.array_key(a)  # same content, same key
    view = f[:2]
    st.array_key(view)
    assert id(view) not in st._FROZEN_KEYS  # views do not own their memory: not remembered
    ident = id(f)
    del f
    import gc

    gc.collect()
    assert ident not in st._FROZEN_KEYS or st._FROZEN_KEYS[ident][0]() is not None


def test_prepare_returns_frozen_float64():
    from bench.protocols import prepare

    img = np.random.default_rng(0).uniform(0, 1, (8, 9, 3)).astype(np.float32)
    for p in prepare([img, img], "standard"):
        assert p.dtype == np.float64 and not p.flags.writeable and p.base is None


@pytest.mark.parametrize("shape", [(64, 64), (37, 91), (3, 3), (8, 150)])
def test_wavelet_feature_matrix_form_equals_pywt(shape):
    """feature_wavelet uses the dwt as matrices; it must equal pywt.dwt2 with the MATLAB dmey filters."""
    import pywt

    from metrics._fmi_features import _DMEY, feature_wavelet, rerange

    x = np.random.default_rng(sum(shape)).uniform(0, 255, shape)
    ca, (ch, cv, cd) = pywt.dwt2(x, _DMEY, mode="symmetric")
    want = rerange(np.block([[ca, ch], [cv, cd]]))
    got = feature_wavelet(x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_qcb_source_contrast_memo_hit_equals_cold_value():
    """Qcb's per-source C' is memoised by content: a hit gives the cold value bit for bit, read-only."""
    from metrics import qcb as qcb_mod
    from metrics._memo import clear_memos

    a, b, f = _images(3)
    clear_memos()
    cold = qcb_mod.qcb_chen_blum([a, b], f)
    assert len(qcb_mod._source_contrast.cache) == 2  # both sources, not the fused image
    f2 = f.copy()
    f2[5, 6] += 1
    clear_memos()
    expected = qcb_mod.qcb_chen_blum([a, b], f2)
    assert qcb_mod.qcb_chen_blum([a.copy(), b.copy()], f) == cold  # warm: new objects, same content
    assert qcb_mod.qcb_chen_blum([a, b], f2) == expected  # another fused image of the scene
    assert not qcb_mod._source_contrast(a).flags.writeable
    a2 = a.copy()
    a2[0, 0] = 255 - a2[0, 0]  # edited content: a miss, recomputed
    clear_memos()
    expected = qcb_mod.qcb_chen_blum([a2, b], f)
    qcb_mod.qcb_chen_blum([a, b], f)
    assert qcb_mod.qcb_chen_blum([a2, b], f) == expected


@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_qabf_source_gradient_memo_hit_equals_cold_value(scale):
    """Qabf's per-source gradient/angle maps are memoised by content: hits give the cold value exactly."""
    from metrics import qabf as qabf_mod
    from metrics._memo import clear_memos

    a, b, f = _images(4)
    f2 = f.copy()
    f2[7, 8] += 1
    clear_memos()
    expected = qabf_mod.qabf_xydeas([a, b], f2, scale=scale)
    clear_memos()
    cold = qabf_mod.qabf_xydeas([a, b], f, scale=scale)
    # qabf@vifb's 255: the maps of the scaled source, keyed by the source itself
    memo = qabf_mod._source_grad_angle if scale == 1.0 else qabf_mod._scaled_source_maps(scale)
    assert len(memo.cache) == 2
    assert qabf_mod.qabf_xydeas([a.copy(), b.copy()], f, scale=scale) == cold
    assert qabf_mod.qabf_xydeas([a, b], f2, scale=scale) == expected
    assert not any(m.flags.writeable for m in memo(a))
