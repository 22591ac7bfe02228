"""ASR: adaptive sparse representation fusion (Liu & Wang 2015), N >= 2 native.

Port (our own code) of Yu Liu's MATLAB release ``asr_fuse.m`` + ``Script.m`` (edited 09-Nov-2015, README
of 18-Nov-2015), read from the mirror github.com/Jilei-Hou/code-for-image-fusion @
846776c97567d6711fda3673a58bae132d37258e, ``Traditional-fusion-methods/Medical/ASR/``; licence: "free for
research purposes only" (its README). Nothing is copied. The survey (Liu et al. 2020, by the same
author) lists this method as ASR. The sub-dictionaries (``Dictionary/D_100000_256_8_0.mat``: ``D``, the
general 64x256 dictionary; ``D_100000_256_8_6.mat``: ``Dn``, six 64x256 orientation sub-dictionaries)
are data files of that release: resolved through ``$MFIF_WEIGHTS`` / the cache / a download from the
mirror above, sha256-checked (:mod:`bench.weights`), never committed.

``asr_fuse(A, B, D, Dn, 6, overlap=7, epsilon=0.1)`` on 0..255 doubles (``Script.m``; colour: each RGB
channel on its own), for every 8x8 patch on a step-1 grid:

1. centre the two patches (subtract their means);
2. pick the patch of larger variance (``var(., 1)``; ties: the second source); on it, Sobel gradients
   ``imfilter(patch, [-1 0 1; -2 0 2; -1 0 1])`` and its transpose (correlation, zeros outside the 8x8
   patch); orientation ``atan(Dy / Dx)`` in degrees folded to [0, 180); magnitude-weighted histogram over
   the 6 bins ``ceil(ori / 30)`` (an orientation of exactly 0, or NaN from 0/0, falls in no bin);
3. if the largest bin holds more than ``1.5 / 6`` of the histogram mass, both patches are coded with
   that bin's sub-dictionary, else with ``D`` (error-constrained OMP, residual 0.1; the batched OMP of
   :mod:`baselines._omp`);
4. keep the code with the larger L1 norm (the first source on ties); the fused patch is its
   reconstruction plus a mean: the mean of the *winning* patch (the paper's rule, ``mean_rule="winner"``,
   our default: it reproduces the survey's ASR images, while the release's average of the two means,
   ``mean_rule="average"``, which its README calls the one deviation from the paper, agrees on only
   ~51-85 % of pixels);
5. average the overlapping patches (every pixel is covered at step 1).

N > 2 (our generalisation, identical for N = 2): the highest-variance patch (the last on ties) selects
the dictionary, the largest L1 norm (the first on ties) the code; the winner's mean (or the mean of the N
means) is added.
No decision map (patch-wise selection of coefficients, like ``sr``).

Agreement with the survey's images (``benchmarks/agreement_survey.py``, float32 OMP): 99.94-99.997 % of
pixel values within 1 grey level on the five scenes (lytro-01: 99.995 %); the rest are near-ties of the L1
comparison or of OMP atom choices (float32 here, MATLAB's Batch-OMP rounding there).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from baselines._matlab_compat import source_stack
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo
from bench.weights import WeightsFile

MIRROR = "https://github.com/Jilei-Hou/code-for-image-fusion"
MIRROR_COMMIT = "846776c97567d6711fda3673a58bae132d37258e"
_DICT_DIR = f"{MIRROR}/raw/{MIRROR_COMMIT}/Traditional-fusion-methods/Medical/ASR/Dictionary"
GENERAL = WeightsFile(
    "asr_dictionary/D_100000_256_8_0.mat",
    f"{_DICT_DIR}/D_100000_256_8_0.mat",
    "e2edff55cc4306af8fa9e9084cc199b25adedd90ddbc7a4a173fdcbf9e3c65e3",
)
ORIENTED = WeightsFile(
    "asr_dictionary/D_100000_256_8_6.mat",
    f"{_DICT_DIR}/D_100000_256_8_6.mat",
    "22f6f667f93fad21f884feeeca8483aed04843517ec72943c4cf710f694a16b8",
)
PRECISIONS = {"float32": np.float32, "float64": np.float64}
_SOBEL = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def _unit(d: np.ndarray) -> np.ndarray:
    return d / np.sqrt(np.sum(d**2, axis=0))


@lru_cache(maxsize=2)
def _load(general: str, oriented: str) -> tuple[np.ndarray, ...]:
    from scipy.io import loadmat

    d = np.asarray(loadmat(general)["D"], dtype=np.float64)
    m = loadmat(oriented)
    dn = np.asarray(m["Dn"], dtype=np.float64)
    k = int(np.asarray(m["dic_number"]).ravel()[0])
    if d.shape[0] != 64 or dn.shape[0] != 64 or dn.shape[1] % k:
        raise ValueError(f"asr: unexpected dictionary shapes {d.shape}, {dn.shape} (k = {k})")
    size = dn.shape[1] // k
    return (_unit(d),) + tuple(_unit(dn[:, i * size : (i + 1) * size]) for i in range(k))


def dictionaries() -> tuple[np.ndarray, ...]:
    """``(D, D_1, ..., D_6)``: the general and the orientation sub-dictionaries, unit-norm columns.

    Raises
    ------
    bench.errors.UserError
        A file is missing and cannot be downloaded, or fails its checksum (one-line message).
    """
    from bench.weights import resolve

    return _load(str(resolve(GENERAL)), str(resolve(ORIENTED)))


def orientation_choice(patches: np.ndarray, n_dict: int) -> np.ndarray:
    """Dictionary index per patch (0 = general, k = orientation bin k) from (M, 8, 8) row-major patches.

    ``asr_fuse.m`` step 2-3, vectorised over patches; the histogram is accumulated in the loop's order
    (rows outer, columns inner) so that sums and ties are the MATLAB ones.
    """
    m, p, _ = patches.shape
    pad = np.zeros((m, p + 2, p + 2))
    pad[:, 1:-1, 1:-1] = patches
    gx = np.zeros((m, p, p))
    gy = np.zeros((m, p, p))
    for u in range(3):
        for v in range(3):
            sl = pad[:, u : u + p, v : v + p]
            if _SOBEL[u, v]:
                gx += _SOBEL[u, v] * sl
            if _SOBEL[v, u]:
                gy += _SOBEL[v, u] * sl
    mag = np.sqrt(gx * gx + gy * gy)
    with np.errstate(divide="ignore", invalid="ignore"):
        ori = np.arctan(gy / gx) * 180.0 / np.pi
    ori = np.where(ori < 0, ori + 180.0, ori)
    with np.errstate(invalid="ignore"):
        binf = np.ceil(ori / (180.0 / n_dict))
    hist = np.zeros((m, n_dict))
    rows = np.arange(m)
    for i in range(p):
        for j in range(p):
            b = binf[:, i, j]
            ok = (b >= 1) & (b <= n_dict)  # NaN compares False
            hist[rows[ok], b[ok].astype(np.int64) - 1] += mag[ok, i, j]
    best = np.argmax(hist, axis=1)  # first maximum, as MATLAB's max
    top = hist[rows, best]
    with np.errstate(divide="ignore", invalid="ignore"):
        adaptive = top / hist.sum(axis=1) > 1.5 / n_dict  # 0/0 -> NaN -> False
    return np.where(adaptive, best + 1, 0)


def _one_blas_thread():
    """Limit BLAS to one thread around the OMP's many small products (threadpoolctl if installed).

    A two-thread BLAS synchronises on every (batch x 64) x (64 x 256) product; on a busy machine that costs
    far more than the product (measured here: the synthetic-dictionary test 100 s -> a few seconds).
    """
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: the products still run, only slower on busy machines
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _fused_patches(
    win: np.ndarray, dicts: Sequence[np.ndarray], epsilon: float, precision: str, mean_rule: str
) -> np.ndarray:
    """Fused (ny, nx, p, p) patches (row, col order) of the N sources' windows ``win`` (N, ny, nx, p, p)."""
    from baselines._omp import omp_l1

    n, ny, nx, p, _ = win.shape
    m = ny * nx
    rowmajor = np.ascontiguousarray(win).reshape(n, m, p, p)
    x = np.ascontiguousarray(rowmajor.swapaxes(-1, -2)).reshape(n, m, p * p)  # column-major vectors
    means = x.mean(axis=-1)
    var = np.mean((x - means[..., None]) ** 2, axis=-1)  # var(., 1)
    x -= means[..., None]
    pick = n - 1 - np.argmax(var[::-1], axis=0)  # highest variance, the later source on ties
    choice = orientation_choice(rowmajor[pick, np.arange(m)], len(dicts) - 1)
    del rowmajor
    recon = np.empty((m, p * p))
    winner = np.empty(m, dtype=np.int64)
    for k in np.unique(choice):
        sel = np.flatnonzero(choice == k)
        xs_k = x[:, sel].reshape(-1, p * p)
        with _one_blas_thread():
            l1, resid = omp_l1(xs_k, dicts[k], epsilon, dtype=PRECISIONS[precision])
        best = np.argmax(l1.reshape(n, sel.size), axis=0)  # the first source on ties (w1 unless |w1|<|w2|)
        codes = (xs_k - resid).reshape(n, sel.size, p * p)
        recon[sel] = codes[best, np.arange(sel.size)]
        winner[sel] = best
    if mean_rule == "average":
        recon += means.mean(axis=0)[:, None]
    else:
        recon += means[winner, np.arange(m)][:, None]
    return recon.reshape(ny, nx, p, p).swapaxes(-1, -2)


