"""numba kernel of FMI's window stage (private; see :mod:`metrics.fmi` for the definition).

One pass over the windows, all per-window arithmetic in registers: no temporaries. The knife-edge
quantities (exact window equality, the window sums, ``c`` and its ``== 0`` test, the one-hot SD test)
are computed with the same operations in the same order as the NumPy path, so every branch decision is
the same; the remaining sums (covariance of the bound, joint entropy) differ from the NumPy path by
rounding only (tested: within 1e-12 relative on the reference grid, far inside the 1e-9 budget).

:func:`fmi_totals` returns, per window (row-major), the sum over sources of ``fmi_XF``, exactly what
:func:`metrics.fmi.fmi_value` accumulates, so the final mean is the same NumPy reduction.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_TINY = 1e-300
_L = 9


@njit(cache=True, error_model="numpy", inline="always")
def _xlogx(p):
    t = abs(p)
    if t < _TINY:
        t = _TINY
    return p * np.log(t)


@njit(cache=True, error_model="numpy", inline="always")
def _side(raw, norm, p, lp, cdf, t):
    """Normalise one window (``raw`` -> ``norm``), then pdf, its log, cdf, centred pdf; returns
    (tt, sd, h, sum_cdf)."""
    mx = raw[0]
    mn = raw[0]
    for i in range(1, _L):
        v = raw[i]
        if v > mx:
            mx = v
        if v < mn:
            mn = v
    span = mx - mn
    if span == 0:
        for i in range(_L):
            norm[i] = 1.0
    else:
        for i in range(_L):
            norm[i] = (raw[i] - mn) / span
    c0 = (norm[0] + norm[1]) + norm[2]
    c1 = (norm[3] + norm[4]) + norm[5]
    c2 = (norm[6] + norm[7]) + norm[8]
    tot = (c0 + c1) + c2
    for i in range(_L):
        p[i] = norm[i] / tot
    acc = p[0]
    cdf[0] = acc
    sum_cdf = acc
    for i in range(1, _L):
        acc = acc + p[i]
        cdf[i] = acc
        sum_cdf = sum_cdf + acc
    s = p[0]
    for i in range(1, _L):
        s = s + p[i]
    mean = s / _L
    for i in range(_L):
        t[i] = p[i] - mean
    tt = t[0] * t[0]
    for i in range(1, _L):
        tt = tt + t[i] * t[i]
    e = 0.0
    e2 = 0.0
    h = 0.0
    for i in range(_L):
        q = p[i]
        e += (i + 1.0) * q
        e2 += (i + 1.0) * (i + 1.0) * q
        lq = np.log(max(q, _TINY))
        lp[i] = lq
        h -= q * lq
    sd = np.sqrt(e2 - e * e)
    return tt, sd, h, sum_cdf


@njit(cache=True, error_model="numpy", inline="always")
def _pair(
    xp, xlp, xt, xtt, xsd, xh, xsum, fp, flp, fcdf, ft, ftt, fsd, fh, fsum, px, lpx, cx, key, lab, r, i0
):
    """``fmi_XF`` of one window pair that did not take the equality shortcut (see metrics.fmi)."""
    s = xt[0] * ft[0]
    for i in range(1, _L):
        s = s + xt[i] * ft[i]
    if s == 0:
        c = 0.0
    else:
        c = s / np.sqrt(xtt * ftt)
    upper = c >= 0
    if upper:
        for i in range(_L):
            px[i] = xp[i]
            lpx[i] = xlp[i]
    else:
        for i in range(_L):
            px[i] = xp[_L - 1 - i]
            lpx[i] = xlp[_L - 1 - i]
    acc = px[0]
    cx[0] = acc
    for i in range(1, _L):
        acc = acc + px[i]
        cx[i] = acc
    # Merge the 8 interior breakpoints of F and X (the NumPy path's order: on a tie X comes first) by
    # ranks instead of a sequential merge: F's a-th breakpoint lands at a + #(X breakpoints below it).
    for a in range(_L - 1):
        fa = fcdf[a]
        cnt = 0
        for b in range(_L - 1):
            cnt += cx[b] < fa
        pos = a + cnt
        key[pos] = fa
        lab[pos] = 1
    for b in range(_L - 1):
        xb = cx[b]
        cnt = 0
        for a in range(_L - 1):
            cnt += fcdf[a] <= xb
        pos = b + cnt
        key[pos] = xb
        lab[pos] = 0
    i0[0] = 0
    for k in range(2 * _L - 2):
        i0[k + 1] = i0[k] + lab[k]
    r[0] = key[0]
    for k in range(1, 2 * _L - 2):
        r[k] = key[k] - key[k - 1]
    r[2 * _L - 2] = max(1.0 - key[2 * _L - 3], 0.0)
    s_up = 0.0
    for k in range(2 * _L - 1):
        ii = i0[k]
        s_up += r[k] * ((_L - ii) * (ii + (_L - k)))
    sum_bound = s_up if upper else (_L + 1) * fsum - s_up
    cov = sum_bound - fsum * xsum
    if xsd == 0 or fsd == 0 or (upper and c == 0):
        return 0.0  # w = 0: the joint pdf is the independence table, MI exactly 0
    w = c / (cov / (fsd * xsd))
    sc = 1.0 - w
    hj = -_xlogx(sc) + sc * (fh + xh)
    lsc = np.log(max(abs(sc), _TINY))
    sm = 0.0
    sp = 0.0
    for k in range(2 * _L - 1):
        ii = i0[k]
        jj = k - ii
        prod = fp[ii] * px[jj]
        prod *= sc
        mixed = w * r[k] + prod
        sm += _xlogx(mixed)
        # prod * ln|prod| without a log: ln|prod| = ln fp + ln px + ln|sc| (a zero factor gives prod = 0)
        sp += prod * ((flp[ii] + lpx[jj]) + lsc)
    hj -= sm - sp
    mi = xh + fh - hj
    if mi == 0:
        return 0.0
    return 2.0 * mi / (xh + fh)


@njit(cache=True, error_model="numpy")
def fmi_totals(feats, fused):
    """Per window (row-major, 3x3 valid positions): sum over sources of ``fmi_XF``.

    ``feats`` is (N, H, W) (sources' feature maps), ``fused`` (H, W).
    """
    n_src, m, ncols = feats.shape
    rows = m - 2
    cols = ncols - 2
    out = np.zeros(rows * cols)
    fr = np.empty(_L)
    fn = np.empty(_L)
    fp = np.empty(_L)
    flp = np.empty(_L)
    xlp = np.empty(_L)
    lpx = np.empty(_L)
    fcdf = np.empty(_L)
    ft = np.empty(_L)
    xr = np.empty(_L)
    xn = np.empty(_L)
    xp = np.empty(_L)
    xcdf = np.empty(_L)
    xt = np.empty(_L)
    px = np.empty(_L)
    cx = np.empty(_L)
    key = np.empty(2 * _L - 2)
    lab = np.empty(2 * _L - 2, dtype=np.int64)
    r = np.empty(2 * _L - 1)
    i0 = np.empty(2 * _L - 1, dtype=np.int64)
    for y in range(rows):
        for x in range(cols):
            for cc in range(3):
                for rr in range(3):
                    fr[cc * 3 + rr] = fused[y + rr, x + cc]
            f_ready = False
            f_normalised = False
            ftt = fsd = fh = fsum = 0.0
            acc = 0.0
            for k in range(n_src):
                for cc in range(3):
                    for rr in range(3):
                        xr[cc * 3 + rr] = feats[k, y + rr, x + cc]
                if not f_ready:
                    ftt, fsd, fh, fsum = _side(fr, fn, fp, flp, fcdf, ft)
                    f_ready = True
                equal = True
                ref = fn if f_normalised else fr
                for i in range(_L):
                    if xr[i] != ref[i]:
                        equal = False
                        break
                if equal:
                    acc += 1.0
                    continue
                f_normalised = True
                xtt, xsd, xh, xsum = _side(xr, xn, xp, xlp, xcdf, xt)
                acc += _pair(
                    xp,
                    xlp,
                    xt,
                    xtt,
                    xsd,
                    xh,
                    xsum,
                    fp,
                    flp,
                    fcdf,
                    ft,
                    ftt,
                    fsd,
                    fh,
                    fsum,
                    px,
                    lpx,
                    cx,
                    key,
                    lab,
                    r,
                    i0,
                )
            out[y * cols + x] = acc
    return out
