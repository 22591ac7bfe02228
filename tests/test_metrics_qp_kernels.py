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
@pytest.mark.parametrize(
    "shape", [(37, 42), (33, 97), (64, 35), (16, 16), (17, 5), (1, 6), (6, 1), (52, 96), (40, 37), (53, 59)]
)
def test_row_blocked_inverse_dft_is_opencvs_2d_transform_bit_for_bit(shape):
    """The compiled path's responses (row pass on blocks of rows, stored transposed, then the column pass;
    the whole 2-D transform below 32 rows or columns) equal OpenCV's 2-D inverse DFT of the whole products,
    bit for bit, with a partial last block (33, 37 rows) and without, and with the large blocks of row
    lengths that are expensive to plan (a prime factor above 13: 97, 37, 59)."""
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
        block = np.empty((nscale, _phasecong._row_block(rows, cols), cols), dtype=np.complex128)
        _phasecong._responses_transposed(k, imagefft, log_gabor, spread[o], block, out)
        for s in range(nscale):
            ref = np.ascontiguousarray(imagefft * (log_gabor[s] * spread[o]))
            pairs = ref.view(np.float64).reshape(rows, cols, 2)
            cv2.idft(pairs, dst=pairs, flags=cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE)
            assert np.array_equal(out[s].T, ref, equal_nan=True)  # 1-pixel-wide banks hold NaN


def test_row_block_and_planning_cost():
    from metrics import _phasecong as pc

    assert [n for n in range(1, 40) if not pc._cheap_to_plan(n)] == [17, 19, 23, 29, 31, 34, 37, 38]
    assert pc._cheap_to_plan(520) and not pc._cheap_to_plan(521) and not pc._cheap_to_plan(2 * 383)
    assert pc._row_block(520, 520) == pc._ROW_BLOCK and pc._row_block(10, 520) == 10
    assert pc._row_block(383, 401) == pc._BIG_BLOCK_BYTES // (4 * 401 * 16) > pc._ROW_BLOCK  # 163 rows
    assert pc._row_block(100, 401) == 100  # the whole image
    assert pc._row_block(3000, 40009) == pc._ROW_BLOCK  # a row too wide for the budget: 16 rows at least
    factors = [pc._largest_prime_factor(n) for n in (1, 2, 12, 520, 521, 2 * 383, 9 * 59)]
    assert factors == [1, 2, 3, 13, 521, 383, 59]


def _squares(z):
    return z.real * z.real + z.imag * z.imag


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 3), (7, 9), (100, 100), (383, 521), (520, 520)])
@pytest.mark.parametrize("kind", ["normal", "zeros", "ties", "wide", "nan", "one_bucket"])
def test_bucket_median_is_numpys_median_of_the_squares(shape, kind):
    """The noise estimate's ``median(abs(EO).^2)`` by bucket selection equals NumPy's median of the same
    squares bit for bit: odd and even counts, all equal (one bucket holds everything), integer ties,
    magnitudes over 26 decades (many buckets), NaN (sorted last, as the selection of the NumPy path does),
    and the two middle ranks in different buckets."""
    from metrics import _kernels_qp as k

    rng = np.random.default_rng(sum(shape))
    z = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    if kind == "zeros":
        z[:] = 0
    elif kind == "ties":
        z = np.round(z)
    elif kind == "wide":
        z *= np.exp(rng.uniform(-30, 30, size=shape))
    elif kind == "nan":
        z.flat[::3] = np.nan
    elif kind == "one_bucket":  # squares in [1, 1.0625): the top 16 bits of every one are the same
        z = np.sqrt(rng.uniform(1.0, 1.0625, size=shape)) + 0j
    squares = _squares(z)
    if kind == "normal" and z.size % 2 == 0 and z.size > 2:  # the two middle ranks a binade apart
        order = np.argsort(squares, axis=None)
        half = z.size // 2
        z.flat[order[:half]] = 0.5j
        z.flat[order[half:]] = 2.0
        z.flat[order[half - 1]] = 0.7
        squares = _squares(z)
    got = k.median_of_squared_magnitudes(np.ascontiguousarray(z))
    ordered = np.sort(squares, axis=None)  # NaN last; np.median would give NaN for any NaN, the
    half = ordered.size // 2  # selection (as the NumPy path's np.partition) the middle ranks
    expected = float(ordered[half] if ordered.size % 2 else (ordered[half - 1] + ordered[half]) / 2)
    if kind != "nan":
        assert expected == float(np.median(squares))
    assert got == expected or (np.isnan(got) and np.isnan(expected)), (got, expected)
    if kind != "nan":
        assert got == pytest.approx(float(np.median(np.abs(z) ** 2)), rel=1e-15)  # hypot, then squared


@pytest.mark.parametrize("n", [1, 2, 7, 8, 1000, 1001])
def test_numpy_path_median_of_squares(n):
    from metrics import _phasecong

    rng = np.random.default_rng(n)
    a = np.abs(rng.normal(size=n) + 1j * rng.normal(size=n))
    assert _phasecong._median_of_squares(a) == pytest.approx(float(np.median(a**2)), rel=1e-15)


def test_import_compiles_the_argument_types_phase_congruency_passes(monkeypatch):
    """The module's import-time warm-up uses the argument types of the real calls (read-only filter bank
    and memoised source statistics, C-contiguous buffers): a worker compiles or loads every kernel once,
    at import, and a numba that cannot build one selects the NumPy path instead of failing inside Qp."""
    from metrics import _kernels_qp as kq
    from metrics.qp import qp_zhao

    monkeypatch.setenv("MFIF_NO_NUMBA", "0")  # the compiled path
    names = (
        "phase_congruency", "spectrum_products", "transpose_rows", "median_of_squared_magnitudes",
        "correlation_update",
    )  # fmt: skip
    before = {n: len(getattr(kq, n).signatures) for n in names}
    assert all(v >= 1 for v in before.values()), before
    rng = np.random.default_rng(3)
    for shape in ((40, 50), (7, 9), (33, 64)):  # the row-blocked path and the whole-transform path
        a, b = rng.random(shape) * 255, rng.random(shape) * 255
        qp_zhao([a, b], (a + b) / 2)
    assert {n: len(getattr(kq, n).signatures) for n in names} == before
