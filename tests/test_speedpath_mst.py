"""The fast paths of the MST baselines (lp, rp, dwt, dtcwt) equal their plain formulations bit for bit.

Every speed-up in ``baselines/_mst.py``, ``dwt.py`` and ``_dtcwt_transform.py`` (issue 4) claims to compute
the same numbers as the direct formulation it replaces; these tests hold it to exactly that (``array_equal``,
no tolerance), on random data, odd sizes and the block boundaries of the row-blocked loops.
"""

from __future__ import annotations

import numpy as np
import pytest

from baselines import _dtcwt_transform as T
from baselines import _mst, _mst_rules
from baselines import dwt as D
from baselines.dtcwt import dtcwt_fuse
from baselines.dwt import dwt_fuse
from baselines.laplacian_pyramid import lp_fuse
from baselines.ratio_pyramid import rp_fuse

RNG_SEED = 4


def _rand(shape, rng, integer=False, dtype=np.float64):
    x = rng.standard_normal(shape) * 60 + 100
    if integer:
        x = np.clip(np.round(x), 0, 255)
    return x.astype(dtype)


class TestPyramidReduce:
    @pytest.mark.parametrize("shape", [(8, 8, 2), (12, 30, 3), (64, 42, 6), (10, 96, 9)])
    def test_fast_path_equals_extended_path(self, shape):
        x = _rand(shape, np.random.default_rng(RNG_SEED))
        np.testing.assert_array_equal(_mst.pyramid_reduce(x), _mst._pyramid_reduce_es2(x))

    @pytest.mark.parametrize("shape", [(8, 8, 2), (40, 22, 3), (36, 64, 6)])
    def test_float32_integers_equal_float64(self, shape):
        x = _rand(shape, np.random.default_rng(RNG_SEED), integer=True)
        fast = _mst.pyramid_reduce(x.astype(np.float32), integer_valued=True)
        assert fast.dtype == np.float32
        np.testing.assert_array_equal(fast.astype(np.float64), _mst._pyramid_reduce_es2(x))

    def test_gray_planes_reduced_as_a_batch(self):
        rng = np.random.default_rng(RNG_SEED)
        planes = [_rand((30, 26, 1), rng) for _ in range(3)]
        got = _mst.pyramid_reduce_each(planes)
        batch = _mst._pyramid_reduce_es2(np.concatenate(planes, axis=2))
        for i, g in enumerate(got):
            assert g.flags.c_contiguous
            np.testing.assert_array_equal(g, batch[:, :, i : i + 1])


class TestChoose:
    @pytest.mark.parametrize("shape", [(5, 7, 3), (31, 20, 1), (16, 16, 6)])
    def test_es2_variant_equals_plain(self, shape):
        rng = np.random.default_rng(RNG_SEED)
        bands = [rng.standard_normal(shape) for _ in range(2)]
        bands[1][::3] = bands[0][::3]  # ties
        expected = _mst.choose_max_consistency(bands)
        exts = [_mst.es2(b, 1) for b in bands]
        np.testing.assert_array_equal(_mst.choose_max_consistency_es2(exts), expected)
        built = []
        for b in bands:  # the interior written first, border filled afterwards (as lp/rp do)
            e = np.full((shape[0] + 2, shape[1] + 2, shape[2]), np.nan)
            e[1:-1, 1:-1] = b
            built.append(_mst.es2_fill_border(e, 1))
        for e, ref in zip(built, exts, strict=True):
            np.testing.assert_array_equal(e, ref)
        np.testing.assert_array_equal(_mst.choose_max_consistency_es2(built, overwrite=True), expected)

    @pytest.mark.parametrize("chunk_bytes", [1, 2000, 1 << 19])
    @pytest.mark.parametrize("shape", [(9, 7, 3), (40, 33, 1), (25, 16, 6)])
    def test_blocked_activity_comparison(self, monkeypatch, chunk_bytes, shape):
        monkeypatch.setattr(_mst_rules, "_CHUNK_BYTES", chunk_bytes)
        rng = np.random.default_rng(RNG_SEED)
        e0, e1 = (_mst.es2(rng.standard_normal(shape), 1) for _ in range(2))
        e1[::4] = -e0[::4]  # ties of the modulus
        full = _mst._max3x3(np.abs(e0)) > _mst._max3x3(np.abs(e1))
        np.testing.assert_array_equal(_mst._greater_activity_blocked(e0, e1), full.reshape(e0.shape))

    @pytest.mark.parametrize("dtype", [np.float64, np.complex128])
    def test_hbw_activity_equals_numpy(self, dtype):
        rng = np.random.default_rng(RNG_SEED)
        band = rng.standard_normal((13, 6, 17))
        if dtype == np.complex128:
            band = band + 1j * rng.standard_normal(band.shape)
        view = band[:, 3:]  # a per-source view, as the fusion passes it
        np.testing.assert_array_equal(_mst._activity_hbw(view), _mst._activity_np(view, (0, 2)))


def _haar_plain(x):
    s = D._S
    p0, p1 = x[:, :, 0::2] * s, x[:, :, 1::2] * s
    lo, hi = p0 + p1, p0 - p1
    q0, q1 = lo[0::2] * s, lo[1::2] * s
    ca, ch = q0 + q1, q0 - q1
    q0, q1 = hi[0::2] * s, hi[1::2] * s
    return ca, (ch, q0 + q1, q0 - q1)


def _haar_inverse_plain(ca, details):
    ch, cv, cd = details
    s = D._S
    h2, b, w2 = ca.shape
    lo, hi = np.empty((2 * h2, b, w2)), np.empty((2 * h2, b, w2))
    lo[0::2], lo[1::2] = (ca + ch) * s, (ca - ch) * s
    hi[0::2], hi[1::2] = (cv + cd) * s, (cv - cd) * s
    x = np.empty((2 * h2, b, 2 * w2))
    x[:, :, 0::2], x[:, :, 1::2] = (lo + hi) * s, (lo - hi) * s
    return x


