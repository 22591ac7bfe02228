"""Source-side memos of qe@liu2020 (and of qy@liu2020 and qcb) change no bit.

Every fused image of a scene after the first reuses the sources' work from a content-keyed memo; the
value must be exactly what the inline computation gives, for frozen and writable inputs, N = 2 and 3.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from metrics import qe_liu2020 as qe
from metrics._memo import clear_memos, freeze


def _scene(seed: int, n: int, shape=(48, 53)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    srcs = [
        np.round(127 + 100 * np.sin(xx / (3.0 + k) + k) * np.cos(yy / 5.0) + rng.normal(0, 6, shape)).clip(
            0, 255
        )
        for k in range(n)
    ]
    srcs[0][5:20, 5:25] = 0.0  # flat at level 0 (the survey's 0.5 guard)
    srcs[-1][30:45, 10:30] = 90.0  # flat at another level
    if n > 1:
        srcs[1][5:20, 5:25] = 0.0
    fused = np.round(sum(srcs) / n)
    fused[:, :15] = srcs[0][:, :15]
    return srcs, fused


def _inline(srcs, f):
    return qe.weighted_q(srcs, f) * qe.weighted_q([qe._edges(s) for s in srcs], qe._edges(f))


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("frozen", [False, True])
def test_qe_liu2020_memo_same_bits(n, frozen):
    clear_memos()
    srcs, fused = _scene(n, n)
    if frozen:
        srcs, fused = [freeze(s) for s in srcs], freeze(fused)
    expected = _inline(srcs, fused)
    first = qe.qe_liu2020_value(srcs, fused)
    other = np.round(fused * 0.5 + srcs[-1] * 0.5)  # a second fused image: sources from the memo
    assert first == expected
    assert qe.qe_liu2020_value(srcs, other) == _inline(srcs, other)
    assert len(qe._source_side.cache) == 1
    clear_memos()


def _qy_inline(a, b, f):
    from metrics.qy import _ssim_yang

    s_ab, va, vb = _ssim_yang(a, b, True)
    s_af, _, _ = _ssim_yang(a, f, True)
    s_bf, _, _ = _ssim_yang(b, f, True)
    pad = (va + vb == 0) * 0.5
    va, vb = va + pad, vb + pad
    lam = va / (va + vb)
    similar = s_ab >= 0.75
    return float(np.mean((lam * s_af + (1 - lam) * s_bf) * similar + np.maximum(s_af, s_bf) * ~similar))


@pytest.mark.parametrize("frozen", [False, True])
def test_qy_liu2020_memo_same_bits(frozen):
    from metrics.qy_liu2020 import _source_side, qy_liu2020_value

    clear_memos()
    (a, b), fused = _scene(7, 2)
    if frozen:
        a, b, fused = freeze(a), freeze(b), freeze(fused)
    other = np.round(fused * 0.25 + b * 0.75)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert qy_liu2020_value(a, b, fused) == _qy_inline(a, b, fused)
        assert qy_liu2020_value(a, b, other) == _qy_inline(a, b, other)
    assert len(_source_side.cache) == 1
    clear_memos()


def _qcb_inline(srcs, fused):
    """Qcb as before the memo: four single-plane filters per image, saliency formed per call."""
    from metrics import qcb
    from metrics._matlab import normalize1

    def contrast(img):
        spec = cv2.dft(np.ascontiguousarray(normalize1(img), dtype=np.float64), flags=cv2.DFT_COMPLEX_OUTPUT)
        spec *= qcb._csf_unshifted(*img.shape)[:, :, None]
        cv2.idft(spec, dst=spec, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)
        re, im = np.ascontiguousarray(spec[:, :, 0]), np.ascontiguousarray(spec[:, :, 1])
        g1, g2 = qcb._gauss_factor(2.0), qcb._gauss_factor(4.0)
        num = qcb._filter2_same_sep(re, g1) + 1j * qcb._filter2_same_sep(im, g1)
        den = qcb._filter2_same_sep(re, g2) + 1j * qcb._filter2_same_sep(im, g2)
        c = np.abs(num / den - 1)
        return c**3 / (c**2 + 0.0001)

    cp_f = contrast(fused)
    cps = [contrast(s) for s in srcs]
    sal_den = cps[0] * cps[0]
    for cp in cps[1:]:
        sal_den = sal_den + cp * cp
    q = np.zeros_like(cp_f)
    for cp in cps:
        mask = (cp < cp_f).astype(np.float64)
        q = q + ((cp * cp) / sal_den) * ((cp / cp_f) * mask + (cp_f / cp) * (1 - mask))
    return float(np.mean(q))


@pytest.mark.parametrize("n", [2, 3])
def test_qcb_two_channel_filter_and_memo_same_bits(n):
    from metrics.qcb import qcb_chen_blum

    clear_memos()
    srcs, fused = _scene(11 + n, n)
    other = np.round(fused * 0.5 + srcs[0] * 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        assert qcb_chen_blum(srcs, fused) == _qcb_inline(srcs, fused)
        assert qcb_chen_blum(srcs, other) == _qcb_inline(srcs, other)
    clear_memos()


def test_qe_liu2020_shares_the_structural_image_moments():
    """qe@liu2020's source weights read metrics._structural's per-image moments memo (so a scene's first
    fused image does not compute the sources' moments twice); it falls back to the same formula if that
    private helper is renamed, which this test flags."""
    from metrics import _structural

    assert callable(getattr(_structural, "_image_moments", None)), "update metrics/qe_liu2020._source_moments"
