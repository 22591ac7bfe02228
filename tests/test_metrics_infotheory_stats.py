"""Information-theoretic and simple-statistics metrics (EN, MI, NMI, Qncie, Qte, FMI, CE, SD, SF, AG,
PSNR, MSE, RMSE, CC, SCD, EI): what the registry-wide reference test does not cover.

* FMI's vectorised core against a literal, loop-by-loop transcription of Haghighat's ``fmi.m`` (in-place
  F-window normalisation quirk included) on small maps with ties, constant windows, binary features and
  negative correlations: agreement to 1e-12 relative (different but exact-in-theory summation orders);
* hand-computed values for the ground-truth metrics (``psnr_gt``, ``mse_gt``: no reference value exists),
  CE, EN, Tang's MI 254/255 joint-bin merge;
* identities between variants, N-source behaviour, MATLAB-parity helpers, the dmey filter's provenance.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from bench.registry import get_metric
from bench.scoring import score_one
from metrics import fmi as fmi_mod
from metrics._fmi_features import DMEY_MATLAB, FEATURES, feature_wavelet
from metrics._matlab import matlab_round, normalize1


# --------------------------------------------------------------------------- literal FMI transcription
def _literal_fmi_xf(x_sub: np.ndarray, f_sub: np.ndarray) -> tuple[float, np.ndarray]:
    """One window of ``fmi.m`` (the non-shortcut branch), loops as written. Returns (fmi, normalised F)."""

    def norm(s):
        mx, mn = s.max(), s.min()
        return np.ones((3, 3)) if mx == mn else (s - mn) / (mx - mn)

    xs, fs = norm(x_sub), norm(f_sub)
    xp = xs.flatten(order="F") / sum(sum(xs[:, c]) for c in range(3))
    fp = fs.flatten(order="F") / sum(sum(fs[:, c]) for c in range(3))
    xc, fc = np.zeros(9), np.zeros(9)
    xc[0], fc[0] = xp[0], fp[0]
    for i in range(1, 9):
        xc[i] = xp[i] + xc[i - 1]
        fc[i] = fp[i] + fc[i - 1]
    xm = sum(xp) / 9
    fm = sum(fp) / 9
    xt, ft = xp - xm, fp - fm
    s = sum(xt * ft)
    c = 0.0 if s == 0 else s / math.sqrt(sum(xt * xt) * sum(ft * ft))
    ex = e2x = ef = e2f = 0.0
    for i in range(1, 10):
        ex += i * xp[i - 1]
        e2x += i**2 * xp[i - 1]
        ef += i * fp[i - 1]
        e2f += i**2 * fp[i - 1]
    xsd = math.sqrt(e2x - ex**2)
    fsd = math.sqrt(e2f - ef**2)

    def up(a, b):
        return 0.5 * (a + b - abs(a - b))

    def lo(a, b):
        return 0.5 * (a + b - 1 + abs(a + b - 1))

    bound = up if c >= 0 else lo
    if (c >= 0 and (c == 0 or xsd == 0 or fsd == 0)) or (c < 0 and (xsd == 0 or fsd == 0)):
        w = 0.0
    else:
        cov = 0.0
        for i in range(9):
            for j in range(9):
                cov += bound(fc[i], xc[j]) - fc[i] * xc[j]
        w = c / (cov / (fsd * xsd))

    def cdf2(i, j):
        return 0.0 if i < 0 or j < 0 else bound(fc[i], xc[j])

    joint = 0.0
    for i in range(9):
        for j in range(9):
            mass = cdf2(i, j) - cdf2(i - 1, j) - cdf2(i, j - 1) + cdf2(i - 1, j - 1)
            p = w * mass + (1 - w) * fp[i] * xp[j]
            if p != 0:
                joint += -p * math.log2(abs(p))
    hx = sum(-v * math.log2(v) for v in xp if v != 0)
    hf = sum(-v * math.log2(v) for v in fp if v != 0)
    mi = hx + hf - joint
    return (0.0 if mi == 0 else 2 * mi / (hx + hf)), fs


def literal_fmi(features: list[np.ndarray], f: np.ndarray) -> float:
    """``fmi.m``'s double loop over 3x3 windows, generalised to N sources in processing order."""
    m, n = f.shape
    total = 0.0
    for p in range(1, m - 1):
        for q in range(1, n - 1):
            f_sub = f[p - 1 : p + 2, q - 1 : q + 2].copy()
            vals = []
            for feat in features:
                x_sub = feat[p - 1 : p + 2, q - 1 : q + 2]
                if np.array_equal(x_sub, f_sub):
                    vals.append(1.0)
                else:
                    v, f_sub = _literal_fmi_xf(x_sub, f_sub)  # F-window normalised in place
                    vals.append(v)
            total += sum(vals) / len(vals)
    return total / ((m - 2) * (n - 2))


