"""ICA: image fusion with pre-trained ICA bases (Mitianoudis & Stathaki 2007), N >= 2 native.

Port (our own NumPy code; nothing copied) of ``ica_fusion_prog_mn.m`` from the authors' upload
github.com/mitia98/ICA_bases_fusion @ 1e53820ecd31692896bc46e65ebb2a6dff6414f6 (N. Mitianoudis, 2016;
**no licence file** in that repository, its Readme asks users to cite the papers below). The trained bases
``icabases.mat`` of that upload (``Picao``: 60 x 64, the forward ICA transform of 8x8 patches; ``frame``
= 8; MATLAB v7.3 / HDF5, read with h5py) are a data file of the release: resolved through
``$MFIF_WEIGHTS/ica_bases/`` / the user cache / a download from the raw URL pinned to that commit,
sha256-checked (:mod:`bench.weights`), never committed. The survey (Liu et al. 2020) used these bases;
they are not re-trained here (``ICA_bases_train.m`` draws random patches: not reproducible).

``ica_fusion_prog_mn(x, frame, Picao, method, 0, 0, 0)`` on doubles in [0, 1] (``double(imread)/255``;
colour: each RGB channel on its own, which reproduces the survey's colour image):

1. each source is zero-padded by ``frame - 1`` pixels before and ``frame`` after (rows and columns);
2. every 8x8 patch on a step-1 grid (MATLAB ``im2col(..., 'sliding')``, column-major vectors) loses its
   mean; coefficients ``P_i = Picao * (patch - mean)`` (60 per patch);
3. optional hard-threshold denoising: coefficients with ``|P| < threshold`` set to 0 (``denoise = 1``);
4. the fusion rule, per patch, over the N coefficient sets (the release handles Q sources natively):

   * ``maxabs`` (default): per coefficient, the source of largest ``|P|`` (the first on ties, MATLAB
     ``max``). It reproduces the survey's ICA images (table below);
   * ``mean``: the average of the N coefficient vectors;
   * ``weighted``: weights ``E_i / max(sum_j E_j, 1e-4)`` with ``E_i = sum |P_i|`` (the patch's L1 norm);
   * ``regional``: ``weighted`` on the patches where some source has ``E_i`` above twice its image-wide
     mean, ``mean`` elsewhere;
   * ``adaptive``: per patch, 100 steps of the release's sparsity-seeking weight update
     (``w += 0.05 * sign(y) x' / 60``, ``w = |w| / sum |w|``, starting from ``1/N``);

5. the fused patch ``pinv(Picao) * P + (mean of the N patch means)``; overlapping patches summed, divided
   by 64, cropped back to the source size. The output is not clipped by the release (``fuse`` clips).

Not ported: the optimal-contrast correction (``opt_contr = 1``, for multi-modal pairs) and the 2013
regional/texture variant ``ica_fusion_prog_mn_june13.m`` (MATLAB ``kmeans`` with a random start and
``entropyfilt``: neither the survey's choice nor deterministic).

Not an identity: 60 bases span 60 of the 63 zero-mean directions of an 8x8 patch, so ``fuse([A, A])`` is
``A`` with three (the lowest-variance, finest) patch components removed; on smooth natural images the
change is mostly below one grey level (lytro-01: 99.997 % of values), at fine texture and sharp edges up to
a few grey levels (g_05: 98.0 % within one, at most 10); ``MethodInfo.lossless`` is False.

Agreement with the survey's published ICA images (``python benchmarks/agreement_survey.py --methods ica``,
rule ``maxabs``): 100 % of pixel values within 1 grey level on all five scenes. Quantised from the float64
result of :func:`ica` (``uint8(255 * u)``) all five are identical to the survey's 8-bit files; the
registry's float32 output moves one value of lytro-01 by one grey level (PSNR 107.2 dB, the others inf).

Speed: the three 60x64 matrix products per patch and channel (analysis of each source, synthesis) in
bands of ~4096 patches dominate: ~115 units of the 5x5 uniform filter for a 520x520 colour pair on one
core (``benchmarks/methods_speed.py --methods ica``), i.e. ~18 GFLOP/s of float64 BLAS.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from baselines._matlab_compat import source_stack
from bench.registry import register_method
from bench.types import FusionResult, MethodInfo, ParamSpec
from bench.weights import WeightsFile

UPSTREAM = "https://github.com/mitia98/ICA_bases_fusion"
UPSTREAM_COMMIT = "1e53820ecd31692896bc46e65ebb2a6dff6414f6"
BASES = WeightsFile(
    "ica_bases/icabases.mat",
    f"{UPSTREAM}/raw/{UPSTREAM_COMMIT}/icabases.mat",
    "e5060dddde866003313aadea0db1b6f1cd9056c50a08253efcfcc9a7e6085e10",
)
RULES = ("maxabs", "mean", "weighted", "regional", "adaptive")
ADAPTIVE_STEPS = 100  # the release's fixed iteration count
ADAPTIVE_RATE = 0.05


@lru_cache(maxsize=2)
def _load(path: str) -> tuple[np.ndarray, np.ndarray]:
    """``(A, S)`` from an ``icabases.mat``: the forward transform on row-major patch vectors (K, f*f) and
    its pseudo-inverse (f*f, K)."""
    from bench.errors import WeightsUnavailable

    try:
        import h5py
    except ImportError:
        raise WeightsUnavailable(
            f"ica: reading {path} (a MATLAB v7.3 / HDF5 file) needs h5py: pip install h5py"
        ) from None
    try:
        with h5py.File(path, "r") as f:
            pic = np.asarray(f["Picao"], dtype=np.float64).T  # h5py gives MATLAB arrays transposed
            frame = int(np.asarray(f["frame"]).ravel()[0])
    except (OSError, KeyError) as exc:
        raise WeightsUnavailable(f"ica: cannot read the ICA bases from {path} ({exc})") from None
    k, d = pic.shape
    if frame < 2 or d != frame * frame or not 1 <= k < d:
        raise WeightsUnavailable(
            f"ica: {path} holds Picao {pic.shape} with frame {frame}; expected (K, frame^2) with K < frame^2"
        )
    # MATLAB's im2col vectors are column-major (index r + c*f); ours are row-major (r*f + c)
    a = np.ascontiguousarray(pic.reshape(k, frame, frame).transpose(0, 2, 1).reshape(k, d))
    return a, np.linalg.pinv(a)


def bases() -> tuple[np.ndarray, np.ndarray]:
    """The authors' ICA analysis matrix (60, 64) on row-major 8x8 patches and its pseudo-inverse (64, 60).

    Raises
    ------
    bench.errors.WeightsUnavailable
        ``icabases.mat`` missing and not downloadable, failing its checksum, or unreadable.
    """
    from bench.weights import resolve

    return _load(str(resolve(BASES)))


def _coefficients(
    pad: np.ndarray, r0: int, nr: int, nx: int, a: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """ICA coefficients (N, K, M) and patch means (N, M) of the patches whose top-left corners are rows
    ``r0 .. r0 + nr - 1`` and columns ``0 .. nx - 1`` of the padded planes ``pad`` (N, Hp, Wp).

    Patches are columns (im2col layout, row-major inside a patch), patch index ``row * nx + col``.
    """
    n = pad.shape[0]
    f = int(round(np.sqrt(a.shape[1])))
    x = np.empty((n, f * f, nr, nx))
    for dy in range(f):
        for dx in range(f):
            x[:, dy * f + dx] = pad[:, r0 + dy : r0 + dy + nr, dx : dx + nx]
    x = x.reshape(n, f * f, nr * nx)
    means = x.mean(axis=1)
    x -= means[:, None]
    p = a @ x  # (N, K, M)
    del x
    if threshold > 0:
        p[np.abs(p) < threshold] = 0.0
    return p, means


def _adaptive(p: np.ndarray) -> np.ndarray:
    """The release's ``adaptive`` rule, all patches at once: (N, K, M) -> (K, M)."""
    n, k, m = p.shape
    w = np.full((n, m), 1.0 / n)
    for step in range(ADAPTIVE_STEPS):
        y = w[0] * p[0]
        for i in range(1, n):
            y += w[i] * p[i]
        if step == ADAPTIVE_STEPS - 1:  # the release keeps the y of the last pass (before its update)
            return y
        sgn = np.sign(y)
        for i in range(n):
            w[i] += ADAPTIVE_RATE * np.einsum("km,km->m", sgn, p[i]) / k
        np.abs(w, out=w)
        w /= w.sum(axis=0)
    raise AssertionError("unreachable")


