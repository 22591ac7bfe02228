"""Big-image memory paths of the classical methods give the same bits as the default paths.

``dtcwt`` transforms colour channels one at a time above ``CHANNEL_LOOP_PIXELS`` (2 MP); here the
threshold is lowered so that both paths run on a small colour pair and must agree exactly.
``gf``'s guided filter runs one source at a time; it must equal the one-slice calls stacked.
"""

from __future__ import annotations

import numpy as np

import baselines.dtcwt as dtcwt_mod
from baselines._guided_filter import guided_filter_stack


def _pair(shape=(90, 132, 3)):
    rng = np.random.default_rng(21)  # fixture only
    return [np.floor(rng.random(shape) * 255 + 0.5) for _ in range(2)]


def test_dtcwt_channel_loop_is_bit_identical(monkeypatch):
    a, b = _pair()
    batched = dtcwt_mod.dtcwt_fuse([a, b], 3)
    monkeypatch.setattr(dtcwt_mod, "CHANNEL_LOOP_PIXELS", 0)
    looped = dtcwt_mod.dtcwt_fuse([a, b], 3)
    assert looped.shape == batched.shape
    np.testing.assert_array_equal(looped, batched)


def test_gf_guided_filter_slices_are_independent():
    rng = np.random.default_rng(5)  # fixture only
    g = rng.random((3, 40, 50))
    p = (rng.random((3, 40, 50)) > 0.5).astype(np.float64)
    whole = guided_filter_stack(g, p, 4, 0.01)
    one = np.stack([guided_filter_stack(g[k : k + 1], p[k : k + 1], 4, 0.01)[0] for k in range(3)])
    np.testing.assert_array_equal(whole, one)
