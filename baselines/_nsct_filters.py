"""The published filters of the Nonsubsampled Contourlet Toolbox (split from ``_nsct_transform``).

Source: the NSCT toolbox in Yu Liu's MST-SR-Fusion-Toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, ``nsct_toolbox/`` (``atrousfilters.m``, ``dfilters.m``,
``parafilters.m``, ``modulate2.m``, ``resampz.m``, ``mctrans.m``). No licence file; nothing is copied: the
coefficients are published numbers, the code is ours. See ``baselines/_nsct_transform.py`` for the transform.
"""

from __future__ import annotations

import numpy as np

# --- filters -------------------------------------------------------------------------------------------

# atrousfilters('pyrexc'): quarter filters (bottom-right corner is the centre), mirrored to full size
_PYREXC_H0 = (
    (-0.003236043456039806, -0.012944173824159223, -0.019416260736238835),
    (-0.012944173824159223, 0.0625, 0.15088834764831843),
    (-0.019416260736238835, 0.15088834764831843, 0.3406092167691145),
)
_PYREXC_H1 = (
    (-0.003236043456039806, -0.012944173824159223, -0.019416260736238835),
    (-0.012944173824159223, -0.0625, -0.09911165235168155),
    (-0.019416260736238835, -0.09911165235168155, 0.8406092167691145),
)
_PYREXC_G0 = (
    (-0.00016755163599004882, -0.001005309815940293, -0.002513274539850732, -0.003351032719800976),
    (-0.001005309815940293, -0.005246663087920392, -0.01193886400821893, -0.015395021472477663),
    (-0.002513274539850732, -0.01193886400821893, 0.06769410071569153, 0.15423938036811946),
    (-0.003351032719800976, -0.015395021472477663, 0.15423938036811946, 0.3325667382415921),
)
_PYREXC_G1 = (
    (0.00016755163599004882, 0.001005309815940293, 0.002513274539850732, 0.003351032719800976),
    (0.001005309815940293, -0.0012254238241592198, -0.013949483640099517, -0.023437500000000007),
    (0.002513274539850732, -0.013949483640099517, -0.06769410071569153, -0.10246268507148255),
    (0.003351032719800976, -0.023437500000000007, -0.10246268507148255, 0.8486516952966369),
)

PYRAMID_FILTERS = ("pyrexc",)
DIRECTIONAL_FILTERS = ("vk",)


def _mirror(q: tuple) -> np.ndarray:
    """``[q fliplr(q(:,1:end-1))]`` then ``[q; flipud(q(1:end-1,:))]`` (atrousfilters.m)."""
    q = np.asarray(q, dtype=np.float64)
    q = np.concatenate([q, q[:, :-1][:, ::-1]], axis=1)
    return np.concatenate([q, q[:-1][::-1]], axis=0)


