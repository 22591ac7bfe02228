"""Compiled (numba) metric kernels against the NumPy path they replace (issue 15).

The NumPy path stays the fallback (``MFIF_NO_NUMBA=1`` or numba missing); both must give the same value
within 1e-9 relative (in practice ~1e-15). Fast tests use small synthetic scenes built to hit every branch
(exact-match windows, the F-window normalisation quirk, constant windows, N = 3); the slow test runs the
reference images.
"""

from __future__ import annotations

import numpy as np
import pytest
from _synthetic import wavy_scene

from metrics import _jit
from metrics import fmi as fmi_mod
from metrics._fmi_features import FEATURES

pytest.importorskip("numba")

REL = 1e-12


def _scene(seed: int, shape=(40, 46), n: int = 2):
    srcs, fused = wavy_scene(seed, shape, n)  # flat patch in source 1, left third copied (equality shortcut)
    fused[shape[0] // 2 :, shape[1] // 2 :] = srcs[-1][shape[0] // 2 :, shape[1] // 2 :]  # and of the last
    return srcs, fused


def _close(a: float, b: float, rel: float = REL) -> bool:
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


@pytest.mark.parametrize("feature", sorted(FEATURES))
@pytest.mark.parametrize("seed,n", [(0, 2), (1, 2), (2, 3)])
def test_fmi_kernel_equals_numpy_path(feature, seed, n):
    srcs, fused = _scene(seed, n=n)
    fe = FEATURES[feature]
    feats, ff = [fe(s) for s in srcs], fe(fused)
    numpy_value = fmi_mod.fmi_value(feats, ff)
    compiled = fmi_mod.fmi_value_compiled(feats, ff)
    assert compiled is not None
    assert _close(compiled, numpy_value), (feature, compiled, numpy_value)


def test_fmi_kernel_identical_inputs_and_constant_images():
    srcs, fused = _scene(3)
    for feats, ff in (
        ([fused, fused], fused),  # every window an exact match: 1
        ([np.full((9, 9), 5.0), np.full((9, 9), 7.0)], np.full((9, 9), 6.0)),  # constant windows
    ):
        a, b = fmi_mod.fmi_value_compiled(feats, ff), fmi_mod.fmi_value(feats, ff)
        assert _close(a, b), (a, b)  # constant windows: p - mean(p) is rounding noise, same branches


def test_no_numba_switch_selects_numpy_path(monkeypatch):
    srcs, fused = _scene(4)
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    assert _jit.kernels("fmi") is None
    assert fmi_mod.fmi_value_compiled(srcs, fused) is None
    slow = fmi_mod.fmi(srcs, fused, "none")
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    assert _jit.kernels("fmi") is not None
    assert _close(fmi_mod.fmi(srcs, fused, "none"), slow)


def test_kernel_module_that_cannot_build_selects_numpy_path(monkeypatch):
    """A kernel module whose import fails in any way (kernels compile a tiny case at import) -> None."""

    def broken(name):
        raise RuntimeError(f"cannot build {name}")  # e.g. a numba without an option a kernel uses

    monkeypatch.setattr(_jit.importlib, "import_module", broken)
    monkeypatch.delitem(_jit._MODULES, "nosuch", raising=False)
    assert _jit.kernels("nosuch") is None
    _jit._MODULES.pop("nosuch", None)


def test_fmi_kernel_single_window_and_n1():
    """Edge sizes of the compiled loop's scratch-free path: one window, one source, many sources."""
    rng = np.random.default_rng(9)
    for n, shape in ((1, (3, 3)), (1, (5, 17)), (5, (4, 3)), (2, (3, 40))):
        feats = [np.round(rng.random(shape) * 255) for _ in range(n)]
        ff = np.round(rng.random(shape) * 255)
        a, b = fmi_mod.fmi_value_compiled(feats, ff), fmi_mod.fmi_value(feats, ff)
        assert a is not None and _close(a, b), (n, shape, a, b)


@pytest.mark.parametrize("n", [2, 3])
def test_fmi_kernel_decision_map_fusion(n):
    """Fused images that copy each source over random regions (decision-map fusion): blocks of windows
    where some lanes match a source exactly and others do not (the kernel computes only the latter)."""
    rng = np.random.default_rng(20 + n)
    srcs, _ = _scene(5 + n, shape=(37, 101), n=n)
    label = rng.integers(0, n, size=(5, 13)).repeat(8, axis=0).repeat(8, axis=1)[:37, :101]
    fused = np.choose(label, srcs)
    fused[rng.random(fused.shape) < 0.01] += 1.0  # a few isolated changes
    for feature in ("none", "edge", "gradient"):
        fe = FEATURES[feature]
        feats, ff = [fe(s) for s in srcs], fe(fused)
        a, b = fmi_mod.fmi_value_compiled(feats, ff), fmi_mod.fmi_value(feats, ff)
        assert a is not None and _close(a, b), (feature, n, a, b)


def test_edge_thinning_kernel_equals_numpy_path():
    """MATLAB edge()'s thinning compiled: the very same 0/1 map (ties, flat and tiny images included)."""
    from metrics._fmi_features import _SOBEL8, _edge_thin_numpy
    from metrics._matlab import correlate

    rng = np.random.default_rng(11)
    srcs, fused = _scene(6, shape=(41, 67))
    for img in (
        *srcs,
        fused,
        rng.integers(0, 3, (30, 45)).astype(float),
        np.full((7, 9), 4.0),
        rng.random((3, 3)),
    ):
        bx, by = correlate(img, _SOBEL8.T, "nearest"), correlate(img, _SOBEL8, "nearest")
        b = bx * bx + by * by
        expected = _edge_thin_numpy(bx, by, b, 4.0 * np.mean(b))
        np.testing.assert_array_equal(FEATURES["edge"](img), expected)
        np.testing.assert_array_equal(
            _jit.kernels("fmi").edge_thin(bx, by, b, 4.0 * np.mean(b), np.empty_like(b)), expected
        )


def test_fmi_kernel_log_within_one_ulp():
    """The kernel's vectorisable log (fdlibm's algorithm) against NumPy's, on the range it is used on."""
    k = _jit.kernels("fmi")
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [
            rng.random(20000),
            np.exp(rng.uniform(-700.0, 700.0, 20000)),
            1.0 + rng.uniform(-1e-6, 1e-6, 2000),
            [1e-300, 0.5, 1.0, 2.0, np.sqrt(2.0), np.sqrt(0.5), np.finfo(float).max],
        ]
    )
    buf = x.copy()
    k._logs_array(buf)
    ref = np.log(x)
    assert np.all(np.abs(buf - ref) <= np.spacing(np.abs(ref)) + (ref == 0) * 1e-300)
    special = np.array([np.inf, np.nan])
    k._logs_array(special)
    assert special[0] == np.inf and np.isnan(special[1])


