"""Private: Kovesi's phase congruency as modified by Z. Liu (``myphasecong3.m``), for Qp.

Port of ``myphasecong3.m`` from zhengliu6699/imageFusionMetrics @ d6f7f1a0c0a13e7d19bc1e8e4d4f3ad51f439273,
itself Peter Kovesi's ``phasecong2.m`` (Copyright (c) 1996-2005 Peter Kovesi, MIT-style permission
notice: "Permission is hereby granted, free of charge, ... The above copyright notice and this permission
notice shall be included in all copies or substantial portions of the Software."). Re-written in NumPy
from the algorithm; no code copied.

Defaults (the only ones Qp uses): 4 scales, 6 orientations, minimum wavelength 3, scale factor 2.1,
sigmaOnf 0.55, dThetaOnSigma 1.2, noise k = 2, cutOff 0.5, g = 10, epsilon 1e-4.

MATLAB behaviours reproduced:

* frequency grids: ``[-c/2 : c/2-1]/c`` for even sizes, ``[-(c-1)/2 : (c-1)/2]/(c-1)`` for odd ones; the
  radius at ``(floor(rows/2)+1, floor(cols/2)+1)`` is set to 1 before ``ifftshift`` (Liu's "FLOOR" fix);
* ``lowpassfilter`` builds its grid with ``fix(n/2)+1`` as centre and applies ``fftshift`` (not
  ``ifftshift``) -- different from the log-Gabor grid for odd sizes, kept as is;
* the noise model uses the filters of the *current* orientation (Liu commented out ``if o == 1``);
* the noise estimate is ``median(|EO_{1,o}|^2) / -log(0.5)``; the PC_2 threshold is divided by 1.7;
* Liu's additions: the orientation of maximum weighted energy and ``phaseCongruency =
  totalEnergy / (totalSumAn + epsilon)``; moments ``M``, ``m`` from the covariance of the per-orientation PC.

Everything that depends only on the image size (filters, noise-model sums) is cached per shape; the
noise-model sums of the spatial filters are taken by Parseval in the frequency domain (:func:`_even_part`)
instead of through 24 inverse DFTs (the same sums to 6e-16 relative). The
per-orientation energy stage runs in a numba kernel when available (:mod:`metrics._kernels_qp`;
``MFIF_NO_NUMBA=1``: the NumPy blocks below, same values to rounding).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import cv2
import numpy as np

from metrics._jit import kernels

NSCALE, NORIENT = 4, 6
MIN_WAVELENGTH, MULT, SIGMA_ON_F, DTHETA_ON_SIGMA = 3.0, 2.1, 0.55, 1.2
K_NOISE, CUT_OFF, G_SIGMOID, EPSILON = 2.0, 0.5, 10.0, 0.0001


def _axis_range(n: int) -> np.ndarray:
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


def _lowpass(rows: int, cols: int, cutoff: float = 0.45, order: int = 15) -> np.ndarray:
    """Kovesi ``lowpassfilter([rows cols], cutoff, n)`` (Butterworth, ``fftshift``-ed)."""
    x = (np.arange(1, cols + 1)[None, :] - (np.fix(cols / 2) + 1)) / cols
    y = (np.arange(1, rows + 1)[:, None] - (np.fix(rows / 2) + 1)) / rows
    radius = np.sqrt(x**2 + y**2)
    return np.fft.fftshift(1.0 / (1.0 + (radius / cutoff) ** (2 * order)))


@lru_cache(maxsize=2)
def _bank(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray, tuple[tuple[float, ...], ...]]:
    """The log-Gabor filters' factors and per-orientation noise-model constants for one image size.

    Returns ``(log_gabor, spread, noise)``: ``log_gabor[s]`` (4, rows, cols) and ``spread[o]`` (6, rows,
    cols), whose product ``log_gabor[s] .* spread[o]`` is the filter of scale s and orientation o (formed
    when it is applied, as MATLAB forms it: ~22 MB at 520x520 instead of 52 MB for the 24 products, kept
    for two sizes), and ``noise[o] = (EM_n, sum EstSumAn2, sum EstSumAiAj)``.
    """
    x, y = np.meshgrid(_axis_range(cols), _axis_range(rows))
    radius = np.sqrt(x**2 + y**2)
    radius[rows // 2, cols // 2] = 1
    theta = np.arctan2(-y, x)
    radius = np.fft.ifftshift(radius)
    theta = np.fft.ifftshift(theta)
    sintheta, costheta = np.sin(theta), np.cos(theta)
    lp = _lowpass(rows, cols)
    log_gabor = np.empty((NSCALE, rows, cols))
    for s in range(NSCALE):
        wavelength = MIN_WAVELENGTH * MULT**s
        fo = 1.0 / wavelength
        lg = np.exp((-((np.log(radius / fo)) ** 2)) / (2 * np.log(SIGMA_ON_F) ** 2))
        lg = lg * lp
        lg[0, 0] = 0
        log_gabor[s] = lg
    theta_sigma = np.pi / NORIENT / DTHETA_ON_SIGMA
    spread = np.empty((NORIENT, rows, cols))
    noise = []
    for o in range(NORIENT):
        angl = o * np.pi / NORIENT
        ds = sintheta * np.cos(angl) - costheta * np.sin(angl)
        dc = costheta * np.cos(angl) + sintheta * np.sin(angl)
        dtheta = np.abs(np.arctan2(ds, dc))
        spread[o] = np.exp((-(dtheta**2)) / (2 * theta_sigma**2))
        filters = [lg * spread[o] for lg in log_gabor]
        em_n = float(np.sum(filters[0] ** 2))
        even = [_even_part(f) for f in filters]  # spectra of real(ifft2(filter)), see _noise_sums
        sum_an2 = sum(float(np.vdot(f, f)) for f in even)
        sum_aiaj = sum(
            float(np.vdot(even[si], even[sj])) for si in range(NSCALE - 1) for sj in range(si + 1, NSCALE)
        )
        noise.append((em_n, sum_an2, sum_aiaj))
    log_gabor.setflags(write=False)
    spread.setflags(write=False)
    return log_gabor, spread, tuple(noise)


def _even_part(f: np.ndarray) -> np.ndarray:
    """``(f(k) + f(-k)) / 2`` on the DFT grid (``-k`` taken modulo the size): the spectrum of
    ``real(ifft2(f))`` for a real ``f``.

    The noise model needs ``sum(ifftFilt.^2)`` and ``sum(ifftFilt_i .* ifftFilt_j)`` over the pixels, with
    ``ifftFilt = real(ifft2(filter)) * sqrt(rows*cols)``; by Parseval these are ``sum(even^2)`` and
    ``sum(even_i .* even_j)`` over the frequencies, without the 24 inverse DFTs (0.19 -> 0.06 s per image
    size at 520x520; the sums agree with the transform route to 6e-16 relative, measured on 520x520,
    521x383, 64x64 and 100x77).
    """
    mirrored = np.empty_like(f)  # f(-k mod n): row/column 0 stay, the rest reversed
    mirrored[0, 0] = f[0, 0]
    mirrored[0, 1:] = f[0, :0:-1]
    mirrored[1:, 0] = f[:0:-1, 0]
    mirrored[1:, 1:] = f[:0:-1, :0:-1]
    mirrored += f
    mirrored *= 0.5
    return mirrored


def _median_of_squares(a: np.ndarray) -> float:
    """``median(a(:).^2)`` for non-negative ``a`` without squaring the whole array (squares are monotonic)."""
    flat = a.ravel()
    n = flat.size
    k = n // 2
    if n % 2:
        return float(np.partition(flat, k)[k] ** 2)
    part = np.partition(flat, k)  # one selection (a two-element kth is several times slower);
    below = part[:k].max()  # the (k-1)-th order statistic is the largest of the lower part
    return float((below**2 + part[k] ** 2) / 2)


def _as_pairs(z: np.ndarray) -> np.ndarray:
    """A C-contiguous complex128 (rows, cols) array seen as OpenCV's 2-channel float64 (rows, cols, 2)."""
    return z.view(np.float64).reshape(*z.shape, 2)