def _maps(seed: int, kind: str, shape=(9, 10)):
    rng = np.random.default_rng(seed)  # seeded: the maps are arbitrary test inputs
    if kind == "levels":  # few grey levels: ties, constant windows, exact equal windows
        a = rng.integers(0, 3, shape).astype(float)
        b = rng.integers(0, 3, shape).astype(float)
        f = np.where(rng.random(shape) < 0.5, a, b)
        f[:3, :4] = 1.0  # a constant region
        return [a, b], f
    if kind == "binary":  # edge-like 0/1 maps; B-window vs normalised-F equality happens here
        a = (rng.random(shape) < 0.3).astype(float)
        b = (rng.random(shape) < 0.3).astype(float)
        f = np.maximum(a, b)
        f[4:, :5] = 0.0
        b[4:, :5] = 1.0
        return [a, b], f
    if kind == "continuous":  # anti-correlated windows (c < 0, lower Frechet bound)
        a = rng.normal(0, 1, shape)
        b = rng.normal(0, 1, shape)
        return [a, b], -a + 0.3 * rng.normal(0, 1, shape)
    if kind == "three":
        a, b, c = (rng.integers(0, 4, shape).astype(float) for _ in range(3))
        f = np.where(rng.random(shape) < 0.5, a, c)
        return [a, b, c], f
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["levels", "binary", "continuous", "three"])
@pytest.mark.parametrize("seed", [0, 1])
def test_fmi_core_matches_literal_transcription(kind, seed):
    sources, f = _maps(seed, kind)
    expected = literal_fmi(sources, f)
    got = fmi_mod.fmi_value(sources, f)
    # different (exact-in-theory) summation orders; the knife-edge tests are mirrored bit for bit
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-14)


def test_fmi_in_place_normalisation_quirk():
    """After A's window is processed, B is compared with the *normalised* F-window
    (``shared/docs/metrics.md``, FMI step 3). Exercised both ways: B equal to the normalised F-window but
    not to the raw one (shortcut taken only with the quirk), and F = B (shortcut lost). Identical
    normalised windows score 1 up to rounding either way, so the quirk moves FMI by ~1e-15 here; the
    literal transcription pins the branch structure."""
    (a, _), _ = _maps(4, "levels", (8, 9))
    f = 2.0 * a.copy()
    f[0, 0] = 0.0
    b = f / f.max()  # B == normalised F-window wherever that window spans 0..2
    a2 = a + 1.0  # A never equals F -> F is normalised before B is tested
    for srcs, fused in (([a2, b], f), ([a2, b], b), ([b, a2], f)):
        assert fmi_mod.fmi_value(srcs, fused) == pytest.approx(literal_fmi(srcs, fused), rel=1e-12)


def test_fmi_identical_and_errors():
    x = np.arange(30.0).reshape(5, 6) % 7
    assert fmi_mod.fmi([x, x], x, "none") == 1.0
    with pytest.raises(ValueError, match="feature must be one of"):
        fmi_mod.fmi([x, x], x, "sobel")
    with pytest.raises(ValueError, match="at least 3x3"):
        fmi_mod.fmi_value([x[:2, :2]], x[:2, :2])


def test_dmey_is_matlabs_filter(reference_dir):
    d = json.loads((reference_dir / "dmey_matlab.json").read_text())
    np.testing.assert_array_equal(DMEY_MATLAB, np.array(d["dmey"]))
    assert DMEY_MATLAB.shape == (102,) and DMEY_MATLAB.sum() == pytest.approx(d["sum"], rel=1e-15)


