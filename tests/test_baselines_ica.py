"""ica (``baselines/ica.py``): the vectorised rules against a literal transcription of the release's
``ica_fusion_prog_mn.m`` (synthetic bases written as a MATLAB v7.3 file: no data files needed), the bases
file, and the agreement with the survey's published ICA images.

The authors' bases (``icabases.mat``) are never committed: tests that need them look in
``$MFIF_WEIGHTS/ica_bases/`` (the test session's user cache is a fresh temporary folder) and skip with
the reason when the file is absent; nothing is downloaded by a test. Agreement is computed here with
``benchmarks/agreement_survey.py``'s helpers against ``shared/reference/yuliu2020/Results`` (skips when
absent); g_10 runs in the fast suite, the other scenes are slow.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import agreement_survey as ag  # noqa: E402

RULES = ("maxabs", "mean", "weighted", "regional", "adaptive")


def _synthetic_picao(f: int, k: int, seed: int) -> np.ndarray:
    """(k, f*f) rows orthogonal to the constant patch (as trained ICA bases are), unequal norms."""
    rng = np.random.default_rng(seed)
    d = f * f
    q, _ = np.linalg.qr(np.column_stack([np.ones(d), rng.standard_normal((d, d - 1))]))
    return rng.uniform(0.5, 2.0, (k, 1)) * q[:, 1 : 1 + k].T


def _write_mat(path, picao: np.ndarray, frame: int) -> None:
    """A MATLAB v7.3 file as MATLAB writes it: HDF5 datasets holding the transposed arrays."""
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as fh:
        fh.create_dataset("Picao", data=picao.T)
        fh.create_dataset("frame", data=np.array([[float(frame)]]))


def _matlab_ica(planes: np.ndarray, picao: np.ndarray, rule: str, thres: float = 0.0) -> np.ndarray:
    """Literal transcription of ``ica_fusion_prog_mn(x, frame, Picao, rule, 0, thres > 0, thres)``.

    Column-major patch vectors and patch order (``im2col(..., 'sliding')``), the per-element loops of
    the release; slow, for tiny images only.
    """
    q, h, w = planes.shape
    f = int(round(np.sqrt(picao.shape[1])))
    hh, ww = h + 2 * f - 1, w + 2 * f - 1
    xa = np.zeros((q, hh, ww))
    xa[:, f - 1 : f - 1 + h, f - 1 : f - 1 + w] = planes
    nr, nc = hh - f + 1, ww - f + 1
    x = np.empty((q, f * f, nr * nc))
    for i in range(q):
        for j in range(nc):
            for r in range(nr):
                x[i, :, j * nr + r] = xa[i, r : r + f, j : j + f].ravel(order="F")
    lmlv = x.mean(axis=1)
    x = x - lmlv[:, None, :]
    p = np.stack([picao @ x[i] for i in range(q)])  # (Q, K, M)
    if thres > 0:
        p[np.abs(p) < thres] = 0.0
    k, m = p.shape[1:]
    if rule == "maxabs":
        idx = np.argmax(np.abs(p), axis=0)  # the first maximum, as MATLAB's max
        pf = np.zeros((k, m))
        for a in range(k):
            for b in range(m):
                pf[a, b] = p[idx[a, b], a, b]
    elif rule == "mean":
        pf = p.mean(axis=0)
    elif rule in ("weighted", "regional"):
        e = np.abs(p).sum(axis=1)
        msk = np.zeros((q, m))
        for i in range(q):
            msk[i, e[i] > 2 * e[i].mean()] = 1
        e_all = e.sum(axis=0)
        e_all[e_all < 0.0001] = 0.0001
        e = e / e_all
        if rule == "weighted":
            pf = sum(p[i] * e[i] for i in range(q))
        else:
            t1 = msk.sum(axis=0) > 0
            pf = np.zeros((k, m))
            for i in range(q):
                pf[:, t1] += p[i][:, t1] * e[i, t1]
            pf[:, ~t1] = p[:, :, ~t1].mean(axis=0)
    elif rule == "adaptive":
        pf = np.zeros((k, m))
        for b in range(m):
            xx = p[:, :, b]  # (Q, K): the release's x'
            wv = np.ones(q) / q
            for _ in range(100):
                y = wv @ xx
                dj = (np.sign(y) @ xx.T) / k
                wv = wv + 0.05 * dj
                wv = np.abs(wv) / np.abs(wv).sum()
            pf[:, b] = y
    else:
        raise AssertionError(rule)
    u = np.linalg.pinv(picao) @ pf
    mf = (np.ones(q) / q) @ lmlv
    out = np.zeros((hh, ww))
    for j in range(nc):
        for r in range(nr):
            col = j * nr + r
            out[r : r + f, j : j + f] += u[:, col].reshape(f, f, order="F") + mf[col]
    out /= f * f
    return out[: hh - f, : ww - f][f - 1 :, f - 1 :]


def _planes(q: int, h: int = 9, w: int = 11, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((q, h, w))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """(analysis, pseudo-inverse, MATLAB-orientation Picao) of a 4x4, 12-basis synthetic file."""
    from baselines.ica import _load

    picao = _synthetic_picao(4, 12, seed=5)
    path = tmp_path_factory.mktemp("ica") / "icabases.mat"
    _write_mat(path, picao, 4)
    a, s = _load(str(path))
    return a, s, picao


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("q", [2, 3])
def test_rules_match_the_release_loops(synthetic, rule, q):
    """Every rule, N = 2 and 3, equals the transcription (padding, im2col order, pinv, overlap-add, crop)."""
    from baselines.ica import ica_channel

    a, s, picao = synthetic
    planes = _planes(q)
    ours = ica_channel(planes, a, s, rule, 0.0, chunk=9)  # several bands
    np.testing.assert_allclose(ours, _matlab_ica(planes, picao, rule), rtol=0, atol=1e-12)


def test_threshold_denoising_matches_the_release(synthetic):
    from baselines.ica import ica_channel

    a, s, picao = synthetic
    planes = _planes(2, seed=4)
    ref = _matlab_ica(planes, picao, "maxabs", 0.15)
    np.testing.assert_allclose(ica_channel(planes, a, s, "maxabs", 0.15), ref, rtol=0, atol=1e-12)
    assert np.abs(ref - _matlab_ica(planes, picao, "maxabs")).max() > 1e-3  # the threshold acts here


@pytest.mark.parametrize("rule", RULES)
def test_bands_do_not_change_the_result(synthetic, rule):
    from baselines.ica import ica_channel

    a, s, _ = synthetic
    planes = _planes(2, h=23, w=17, seed=8)
    whole = ica_channel(planes, a, s, rule, chunk=10**9)
    np.testing.assert_allclose(ica_channel(planes, a, s, rule, chunk=5), whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rule", RULES)
def test_complete_bases_give_back_identical_sources(rule):
    """With f*f - 1 bases (all zero-mean directions) identical sources fuse to themselves, every rule."""
    from baselines.ica import ica

    picao = _synthetic_picao(4, 15, seed=2)
    a = picao.reshape(15, 4, 4).transpose(0, 2, 1).reshape(15, 16)
    img = _planes(1, 14, 10, seed=1)[0]
    for n in (2, 3):
        out = ica([img] * n, rule, bases_pair=(a, np.linalg.pinv(a)))
        np.testing.assert_allclose(out, img, rtol=0, atol=1e-12)


def test_colour_is_fused_channel_by_channel(synthetic):
    from baselines.ica import ica, ica_channel

    a, s, _ = synthetic
    rng = np.random.default_rng(0)
    srcs = [rng.random((10, 12, 3)) for _ in range(2)]
    out = ica(srcs, bases_pair=(a, s))
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], ica_channel(np.stack([x[..., c] for x in srcs]), a, s))


def test_maxabs_takes_the_first_source_on_ties():
    from baselines.ica import fuse_coefficients

    p = np.array([[[1.0, -2.0, 3.0]], [[-1.0, 2.0, -4.0]], [[1.0, 5.0, 4.0]]])  # (N=3, K=1, M=3)
    np.testing.assert_array_equal(fuse_coefficients(p, "maxabs"), [[1.0, 5.0, -4.0]])


@pytest.mark.parametrize(
    ("params", "match"),
    [({"rule": "max"}, "rule"), ({"threshold": -0.1}, "threshold"), ({"threshold": True}, "threshold")],
)
def test_bad_parameters_raise_before_loading_the_bases(params, match):
    from baselines.ica import fuse

    srcs = [np.zeros((8, 8), np.float32)] * 2
    with pytest.raises(ValueError, match=match):
        fuse(srcs, **params)


def test_missing_bases_is_a_clear_environment_error(tmp_path, monkeypatch):
    import urllib.error

    import bench.weights
    from baselines.ica import BASES
    from bench.errors import WeightsUnavailable

    def offline(*args, **kwargs):
        raise urllib.error.URLError("offline")

    monkeypatch.setenv("MFIF_WEIGHTS", str(tmp_path))
    monkeypatch.setattr(bench.weights.urllib.request, "urlopen", offline)
    with pytest.raises(WeightsUnavailable, match="ica_bases"):
        bench.weights.resolve(BASES)
    assert not (bench.weights.cache_dir() / BASES.relpath).exists()  # nothing half-written


def test_declared_download_is_pinned():
    from baselines.ica import BASES, UPSTREAM_COMMIT
    from bench.registry import get_method

    assert UPSTREAM_COMMIT in BASES.url and BASES.url.endswith("/icabases.mat")
    assert len(BASES.sha256) == 64
    info = get_method("ica").info
    assert info.weights_url == BASES.url and info.weights_sha256 == BASES.sha256 and not info.lossless


# -- the authors' bases and the survey's images (skip when absent) ------------------------------------


def _authors_bases():
    from baselines.ica import BASES, _load
    from bench.errors import WeightsUnavailable
    from bench.weights import resolve

    try:
        return _load(str(resolve(BASES, download=False)))
    except WeightsUnavailable as exc:
        pytest.skip(f"ica bases absent (put icabases.mat in $MFIF_WEIGHTS/ica_bases/): {exc}")


def test_authors_bases_are_orthonormal_and_zero_mean():
    a, s = _authors_bases()
    assert a.shape == (60, 64) and s.shape == (64, 60)
    np.testing.assert_allclose(a @ a.T, np.eye(60), atol=1e-6)  # symmetric orthogonalisation
    assert np.abs(a.sum(axis=1)).max() < 1e-5  # trained on zero-mean patches
    np.testing.assert_allclose(a @ s, np.eye(60), atol=1e-9)


def _survey_case(scene: str) -> tuple[np.ndarray, np.ndarray]:
    if not ag.available():
        pytest.skip("needs MFIF_DATA=../shared/datasets and ../shared/reference/yuliu2020 next to it")
    bases_pair = _authors_bases()
    from baselines.ica import ica

    return ica(ag.load_sources(scene), bases_pair=bases_pair), ag.load_survey("ica", scene)


@pytest.mark.parametrize(
    "scene", [pytest.param(s, marks=[] if s == "g_10" else [pytest.mark.slow]) for s in ag.SCENES]
)
def test_survey_images_are_reproduced(scene):
    """The default rule on each RGB channel gives the survey's 8-bit ICA image exactly (float64 result,
    ``uint8(255 u)``); the registry's float32 output is within one grey level everywhere."""
    fused, survey = _survey_case(scene)
    q = ag.matlab_uint8(fused)
    diff = int(np.count_nonzero(q != survey))
    assert diff == 0, f"ica on {scene}: {diff} of {q.size} values differ from the survey's image"
    from bench.registry import get_method

    within1, psnr = ag.agreement(get_method("ica").fuse(ag.load_sources(scene)).image, survey)
    assert within1 == 100.0 and psnr > 100.0, (scene, within1, psnr)


@pytest.mark.slow
def test_other_rules_do_not_reproduce_the_survey():
    """The survey used maxabs: the release's other rules are far from its image (g_10)."""
    if not ag.available():
        pytest.skip("needs MFIF_DATA=../shared/datasets and ../shared/reference/yuliu2020 next to it")
    bases_pair = _authors_bases()
    from baselines.ica import ica

    srcs, survey = ag.load_sources("g_10"), ag.load_survey("ica", "g_10")
    for rule in RULES[1:]:
        within1, _ = ag.agreement(ica(srcs, rule, bases_pair=bases_pair), survey)
        assert within1 < 90.0, (rule, within1)