def _as_complex(pairs: np.ndarray) -> np.ndarray:
    """OpenCV's 2-channel float64 (rows, cols, 2) array seen as complex128 (rows, cols)."""
    return np.ascontiguousarray(pairs).view(np.complex128)[..., 0]


# responses of several orientations kept at once (compiled path): one orientation at 520x520 (17 MB), all six
# below ~180x180. A small working set is faster (measured at 520x520: 10.0-10.8 units of the uniform-filter
# pass with one orientation, 12.4-13.3 with all six in a 104 MB buffer); the carried accumulators cost less.
_GROUP_BYTES = 12 << 20
_BLOCK_ELEMENTS = 8192  # ~16 rows of a 520-wide image: the element-wise stage stays in cache


def _orientation_block(
    eo: np.ndarray,
    t: float,
    cos_a: float,
    sin_a: float,
    total_sum_an: np.ndarray,
    total_energy: np.ndarray,
    covx2: np.ndarray,
    covy2: np.ndarray,
    covxy: np.ndarray,
) -> None:
    """Energy, weighting and covariance accumulation of one orientation on a block of rows (in place).

    ``eo`` holds the ``NSCALE`` complex filter responses of the block. Same arithmetic as the MATLAB loop
    up to rounding (a few ulp): ``sum_s (E_s mE + O_s mO)`` is formed as ``|sum EO|^2 / XEnergy``,
    amplitudes and ``XEnergy`` by complex ``abs`` (hypot), ``weight * energy`` as
    ``energy / (1 + exp(cutOff g - width g))`` and ``(pc_o cos)^2`` as ``cos^2 pc_o^2``. Reductions over
    the scale axis add the rows in order.
    """
    pairs = eo.view(np.float64).reshape(*eo.shape, 2)
    e_all = pairs[..., 0]
    o_all = pairs[..., 1]
    an = np.abs(eo)
    sum_an = np.add.reduce(an, axis=0)
    max_an = np.maximum.reduce(an, axis=0)
    s_eo = np.add.reduce(eo, axis=0)
    a = np.abs(s_eo)
    x_energy = a + EPSILON
    sp = s_eo.view(np.float64).reshape(*s_eo.shape, 2)
    mean_e = sp[..., 0] / x_energy
    mean_o = sp[..., 1] / x_energy
    a *= a
    a /= x_energy  # sumE mE + sumO mO = |sum EO|^2 / XEnergy
    d = e_all * mean_o
    d -= o_all * mean_e
    np.abs(d, out=d)
    a -= np.add.reduce(d, axis=0)
    a -= t  # noise threshold, then clamp at 0
    energy = np.maximum(a, 0.0, out=a)
    max_an += EPSILON
    w = np.divide(sum_an, max_an, out=max_an)  # width * NSCALE; then the sigmoid's denominator
    w *= -G_SIGMOID / NSCALE
    w += CUT_OFF * G_SIGMOID
    np.exp(w, out=w)
    w += 1
    total_sum_an += sum_an
    energy /= w
    total_energy += energy
    with np.errstate(divide="ignore", invalid="ignore"):
        energy /= sum_an  # per-orientation phase congruency (0/0 = NaN on constant images)
    energy *= energy
    covx2 += (cos_a * cos_a) * energy
    covy2 += (sin_a * sin_a) * energy
    covxy += (cos_a * sin_a) * energy