@pytest.mark.slow
def test_fmi_kernel_on_reference_images(reference_dir):
    from PIL import Image

    def rd(name):
        return np.asarray(Image.open(reference_dir / "images" / f"{name}.png").convert("L"), dtype=np.float64)

    for case in ("lytro_01", "lytro_04", "lytro_20"):
        srcs = [rd(f"{case}_A"), rd(f"{case}_B")]
        for rule in ("avg", "A"):
            fused = rd(f"{case}_F_{rule}")
            for feature, fe in FEATURES.items():
                feats, ff = [fe(s) for s in srcs], fe(fused)
                a, b = fmi_mod.fmi_value_compiled(feats, ff), fmi_mod.fmi_value(feats, ff)
                assert _close(a, b), (case, rule, feature, a, b)


def _both_paths(monkeypatch, fn):
    """``fn()`` on the NumPy path and on the compiled path (memo caches cleared before each)."""
    from metrics._memo import clear_memos

    out = []
    for flag in ("1", "0"):
        monkeypatch.setenv("MFIF_NO_NUMBA", flag)
        clear_memos()
        out.append(fn())
    clear_memos()
    return out


@pytest.mark.parametrize("seed,n", [(0, 2), (5, 3)])
def test_phasecong_and_qp_kernel_equal_numpy_path(monkeypatch, seed, n):
    from metrics import _phasecong
    from metrics.qp import qp_zhao

    srcs, fused = _scene(seed, shape=(48, 52), n=n)
    slow, fast = _both_paths(monkeypatch, lambda: _phasecong.phasecong_liu(fused))
    for a, b in zip(slow, fast, strict=True):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.nanmax(np.abs(a)))
    slow, fast = _both_paths(monkeypatch, lambda: qp_zhao(srcs, fused))
    assert _close(fast, slow), (fast, slow)


def test_qp_kernel_constant_image_nan(monkeypatch):
    from metrics.qp import qp_zhao

    c = np.full((40, 40), 7.0)
    slow, fast = _both_paths(monkeypatch, lambda: qp_zhao([c, c + 1], c))
    assert np.isnan(slow) and np.isnan(fast)