def fuse_coefficients(p: np.ndarray, rule: str, e_mean: np.ndarray | None = None) -> np.ndarray:
    """Fused coefficients (K, M) of N coefficient sets ``p`` (N, K, M: coefficient x patch) by ``rule``.

    ``e_mean`` (N,): image-wide mean patch L1 norm of each source (``regional`` only).
    """
    if rule == "maxabs":  # element-wise over the N sets; a later source wins only when strictly larger
        fused, best = p[0], np.abs(p[0])
        for i in range(1, p.shape[0]):
            cur = np.abs(p[i])
            fused = np.where(cur > best, p[i], fused)
            if i + 1 < p.shape[0]:
                best = np.maximum(best, cur)
        return fused
    if rule == "mean":
        return p.mean(axis=0)
    if rule == "adaptive":
        return _adaptive(p)
    e = np.abs(p).sum(axis=1)  # (N, M): each patch's L1 norm
    weights = e / np.maximum(e.sum(axis=0), 1e-4)
    fused = np.einsum("nm,nkm->km", weights, p)
    if rule == "weighted":
        return fused
    active = (e > 2.0 * e_mean[:, None]).any(axis=0)
    return np.where(active, fused, p.mean(axis=0))


def ica_channel(
    planes: np.ndarray,
    a: np.ndarray,
    s: np.ndarray,
    rule: str = "maxabs",
    threshold: float = 0.0,
    chunk: int = 4096,
) -> np.ndarray:
    """Fuse N planes (N, H, W) in [0, 1]; returns the fused (H, W) float64 plane (not clipped).

    ``a`` (K, f*f) and ``s`` (f*f, K): the analysis matrix on row-major patch vectors and its
    pseudo-inverse (:func:`bases`). Patches are transformed in bands of patch rows of about ``chunk``
    patches (bounded memory).
    """
    n, h, w = planes.shape
    f = int(round(np.sqrt(a.shape[1])))
    pad = np.zeros((n, h + 2 * f - 1, w + 2 * f - 1))
    pad[:, f - 1 : f - 1 + h, f - 1 : f - 1 + w] = planes
    ny, nx = h + f, w + f  # patch positions of im2col(..., 'sliding') on the padded planes
    rows = max(1, chunk // nx)
    bands = [(r0, min(rows, ny - r0)) for r0 in range(0, ny, rows)]
    e_mean = None
    if rule == "regional":  # a first pass for the image-wide mean L1 norm of each source
        e_sum = np.zeros(n)
        for r0, nr in bands:
            e_sum += np.abs(_coefficients(pad, r0, nr, nx, a, threshold)[0]).sum(axis=(1, 2))
        e_mean = e_sum / (ny * nx)
    acc = np.zeros(pad.shape[1:])
    for r0, nr in bands:
        p, means = _coefficients(pad, r0, nr, nx, a, threshold)
        fused = fuse_coefficients(p, rule, e_mean)
        del p
        patches = s @ fused  # (f*f, M)
        patches += (means * (1.0 / n)).sum(axis=0)  # the release's w * LMLV, w = 1/N
        patches = patches.reshape(f, f, nr, nx)
        for dy in range(f):
            for dx in range(f):
                acc[r0 + dy : r0 + dy + nr, dx : dx + nx] += patches[dy, dx]
    out = acc[f - 1 : f - 1 + h, f - 1 : f - 1 + w]
    out /= f * f
    return out


def check_params(rule: str, threshold: float) -> None:
    if rule not in RULES:
        raise ValueError(f"ica: rule must be one of {', '.join(RULES)}, got {rule!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"ica: threshold must be a number >= 0 (0 = no denoising), got {threshold!r}")


def ica(
    images: Sequence[np.ndarray],
    rule: str = "maxabs",
    threshold: float = 0.0,
    bases_pair: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Fuse N >= 2 sources in [0, 1]; returns the float64 fused image (not clipped).

    ``bases_pair``: ``(A, S)`` as returned by :func:`bases` (default: the authors' file).
    """
    check_params(rule, threshold)
    stack = source_stack(images)
    a, s = bases() if bases_pair is None else bases_pair
    if stack.ndim == 3:
        return ica_channel(stack, a, s, rule, float(threshold))
    out = np.empty(stack.shape[1:])
    for c in range(3):
        out[..., c] = ica_channel(stack[..., c], a, s, rule, float(threshold))
    return out


@register_method(
    MethodInfo(
        id="ica",
        name="ICA bases",
        paper="N. Mitianoudis, T. Stathaki, Pixel-based and region-based image fusion schemes using ICA "
        "bases, Information Fusion 8(2) (2007) 131-142. doi:10.1016/j.inffus.2005.09.001",
        source="github.com/mitia98/ICA_bases_fusion @ 1e53820e, ica_fusion_prog_mn.m (re-implemented); "
        "bases icabases.mat from the same commit (downloaded, sha256-checked)",
        license="none stated (the authors' upload has no licence file; its Readme asks to cite the papers); "
        "our code MIT",
        n_image_rule="native, as the release (Q sources): the rule runs element-wise over the N coefficient "
        "sets (maxabs: the largest |coefficient|, the first source on ties), the mean of the N patch means "
        "is added",
        version="1",
        weights_url=BASES.url,
        weights_sha256=BASES.sha256,
        notes="faithful: against the survey's published ICA images (Liu et al. 2020) 100 % of pixel values "
        "within 1 grey level on lytro-01, g_05, g_06, g_09, g_10 (identical from the float64 result; the "
        "float32 output moves one lytro-01 value by 1 grey level, PSNR 107.2 dB) with rule='maxabs' on each "
        "RGB channel; benchmarks/agreement_survey.py. "
        "Rules 'mean', 'weighted', 'regional', 'adaptive' and hard-threshold denoising (threshold > 0) are "
        "the release's other options (g_05: 50.5 %, 60.7 %, 51.3 %, 53.2 % within 1 GL for mean, weighted, "
        "regional, adaptive). "
        "Not ported: optimal contrast, the 2013 k-means regional variant. Not lossless: 60 bases for the 63 "
        "zero-mean patch directions. No decision map. Output float, clipped to [0, 1].",
        params=(("rule", "maxabs"), ("threshold", 0.0)),
        lossless=False,
        param_specs=(
            ParamSpec("rule", "str", choices=RULES, doc="coefficient fusion rule (maxabs: the survey's)"),
            ParamSpec("threshold", "float", min=0.0, doc="hard-threshold denoising, 0: off"),
        ),
    )
)
def fuse(images: Sequence[np.ndarray], rule: str = "maxabs", threshold: float = 0.0) -> FusionResult:
    """Registry entry: :func:`ica` clipped to [0, 1]; no decision map."""
    fused = ica(images, rule, threshold)
    return FusionResult(np.clip(fused, 0.0, 1.0, out=fused).astype(np.float32), None)
