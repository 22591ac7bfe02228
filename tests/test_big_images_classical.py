"""SR's banded patch coding (the 24 MP memory path) gives the bits of one batched run over every patch.

``sr_fuse`` codes patches by bands of patch rows (``band_patches``) so that a 24 MP pair fits in memory.
The reference below is the former all-at-once computation (every patch of every source and channel in
one ``omp_l1`` call, overlapping patches summed offset by offset over the whole image): the banded
result must equal it exactly, for bands that cut OMP chunks and source planes at every place.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from baselines import sr
from baselines._omp import omp_l1


def _dictionary(seed: int = 3) -> np.ndarray:
    d = np.random.default_rng(seed).standard_normal((64, 256))  # fixture only
    return d / np.sqrt(np.sum(d**2, axis=0))


def _sources(n: int, shape: tuple[int, ...], seed: int = 11) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)  # fixture only: smooth-ish 8-bit-valued planes
    base = rng.random(shape)
    return [np.floor(np.clip(base + 0.3 * rng.random(shape) * (i + 1) / n, 0, 1) * 255) for i in range(n)]


def _sr_all_at_once(sources, d, overlap, epsilon=0.1, precision="float32"):
    """The unbanded computation (one batched OMP over all patches), kept here as the reference."""
    n, p = len(sources), 8
    step = p - overlap
    srcs = [np.asarray(s if s.ndim == 3 else s[:, :, None], dtype=np.float64) for s in sources]
    h, w, k = srcs[0].shape
    gy, gx = sr.patch_grid(h, p, step), sr.patch_grid(w, p, step)
    stack = np.stack([s.transpose(2, 0, 1) for s in srcs])
    win = sliding_window_view(stack, (p, p), axis=(2, 3))[:, :, : gy[-1] + 1 : step, : gx[-1] + 1 : step]
    ny, nx = win.shape[2], win.shape[3]
    x = np.ascontiguousarray(win.swapaxes(-1, -2)).reshape(n, k, ny, nx, p * p)
    means = x.mean(axis=-1, keepdims=True)
    x -= means
    l1, resid = omp_l1(x.reshape(-1, p * p), d, epsilon, dtype=sr.PRECISIONS[precision])
    win_idx = np.argmax(l1.reshape(n, k, ny, nx), axis=0)
    recon = (x.reshape(-1, p * p) - resid).reshape(n, k, ny, nx, p * p) + means
    fused = np.take_along_axis(recon, win_idx[None, :, :, :, None], axis=0)[0]
    fused = fused.reshape(k, ny, nx, p, p).swapaxes(-1, -2)
    acc, cnt = np.zeros((k, h, w)), np.zeros((h, w))
    for dy in range(p):
        for dx in range(p):
            acc[:, dy : dy + step * ny : step, dx : dx + step * nx : step] += fused[:, :, :, dy, dx]
            cnt[dy : dy + step * ny : step, dx : dx + step * nx : step] += 1
    unc = cnt < 1
    acc[:, unc] = np.mean(stack, axis=0)[:, unc]
    cnt[unc] = 1
    out = (acc / cnt).transpose(1, 2, 0)
    return out if sources[0].ndim == 3 else out[:, :, 0]


@pytest.mark.parametrize(
    ("n", "shape", "overlap", "bands"),
    [
        # step 1: 2112 patches per plane, bands and planes cut OMP chunks (slow: ~30k OMP patches)
        pytest.param(2, (41, 71), 7, (10**9, 700), marks=pytest.mark.slow),
        # colour: chunks straddle channel and source planes
        pytest.param(2, (30, 40, 3), 7, (400,), marks=pytest.mark.slow),
        (3, (45, 60), 6, (250,)),  # step 2 (NSCT-SR's lowpass setting), odd size: an uncovered last row;
        # bands cut the one OMP chunk
        (2, (44, 57, 1), 5, (40,)),  # step 3: uncovered rows and columns; 3 patch rows per band
    ],
)
def test_sr_bands_equal_one_batched_run(n, shape, overlap, bands):
    d = _dictionary()
    srcs = _sources(n, shape)
    want = _sr_all_at_once(srcs, d, overlap)
    for band in bands:
        got = sr.sr_fuse(srcs, d, overlap, 0.1, "float32", band_patches=band)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want, err_msg=f"band_patches={band}")


def test_sr_float32_sources_same_bits_as_float64():
    # the bands cast the sources to float64 per band (no full-size float64 copy): same values
    d = _dictionary()
    srcs = _sources(2, (24, 30, 3))
    a = sr.sr_fuse(srcs, d, 6, band_patches=60)
    b = sr.sr_fuse([s.astype(np.float32) for s in srcs], d, 6, band_patches=60)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("levels", [1, 2, 3, 4])
def test_nsct_streamed_band_responses_equal_cached(levels):
    from baselines import _nsct_transform as t

    shape = (24, 30)
    ana, syn = t.dfb_responses(shape, levels, "vk")
    for kind, want in (("d", ana), ("r", syn)):
        for cdt in ("complex64", "complex128"):
            got = list(t._band_responses(shape, levels, "vk", cdt, kind))
            assert len(got) == 2**levels
            np.testing.assert_array_equal(np.stack(got), want.astype(cdt))


def test_nsct_streamed_path_same_bits(monkeypatch):
    from baselines import _nsct_transform as t
    from baselines import nsct

    srcs = _sources(2, (40, 52, 3))
    cached = nsct.nsct_fuse(srcs, precision="float32")
    monkeypatch.setattr(t, "STREAM_RESPONSES_PIXELS", 0)
    streamed = nsct.nsct_fuse(srcs, precision="float32")
    np.testing.assert_array_equal(streamed, cached)


# --- brw, asr, the shared helpers: the memory-lean forms give the bits of the straight forms -------------


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: [(np.floor(rng.random((9, 11, 3)) * 256) / 255).astype(np.float32) for _ in range(3)],
        lambda rng: [rng.random((9, 11, 3)).astype(np.float32) for _ in range(2)],  # off the 8-bit grid
        lambda rng: [rng.random((9, 11)) for _ in range(2)],  # float64 gray
        lambda rng: [np.floor(rng.random((9, 11)) * 256) / 255 for _ in range(2)],  # float64 on the grid
    ],
)
def test_compact_sources_equal_source_stack(make):
    from baselines._matlab_compat import CompactSources, source_stack

    imgs = make(np.random.default_rng(5))
    stack, snapped = source_stack(imgs, return_grid=True)
    src = CompactSources(imgs)
    assert src.snapped == snapped and len(src) == len(imgs) and src.shape == imgs[0].shape
    for k in range(len(imgs)):
        got = src[k]
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, stack[k])
        got += 1.0  # a fresh copy each time
        np.testing.assert_array_equal(src[k], stack[k])


def _brw_straight(images):
    """The former brw (float64 stack, both scales' gradients at once, fresh copies everywhere)."""
    from baselines import brw as b
    from baselines._guided_filter import guided_filter
    from baselines._matlab_compat import gradient_zhou, rgb2gray, source_stack

    def pair(g1, g2):
        dx1, dy1 = gradient_zhou(g1)
        dx2, dy2 = gradient_zhou(g2)

        def sal(dx, dy, sigma, alpha=0.5):
            dxx, dxy, dyy = (b.smooth_symmetric(d, sigma) for d in (dx * dx, dx * dy, dy * dy))
            bb = -(dxx + dyy)
            c = dxx * dyy - dxy * dxy
            disc = np.sqrt(np.maximum(bb * bb - 4 * c, 0.0))
            s1 = np.sqrt(np.abs((-bb + disc) / 2))
            s2 = np.sqrt(np.abs((-bb - disc) / 2))
            return np.sqrt((s1 + s2) ** 2 + alpha * (s1 - s2) ** 2)

        maps = [(sal(dx1, dy1, s) > sal(dx2, dy2, s)).astype(np.float64) for s in (3.0, 8.0)]
        m1 = guided_filter(g1, maps[0], 5, 1e-2)
        m2 = guided_filter(g1, maps[1], 11, 1e-2)
        h1, h2 = b.seeds(m1, m2, 0.9, 0.8)
        g8 = np.clip(np.floor(g1 * 255.0 + 0.5), 0, 255)
        f = b.fgs(np.stack([h1, h1 + h2]), g8, 0.02)
        x1 = f[0] / (f[1] + np.spacing(np.abs(f[1])))
        x2 = 1.0 - x1
        fmap = np.zeros_like(m1)
        fmap[x1 >= x2] = m1[x1 >= x2]
        fmap[x2 >= x1] = m2[x2 >= x1]
        return fmap

    stack = source_stack(images)
    gray = rgb2gray(stack)
    fused, fgray = stack[0], gray[0]
    index = np.zeros(stack.shape[1:3])
    for k in range(1, stack.shape[0]):
        m = pair(fgray, gray[k])
        mb = m if fused.ndim == 2 else m[..., None]
        fused = mb * fused + (1.0 - mb) * stack[k]
        fgray = rgb2gray(fused[None])[0]
        index = m * index + (1.0 - m) * k
    return fused, index


@pytest.mark.parametrize("n, shape", [(2, (37, 45, 3)), (3, (30, 41, 3)), (2, (33, 40))])
def test_brw_lean_equals_straight(n, shape):
    from baselines import brw

    rng = np.random.default_rng(8)
    base = rng.random(shape)
    imgs = [(np.floor(np.clip(base + 0.2 * rng.random(shape) * i, 0, 1) * 255) / 255).astype(np.float32)
            for i in range(n)]
    want_f, want_i = _brw_straight(imgs)
    got_f, got_i = brw.brw(imgs)
    np.testing.assert_array_equal(got_f, want_f)
    np.testing.assert_array_equal(got_i, want_i)


def test_fgs_in_place_same_bits():
    from baselines.brw import fgs

    rng = np.random.default_rng(2)
    img = rng.random((2, 23, 31))
    guide = np.floor(rng.random((23, 31)) * 256)
    want = fgs(img, guide, 0.02)
    work = img.copy()
    got = fgs(work, guide, 0.02, overwrite=True)
    assert got is work
    np.testing.assert_array_equal(got, want)


def test_box_counts_uncached_above_threshold_same_bits(monkeypatch):
    from baselines import _guided_filter as g

    x = np.random.default_rng(4).random((19, 26, 2))
    xs = np.ascontiguousarray(x.transpose(2, 0, 1))
    want, want_stack = g.box_mean(x, 3), g.box_mean_stack(xs, 3)
    monkeypatch.setattr(g, "_CACHE_COUNTS_MAX_PIXELS", 0)
    g._counts_cached.cache_clear()
    np.testing.assert_array_equal(g.box_mean(x, 3), want)
    np.testing.assert_array_equal(g.box_mean_stack(xs, 3), want_stack)
    assert g._counts_cached.cache_info().currsize == 0


def test_nsct_kernel_spectrum_uncached_same_bits():
    from baselines import _nsct_transform as t

    for which in range(4):
        np.testing.assert_array_equal(t._atrous_kernel_spectrum_of("pyrexc", which, 2, (64, 70)),
                                      t._atrous_kernel_spectrum_cached("pyrexc", which, 2, (64, 70)))