@pytest.mark.slow
def test_qp_kernel_on_reference_images(monkeypatch, reference_dir):
    from PIL import Image

    from metrics.qp import qp_zhao

    def rd(name):
        return np.asarray(Image.open(reference_dir / "images" / f"{name}.png").convert("L"), dtype=np.float64)

    for case in ("lytro_01", "lytro_20"):
        srcs = [rd(f"{case}_A"), rd(f"{case}_B")]
        for rule in ("avg", "blurA"):
            fused = rd(f"{case}_F_{rule}")
            slow, fast = _both_paths(monkeypatch, lambda s=srcs, f=fused: qp_zhao(s, f))
            assert _close(fast, slow), (case, rule, fast, slow)


def test_structural_formula_kernels_same_bits(monkeypatch):
    """The compiled SSIM/cs/Qy-combination passes give the NumPy expressions' very bits (views, zeros,
    NaN and infinite entries included), and the metrics built on them equal their NumPy path exactly."""
    from metrics import _structural, qy
    from metrics._memo import freeze

    rng = np.random.default_rng(14)
    big = [rng.normal(0, 50, (40, 47)) for _ in range(5)]
    mx, my, sxx, syy, sxy = (b[3:-2, 1:-4] for b in big)  # non-contiguous views, as local_moments gives
    sxx[0, :4] = 0.0
    syy[0, :4] = 0.0
    sxy[0, :3] = 0.0
    mx[1, :2] = np.nan
    sxx[2, 0] = -syy[2, 0] - 1e-4  # a zero denominator: inf / nan as NumPy gives
    k = _jit.kernels("structural")
    for c1, c2, guard in ((2e-16, 2e-16, 0.0), (6.5025, 58.5225, 0.0), (2e-16, 2e-16, 1e-10)):
        got = _structural.ssim_formula(mx, my, sxx, syy, sxy, c1, c2, guard)
        monkeypatch.setenv("MFIF_NO_NUMBA", "1")
        want = _structural.ssim_formula(mx, my, sxx, syy, sxy, c1, c2, guard)
        cs_want = _structural.cs_formula(sxx, syy, sxy, c2)
        monkeypatch.setenv("MFIF_NO_NUMBA", "0")
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(_structural.cs_formula(sxx, syy, sxy, c2), cs_want)
    lam = np.where(rng.random(mx.shape) < 0.1, np.nan, rng.random(mx.shape))
    sim = rng.random(mx.shape) < 0.5
    s_af, s_bf = rng.random(mx.shape), rng.random(mx.shape)
    s_af[0, 0] = np.nan
    s_bf[1, 1] = np.nan
    with np.errstate(invalid="ignore"):
        want = (lam * s_af + (1 - lam) * s_bf) * sim + np.maximum(s_af, s_bf) * ~sim
    np.testing.assert_array_equal(k.qy_combine(lam, sim, s_af, s_bf, np.empty(mx.shape)), want)
    srcs, fused = _scene(15)
    srcs[1][20:30, 20:35] = 200.0  # flat in both sources somewhere (NaN weights)
    srcs[0][20:30, 20:35] = 120.0
    a, b, f = (freeze(x) for x in (*srcs, fused))
    for exact in (False, True):
        got = qy.qy_map(a, b, f, exact)
        monkeypatch.setenv("MFIF_NO_NUMBA", "1")
        want = qy.qy_map(*(np.array(x) for x in (a, b, f)), exact)  # writable copies: no memo
        monkeypatch.setenv("MFIF_NO_NUMBA", "0")
        np.testing.assert_array_equal(got, want)


def test_flat_windows_kernel_equals_morphology():
    """The one-pass flat-window map equals the dilation == erosion map for every window size."""
    from metrics._memo import _flat_windows, _flat_windows_morph

    rng = np.random.default_rng(16)
    srcs, fused = _scene(17, shape=(41, 53))
    images = [*srcs, fused, rng.integers(0, 2, (23, 31)).astype(float), np.full((9, 12), 3.0)]
    images += [rng.integers(0, 3, (5, 6)).astype(float), np.repeat(rng.random((4, 30)), 8, axis=0)]
    for img in images:
        for k in range(1, min(img.shape) + 1):
            got = _flat_windows(img, k)
            assert got.dtype == bool
            np.testing.assert_array_equal(got, _flat_windows_morph(img, k), err_msg=f"{img.shape} k={k}")