class TestHaarBlocks:
    @pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 18])
    def test_blocked_steps_equal_plain_formulas(self, monkeypatch, block_bytes):
        monkeypatch.setattr(D, "_BLOCK_BYTES", block_bytes)
        x = np.random.default_rng(RNG_SEED).standard_normal((38, 4, 26)) * 50
        ca, bands = D._haar_step(x)
        pca, pbands = _haar_plain(x)
        np.testing.assert_array_equal(ca, pca)
        for got, ref in zip(bands, pbands, strict=True):
            np.testing.assert_array_equal(got, ref)
        np.testing.assert_array_equal(
            D._haar_inverse_step(ca, bands, (38, 26)), _haar_inverse_plain(ca, bands)
        )

    def test_hwk_entry_equals_batched_step(self):
        rng = np.random.default_rng(RNG_SEED)
        srcs = [_rand((21, 15, 3), rng) for _ in range(2)]  # odd sizes
        ext = [np.concatenate([s, s[-1:]], axis=0) for s in srcs]
        ext = [np.concatenate([s, s[:, -1:]], axis=1) for s in ext]
        batch = np.concatenate([s.transpose(0, 2, 1) for s in ext], axis=1)
        ca, bands = D._haar_step_hwk(srcs)
        pca, pbands = _haar_plain(batch)
        np.testing.assert_array_equal(ca, pca)
        for got, ref in zip(bands, pbands, strict=True):
            np.testing.assert_array_equal(got, ref)


class TestDtcwtLevel1:
    @pytest.mark.parametrize("rows", [8, 10, 64])
    def test_blocked_level1_equals_whole_image(self, rows):
        x = np.random.default_rng(RNG_SEED).standard_normal((46, 3, 38)) * 80
        lolo, bands = T._level1_blocked(x, rows)
        lo_w, hi_w = T._filt(x, T.LEGALL_H0O, 2), T._filt(x, T.LEGALL_H1O, 2)
        ref = T._pack(
            T._filt(lo_w, T.LEGALL_H1O, 0), T._filt(hi_w, T.LEGALL_H0O, 0), T._filt(hi_w, T.LEGALL_H1O, 0)
        )
        np.testing.assert_array_equal(lolo, T._filt(lo_w, T.LEGALL_H0O, 0))
        for got, want in zip(bands, ref, strict=True):
            np.testing.assert_array_equal(got, want)

    @pytest.mark.parametrize(("r", "n"), [(12, 10), (4, 10), (3, 5), (26, 5)])
    def test_symmetric_index_equals_padding(self, r, n):
        x = np.random.default_rng(RNG_SEED).standard_normal((r, 2, r + 1))
        for axis in (0, 2):
            y = np.moveaxis(x, 0, 2) if axis == 2 else x  # length r along ``axis``
            np.testing.assert_array_equal(
                np.take(y, T._symmetric_index(r, n), axis=axis), T._pad_symmetric(y, n, axis)
            )

    def test_pack_and_c2q_blocks(self, monkeypatch):
        monkeypatch.setattr(T, "_BLOCK_BYTES", 500)
        rng = np.random.default_rng(RNG_SEED)
        y = rng.standard_normal((14, 2, 10))
        a, b, c, d = y[0::2, :, 0::2], y[0::2, :, 1::2], y[1::2, :, 0::2], y[1::2, :, 1::2]
        s = T._SQRT_HALF
        first, second = T._pack_band(y, False), T._pack_band(y, True)
        np.testing.assert_array_equal(first.real, (a - d) * s)
        np.testing.assert_array_equal(first.imag, (b + c) * s)
        np.testing.assert_array_equal(second.real, (a + d) * s)
        np.testing.assert_array_equal(second.imag, (b - c) * s)
        q = T._c2q(first, second)
        np.testing.assert_array_equal(q[0::2, :, 0::2], (first.real + second.real) * s)
        np.testing.assert_array_equal(q[1::2, :, 1::2], (second.real - first.real) * s)


class TestFloat32Planes:
    """``run_toolbox_method`` hands 8-bit sources to the cores as float32 integers: results as float64."""

    @pytest.mark.parametrize("shape", [(40, 36, 3), (33, 27), (48, 50, 1)])
    @pytest.mark.parametrize("core", [lp_fuse, rp_fuse, dwt_fuse, dtcwt_fuse])
    def test_float32_integer_planes_equal_float64(self, core, shape):
        rng = np.random.default_rng(RNG_SEED)
        planes = [_rand(shape, rng, integer=True) for _ in range(3)]
        p32 = [p.astype(np.float32) for p in planes]
        kw = {"integer_valued": True} if core in (lp_fuse, rp_fuse) else {}
        levels = 2
        np.testing.assert_array_equal(core(p32, levels, **kw), core(planes, levels))

    def test_nan_source_still_rejected(self):
        a = np.full((16, 16), 0.5, np.float32)
        b = a.copy()
        b[3, 4] = np.nan
        with pytest.raises(ValueError, match="finite"):
            _mst.to_toolbox_scale([a, b], grid_dtype=np.float32)

    def test_out_of_range_grid_uses_float64(self):
        a = np.full((16, 16), 2.0, np.float32)  # on the 8-bit grid after scaling (510) but outside 0..255
        b = np.zeros((16, 16), np.float32)
        seen = []

        def core(planes):
            seen.append(planes[0].dtype)
            return planes[0].astype(np.float64)

        _mst.run_toolbox_method([a, b], core, "test", quantize="none")
        assert seen == [np.float64]
