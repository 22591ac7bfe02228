"""Nonsubsampled contourlet transform (NSCT) of Cunha, Zhou & Do, written from the published filters.

Re-implementation of the Nonsubsampled Contourlet Toolbox 1.0 (A. L. Cunha, J. Zhou, M. N. Do, 2004-2005) as
shipped in Yu Liu's MST-SR-Fusion-Toolbox, https://github.com/yuliu316316/MST-SR-Fusion-Toolbox
@ 6885bcde3239a7c70d3ea3bf5e2bb2ef5a7ea57e, folder ``nsct_toolbox/`` (``nsctdec.m``, ``nsctrec.m``,
``nsfbdec.m``, ``nsfbrec.m``, ``nsdfbdec.m``, ``nsdfbrec.m``, ``nssfbdec.m``, ``nssfbrec.m``,
``atrousfilters.m``, ``dfilters.m``, ``parafilters.m``, ``modulate2.m``, ``resampz.m``, ``symext.m``,
``efilter2.m``, ``mctrans.m`` and the MEX files ``atrousc.c``, ``zconv2.c``). No licence file in either
repository; nothing is copied: the filter coefficients are published numbers (atrousfilters 'pyrexc';
the 'vk' 1-D prototypes of Vetterli & Kovacevic's book, McClellan-transformed), the code is ours.

Structure (toolbox conventions, coarse to fine):

* nonsubsampled pyramid (NSP): at level ``lev`` (0 = finest) the two à trous filters ``h0``/``h1`` of
  'pyrexc', upsampled by ``2**lev``, are applied to the toolbox's symmetric extension (``symext`` with the
  delay-compensating shift ``[1, 1]`` at levels 0 and 1, ``2 - 2**(lev-1)`` above); reconstruction adds
  ``g0``/``g1`` filtered bands the same way;
* nonsubsampled directional filter bank (NSDFB) on each bandpass image: a binary tree of two-channel fan
  and parallelogram filter banks (filters upsampled by quincunx / parallelogram matrices), all with
  *periodic* extension (``efilter2`` 'per', ``zconv2``). Periodic convolutions are products in the DFT
  domain, so each directional subband is computed here as one inverse FFT of the bandpass spectrum times
  the product of the tree's filter responses (the same linear map as the toolbox's chain of spatial
  convolutions, up to floating-point rounding, ~1e-13 relative).

Perfect reconstruction holds to rounding (``tests/test_baselines_nsct.py``: 1e-10 on 0..255 images).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from baselines._nsct_filters import (  # noqa: F401  (re-exported: the transform's public filter API)
    _DIAMOND,
    _PYREXC_G0,
    _PYREXC_G1,
    _PYREXC_H0,
    _PYREXC_H1,
    DIRECTIONAL_FILTERS,
    PYRAMID_FILTERS,
    _mirror,
    dfb_filters,
    diamond_filters,
    mctrans,
    modulate2,
    pyramid_filters,
    resampz,
)

# --- frequency responses of the periodic (efilter2 'per' / zconv2) filterings -------------------------


def _response(taps: list[tuple[float, int, int]], shape: tuple[int, int]) -> np.ndarray:
    """rfft2 response of ``out[r, c] = sum w * x[(r + dr) % H, (c + dc) % W]`` over ``taps``."""
    h, w = shape
    kern = np.zeros(shape)
    for wt, dr, dc in taps:
        kern[(-dr) % h, (-dc) % w] += wt
    return np.fft.rfft2(kern)


def _efilter2_taps(f: np.ndarray) -> list[tuple[float, int, int]]:
    """efilter2(x, f) ('per' extension, conv2 'valid'): y[r,c] = sum f[a,b] x[r + ofr - a, c + ofc - b]."""
    fr, fc = f.shape
    ofr, ofc = fr - 1 - (fr - 1) // 2, fc - 1 - (fc - 1) // 2
    return [(f[a, b], ofr - a, ofc - b) for a in range(fr) for b in range(fc) if f[a, b] != 0]


def _zconv2_taps(f: np.ndarray, m: np.ndarray) -> list[tuple[float, int, int]]:
    """zconv2.c: periodic convolution with ``f`` upsampled by the 2x2 integer matrix ``m``.

    With ``m = [[M0, M2], [M1, M3]]`` (MATLAB storage order M0..M3), filter tap ``f[l2, l1]`` (row l2,
    column l1) reads ``x[row = S2 + r - M1*l1 - M3*l2, col = S1 + c - M0*l1 - M2*l2]`` (periodic), where
    ``S1 = (M0*(Fc-1) + M2*(Fr-1)) / 2`` and ``S2 = (M3*(Fr-1) + M1*(Fc-1)) / 2`` (C integer division).
    """
    fr, fc = f.shape
    m0, m1, m2, m3 = int(m[0, 0]), int(m[1, 0]), int(m[0, 1]), int(m[1, 1])
    n1 = m0 * (fc - 1) + m2 * (fr - 1)
    n2 = m3 * (fr - 1) + m1 * (fc - 1)
    if n1 < 0 or n2 < 0:  # the MEX file would index outside the image: undefined there
        raise ValueError(f"nsct: unsupported upsampling matrix {m.tolist()} for a {fr}x{fc} filter")
    s1, s2 = n1 // 2, n2 // 2
    return [
        (f[l2, l1], s2 - m1 * l1 - m3 * l2, s1 - m0 * l1 - m2 * l2)
        for l1 in range(fc)
        for l2 in range(fr)
        if f[l2, l1] != 0
    ]


def _dfb_tree(levels: int) -> list[list[tuple[str, int, np.ndarray | None]]]:
    """The filter path from the root to each of the ``2**levels`` subbands, in nsdfbdec.m's order.

    A step is ``("k1" | "k2", 0, m)`` (fan filter, upsampled by ``m`` or not if None) or
    ``("f1" | "f2", i, m)`` (parallelogram filter ``i`` upsampled by ``m``).
    """
    q1 = np.array([[1, -1], [1, 1]])
    if levels == 1:
        return [[("k1", 0, None)], [("k2", 0, None)]]
    paths = []
    for a in (1, 2):
        for b in (1, 2):
            paths.append([(f"k{a}", 0, None), (f"k{b}", 0, q1)])
    for lev in range(3, levels + 1):
        new = [None] * (2**lev)
        for k in range(1, 2 ** (lev - 2) + 1):
            slk = 2 * ((k - 1) // 2) - 2 ** (lev - 3) + 1
            mkl = 2 * np.array([[2 ** (lev - 3), 0], [0, 1]]) @ np.array([[1, 0], [-slk, 1]])
            i = (k - 1) % 2
            new[2 * k - 2] = paths[k - 1] + [("f1", i, mkl)]
            new[2 * k - 1] = paths[k - 1] + [("f2", i, mkl)]
        for k in range(2 ** (lev - 2) + 1, 2 ** (lev - 1) + 1):
            slk = 2 * ((k - 2 ** (lev - 2) - 1) // 2) - 2 ** (lev - 3) + 1
            mkl = 2 * np.array([[1, 0], [0, 2 ** (lev - 3)]]) @ np.array([[1, -slk], [0, 1]])
            i = (k - 1) % 2 + 2
            new[2 * k - 2] = paths[k - 1] + [("f1", i, mkl)]
            new[2 * k - 1] = paths[k - 1] + [("f2", i, mkl)]
        paths = new
    return paths


def dfb_responses(shape: tuple[int, int], levels: int, name: str = "vk") -> tuple[np.ndarray, np.ndarray]:
    """Analysis and synthesis rfft2 responses, each (2**levels, H, W//2+1), of the NSDFB's subbands.

    Band ``j``'s analysis response is the product of the filter responses along its tree path
    (nsdfbdec.m); its synthesis response the product of the reconstruction filters along the same path
    (nsdfbrec.m), so that ``x = irfft2(sum_j G_j * rfft2(band_j))``.
    """
    out = []
    for kind in ("d", "r"):
        k1, k2, f1, f2 = dfb_filters(name, kind)
        cache: dict = {}

        def resp(step, k1=k1, k2=k2, f1=f1, f2=f2, cache=cache):
            key = (step[0], step[1], None if step[2] is None else step[2].tobytes())
            if key not in cache:
                which, i, m = step
                f = {"k1": k1, "k2": k2}.get(which)
                if f is None:
                    f = (f1 if which == "f1" else f2)[i]
                taps = _efilter2_taps(f) if m is None else _zconv2_taps(f, m)
                cache[key] = _response(taps, shape)
            return cache[key]

        bands = []
        for path in _dfb_tree(levels):
            r = resp(path[0])
            for step in path[1:]:
                r = r * resp(step)
            bands.append(r)
        out.append(np.stack(bands))
    return out[0], out[1]


# --- nonsubsampled pyramid -----------------------------------------------------------------------------


def _symext_index(n: int, p: int, s: int) -> np.ndarray:
    """Indices along one axis of symext.m: ``[flip(x(1:ss)) x x(n:-1:n-p-s+1)]`` cropped to ``n + p - 1``."""
    ss = p // 2 - s + 1
    idx = np.concatenate([np.arange(ss - 1, -1, -1), np.arange(n), np.arange(n - 1, n - p - s - 1, -1)])
    idx = idx[: n + p - 1]
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"nsct: image side {n} too small for a pyramid filter of extent {p}")
    return idx


def _atrous_kernel_spectrum(name: str, which: int, lev: int, fshape: tuple[int, int]) -> np.ndarray:
    """rfft2 (size ``fshape``) of pyramid filter ``which`` (0..3: h0, h1, g0, g1) upsampled by ``2**lev``.

    Cached up to ``STREAM_RESPONSES_PIXELS``; above, made per call (16 cached spectra of a 24 MP image
    would hold 3 GB; the extra cost is 2 real FFTs per pyramid level and channel).
    """
    if fshape[0] * fshape[1] <= STREAM_RESPONSES_PIXELS:
        return _atrous_kernel_spectrum_cached(name, which, lev, fshape)
    return _atrous_kernel_spectrum_of(name, which, lev, fshape)


@lru_cache(maxsize=32)
def _atrous_kernel_spectrum_cached(name: str, which: int, lev: int, fshape: tuple[int, int]) -> np.ndarray:
    return _atrous_kernel_spectrum_of(name, which, lev, fshape)


def _atrous_kernel_spectrum_of(name: str, which: int, lev: int, fshape: tuple[int, int]) -> np.ndarray:
    from scipy import fft

    f = pyramid_filters(name)[which]
    L = 2**lev
    k = np.zeros(fshape)
    k[: (f.shape[0] - 1) * L + 1 : L, : (f.shape[1] - 1) * L + 1 : L] = f
    return fft.rfft2(k, workers=1)


def _atrous_spectrum(x: np.ndarray, p: int, lev: int) -> tuple[np.ndarray, tuple[int, int]]:
    """rfft2 of the toolbox's symmetric extension of ``x`` (..., H, W) for a ``p``-tap filter at ``lev``.

    The extension is symext.m's (``upsample2df(f, lev)`` is ``p * 2**lev`` wide; delay-compensating shift
    ``[1, 1]`` at levels 0 and 1, ``2 - 2**(lev-1)`` above). Returns the spectrum and its FFT size.
    """
    from scipy import fft

    L = 2**lev
    shift = 1 if lev == 0 else 2 - 2 ** (lev - 1)
    h, w = x.shape[-2:]
    ri = _symext_index(h, L * p, shift)
    ci = _symext_index(w, L * p, shift)
    ext = x[..., ri, :][..., ci]
    if ext.dtype != np.float64:  # a band kept in float32 (exact values): the transform is float64
        ext = ext.astype(np.float64)
    fshape = (fft.next_fast_len(ext.shape[-2], real=True), fft.next_fast_len(ext.shape[-1], real=True))
    return fft.rfft2(ext, s=fshape, workers=1), fshape


def _atrous_finish(spec: np.ndarray, fshape: tuple[int, int], p: int, lev: int, out_hw: tuple[int, int]):
    """Inverse FFT and the 'valid' crop of the à trous filtering (atrousc.c / conv2 'valid')."""
    from scipy import fft

    k = p * 2**lev
    y = fft.irfft2(spec, s=fshape, workers=1)
    return y[..., k - 1 : k - 1 + out_hw[0], k - 1 : k - 1 + out_hw[1]]


def nsp_dec(x: np.ndarray, lev: int, name: str = "pyrexc") -> tuple[np.ndarray, np.ndarray]:
    """nsfbdec.m: (lowpass, bandpass) of ``x`` (..., H, W) at pyramid level ``lev`` (0 = finest).

    ``atrousc(symext(x, upsample2df(h, lev), shift), h, 2**lev)`` for ``h`` = h0, h1 (level 0:
    ``conv2(symext(x, h, [1, 1]), h, 'valid')``, the same formula), as linear convolutions by FFT of the
    extended image; the filters are symmetric, so atrousc's flip is immaterial.
    """
    p = pyramid_filters(name)[0].shape[0]
    spec, fshape = _atrous_spectrum(x, p, lev)
    hw = x.shape[-2:]
    lo = _atrous_finish(spec * _atrous_kernel_spectrum(name, 0, lev, fshape), fshape, p, lev, hw)
    spec *= _atrous_kernel_spectrum(name, 1, lev, fshape)
    return lo, _atrous_finish(spec, fshape, p, lev, hw)


def nsp_rec(lo: np.ndarray, hi: np.ndarray, lev: int, name: str = "pyrexc") -> np.ndarray:
    """nsfbrec.m: the finer image from its lowpass and bandpass parts (..., H, W) at level ``lev``."""
    p = pyramid_filters(name)[2].shape[0]
    hw = lo.shape[-2:]
    s_lo, fshape = _atrous_spectrum(lo, p, lev)
    s_lo *= _atrous_kernel_spectrum(name, 2, lev, fshape)
    del lo
    s_hi, _ = _atrous_spectrum(hi, p, lev)
    del hi
    s_hi *= _atrous_kernel_spectrum(name, 3, lev, fshape)
    s_lo += s_hi
    return _atrous_finish(s_lo, fshape, p, lev, hw)


# --- directional filter bank ---------------------------------------------------------------------------


def _rfft2(x: np.ndarray) -> np.ndarray:
    from scipy import fft

    return fft.rfft2(x, workers=1)


def _irfft2(x: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    from scipy import fft

    return fft.irfft2(x, s=shape, workers=1)


@lru_cache(maxsize=6)  # 2 * 2**levels complex spectra per entry (3 entries per image shape)
def _dfb_responses_as(
    shape: tuple[int, int], levels: int, name: str, dtype: str
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`dfb_responses` cast to ``dtype`` (complex64 for the single-precision path)."""
    ana, syn = dfb_responses(shape, levels, name)
    return ana.astype(dtype), syn.astype(dtype)


