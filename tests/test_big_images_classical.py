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