def test_wavelet_feature_size_and_range():
    x = np.random.default_rng(0).integers(0, 256, (52, 40)).astype(float)
    w = feature_wavelet(x)
    assert w.shape == (2 * ((52 + 101) // 2), 2 * ((40 + 101) // 2))  # floor((N+101)/2) per band
    assert w.min() == 0.0 and w.max() == 1.0
    assert set(FEATURES) == {"none", "gradient", "edge", "dct", "wavelet"}


@pytest.mark.parametrize("shape", [(52, 40), (37, 101), (130, 257), (3, 3)])
def test_wavelet_feature_banded_products_equal_pywt(shape):
    """The banded matrix products (blocks of 64 outputs over their non-zero taps) are pywt.dwt2."""
    import pywt

    from metrics._fmi_features import _DMEY, rerange

    x = np.random.default_rng(1).integers(0, 256, shape).astype(float)
    ca, (ch, cv, cd) = pywt.dwt2(x, _DMEY, mode="symmetric")
    expected = rerange(np.block([[ca, ch], [cv, cd]]))
    np.testing.assert_allclose(feature_wavelet(x), expected, rtol=0, atol=1e-13)


# --------------------------------------------------------------------------- ground-truth metrics
def test_psnr_gt_and_mse_gt_hand_values():
    gt = np.array([[0.0, 10.0], [20.0, 30.0]])
    f = np.array([[0.0, 12.0], [20.0, 27.0]])  # errors 0, 2, 0, -3 -> MSE = (4 + 9) / 4
    src = [np.zeros((2, 2)), np.ones((2, 2))]
    assert get_metric("mse_gt").fn(src, f, reference=gt) == 3.25
    assert get_metric("psnr_gt").fn(src, f, reference=gt) == pytest.approx(10 * math.log10(65025 / 3.25))
    assert get_metric("psnr_gt").fn(src, f, reference=gt) == pytest.approx(43.0119700, abs=1e-7)
    assert get_metric("psnr_gt").fn(src, gt, reference=gt) == math.inf
    assert get_metric("mse_gt").fn(src, gt, reference=gt) == 0.0
    for mid in ("psnr_gt", "mse_gt"):
        assert get_metric(mid).info.needs_reference
        with pytest.raises(ValueError, match="ground-truth"):
            get_metric(mid).fn(src, f)
        row = score_one(mid, src, f)  # the scorer reports the missing reference, never a number
        assert row.status == "error" and math.isnan(row.value)


# --------------------------------------------------------------------------- hand values
def test_cross_entropy_entropy_hand_values():
    x = np.array([[0.0, 0.0, 1.0, 1.0]])
    f = np.array([[0.0, 1.0, 1.0, 1.0]])
    # 0.5 log2(0.5/0.25) + 0.5 log2(0.5/0.75) = 0.5 - 0.5 log2(1.5)
    assert get_metric("ce").fn([x, x], f) == pytest.approx(0.5 - 0.5 * math.log2(1.5), rel=1e-15)
    half = np.array([[0.0, 255.0], [0.0, 255.0]])
    assert get_metric("en").fn([half], half) == 1.0
    with pytest.raises(ValueError, match="integer grey levels"):
        get_metric("ce").fn([x + 0.5, x], f)


def test_mi_tang_merges_254_and_255_in_the_joint_histogram():
    x = np.array([[254.0, 255.0] * 4] * 2)
    # marginals: 1 bit each; joint: 254 and 255 share a bin -> 0 bits; MI = 2 bits per source
    assert get_metric("mi").fn([x, x], x) == pytest.approx(4.0, abs=1e-15)
    y = x - 2  # 252/253: no merge, MI = 1 bit per source
    assert get_metric("mi").fn([y, y], y) == pytest.approx(2.0, abs=1e-15)
    # VIFB re-normalises to 0..255 and uses nats: ln 2 per source
    assert get_metric("mi@vifb").fn([x, x], x) == pytest.approx(2 * math.log(2), rel=1e-15)


def test_mi_cddfuse_is_sklearn_mutual_info_score():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(5)
    a, b = (rng.integers(0, 12, (20, 30)).astype(np.float64) for _ in range(2))
    f = np.floor((a + b) / 2)
    expected = skm.mutual_info_score(f.ravel().astype(np.float32), a.ravel().astype(np.float32)) + (
        skm.mutual_info_score(f.ravel().astype(np.float32), b.ravel().astype(np.float32))
    )
    assert get_metric("mi@cddfuse").fn([a, b], f) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- variants, N sources
@pytest.fixture(scope="module")
def lytro(reference_dir):
    def img(n):
        return np.asarray(Image.open(reference_dir / "images" / f"{n}.png"), dtype=np.float64)

    return [img("lytro_08_A"), img("lytro_08_B")], img("lytro_08_F_avg")


def test_scale_identities_between_variants(lytro):
    srcs, f = lytro
    val = {m: get_metric(m).fn(srcs, f) for m in ("mse", "mse@tang", "psnr", "psnr@tang", "mse@cddfuse")}
    assert val["mse"] == pytest.approx(val["mse@tang"] * 255**2, rel=1e-12)
    assert val["psnr@tang"] - val["psnr"] == pytest.approx(20 * math.log10(255), rel=1e-12)
    assert val["mse@cddfuse"] == pytest.approx(val["mse"], rel=1e-5)  # float32 port


def test_n_source_rules(lytro):
    (a, b), f = lytro
    c = np.flipud(a)
    for mid in ("scd", "scd@cddfuse", "qte"):
        with pytest.raises(ValueError, match="defined for 2 sources, got 3"):
            get_metric(mid).fn([a, b, c], f)
    # sums over sources
    for mid in ("mi", "mi@vifb", "nmi"):
        fn = get_metric(mid).fn
        assert fn([a, b, c], f) == pytest.approx(fn([a, b], f) + fn([c, c], f) / 2, rel=1e-12)
    # means over sources
    for mid in ("cc", "ce", "rmse@vifb", "mse"):
        fn = get_metric(mid).fn
        assert fn([a, b, a], f) == pytest.approx((2 * fn([a, a], f) + fn([b, b], f)) / 3, rel=1e-12)
    # Qncie: K = N + 1 images; with the fused image among the sources it still runs
    assert 0 < get_metric("qncie").fn([a, b, c], f) < 1


def test_matlab_parity_helpers():
    np.testing.assert_array_equal(
        matlab_round(np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994])), [1, 2, 3, -1, -3, 0]
    )
    np.testing.assert_array_equal(normalize1(np.zeros((2, 2))), np.zeros((2, 2)))
    assert np.isnan(normalize1(np.full((2, 2), 7.0))).all()
    np.testing.assert_array_equal(normalize1(np.array([[10.0, 20.0], [15.0, 12.5]])), [[0, 255], [128, 64]])
    assert math.isnan(get_metric("nmi").fn([np.full((4, 4), 3.0)] * 2, np.eye(4) * 9))