STREAM_RESPONSES_PIXELS = 1 << 22  # above ~4 MP the subband responses are made band by band, not cached


def _responses(shape: tuple[int, int], levels: int, name: str, cdt: str, kind: str):
    """The ``2**levels`` analysis ('d') or synthesis ('r') responses in band order, as ``cdt``.

    Small images: the cached stacks of :func:`_dfb_responses_as`. Above ``STREAM_RESPONSES_PIXELS``:
    computed band by band (:func:`_band_responses`, the same products in the same order, so the same
    bits) instead of holding 2 x 2**levels full-size complex spectra (5 GB at 24 MP).
    """
    if shape[0] * shape[1] <= STREAM_RESPONSES_PIXELS:
        ana, syn = _dfb_responses_as(shape, levels, name, cdt)
        return iter(ana if kind == "d" else syn)
    return _band_responses(shape, levels, name, cdt, kind)


def _band_responses(shape: tuple[int, int], levels: int, name: str, cdt: str, kind: str):
    """Yield :func:`dfb_responses`'s band responses one at a time (cast to ``cdt``).

    Band ``j``'s response is the left-to-right product of its tree path's filter responses; the paths
    come in depth-first order, so the partial products of the shared prefix are kept (one per depth)
    and each filter response is computed when its edge of the tree is first walked. The root response
    (depth 1, a plain filter response, no product) is not kept once the depth-2 product is made: it is
    made again, the same bits, for the second subtree (2 extra FFTs; 8 B/px less held at 24 MP).
    """
    k1, k2, f1, f2 = dfb_filters(name, kind)

    def step_response(step):
        which, i, m = step
        f = {"k1": k1, "k2": k2}.get(which)
        if f is None:
            f = (f1 if which == "f1" else f2)[i]
        return _response(_efilter2_taps(f) if m is None else _zconv2_taps(f, m), shape)

    prefix: list = []  # (step key, product up to this depth, or None for a dropped root response)
    for path in _dfb_tree(levels):
        keys = [(st[0], st[1], None if st[2] is None else st[2].tobytes()) for st in path]
        d = 0
        while d < len(prefix) and d < len(path) - 1 and prefix[d][0] == keys[d]:
            d += 1
        del prefix[d:]
        for j in range(d, len(path)):
            r = step_response(path[j])
            if prefix:
                base = prefix[-1][1]
                if base is None:  # the dropped root response: made again
                    base = step_response(path[j - 1])
                np.multiply(base, r, out=r)  # base * r (this operand order), into r's buffer
                del base
                if len(prefix) == 1:
                    prefix[0] = (prefix[0][0], None)
            prefix.append((keys[j], r))
            del r
        leaf = prefix.pop()[1].astype(cdt, copy=False)  # never a prefix of a later band
        yield leaf
        del leaf


