"""Phase congruency's noise model (metrics._phasecong._bank): the per-orientation sums of the spatial
filters, taken in the frequency domain by Parseval, against the transform route of ``myphasecong3.m``
(``ifftFilt = real(ifft2(filter)) * sqrt(rows*cols)``, then ``sum(ifftFilt.^2)`` and the cross sums)."""

from __future__ import annotations

import numpy as np
import pytest

from metrics import _phasecong as P


def _transform_route(log_gabor: np.ndarray, spread: np.ndarray) -> list[tuple[float, float, float]]:
    rows, cols = log_gabor.shape[1:]
    out = []
    for o in range(spread.shape[0]):
        filters = [lg * spread[o] for lg in log_gabor]
        spatial = [np.real(np.fft.ifft2(f)) * np.sqrt(rows * cols) for f in filters]
        an2 = sum(float(np.sum(f**2)) for f in spatial)
        n = len(spatial)
        aiaj = sum(float(np.sum(spatial[i] * spatial[j])) for i in range(n) for j in range(i + 1, n))
        out.append((float(np.sum(filters[0] ** 2)), an2, aiaj))
    return out


@pytest.mark.parametrize("shape", [(520, 520), (37, 42), (64, 64), (101, 77), (2, 3)])
def test_noise_sums_equal_the_inverse_transform_route(shape):
    log_gabor, spread, noise = P._bank(*shape)
    expected = _transform_route(log_gabor, spread)
    assert len(noise) == P.NORIENT
    for got, ref in zip(noise, expected, strict=True):
        assert got[0] == ref[0]  # EM_n: the same expression
        assert got[1:] == pytest.approx(ref[1:], rel=1e-13, abs=1e-300)  # measured <= 6e-16 relative


def test_even_part_is_the_spectrum_of_the_real_part():
    rng = np.random.default_rng(3)
    for shape in [(6, 8), (7, 5), (1, 4)]:
        f = rng.random(shape)
        assert np.allclose(np.fft.fft2(np.real(np.fft.ifft2(f))), P._even_part(f), rtol=0, atol=1e-12)
