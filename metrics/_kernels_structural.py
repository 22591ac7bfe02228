"""numba kernels of the structural metrics (private): Octave's exact ``filter2`` at chosen windows (see
:mod:`metrics._matlab`) and the SSIM-type formulas (see :func:`metrics._structural.ssim_formula`).

:func:`exact_at` is ``OctaveWindow.exact_at``: ``acc = fma(tap, img[r + p, c + q], acc)`` over the taps in
Octave's order, window by window, with LLVM's ``llvm.fma`` intrinsic (correctly rounded by definition:
the hardware instruction where the CPU has one, a correctly rounded library routine otherwise), which is
what the NumPy path emulates with error-free transformations (``_matlab.fma``): same bits, without
~50 NumPy calls per tap on small arrays.

:func:`ssim_map`, :func:`cs_map` and :func:`qy_combine` evaluate the NumPy expressions of the SSIM-type
metrics element by element, with the same operations in the same order (numba does not contract a
multiply and an add into an FMA without ``fastmath``), so every element has the NumPy path's bits; one
pass instead of ~12 NumPy temporaries of the map's size (3.3 ms -> 0.5 ms at 514x514).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _fma(typingctx, a, b, c):
    """Correctly rounded ``a*b + c`` for float64 scalars (``llvm.fma.f64``)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl], ir.FunctionType(dbl, [dbl, dbl, dbl]))
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=True, nogil=True)
def exact_at(img, rows, cols, ps, qs, taps):
    """``out[k] = sum over taps t of fma(taps[t], img[rows[k] + ps[t], cols[k] + qs[t]], .)`` from 0."""
    out = np.empty(rows.size)
    for k in range(rows.size):
        r = rows[k]
        c = cols[k]
        acc = 0.0
        for t in range(taps.size):
            acc = _fma(taps[t], img[r + ps[t], c + qs[t]], acc)
        out[k] = acc
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def ssim_map(mx, my, sxx, syy, sxy, c1, c2, guard, out):
    """``out = ((2 mx my + c1)(2 sxy + c2)) / ((mx^2 + my^2 + c1)(sxx + syy + c2) [+ guard])``, the
    NumPy grouping ``((2 * mx) * my + c1)``; ``guard`` is added only when it is not 0."""
    add = guard != 0.0
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            a = mx[i, j]
            b = my[i, j]
            den = (a * a + b * b + c1) * (sxx[i, j] + syy[i, j] + c2)
            if add:
                den = den + guard
            out[i, j] = ((2 * a * b + c1) * (2 * sxy[i, j] + c2)) / den
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def cs_map(sxx, syy, sxy, c2, out):
    """``out = (2 sxy + c2) / (sxx + syy + c2)`` (MS-SSIM's contrast-structure term)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (2 * sxy[i, j] + c2) / (sxx[i, j] + syy[i, j] + c2)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def qy_combine(lam, similar, s_af, s_bf, out):
    """Yang's ``(lam s_af + (1 - lam) s_bf) * similar + max(s_af, s_bf) * ~similar`` as NumPy computes it
    (a NaN weight poisons the pixel whichever branch applies; ``np.maximum`` propagates NaN)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            a = s_af[i, j]
            b = s_bf[i, j]
            lm = lam[i, j]
            m = a if a > b else b
            if a != a:
                m = a
            sim = 1.0 if similar[i, j] else 0.0
            out[i, j] = (lm * a + (1 - lm) * b) * sim + m * (1.0 - sim)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def qc_combine(c_af, c_bf, s_af, s_bf, guard, out):
    """Cvejic's ``w = c_af / (c_af + c_bf + guard)``, ``q = w s_af + (1 - w) s_bf``, then 0 where
    ``w < 0`` and 1 where ``w > 1`` (the NumPy expression's operations, in order: same bits)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            a = c_af[i, j]
            w = a / (a + c_bf[i, j] + guard)
            q = w * s_af[i, j] + (1 - w) * s_bf[i, j]
            if w < 0:
                q = 0.0
            if w > 1:
                q = 1.0
            out[i, j] = q
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def symmetric_valid(x, y, g, out):
    """SciPy's ``correlate1d(p, g, axis=0)`` then ``correlate1d(., g, axis=1)`` (mode 'constant') of
    ``p = x * y`` (``y`` None: ``p = x``), cropped to the valid part, for a symmetric odd ``g``: SciPy's
    symmetric-kernel sum ``p[c] g[h] + (p[c - h] + p[c + h]) g[0] + ... + (p[c - 1] + p[c + 1]) g[h - 1]``
    in that order along each axis (same bits, tested); the valid part never reads the zero padding, so
    only the valid rows of the first pass are formed. Each tap is one pass over a row (vectorised)."""
    k = g.shape[0]
    h = k // 2
    rows, cols = x.shape
    vr = rows - 2 * h
    oc = out.shape[1]
    prod = np.empty((k, cols))  # the k input rows of one output row (x * y when y is given)
    acc = np.empty(cols)
    for r in range(vr):
        for t in range(k):
            src = x[r + t]
            dst = prod[t]
            if y is None:
                for c in range(cols):
                    dst[c] = src[c]
            else:
                ysrc = y[r + t]
                for c in range(cols):
                    dst[c] = src[c] * ysrc[c]
        centre = prod[h]
        gc = g[h]
        for c in range(cols):
            acc[c] = centre[c] * gc
        for j in range(h, 0, -1):
            lo = prod[h - j]
            hi = prod[h + j]
            gj = g[h - j]
            for c in range(cols):
                acc[c] += (lo[c] + hi[c]) * gj
        orow = out[r]
        for c in range(oc):
            orow[c] = acc[c + h] * gc
        for j in range(h, 0, -1):
            gj = g[h - j]
            for c in range(oc):
                orow[c] += (acc[c + h - j] + acc[c + h + j]) * gj
    return out


@njit(cache=True, nogil=True)
def flat_windows(img, k, out):
    """``out[r, c]`` = the k x k window of ``img`` with top-left corner (r, c) is exactly constant.

    O(1) per pixel whatever ``k``: ``run[r, c]`` counts the equal values from (r, c) rightwards (capped at
    k); a window is constant when the k row segments that start in its first column are constant
    (``run >= k`` on k consecutive rows: ``ok``, counted downwards) and its first column is constant
    (``col``, equal values counted downwards). The same map as the dilation/erosion test of
    :func:`metrics._memo._flat_windows` (tested).
    """
    h, w = img.shape
    oh, ow = out.shape
    run = np.empty((h, ow), np.int32)
    for r in range(h):
        cnt = 1
        for c in range(w - 2, -1, -1):
            cnt = min(cnt + 1, k) if img[r, c] == img[r, c + 1] else 1
            if c < ow:
                run[r, c] = cnt
        if w - 1 < ow:
            run[r, w - 1] = 1
    ok = np.zeros(ow, np.int32)  # consecutive rows (ending at r) whose segment at c is constant
    col = np.zeros(ow, np.int32)  # consecutive equal values (ending at r) in column c
    for r in range(h):
        for c in range(ow):
            ok[c] = ok[c] + 1 if run[r, c] >= k else 0
            col[c] = col[c] + 1 if (r > 0 and img[r, c] == img[r - 1, c]) else 1
            if r >= k - 1:
                out[r - k + 1, c] = ok[c] >= k and col[c] >= k
    return out


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def gain_noise_clamp(gg, v, sx, sy, tol):
    """The clamps that ``vifp_mscale.m`` and ``ifcvec.m``'s ``distsub_est_m`` share, on one element's gain
    ``gg`` and noise variance ``v`` given the two variances: ``sx < tol``: g 0, v sy; ``sy < tol``: g 0,
    v 0; ``g < 0``: v sy, g 0; ``v <= tol``: v tol (in that order)."""
    if sx < tol:
        gg = 0.0
        v = sy
    if sy < tol:
        gg = 0.0
        v = 0.0
    if gg < 0:
        v = sy
        gg = 0.0
    if v <= tol:
        v = tol
    return gg, v


@njit(cache=True, nogil=True, error_model="numpy")
def vif_clamp(s1, s2, s12, tol, g, sv, s1c):
    """The clamps of ``vifp_mscale.m`` element by element (see :func:`metrics._vif_stats._clamp`): the
    same comparisons and operations, so the same bits; ``g``, ``sv`` and the clamped ``s1`` into the
    last three arrays."""
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            a = s1[i, j]
            b = s2[i, j]
            c = s12[i, j]
            a = 0.0 if a < 0 else a
            b = 0.0 if b < 0 else b
            gg = c / (a + tol)
            v = b - gg * c
            gg, v = gain_noise_clamp(gg, v, a, b, tol)
            if a < tol:
                a = 0.0
            g[i, j] = gg
            sv[i, j] = v
            s1c[i, j] = a
    return g, sv, s1c


_Z = np.ones((2, 2))
ssim_map(_Z, _Z, _Z, _Z, _Z, 1.0, 1.0, 0.0, np.empty((2, 2)))
cs_map(_Z, _Z, _Z, 1.0, np.empty((2, 2)))
qy_combine(_Z, _Z > 0, _Z, _Z, np.empty((2, 2)))
_RO = np.ones((2, 2))
_RO.setflags(write=False)
qc_combine(_RO, _RO, _Z, _Z, 0.0, np.empty((2, 2)))
symmetric_valid(_RO, None, np.ones(1), np.empty((2, 2)))
symmetric_valid(_RO, _RO, np.ones(1), np.empty((2, 2)))
flat_windows(_Z, 2, np.empty((1, 1), np.bool_))
vif_clamp(_Z, _Z, _Z, 1e-10, np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 2)))
exact_at(np.ones((3, 3)), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
         np.zeros(1, np.int64), np.ones(1))  # fmt: skip  # build (or load) now: a failure selects NumPy