def nsdfb_dec(x: np.ndarray, levels: int, name: str = "vk", dtype: type = np.float64):
    """nsdfbdec.m: yield the ``2**levels`` directional subbands of ``x`` (..., H, W) in toolbox order.

    ``dtype`` float32 computes the filtering in single precision (subbands float32, ~1e-7 relative).
    """
    if levels == 0:
        yield x
        return
    shape = x.shape[-2:]
    cdt = "complex64" if dtype == np.float32 else "complex128"
    spec = _rfft2(x.astype(dtype, copy=False))
    del x  # the caller may drop its bandpass image now (this generator held the last reference)
    prod = np.empty_like(spec)
    for r in _responses(shape, levels, name, cdt, "d"):
        yield _irfft2(np.multiply(spec, r, out=prod), shape)
        del r


def nsdfb_rec(
    bands, levels: int, name: str = "vk", dtype: type = np.float64, *, keep_dtype: bool = False
) -> np.ndarray:
    """nsdfbrec.m: the image from its ``2**levels`` directional subbands (an iterable, consumed once).

    Returned as float64, or in ``dtype`` if ``keep_dtype`` (the same values: the cast is exact).
    """
    bands = iter(bands)
    if levels == 0:
        return next(bands)
    acc = None
    shape = None
    cdt = "complex64" if dtype == np.float32 else "complex128"
    syn = None
    for band in bands:
        if shape is None:
            shape = band.shape[-2:]
            syn = _responses(shape, levels, name, cdt, "r")
        term = _rfft2(band.astype(dtype, copy=False))
        term *= next(syn)
        if acc is None:
            acc = term
        else:
            acc += term
        del band, term
    out = _irfft2(acc, shape)
    return out if keep_dtype else out.astype(np.float64, copy=False)


# --- whole transform -----------------------------------------------------------------------------------


def nsct_dec(x: np.ndarray, levels: tuple[int, ...], pfilt: str = "pyrexc", dfilt: str = "vk") -> list:
    """nsctdec.m: ``[lowpass, bands of levels[0] (coarsest), ..., bands of levels[-1] (finest)]``.

    Each directional level is a list of ``2**levels[i]`` arrays (the bandpass image itself if 0).
    """
    out = [None] * (len(levels) + 1)
    for i in range(len(levels)):
        lo, hi = nsp_dec(x, i, pfilt)
        nd = levels[len(levels) - 1 - i]
        out[len(levels) - i] = list(nsdfb_dec(hi, nd, dfilt))
        x = lo
    out[0] = x
    return out


def nsct_rec(coeffs: list, levels: tuple[int, ...], pfilt: str = "pyrexc", dfilt: str = "vk") -> np.ndarray:
    """nsctrec.m: inverse of :func:`nsct_dec`."""
    n = len(coeffs) - 1
    x = coeffs[0]
    for i in range(n):
        hi = nsdfb_rec(coeffs[i + 1], levels[i], dfilt)
        x = nsp_rec(x, hi, n - 1 - i, pfilt)
    return x
