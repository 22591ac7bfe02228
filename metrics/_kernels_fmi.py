"""numba kernel of FMI's window stage (private; see :mod:`metrics.fmi` for the definition).

One pass over the windows, all per-window arithmetic in registers: no temporaries. The knife-edge
quantities (exact window equality, the window sums, ``c`` and its ``== 0`` test, the one-hot SD test)
are computed with the same operations in the same order as the NumPy path, so every branch decision is
the same; the remaining sums (covariance of the bound, joint entropy) differ from the NumPy path by
rounding only (tested: within 1e-12 relative on the reference grid, far inside the 1e-9 budget).

:func:`fmi_totals` returns, per window (row-major), the sum over sources of ``fmi_XF``, exactly what
:func:`metrics.fmi.fmi_value` accumulates, so the final mean is the same NumPy reduction.

Speed notes (issue 15): the loop is compiled with ``_nrt=False`` (numba's reference counting off; the
caller allocates every array), because with it each inlined helper call increfs and decrefs its ~20
array arguments with atomic instructions -- 27 % of the run time in ``perf``; and the 17 logs of the
joint entropy are taken back to back (independent calls overlap) before the sum, in the same order.
Both changes leave every value bit-identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_TINY = 1e-300
_L = 9
_NSCRATCH = 15
_K = 2 * _L - 1  # merged cdf intervals: cells where a Frechet bound has mass


@njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def _xlogx(p):
    t = abs(p)
    if t < _TINY:
        t = _TINY
    return p * np.log(t)


@njit(cache=True, error_model="numpy", inline="always", _nrt=False)
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


@njit(cache=True, error_model="numpy", inline="always", _nrt=False)
def _pair(
    xp, xlp, xt, xtt, xsd, xh, xsum, fp, flp, fcdf, ft, ftt, fsd, fh, fsum, px, lpx, cx, key, lab, r, i0, mix,
    lmix,
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
        mix[k] = w * r[k] + prod
        # prod * ln|prod| without a log: ln|prod| = ln fp + ln px + ln|sc| (a zero factor gives prod = 0)
        sp += prod * ((flp[ii] + lpx[jj]) + lsc)
    # the 17 logs back to back (independent calls overlap), then sum p ln|p| in the same order as before
    for k in range(2 * _L - 1):
        t = abs(mix[k])
        if t < _TINY:
            t = _TINY
        lmix[k] = np.log(t)
    for k in range(2 * _L - 1):
        sm += mix[k] * lmix[k]
    hj -= sm - sp
    mi = xh + fh - hj
    if mi == 0:
        return 0.0
    return 2.0 * mi / (xh + fh)


def fmi_totals(feats, fused):
    """Per window (row-major, 3x3 valid positions): sum over sources of ``fmi_XF``.

    ``feats`` is (N, H, W) (sources' feature maps), ``fused`` (H, W). Allocates the output and the
    scratch vectors here, so the compiled loop needs no reference counting (see :func:`_totals`).
    """
    n_src, m, ncols = feats.shape
    out = np.zeros((m - 2) * (ncols - 2))
    _totals(
        feats,
        fused,
        out,
        np.empty((_NSCRATCH, _L)),
        np.empty((2, _K)),
        np.empty(2 * _L - 2),
        np.empty(2 * _L - 2, dtype=np.int64),
        np.empty(2 * _L - 1),
        np.empty(2 * _L - 1, dtype=np.int64),
    )
    return out


@njit(cache=True, error_model="numpy", _nrt=False)
def _totals(feats, fused, out, scratch, cells, key, lab, r, i0):
    """The loop of :func:`fmi_totals`, compiled without numba's reference counting (``_nrt=False``).

    With it, every inlined helper call increfs/decrefs each array argument by an atomic instruction:
    ~44 per window pair, over a quarter of the run time. Nothing here allocates, so it is not needed.
    """
    n_src, m, ncols = feats.shape
    rows = m - 2
    cols = ncols - 2
    fr = scratch[0]
    fn = scratch[1]
    fp = scratch[2]
    flp = scratch[3]
    xlp = scratch[4]
    lpx = scratch[5]
    fcdf = scratch[6]
    ft = scratch[7]
    xr = scratch[8]
    xn = scratch[9]
    xp = scratch[10]
    xcdf = scratch[11]
    xt = scratch[12]
    px = scratch[13]
    cx = scratch[14]
    mix = cells[0]
    lmix = cells[1]
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
                    mix,
                    lmix,
                )
            out[y * cols + x] = acc
    return out


# Compile (or load from the on-disk cache) now, on a tiny input: a numba that cannot build the kernel
# makes this import fail, and metrics._jit then selects the NumPy path.
fmi_totals(np.zeros((1, 3, 3)), np.zeros((3, 3)))