def asr_channel(
    planes: np.ndarray,
    dicts: Sequence[np.ndarray],
    overlap: int,
    epsilon: float,
    precision: str,
    mean_rule: str = "winner",
    chunk: int = 16384,
) -> np.ndarray:
    """Fuse N planes (N, H, W) on the 0..255 scale; returns the fused (H, W) float64 plane.

    Patches are coded in bands of patch rows of about ``chunk`` patches (bounded memory: a 520x520 plane
    at step 1 has 263k patches per source).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    n, h, w = planes.shape
    p = int(round(np.sqrt(dicts[0].shape[0])))
    step = p - overlap
    ys, xs = np.arange(0, h - p + 1, step), np.arange(0, w - p + 1, step)
    if ys.size == 0 or xs.size == 0:
        raise ValueError(f"asr: a {h}x{w} image is smaller than one {p}x{p} patch")
    win = sliding_window_view(planes, (p, p), axis=(1, 2))[:, : ys[-1] + 1 : step, : xs[-1] + 1 : step]
    ny, nx = win.shape[1], win.shape[2]
    acc = np.zeros((h, w))
    cnt = np.zeros((h, w))
    rows = max(1, chunk // nx)
    for r0 in range(0, ny, rows):
        patches = _fused_patches(win[:, r0 : r0 + rows], dicts, epsilon, precision, mean_rule)
        nyc = patches.shape[0]
        y0 = r0 * step
        for dy in range(p):
            for dx in range(p):
                ys_ = slice(y0 + dy, y0 + dy + step * nyc, step)
                xs_ = slice(dx, dx + step * nx, step)
                acc[ys_, xs_] += patches[:, :, dy, dx]
                cnt[ys_, xs_] += 1
    uncovered = cnt < 1
    acc[uncovered] = planes.mean(axis=0)[uncovered]
    cnt[uncovered] = 1
    return acc / cnt


def asr(
    images: Sequence[np.ndarray],
    overlap: int = 7,
    epsilon: float = 0.1,
    precision: str = "float32",
    mean_rule: str = "winner",
    dicts: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """Fuse N >= 2 sources in [0, 1]; returns the float64 fused image in [0, 1] units (not clipped)."""
    if isinstance(overlap, bool) or not isinstance(overlap, (int, np.integer)) or not 0 <= overlap <= 7:
        raise ValueError(f"asr: overlap must be an integer in 0..7, got {overlap!r}")
    if not epsilon > 0:
        raise ValueError(f"asr: epsilon must be > 0, got {epsilon!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"asr: precision must be one of {sorted(PRECISIONS)}, got {precision!r}")
    if mean_rule not in ("winner", "average"):
        raise ValueError(f"asr: mean_rule must be 'winner' or 'average', got {mean_rule!r}")
    args = (int(overlap), float(epsilon), precision, mean_rule)
    stack = source_stack(images)  # a fresh float64 array: scaled in place
    stack *= 255.0  # Script.m: double(imread(...)), 0..255
    dicts = dictionaries() if dicts is None else dicts
    if stack.ndim == 3:
        return asr_channel(stack, dicts, *args) / 255.0
    # channels written into the output as they finish (no list of planes, no stacked copy)
    out = np.empty(stack.shape[1:])
    for c in range(3):
        out[..., c] = asr_channel(stack[..., c], dicts, *args)
    del stack
    out /= 255.0
    return out


@register_method(
    MethodInfo(
        id="asr",
        name="ASR (adaptive sparse representation)",
        paper="Y. Liu, Z. Wang, Simultaneous image fusion and denoising with adaptive sparse representation, "
        "IET Image Processing 9(5) (2015) 347-357. doi:10.1049/iet-ipr.2014.0311",
        source="Yu Liu's asr_fuse.m + Script.m (Nov 2015), mirrored in Jilei-Hou/code-for-image-fusion @ "
        "846776c9, Traditional-fusion-methods/Medical/ASR/ (re-implemented); sub-dictionaries from the same "
        "folder (downloaded, sha256-checked)",
        license="research use only (upstream README); our code MIT",
        n_image_rule="native: the highest-variance patch picks the sub-dictionary, the largest L1 code wins, "
        "mean of the N patch means (identical to asr_fuse.m for N = 2)",
        version="1",
        weights_url=GENERAL.url,
        weights_sha256=GENERAL.sha256,
        notes="faithful: against the survey's published ASR images (Liu et al. 2020) 99.995 % (lytro-01), "
        "99.997 % (g_05), 99.943 % (g_06), 99.942 % (g_09), 99.968 % (g_10) of pixel values within 1 grey "
        "level (PSNR 64.5-75.9 dB), with the paper's mean rule (mean_rule='winner'); the Nov-2015 release's "
        "average of the two means (mean_rule='average') gives 84.6 % on g_10. "
        "benchmarks/agreement_survey.py. Output float, clipped to [0, 1].",
        params=(("overlap", 7), ("epsilon", 0.1), ("precision", "float32"), ("mean_rule", "winner")),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    overlap: int = 7,
    epsilon: float = 0.1,
    precision: str = "float32",
    mean_rule: str = "winner",
) -> FusionResult:
    """Registry entry: :func:`asr` clipped to [0, 1]; no decision map."""
    fused = asr(images, overlap, epsilon, precision, mean_rule)  # a fresh array: clipped in place
    return FusionResult(np.clip(fused, 0.0, 1.0, out=fused).astype(np.float32), None)
