"""numba kernel of IFC (private; see :mod:`metrics.ifc`).

:func:`correlate_taps` is ``scipy.ndimage.correlate`` of an already padded image with a list of taps,
adding the products in SciPy's order: for each output pixel ``tmp = 0.0; tmp += in[tap] * w[tap]`` over
the kernel's entries with ``|w| > DBL_EPSILON`` in row-major order (SciPy's ``NI_Correlate`` drops the
others), so the results are the same bits (tested). SciPy walks the taps per pixel; here each tap is one
vectorised pass over an output row (the row stays in L1), 3-4x faster for IFC's 9x9 low-pass at 520x520.
No fast-math: LLVM neither reorders nor fuses the additions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrics._kernels_structural import gain_noise_clamp


@njit(cache=True, nogil=True, error_model="numpy")
def correlate_taps(pad, dy, dx, w, out):
    """``out[y, x] = sum_t pad[y + dy[t], x + dx[t]] * w[t]``, added in tap order starting from 0.0."""
    rows, cols = out.shape
    nt = w.shape[0]
    for y in range(rows):
        orow = out[y]
        for x in range(cols):
            orow[x] = 0.0
        for t in range(nt):
            prow = pad[y + dy[t], dx[t] : dx[t] + cols]
            wt = w[t]
            for x in range(cols):
                orow[x] += prow[x] * wt


@njit(cache=True, nogil=True, error_model="numpy")
def correlate_taps_step2(pad, dy, dx, w, out):
    """:func:`correlate_taps` at every second row and column only (``[::2, ::2]`` of it: the same sums in
    the same order), for the pyramid's filter-and-decimate step."""
    rows, cols = out.shape
    nt = w.shape[0]
    for y in range(rows):
        orow = out[y]
        for x in range(cols):
            orow[x] = 0.0
        for t in range(nt):
            prow = pad[2 * y + dy[t], dx[t] : dx[t] + 2 * cols - 1 : 2]
            wt = w[t]
            for x in range(cols):
                orow[x] += prow[x] * wt


@njit(cache=True, nogil=True, error_model="numpy")
def block_box_sums(img, r, step, out):
    """Sums over (2r+1)^2 windows centred on rows/cols 1, 1 + step, ... of ``img`` mirrored about its edge
    pixels (OpenCV's BORDER_REFLECT_101; needs ``r < min(img.shape)``), in the order of OpenCV's
    ``sepFilter2D`` with a kernel of ones (bit for bit, tested): each row's window added left to right,
    then per column the centre row's sum plus 0.0, plus the pairs ``(below_k + above_k)`` for k = 1..r.
    Only the rows' sums at the centre columns and the columns' sums at the centre rows are formed
    (OpenCV sums every pixel: ~4.5x the additions for IFC's 3x3 block centres)."""
    rows, cols = img.shape
    oh, ow = out.shape
    w = 2 * r + 1
    pcols = cols + 2 * r
    hs = np.empty((rows + 2 * r, ow))
    row = np.empty(pcols)
    nph = (pcols + step - 1) // step
    phase = np.zeros((step, nph))  # the padded row split by column phase: phase[q, i] = row[step * i + q]
    for yy in range(rows + 2 * r):
        sy = yy - r
        sy = -sy if sy < 0 else sy
        sy = 2 * rows - 2 - sy if sy >= rows else sy
        src = img[sy]
        for x in range(cols):
            row[r + x] = src[x]
        for k in range(1, r + 1):
            row[r - k] = src[k]
            row[r + cols - 1 + k] = src[cols - 1 - k]
        for q in range(step):
            ph = phase[q]
            for i in range((pcols - q + step - 1) // step):
                ph[i] = row[step * i + q]
        hrow = hs[yy]
        first = phase[1 % step, 1 // step :]  # row[1 + step j] = phase[1 % step][j + 1 // step]
        for j in range(ow):
            hrow[j] = first[j]
        for k in range(1, w):
            nxt = phase[(1 + k) % step, (1 + k) // step :]
            for j in range(ow):
                hrow[j] += nxt[j]
    for i in range(oh):
        cy = 1 + step * i + r
        orow = out[i]
        centre = hs[cy]
        for j in range(ow):
            orow[j] = centre[j] + 0.0
        for k in range(1, r + 1):
            below = hs[cy + k]
            above = hs[cy - k]
            for j in range(ow):
                orow[j] += below[j] + above[j]


@njit(cache=True, nogil=True, error_model="numpy")
def distortion(sxy, n, mx, my, ssx, ssy, tol, g, vv):
    """``distsub_est_m``'s gain ``g`` and noise variance ``vv`` from the block sums ``sxy`` of x*y, with
    :func:`metrics.ifc._distortion_channel`'s NumPy operations element by element, in order (same bits):
    ``cov = sxy - (n mx) my``, ``g = cov / (ssx + tol)``, ``vv = (ssy - g cov) / n``, then the clamps
    (``ssx < tol``: g 0, vv ssy; ``ssy < tol``: g 0, vv 0; ``g < 0``: vv ssy, g 0; ``vv <= tol``: tol)."""
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            cov = sxy[i, j] - n * mx[i, j] * my[i, j]
            sx = ssx[i, j]
            sy = ssy[i, j]
            gg = cov / (sx + tol)
            v = (sy - gg * cov) / n
            gg, v = gain_noise_clamp(gg, v, sx, sy, tol)
            g[i, j] = gg
            vv[i, j] = v


@njit(cache=True, nogil=True, error_model="numpy")
def information_args(g, vv, ss, lam, off, out):
    """``out[i, j, k] = 1 + ((g g ss) / (vv + 1e-10)) lam[k]`` over the blocks ``off`` away from the edges
    (``ifcvec``'s ``1 + base`` before the log2, the NumPy expression's operations in order: same bits)."""
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            gg = g[i + off, j + off]
            t = gg * gg * ss[i + off, j + off] / (vv[i + off, j + off] + 1e-10)
            for k in range(lam.shape[0]):
                out[i, j, k] = 1 + t * lam[k]
    return out


# Compile (or load from the on-disk cache) now, on a tiny input: a numba that cannot build the kernel
# makes this import fail, and metrics._jit then selects the SciPy path.
correlate_taps(np.zeros((3, 3)), np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1), np.empty((3, 3)))
block_box_sums(np.zeros((5, 5)), 1, 3, np.empty((1, 1)))
_I = np.zeros(1, np.int64)
correlate_taps_step2(np.zeros((3, 3)), _I, _I, np.ones(1), np.empty((2, 2)))
_R = np.ones((2, 2))
_R.setflags(write=False)
distortion(np.ones((2, 2)), 9.0, _R, _R, _R, _R, 1e-15, np.empty((2, 2)), np.empty((2, 2)))
information_args(_R, _R, _R, np.ones(9), 0, np.empty((2, 2, 9)))
information_args(np.ones((2, 2)), np.ones((2, 2)), _R, _R[0], 0, np.empty((2, 2, 2)))