def test_matlab_round_kernel_same_bits(monkeypatch):
    """MATLAB round compiled: the NumPy path's bits (halves, the largest double below 0.5, signed zeros,
    inf, NaN); normalize1 of a frozen image is memoised, read-only and equal to the plain computation."""
    from metrics._matlab import matlab_round, normalize1
    from metrics._memo import freeze

    rng = np.random.default_rng(18)
    special = [0.49999999999999994, -0.49999999999999994, -0.0, 0.0, np.inf, -np.inf, np.nan, 2.5, -2.5]
    x = np.concatenate([rng.normal(0, 300, 20000), np.arange(-300, 300) + 0.5, special, [1.5] * 6])
    x = x.reshape(-1, 7)
    got = matlab_round(x)
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    want = matlab_round(x)
    monkeypatch.setenv("MFIF_NO_NUMBA", "0")
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    img = freeze(rng.random((90, 70)) * 200)
    a, b = normalize1(img), normalize1(img)
    assert a is b and not a.flags.writeable
    np.testing.assert_array_equal(a, normalize1(np.array(img)))


def test_vif_clamp_kernel_same_bits(monkeypatch):
    """VIF's clamps compiled: the NumPy path's bits on every branch (negative, tiny and NaN moments)."""
    from metrics import _vif_stats

    rng = np.random.default_rng(19)
    shape = (60, 70)
    s1, s2 = rng.normal(0, 1, shape) * 10.0 ** rng.integers(-14, 3, shape), rng.normal(0, 5, shape)
    s12 = rng.normal(0, 3, shape)
    s2[:5] = rng.uniform(-1e-9, 1e-9, (5, 70))
    s1[10, :5] = np.nan
    s12[11, :5] = 0.0
    got = _vif_stats._clamp(s1, s2, s12)
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    want = _vif_stats._clamp(s1.copy(), s2.copy(), s12.copy())
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fmi_kernel_edge_lookup_table_same_bits():
    """Pairs of 0/1 windows looked up by pattern (one table shared by every scene) give the per-window
    sums computed directly, bit for bit (2 and 3 sources, copied regions: the F-window quirk)."""
    k = _jit.kernels("fmi")
    rng = np.random.default_rng(21)
    lut = np.full((512, 512), np.nan)
    fe = FEATURES["edge"]
    for seed, n in ((0, 2), (1, 3), (2, 2)):
        srcs, fused = _scene(22 + seed, shape=(45, 77), n=n)
        label = rng.integers(0, n, size=(6, 10)).repeat(8, axis=0).repeat(8, axis=1)[:45, :77]
        for ff in (fe(fused), fe(np.choose(label, srcs))):
            feats = np.stack([fe(s) for s in srcs])
            want = k.fmi_totals(feats, ff)
            for _ in range(2):  # filling the table, then reading it
                np.testing.assert_array_equal(k.fmi_totals(feats, ff, lut), want)
    assert np.isfinite(lut).sum() > 100
    lut_other = np.full((512, 512), np.nan)  # a non-binary map leaves the table alone and computes
    srcs, fused = _scene(30)
    np.testing.assert_array_equal(
        k.fmi_totals(np.stack(srcs), fused, lut_other), k.fmi_totals(np.stack(srcs), fused)
    )
    assert np.isnan(lut_other).all()


def test_ssim_builtin_emulation_memo_same_value():
    """The memoised moments of the built-in SSIM emulation (frozen inputs; shared by L = 1 and L = 255)
    give the value of the plain computation."""
    from metrics._memo import freeze
    from metrics.ssim import _replicate_cross, ssim_builtin_emulation

    srcs, fused = _scene(31)
    a, f = freeze(srcs[0]), freeze(fused)
    for dyn in (1.0, 255.0):
        assert ssim_builtin_emulation(f, a, dyn) == ssim_builtin_emulation(np.array(f), np.array(a), dyn)
    assert len(_replicate_cross.cache) >= 1