def test_qte_of_a_constant_source_is_real():
    """A black source has entropy 0, computed as -3.2e-16 here (its marginal sums nine 1/9 to 1 + 2 ulp);
    Qte raised it to the power q (a complex number, TypeError; found by the slow fuzz run). It counts as 0."""
    from metrics._infotheory import grey_levels, hist_entropies, joint_histogram
    from metrics.qte import Q_NAVA, tsallis

    a = np.array([[0.8506242, 0.63696164, 0.5111365], [0.26978666, 0.30782938, 0.04097348],
                  [0.07524014, 0.01652759, 0.17526728]], dtype=np.float32).astype(np.float64)  # fmt: skip
    b = np.zeros((3, 3))
    f = np.array([[0.81, 0.65, 0.91], [0.5, 0.61, 0.97], [0.73, 0.63, 0.54]])
    ai, bi, fi = (grey_levels(normalize1(x)) for x in (a, b, f))
    h_a, h_b, _ = hist_entropies(joint_histogram(ai, bi))
    assert h_b < 0  # the rounding this test is about
    want = (tsallis(ai, fi) + tsallis(bi, fi)) / (h_a**Q_NAVA + tsallis(ai, bi))
    got = get_metric("qte").fn([a, b], f)
    assert isinstance(got, float) and got == pytest.approx(want, rel=1e-15)
