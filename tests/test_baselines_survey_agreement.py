"""Ports of the survey's classical methods against its published fused images (issue 13 item 3).

Yu Liu's survey (github.com/yuliu316316/MFIF @ 267c081b) published the fused images of 18 methods;
five scenes are in ``shared/reference/yuliu2020/Results`` (lytro-01 and classic_gray g_05, g_06, g_09,
g_10). Each port is run on the dataset's sources and compared after MATLAB ``uint8`` rounding
(``benchmarks/agreement_survey.py``). The floors below are the measured agreement minus a small margin
(``within1`` in % of pixel values within 1 grey level, ``psnr`` in dB); a method is labelled faithful
in its metadata only when every scene is at >= 99 %. Skips when the shared folders are absent.
"""

from __future__ import annotations

import sys

import pytest

from bench.registry import get_method
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import agreement_survey as ag  # noqa: E402

# method id -> (survey file name, {scene: (min % within 1 GL, min PSNR dB)})
FLOORS = {
    "dsift": ("dsift", {s: (99.9, 60.0) for s in ag.SCENES}),
    "gfdf": ("gfdf", {s: (99.9, 60.0) for s in ag.SCENES}),
    "quadtree": ("quadtree", {s: (99.9, 60.0) for s in ag.SCENES}),
    # g_10: the authors' code stops with an index error on that pair as we emulate it (no sure pixel
    # for one threshold); the survey has an image, so MATLAB took another path there (approximation)
    "mwgf": (
        "mwgf",
        {
            "c_01": (99.9, 60.0),
            "g_05": (99.9, 55.0),
            "g_06": (99.9, 55.0),
            "g_09": (99.9, 55.0),
            "g_10": (92.0, 45.0),
        },
    ),
}


def _skip_without_data() -> None:
    if ag.data_dir() is None or ag.survey_dir() is None:
        pytest.skip("needs MFIF_DATA=../shared/datasets and ../shared/reference/yuliu2020 next to it")


# the four small gray scenes run in the fast suite; the 520x520 colour scene (lytro-01) is slow
CASES = [
    pytest.param(m, s, id=f"{m}-{s}", marks=[pytest.mark.slow] if s == "c_01" else [])
    for m in sorted(FLOORS)
    for s in FLOORS[m][1]
]


@pytest.mark.parametrize(("method_id", "scene"), CASES)
def test_agreement_with_survey(method_id, scene):
    _skip_without_data()
    survey_name, floors = FLOORS[method_id]
    fuse = get_method(method_id).fuse
    within1, psnr = ag.measure(lambda srcs: fuse(srcs).image, survey_name, (scene,))[scene]
    w_min, p_min = floors[scene]
    assert within1 >= w_min and psnr >= p_min, (
        f"{method_id} on {scene}: {within1:.4f} % within 1 GL, {psnr:.2f} dB; floors {w_min} %, {p_min} dB"
    )


def test_agreement_helper_counts_grey_levels():
    """The helper itself: 1 grey level apart counts as agreeing, 2 does not; PSNR from the MSE."""
    import numpy as np

    ref = np.full((10, 10), 100, np.uint8)
    ours = np.full((10, 10), 101 / 255, np.float32)
    ours[0, :5] = 102 / 255
    w, p = ag.agreement(ours, ref)
    assert w == pytest.approx(95.0)
    mse = (95 * 1 + 5 * 4) / 100
    assert p == pytest.approx(10 * np.log10(255**2 / mse))
    assert ag.agreement(ref / 255.0, ref)[1] == float("inf")


def test_mwgf_compiled_and_numpy_reconstruction_agree(monkeypatch):
    """The numba kernel and the NumPy passes of ``RecoverByGra`` give identical bits."""
    import numpy as np

    import baselines.mwgf as mw

    rng = np.random.default_rng(7)
    f0 = rng.random((23, 31)) * 255
    gx, gy = rng.standard_normal((2, 23, 31)) * 20
    f0[:3] = 0.0  # clipping at both ends happens
    f0[-3:] = 255.0
    ref = mw.reconstruct_numpy(f0, mw._divergence(gx, gy), 40, 0.1)
    if mw._kernel() is None:
        pytest.skip("numba not installed: only the NumPy path exists")
    out = mw.reconstruct(f0, gx, gy, 40, 0.1)
    assert out.tobytes() == ref.tobytes()
    d = np.floor(rng.standard_normal((4, 23, 31)) * 30)
    d[:, 5] = 0.0  # flat rows: zero tensors
    d[1, 7] = 0.0  # pure horizontal gradients (c12 = 0)
    w1 = rng.random((23, 31))
    w1[:4] = 1.0
    ref_g = mw.merge_gradients_numpy(*d, w1, 1 - w1)
    out_g = mw._kernel().merge_gradients(*d, w1, 1 - w1, mw.EPS)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(out_g, ref_g, strict=True))
    monkeypatch.setenv("MFIF_NO_NUMBA", "1")
    assert mw._kernel() is None