@pytest.mark.parametrize("n", [2, 3])
def test_fmi_kernel_scene_table_same_bits(n):
    """Totals of windows where the fused map copies a source, kept per scene and read back for later fused
    images (decision-map fusion), are the totals computed directly, bit for bit: copies of each source
    (for source 2.. the F-window quirk holds), partial blocks, isolated changes, windows equal in two
    sources, NaN in a fused map; the table fills and is used."""
    k = _jit.kernels("fmi")
    rng = np.random.default_rng(40 + n)
    srcs, _ = _scene(41 + n, shape=(39, 83), n=n)
    srcs[1][:8, :20] = srcs[0][:8, :20]  # windows where two sources agree
    for feature in ("none", "gradient", "dct", "wavelet", "edge"):
        fe = FEATURES[feature]
        feats = np.stack([fe(s) for s in srcs])
        table = np.full((n, (feats.shape[1] - 2) * (feats.shape[2] - 2)), np.nan)
        lut = np.full((512, 512), np.nan) if feature == "edge" else None  # with the edge pattern table
        images = []
        for step in range(4):
            label = rng.integers(0, n, size=(5, 11)).repeat(8, axis=0).repeat(8, axis=1)[:39, :83]
            fused = np.choose(label, srcs)
            fused[rng.random(fused.shape) < 0.01 * step] += 1.0
            images.append(fused)
        images += [srcs[-1].copy(), np.round(sum(srcs) / n), images[0]]
        for fused in images:
            ff = fe(fused)
            if feature == "none" and fused is images[-2]:
                ff = ff.copy()
                ff[3, 4] = np.nan
            np.testing.assert_array_equal(k.fmi_totals(feats, ff, lut, table), k.fmi_totals(feats, ff))
        assert np.isfinite(table).any(axis=1).all() or feature in ("dct", "wavelet")
    # no table, or a table of another shape: computed directly
    feats = np.stack(srcs)
    for other in (np.full((1, 1), np.nan), np.zeros((n + 1, 37 * 81)), np.zeros((0, 0))):
        np.testing.assert_array_equal(k.fmi_totals(feats, srcs[0], None, other), k.fmi_totals(feats, srcs[0]))


def test_fmi_scene_table_across_fused_images_of_a_scene():
    """fmi() keeps one table per scene and feature for frozen sources (the runner's inputs): the values of
    a scene's fused images are those of fresh, unshared calls; writable sources get no table."""
    from metrics._memo import clear_memos, freeze

    srcs, _ = _scene(50, shape=(44, 61))
    srcs = [freeze(s) for s in srcs]
    rng = np.random.default_rng(51)
    fused_images = []
    for _ in range(3):
        label = rng.integers(0, 2, size=(6, 8)).repeat(8, axis=0).repeat(8, axis=1)[:44, :61]
        fused_images.append(freeze(np.choose(label, srcs)))
    fused_images.append(freeze(np.array(srcs[1])))
    for feature in ("none", "gradient"):
        want = []
        for f in fused_images:
            clear_memos()
            want.append(fmi_mod.fmi([np.array(s) for s in srcs], f, feature))
        clear_memos()
        got = [fmi_mod.fmi(srcs, f, feature) for f in fused_images]
        got += [fmi_mod.fmi(srcs, f, feature) for f in fused_images]
        assert got == want + want, feature
        tables = list(fmi_mod._SCENE_TABLES[feature].cache.values())
        assert len(tables) == 1 and np.isfinite(tables[0]).mean() > 0.5
        clear_memos()
        fmi_mod.fmi([np.array(s) for s in srcs], fused_images[0], feature)
        assert not fmi_mod._SCENE_TABLES[feature].cache


def test_fmi_scene_table_only_within_its_share_of_the_source_budget(monkeypatch):
    """A table larger than its share of the source budget (big images) is not built: computed directly."""
    from metrics._memo import SOURCE_BUDGET, clear_memos, freeze

    srcs, fused = _scene(52, shape=(30, 40))
    srcs, fused = [freeze(s) for s in srcs], freeze(fused)
    clear_memos()
    monkeypatch.setattr(SOURCE_BUDGET, "limit", 8 * 2 * 28 * 38 * fmi_mod._TABLE_SHARE - 1)
    small = [fmi_mod.fmi(srcs, fused, "none") for _ in range(3)]
    assert not fmi_mod._SCENE_TABLES["none"].cache
    monkeypatch.setattr(SOURCE_BUDGET, "limit", 8 * 2 * 28 * 38 * fmi_mod._TABLE_SHARE)
    assert fmi_mod.fmi(srcs, fused, "none") == small[0]  # a scene's first image: no table yet
    assert not fmi_mod._SCENE_TABLES["none"].cache
    assert fmi_mod.fmi(srcs, fused, "none") == small[0]
    assert len(fmi_mod._SCENE_TABLES["none"].cache) == 1
    clear_memos()


def test_fmi_gradient_feature_is_matlab_gradient_gx():
    """The FMI gradient feature computes only gx: the very values of metrics.ag.matlab_gradient's gx."""
    from metrics._fmi_features import feature_gradient
    from metrics.ag import matlab_gradient

    rng = np.random.default_rng(53)
    for shape in ((40, 46), (1, 7), (7, 1), (1, 1), (3, 2)):
        for x in (
            rng.random(shape) * 255,
            np.round(rng.random(shape) * 255),
            rng.random(shape).astype(np.float32),
        ):
            got, want = feature_gradient(x), matlab_gradient(x)[0]
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
