"""He's guided filter with the clipped-window box filter of the reference implementations.

Three variants, each matching one reference implementation:

* :func:`guided_filter` - gray guidance (one channel), input ``p`` gray or multi-channel (each channel
  filtered with the same guide). Matches Kaiming He's ``guidedfilter.m`` (the box filter is
  ``boxfilter.m``: cumulative sums, window clipped at the border, divided by the true pixel count), the
  gray branch of SESF-Fuse's ``SESF_Fuse.guided_filter`` (``nets/sesf_net.py``), GACN's
  ``GuidedFilter`` (``nets/guided_filter.py`` + ``nets/box_filter.py``, from wuhuikai/DeepGuidedFilter)
  and Kang's ``GFF.m`` (which calls He's ``guidedfilter.m``).
* :func:`guided_filter_sesf_color` - SESF-Fuse's colour branch, which is *not* the standard colour
  guided filter: per-channel ``a_c`` with the cross-channel covariance ignored, one ``b`` shared by the
  channels (methods.md section 2.3 step 5).
* :func:`guided_filter_color` - the standard colour guided filter (He's ``guidedfilter_color.m``:
  3x3 covariance of the RGB guide, regularised by ``eps*I`` and inverted per pixel).
* :func:`guided_filter_stack` - :func:`guided_filter` for K gray guides at once, on OpenCV box sums
  (GFF's fast path; equal to :func:`guided_filter` to 1e-9).

The one home of the guided filters: ``gf`` (baselines), ``sesf*``, ``gacn`` and ``sff`` (methods)
import them from here.

All box sums use the same border convention: the (2r+1)x(2r+1) window is clipped at the image
border and no padding value enters; means divide by the number of pixels actually in the window
(methods.md section 1.2). The reference codes require ``H, W > 2r+1``; the formula used here gives the
same values there and stays correct (still clipped windows) for smaller images. Computation is in
float64; ``eps`` is in the units of the guide squared, so callers keep the original image scale.

Sources read (our own implementation, no code copied): He, Sun, Tang, "Guided Image Filtering",
TPAMI 35(6) 2013, doi:10.1109/TPAMI.2012.213 (MATLAB code from the author's page);
Keep-Passion/SESF-Fuse ``nets/sesf_net.py`` @ 23e60b8c (LGPL-2.1);
Keep-Passion/GACN ``nets/guided_filter.py``, ``nets/box_filter.py`` @ 4994c883 (LGPL-2.1).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = [
    "box_sum",
    "box_mean",
    "guided_filter",
    "guided_filter_sesf_color",
    "guided_filter_color",
    "box_mean_stack",
    "guided_filter_stack",
]


def _window_sum_axis(x: np.ndarray, r: int, axis: int) -> np.ndarray:
    """Sum over ``[i-r, i+r]`` clipped to ``[0, n-1]`` along ``axis`` (cumulative-sum form).

    ``out[i] = cs[min(i+r+1, n)] - cs[max(i-r, 0)]`` with ``cs[k] = sum of x[:k]``, written with
    slices (no index arrays, no concatenated copy); where ``i - r <= 0`` the subtrahend is
    ``cs[0] = 0`` and is skipped, which leaves the value unchanged.
    """

    def part(start, stop=None):
        idx = [slice(None)] * x.ndim
        idx[axis] = slice(start, stop)
        return tuple(idx)

    n = x.shape[axis]
    cs = np.cumsum(x, axis=axis, dtype=np.float64)  # cs[k - 1] = sum of x[:k]
    out = np.empty_like(cs)
    m = max(n - r, 0)  # positions whose window end i + r + 1 is inside
    out[part(0, m)] = cs[part(r, r + m)]
    out[part(m)] = cs[part(n - 1, n)]
    if n > r + 1:  # positions with i - r >= 1 subtract cs[i - r] = sum of x[: i - r]
        out[part(r + 1)] -= cs[part(0, n - r - 1)]
    return out


def _check_radius(r: int) -> int:
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)):
        raise TypeError(f"Expected an integer radius, got {type(r).__name__}")
    if r < 0:
        raise ValueError(f"Expected radius >= 0, got {r}")
    return int(r)


def box_sum(img: np.ndarray, r: int) -> np.ndarray:
    """Sum over the (2r+1)x(2r+1) window clipped at the border (He's ``boxfilter.m``).

    Parameters
    ----------
    img : ndarray
        HxW or HxWxC array; the window runs over the first two axes.
    r : int
        Window radius (>= 0).

    Returns
    -------
    ndarray
        float64 array of the same shape.

    Examples
    --------
    >>> float(box_sum(np.ones((4, 5)), 1)[0, 0])
    4.0
    """
    r = _check_radius(r)
    img = np.asarray(img, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"Expected an HxW or HxWxC array, got shape {img.shape}")
    return _window_sum_axis(_window_sum_axis(img, r, 0), r, 1)


@functools.lru_cache(maxsize=8)
def _counts_cached(h: int, w: int, r: int) -> np.ndarray:
    c = _counts(h, w, r)
    c.flags.writeable = False
    return c


_CACHE_COUNTS_MAX_PIXELS = 1 << 22  # above ~4 MP the counts are made per call (cached: 192 MB each at 24 MP)


def _counts_for(h: int, w: int, r: int) -> np.ndarray:
    """The window counts (:func:`_counts`): cached for images up to ``_CACHE_COUNTS_MAX_PIXELS``."""
    return _counts_cached(h, w, r) if h * w <= _CACHE_COUNTS_MAX_PIXELS else _counts(h, w, r)


def _counts(h: int, w: int, r: int) -> np.ndarray:
    """Number of pixels in each clipped window, HxW."""
    ih = np.arange(h)
    iw = np.arange(w)
    nh = np.minimum(ih + r, h - 1) - np.maximum(ih - r, 0) + 1
    nw = np.minimum(iw + r, w - 1) - np.maximum(iw - r, 0) + 1
    return np.outer(nh, nw).astype(np.float64)


def box_mean(img: np.ndarray, r: int) -> np.ndarray:
    """Mean over the clipped (2r+1)x(2r+1) window (box sum divided by the true pixel count).

    Examples
    --------
    >>> float(box_mean(np.full((6, 6), 3.0), 2)[0, 0])
    3.0
    """
    s = box_sum(img, r)
    n = _counts_for(s.shape[0], s.shape[1], r)
    s /= n[:, :, None] if s.ndim == 3 else n
    return s


def _check_pair(guide: np.ndarray, p: np.ndarray, guide_ndim: int) -> tuple[np.ndarray, np.ndarray]:
    guide = np.asarray(guide, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if guide.ndim != guide_ndim:
        raise ValueError(f"Expected a guide with {guide_ndim} dimensions, got shape {guide.shape}")
    if p.ndim not in (2, 3) or p.shape[:2] != guide.shape[:2]:
        raise ValueError(f"Expected input p of shape {guide.shape[:2]} or {guide.shape[:2]}xC, got {p.shape}")
    return guide, p


def guided_filter(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Gray-guided filter (He's ``guidedfilter.m``; SESF gray branch; GACN ``GuidedFilter``; GFF).

    ``a = cov_w(I, p) / (var_w(I) + eps)``, ``b = mean_w(p) - a mean_w(I)``,
    ``q = mean_w(a) I + mean_w(b)`` with clipped-window means.

    Parameters
    ----------
    guide : ndarray
        HxW guidance image ``I`` (any scale; ``eps`` is in its units squared).
    p : ndarray
        HxW input, or HxWxC (every channel filtered with the same guide).
    r : int
        Window radius.
    eps : float
        Regularisation.

    Returns
    -------
    ndarray
        float64, shape of ``p``. Not clipped.

    Raises
    ------
    ValueError
        Shapes do not match, or the guide is not 2-D.

    References
    ----------
    He, Sun, Tang, Guided image filtering, IEEE TPAMI 35(6):1397-1409, 2013. doi:10.1109/TPAMI.2012.213

    Examples
    --------
    >>> I = np.linspace(0, 1, 100).reshape(10, 10)
    >>> bool(np.allclose(guided_filter(I, I, 2, 1e-8), I, atol=1e-5))
    True
    """
    r = _check_radius(r)
    I, p = _check_pair(guide, p, 2)
    if p.ndim == 3:
        I = I[:, :, None]
    pool = _pool() if I.size >= _PARALLEL_MIN_PIXELS else None
    if pool is None:
        mean_I, mean_p, m_Ip, m_II = (box_mean(x, r) for x in (I, p, I * p, I * I))
    else:  # independent box means in threads (NumPy releases the GIL): the same arithmetic, same bits
        mean_I, mean_p, m_Ip, m_II = pool.map(lambda x: box_mean(x, r), (I, p, I * p, I * I))
    cov_Ip = m_Ip - mean_I * mean_p
    var_I = m_II - mean_I * mean_I
    a = cov_Ip / (var_I + eps)
    b = mean_p - a * mean_I
    if pool is None:
        mean_a, mean_b = box_mean(a, r), box_mean(b, r)
    else:
        mean_a, mean_b = pool.map(lambda x: box_mean(x, r), (a, b))
    return mean_a * I + mean_b


_PARALLEL_MIN_PIXELS = 1 << 20  # below ~1 Mpx thread hand-off costs more than it saves


def _pool():
    """A thread pool sized like torch's intra-op pool (1 thread, e.g. in the runner's workers: none)."""
    import sys

    torch = sys.modules.get("torch")
    n = torch.get_num_threads() if torch is not None else 1
    return _thread_pool(n) if n > 1 else None


@functools.lru_cache(maxsize=4)
def _thread_pool(n: int):
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="guided-filter")


