"""Qp's compiled helpers (metrics._kernels_qp) against NumPy / libm (issue 15, speed work of qp4).

The whole-metric comparison of the compiled and NumPy paths is in tests/test_metrics_kernels.py; these
check the pieces the compiled path is built from: the vectorised exp (at most 1 ulp from libm, libm itself
outside its fast range, NaN kept), the fused spectrum products (bit for bit NumPy's ``imagefft .*
(logGabor .* spread)``) and the selection-based median.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numba")


def test_fast_exp_within_one_ulp_of_libm_and_exact_outside():
    from metrics import _kernels_qp as k

    rng = np.random.default_rng(0)
    v = np.concatenate(
        [
            rng.uniform(-5.0, 5.0, 20000),  # the range Qp uses (cutOff g - g sum/max / nscale)
            rng.uniform(-20.0, 20.0, 2000),
            [0.0, -0.0, 1e-300, -1e-300, 20.0, -20.0, 20.5, -20.5, 700.0, -745.5, 800.0, -800.0],
            [np.inf, -np.inf, np.nan],
        ]
    )
    out = np.empty_like(v)
    k._exp_rows(v, out)
    with np.errstate(over="ignore"):
        ref = np.array([math.exp(x) if abs(x) < 709 or not np.isfinite(x) else np.exp(x) for x in v])
    assert math.exp(math.nan) != math.exp(math.nan)  # NaN in, NaN out
    finite = np.isfinite(ref) & (ref > 0)
    assert np.all(np.abs(out[finite] - ref[finite]) <= np.spacing(ref[finite]))
    rest = ~finite
    assert np.array_equal(out[rest], ref[rest], equal_nan=True)  # inf, 0 and NaN as libm


def test_spectrum_products_bit_identical_to_numpy():
    from metrics import _kernels_qp as k
    from metrics import _phasecong

    rows, cols = 37, 42  # odd and even sizes
    log_gabor, spread, _ = _phasecong._bank(rows, cols)
    rng = np.random.default_rng(1)
    imagefft = rng.normal(size=(rows, cols)) + 1j * rng.normal(size=(rows, cols))
    for o in range(spread.shape[0]):
        out = np.empty((log_gabor.shape[0], rows, cols), dtype=np.complex128)
        k.spectrum_products(imagefft, log_gabor, spread[o], 0, out)
        for s in range(log_gabor.shape[0]):
            assert np.array_equal(out[s], imagefft * (log_gabor[s] * spread[o]))
        block = np.empty((log_gabor.shape[0], 5, cols), dtype=np.complex128)  # rows 30..34 only
        k.spectrum_products(imagefft, log_gabor, spread[o], 30, block)
        assert np.array_equal(block, out[:, 30:35])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # 1-pixel-wide banks (0/0 in the grid)
@pytest.mark.parametrize("shape", [(37, 42), (33, 97), (64, 35), (16, 16), (17, 5), (1, 6), (6, 1), (52, 96)])
def test_row_blocked_inverse_dft_is_opencvs_2d_transform_bit_for_bit(shape):
    """The compiled path's responses (row pass on blocks of rows, stored transposed, then the column pass;
    the whole 2-D transform below 32 rows or columns) equal OpenCV's 2-D inverse DFT of the whole products,
    bit for bit, with a partial last block (33, 37 rows) and without."""
    import cv2

    from metrics import _kernels_qp as k
    from metrics import _phasecong

    rows, cols = shape
    log_gabor, spread, _ = _phasecong._bank(rows, cols)
    rng = np.random.default_rng(rows * 1000 + cols)
    imagefft = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    nscale = log_gabor.shape[0]
    for o in (0, 4):
        out = np.empty((nscale, cols, rows), dtype=np.complex128)
        block = np.empty((nscale, min(_phasecong._ROW_BLOCK, rows), cols), dtype=np.complex128)
        _phasecong._responses_transposed(k, imagefft, log_gabor, spread[o], block, out)
        for s in range(nscale):
            ref = np.ascontiguousarray(imagefft * (log_gabor[s] * spread[o]))
            pairs = ref.view(np.float64).reshape(rows, cols, 2)
            cv2.idft(pairs, dst=pairs, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)
            assert np.array_equal(out[s].T, ref, equal_nan=True)  # 1-pixel-wide banks hold NaN


@pytest.mark.parametrize("n", [1, 2, 7, 8, 1000, 1001])
def test_median_and_squared_magnitudes(n):
    from metrics import _kernels_qp as k
    from metrics import _phasecong

    rng = np.random.default_rng(n)
    z = (rng.normal(size=n) + 1j * rng.normal(size=n)).reshape(1, n)
    sq = np.empty((1, n))
    k.squared_magnitudes(z, sq)
    assert np.allclose(sq, np.abs(z) ** 2, rtol=1e-15, atol=0)  # a few ulp (hypot, then squared)
    expected = float(np.median(sq))
    assert _phasecong._median(sq.copy()) == expected
    assert _phasecong._median_of_squares(np.sqrt(sq)) == pytest.approx(expected, rel=1e-15)