def pyramid_filters(name: str = "pyrexc") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``[h0, h1, g0, g1] = atrousfilters(name)``: analysis (5x5) and synthesis (7x7) NSP filters."""
    if name != "pyrexc":
        raise ValueError(f"nsct: pyramid filter must be one of {PYRAMID_FILTERS}, got {name!r}")
    return tuple(_mirror(q) for q in (_PYREXC_H0, _PYREXC_H1, _PYREXC_G0, _PYREXC_G1))  # type: ignore[return-value]


def mctrans(b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """McClellan transform of the odd-length symmetric 1-D filter ``b`` with kernel ``t`` (mctrans.m)."""
    from scipy.signal import convolve2d

    b = np.asarray(b, dtype=np.float64)
    n = (len(b) - 1) // 2
    b = np.fft.ifftshift(b)  # centre sample first
    a = np.concatenate([[b[0]], 2 * b[1 : n + 1]])
    inset = ((t.shape[0] - 1) // 2, (t.shape[1] - 1) // 2)
    t = t.astype(np.float64)
    p0, p1 = np.ones((1, 1)), t
    h = a[1] * p1
    r0, c0 = inset  # top-left of the block where P0 sits in the next P2
    h[r0, c0] += a[0]
    for i in range(2, n + 1):
        p2 = 2 * convolve2d(t, p1)
        r0, c0 = r0 + inset[0], c0 + inset[1]
        p2[r0 : r0 + p0.shape[0], c0 : c0 + p0.shape[1]] -= p0
        r0, c0 = inset
        hh = h
        h = a[i] * p2
        h[r0 : r0 + p1.shape[0], c0 : c0 + p1.shape[1]] += hh
        p0, p1 = p1, p2
    return np.rot90(h, 2).copy()


def modulate2(x: np.ndarray, kind: str) -> np.ndarray:
    """modulate2.m: multiply by (-1)^n along rows ('r'), columns ('c') or both ('b'), centre floor(s/2)."""
    s = x.shape
    n1 = np.arange(s[0]) - s[0] // 2
    n2 = np.arange(s[1]) - s[1] // 2
    m1 = np.where(n1 % 2 == 0, 1.0, -1.0)
    m2 = np.where(n2 % 2 == 0, 1.0, -1.0)
    if kind == "r":
        return x * m1[:, None]
    if kind == "c":
        return x * m2[None, :]
    return x * np.outer(m1, m2)


def resampz(x: np.ndarray, kind: int, shift: int = 1) -> np.ndarray:
    """resampz.m: shear the filter (types 1, 2 shift columns vertically; 3, 4 rows horizontally), trimmed."""
    sx = x.shape
    if kind in (1, 2):
        y = np.zeros((sx[0] + abs(shift * (sx[1] - 1)), sx[1]))
        s = np.arange(sx[1]) * (-shift if kind == 1 else shift)
        if s[-1] < 0:
            s = s - s[-1]
        for n in range(sx[1]):
            y[s[n] : s[n] + sx[0], n] = x[:, n]
        nz = np.flatnonzero(np.linalg.norm(y, axis=1))
        return y[nz[0] : nz[-1] + 1]
    y = np.zeros((sx[0], sx[1] + abs(shift * (sx[0] - 1))))
    s = np.arange(sx[0]) * (-shift if kind == 3 else shift)
    if s[-1] < 0:
        s = s - s[-1]
    for m in range(sx[0]):
        y[m, s[m] : s[m] + sx[1]] = x[m]
    nz = np.flatnonzero(np.linalg.norm(y, axis=0))
    return y[:, nz[0] : nz[-1] + 1]


_DIAMOND = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]) / 4


def diamond_filters(name: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``dfilters(name, kind)`` for 'vk' (Vetterli & Kovacevic), kind 'd' (analysis) or 'r' (synthesis)."""
    if name != "vk":
        raise ValueError(f"nsct: directional filter must be one of {DIRECTIONAL_FILTERS}, got {name!r}")
    if kind == "d":
        h0, h1 = np.array([1.0, 2.0, 1.0]) / 4, np.array([-1.0, -2.0, 6.0, -2.0, -1.0]) / 4
    else:
        h0, h1 = np.array([-1.0, 2.0, 6.0, 2.0, -1.0]) / 4, np.array([-1.0, 2.0, -1.0]) / 4
    return mctrans(h0, _DIAMOND), mctrans(h1, _DIAMOND)


def dfb_filters(name: str, kind: str) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Fan filters ``k1, k2`` and the four parallelogram pairs ``f1[i], f2[i]`` (parafilters.m)."""
    h1, h2 = diamond_filters(name, kind)
    h1, h2 = h1 / np.sqrt(2), h2 / np.sqrt(2)
    k1, k2 = modulate2(h1, "c"), modulate2(h2, "c")
    f1 = [modulate2(h1, "r"), modulate2(h1, "c")]
    f2 = [modulate2(h2, "r"), modulate2(h2, "c")]
    f1 += [f1[0].T, f1[1].T]
    f2 += [f2[0].T, f2[1].T]
    f1 = [resampz(f, i + 1) for i, f in enumerate(f1)]
    f2 = [resampz(f, i + 1) for i, f in enumerate(f2)]
    return k1, k2, f1, f2