def guided_filter_sesf_color(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """SESF-Fuse's colour guided filter (per-channel slopes, cross-channel covariance ignored).

    Per channel c: ``a_c = cov_w(G_c, p) / (var_w(G_c) + eps)``; one offset
    ``b = mean_w(p) - sum_c a_c mean_w(G_c)``; ``q = sum_c mean_w(a_c) G_c + mean_w(b)``.
    This is what ``SESF_Fuse.guided_filter`` in Keep-Passion/SESF-Fuse ``nets/sesf_net.py`` computes for
    a 3-channel guide; it is not He's colour guided filter (see :func:`guided_filter_color`), and its
    output typically leaves [0, 1] on colour images. Do not clamp it when reproducing SESF.

    Parameters
    ----------
    guide : ndarray
        HxWxC guide (SESF: the initial fused image in the 0..255 scale).
    p : ndarray
        HxW input (the binary decision map).
    r : int
        Window radius.
    eps : float
        Regularisation, in the guide's units squared.

    Returns
    -------
    ndarray
        HxW float64.

    Examples
    --------
    >>> G = np.random.default_rng(0).random((12, 12, 3))
    >>> guided_filter_sesf_color(G, np.ones((12, 12)), 2, 0.1).shape
    (12, 12)
    """
    r = _check_radius(r)
    G, p = _check_pair(guide, p, 3)
    if p.ndim != 2:
        raise ValueError(f"Expected a single-channel input p (HxW), got shape {p.shape}")
    p3 = p[:, :, None]
    mean_G = box_mean(G, r)
    mean_p = box_mean(p3, r)
    cov = box_mean(G * p3, r) - mean_G * mean_p
    var = box_mean(G * G, r) - mean_G * mean_G
    a = cov / (var + eps)
    b = mean_p[:, :, 0] - np.sum(a * mean_G, axis=2)
    return np.sum(box_mean(a, r) * G, axis=2) + box_mean(b, r)


def guided_filter_color(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Standard colour guided filter (He's ``guidedfilter_color.m``).

    ``a = (Sigma_w + eps U)^-1 cov_w(G, p)`` (3-vector per pixel), ``b = mean_w(p) - a . mean_w(G)``,
    ``q = mean_w(a) . G + mean_w(b)``.

    Parameters
    ----------
    guide : ndarray
        HxWx3 guide.
    p : ndarray
        HxW input.
    r : int
        Window radius.
    eps : float
        Regularisation, in the guide's units squared.

    Returns
    -------
    ndarray
        HxW float64.

    Examples
    --------
    >>> G = np.random.default_rng(0).random((12, 12, 3))
    >>> bool(np.allclose(guided_filter_color(G, G[:, :, 1], 2, 1e-9), G[:, :, 1], atol=1e-4))
    True
    """
    r = _check_radius(r)
    G, p = _check_pair(guide, p, 3)
    if G.shape[2] != 3 or p.ndim != 2:
        raise ValueError(f"Expected an HxWx3 guide and an HxW input, got {G.shape} and {p.shape}")
    mean_G = box_mean(G, r)
    mean_p = box_mean(p, r)
    cov = box_mean(G * p[:, :, None], r) - mean_G * mean_p[:, :, None]
    # per-pixel 3x3 covariance of the guide, regularised
    outer = G[:, :, :, None] * G[:, :, None, :]
    sigma = box_mean(outer.reshape(*G.shape[:2], 9), r).reshape(*G.shape[:2], 3, 3)
    sigma -= mean_G[:, :, :, None] * mean_G[:, :, None, :]
    sigma += eps * np.eye(3)
    a = np.linalg.solve(sigma, cov[:, :, :, None])[:, :, :, 0]
    b = mean_p - np.sum(a * mean_G, axis=2)
    return np.sum(box_mean(a, r) * G, axis=2) + box_mean(b, r)


# --------------------------------------------------------------------------------------------
# GFF's batched gray filter (baselines/guided_filtering.py): the same clipped-window rule, with
# OpenCV's running-sum ``boxFilter`` on a zero-padded border (``normalize=False``,
# ``BORDER_CONSTANT``: the clipped-window sum exactly), divided by the pixel count; all guides in one
# call. GFF needs 2N filters (radius 45 and 7) per fusion and the cumulative-sum box of
# :func:`guided_filter` would cost ~45 ms each on 520x520. Not OpenCV's ``ximgproc.guidedFilter``
# (reflect-101 borders). ``tests/test_baselines_gf.py`` checks it against :func:`guided_filter`.
# --------------------------------------------------------------------------------------------
def box_mean_stack(x: np.ndarray, r: int) -> np.ndarray:
    """Clipped-window (2r+1)^2 mean (true pixel count) of each HxW slice of a KxHxW float64 array."""
    k = 2 * r + 1
    n = _counts_for(x.shape[1], x.shape[2], r)
    out = np.empty(x.shape, dtype=np.float64)
    for i in range(x.shape[0]):
        # zero-padded unnormalised box sum == sum over the window clipped at the border
        cv2.boxFilter(
            np.ascontiguousarray(x[i]),
            -1,
            (k, k),
            dst=out[i],
            normalize=False,
            borderType=cv2.BORDER_CONSTANT,
        )
    out /= n
    return out


def guided_filter_stack(guides: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Gray guided filter applied slice-wise: slice k of ``p`` is filtered with guide k.

    Parameters
    ----------
    guides, p : ndarray
        KxHxW float arrays of equal shape.
    r : int
        Window radius (>= 0).
    eps : float
        Regularisation in the guides' units squared.

    Returns
    -------
    ndarray
        KxHxW float64, not clipped.

    Raises
    ------
    ValueError
        Shapes differ or are not KxHxW, or ``r`` is negative.
    """
    guides = np.asarray(guides, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if guides.ndim != 3 or guides.shape != p.shape:
        raise ValueError(f"Expected guides and inputs of one KxHxW shape, got {guides.shape} and {p.shape}")
    if r < 0:
        raise ValueError(f"Expected radius >= 0, got {r}")
    if guides.shape[0] > 1:  # one slice at a time: the same bits (every step is per slice), 1/K of the memory
        out = np.empty(guides.shape, dtype=np.float64)
        for k in range(guides.shape[0]):
            out[k] = guided_filter_stack(guides[k : k + 1], p[k : k + 1], r, eps)[0]
        return out
    mean_i = box_mean_stack(guides, r)
    mean_p = box_mean_stack(p, r)
    cov_ip = box_mean_stack(guides * p, r)
    cov_ip -= mean_i * mean_p
    var_i = box_mean_stack(guides * guides, r)
    var_i -= mean_i * mean_i
    var_i += eps
    a = cov_ip / var_i
    b = mean_p - a * mean_i
    q = box_mean_stack(a, r)
    q *= guides
    q += box_mean_stack(b, r)
    return q