def phasecong_liu(im: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[phaseCongruency, or, M, m] = myphasecong3(im)`` with default parameters (``or`` omitted).

    Parameters
    ----------
    im : numpy.ndarray
        2-D float64 image.

    Returns
    -------
    (pc, M, m) : tuple of numpy.ndarray
        Liu's phase congruency ``totalEnergy / (totalSumAn + eps)``, and the maximum and minimum moments
        of the phase-congruency covariance. For a constant image ``M`` and ``m`` are NaN (0/0, as MATLAB).
    """
    im = np.asarray(im, dtype=np.float64)
    rows, cols = im.shape
    log_gabor, spread, noise = _bank(rows, cols)
    imagefft = _as_complex(cv2.dft(im, flags=cv2.DFT_COMPLEX_OUTPUT))
    cos_a = np.array([np.cos(o * np.pi / NORIENT) for o in range(NORIENT)])  # scalar calls, as before
    sin_a = np.array([np.sin(o * np.pi / NORIENT) for o in range(NORIENT)])
    compiled = kernels("qp")
    if compiled is not None:
        return _phasecong_compiled(compiled, imagefft, log_gabor, spread, noise, cos_a, sin_a)
    eo = np.empty((NSCALE, rows, cols), dtype=np.complex128)
    acc = np.zeros((5, rows, cols))
    for o in range(NORIENT):
        for s in range(NSCALE):
            np.multiply(imagefft, log_gabor[s] * spread[o], out=eo[s])  # imagefft .* filter, as MATLAB
            _inverse_dft(eo[s])
        threshold = _noise_threshold(_median_of_squares(np.abs(eo[0])), noise[o])
        _orientation(eo, threshold, cos_a[o], sin_a[o], *acc)
    total_sum_an, total_energy, covx2, covy2, covxy = acc
    pc = total_energy / (total_sum_an + EPSILON)
    covx2 = covx2 / (NORIENT / 2)
    covy2 = covy2 / (NORIENT / 2)
    covxy = covxy / NORIENT
    denom = np.sqrt(covxy**2 + (covx2 - covy2) ** 2) + EPSILON
    big_m = (covy2 + covx2 + denom) / 2
    small_m = (covy2 + covx2 - denom) / 2
    return pc, big_m, small_m


def _inverse_dft(z: np.ndarray) -> None:
    """``ifft2`` of a C-contiguous complex128 (rows, cols) array, in place (OpenCV)."""
    pairs = _as_pairs(z)
    cv2.idft(pairs, dst=pairs, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)


_ROW_PASS = cv2.DFT_ROWS | cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE
_ROW_BLOCK = 16  # rows per block of the row pass: 4 scales x 16 rows x 520 columns x 16 B = 0.5 MB (in L2)
# below this many rows or columns the responses come from the whole 2-D transform (OpenCV's two passes are
# bit for bit its 2-D transform for every size tested from 32x32 to 521x520, not for some tiny: 6x1, 7x9).
# A call of k rows of length n is rounded by another OpenCV code path when k n < 64 (measured up to n = 700);
# every call here has at least 4 rows (scales) of at least 32 elements.
_MIN_BLOCKED = 32
# OpenCV plans a 1-D transform on every call: microseconds for lengths whose prime factors are all small
# (7 us at 520 = 2^3 5 13), but up to ~1 ms when one is large (0.8 ms at 383 or 401, 1.4 ms at 521, the
# same for 1 or 64 rows; measured on this project's 2-core VM). Rows of a length with a prime factor above
# _SMALL_FACTOR are therefore transformed in blocks of _BIG_BLOCK_BYTES (the four scales), not of 16 rows:
# the phase congruency of 17 image shapes of the datasets with such a width, -10 % CPU in total (1, 4, 8
# and 32 MB blocks within the noise of each other; 383x401 -35 %).
_SMALL_FACTOR = 13
_BIG_BLOCK_BYTES = 4 << 20


@lru_cache(maxsize=64)
def _largest_prime_factor(n: int) -> int:
    """The largest prime factor of ``n`` (1 for 1)."""
    largest, p = 1, 2
    while p * p <= n:
        while n % p == 0:
            largest, n = p, n // p
        p += 1
    return max(largest, n)


def _cheap_to_plan(n: int) -> bool:
    """True when every prime factor of the transform length ``n`` is at most ``_SMALL_FACTOR``."""
    return _largest_prime_factor(n) <= _SMALL_FACTOR


def _row_block(rows: int, cols: int) -> int:
    """Rows per block of the row pass: ``_ROW_BLOCK`` (in cache) for lengths cheap to plan, else as many
    as ``_BIG_BLOCK_BYTES`` holds for the four scales (163 rows of 401 columns), so that the plan of an
    expensive length is made a few times per orientation, not once per 16 rows."""
    if _cheap_to_plan(cols):
        return min(_ROW_BLOCK, rows)
    return min(rows, max(_ROW_BLOCK, _BIG_BLOCK_BYTES // (NSCALE * cols * 16)))


def _phasecong_compiled(compiled, imagefft, log_gabor, spread, noise, cos_a, sin_a):
    """The compiled path of :func:`phasecong_liu`: per orientation the four filter responses, transposed
    (:func:`_responses_transposed`), the noise threshold from the median of the smallest scale's squared
    magnitudes (:func:`metrics._kernels_qp.median_of_squared_magnitudes`); the responses of a group
    of orientations (``_GROUP_BYTES``) are then combined in one pass
    (:func:`metrics._kernels_qp.phase_congruency`, element-wise, so it works in the transposed frame) and
    the three maps transposed back."""
    rows, cols = imagefft.shape
    per_orientation = NSCALE * rows * cols * 16
    group = max(1, min(NORIENT, _GROUP_BYTES // per_orientation))
    buf = _scratch((group, NSCALE, cols, rows))
    acc = np.empty((5, cols, rows) if group < NORIENT else (5, 1, 1))  # the first group starts it at 0
    thresholds = np.empty(NORIENT)
    pc, big_m, small_m = np.empty((cols, rows)), np.empty((cols, rows)), np.empty((cols, rows))
    block = np.empty((NSCALE, _row_block(rows, cols), cols), dtype=np.complex128)
    for o in range(NORIENT):
        eo = buf[o % group]
        _responses_transposed(compiled, imagefft, log_gabor, spread[o], block, eo)
        thresholds[o] = _noise_threshold(compiled.median_of_squared_magnitudes(eo[0]), noise[o])
        if o % group == group - 1 or o == NORIENT - 1:  # a group is complete: one fused pass
            g0 = o - o % group
            compiled.phase_congruency(
                buf[: o - g0 + 1], thresholds[g0 : o + 1], cos_a[g0 : o + 1], sin_a[g0 : o + 1], acc,
                g0 == 0, o == NORIENT - 1, NORIENT, pc, big_m, small_m,
            )  # fmt: skip
    return cv2.transpose(pc), cv2.transpose(big_m), cv2.transpose(small_m)


def _responses_transposed(compiled, imagefft, log_gabor, spread, block, out) -> None:
    """``out[s] = ifft2(imagefft .* (log_gabor[s] .* spread)).T`` for the four scales.

    OpenCV's 2-D inverse DFT is a pass of 1-D transforms over the rows (scaled by 1/cols) and one over the
    columns (1/rows); done here as the same two passes, bit for bit (tested): the row pass on blocks of
    ``block``'s rows, formed (:func:`metrics._kernels_qp.spectrum_products`), transformed and stored as
    columns of ``out`` (:func:`metrics._kernels_qp.transpose_rows`) while they are in cache, then the
    column pass as a row pass over ``out``. Against forming the whole products and transforming them in
    place: one write and one read of every response fewer (15 % of a phase congruency at 520x520).
    """
    rows, cols = imagefft.shape
    nscale, size = block.shape[:2]
    if min(rows, cols) < _MIN_BLOCKED:  # OpenCV's 2-D transform of tiny arrays is not always the two passes
        whole = np.empty((nscale, rows, cols), dtype=np.complex128)
        compiled.spectrum_products(imagefft, log_gabor, spread, 0, whole)
        for s in range(nscale):
            _inverse_dft(whole[s])
        compiled.transpose_rows(whole, 0, out)
        return
    for r0 in range(0, rows, size):
        n = min(size, rows - r0)
        blk = block if n == size else np.empty((nscale, n, cols), dtype=np.complex128)
        compiled.spectrum_products(imagefft, log_gabor, spread, r0, blk)
        pairs = blk.view(np.float64).reshape(nscale * n, cols, 2)
        cv2.idft(pairs, dst=pairs, flags=_ROW_PASS)
        compiled.transpose_rows(blk, r0, out)
    pairs = out.view(np.float64).reshape(nscale * cols, rows, 2)  # the column pass: one call (one plan)
    cv2.idft(pairs, dst=pairs, flags=_ROW_PASS)


_LOCAL = threading.local()


def _scratch(shape: tuple[int, ...]) -> np.ndarray:
    """The compiled path's response buffer, kept per thread for the last shape (~_GROUP_BYTES, or one
    orientation's responses when they are larger: 17 MB at 520x520): a fresh array on every call is
    page-faulted anew (~40 ms per 100 MB); ``bench score``'s threads are new on every call, though."""
    buf = getattr(_LOCAL, "buf", None)
    if buf is None or buf.shape != shape:
        _LOCAL.buf = None  # release the old one first
        buf = _LOCAL.buf = np.empty(shape, dtype=np.complex128)
    return buf


def _noise_threshold(median_e2n: float, noise: tuple[float, float, float]) -> float:
    """Noise threshold of one orientation from ``median(|EO_1|^2)`` of its smallest scale: that over
    ``-log(0.5)``, over ``sum(filter^2)``, the Rayleigh mean + k sigma of the estimated noise energy,
    divided by 1.7."""
    mean_e2n = -median_e2n / np.log(0.5)
    em_n, sum_an2, sum_aiaj = noise
    noise_power = mean_e2n / em_n
    est_noise_energy2 = 2 * noise_power * sum_an2 + 4 * noise_power * sum_aiaj
    tau = np.sqrt(est_noise_energy2 / 2)
    est_noise_energy = tau * np.sqrt(np.pi / 2)
    est_noise_energy_sigma = np.sqrt((2 - np.pi / 2) * tau**2)
    return (est_noise_energy + K_NOISE * est_noise_energy_sigma) / 1.7


def _orientation(eo, t, cos_a, sin_a, total_sum_an, total_energy, covx2, covy2, covxy) -> None:
    """The NumPy path of one orientation's energy stage, in cache-sized blocks of rows."""
    rows, cols = eo.shape[1:]
    block = max(4, _BLOCK_ELEMENTS // cols)  # rows per cache-sized block for the element-wise stage
    for r0 in range(0, rows, block):
        rs = slice(r0, min(rows, r0 + block))
        _orientation_block(
            eo[:, rs], t, cos_a, sin_a, total_sum_an[rs], total_energy[rs], covx2[rs], covy2[rs], covxy[rs]
        )
