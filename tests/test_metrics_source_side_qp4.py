"""Source-side memos of qe@liu2020 (and the other metrics of the issue-15 qp4 share) change no bit.

Every fused image of a scene after the first reuses the sources' work from a content-keyed memo; the
value must be exactly what the inline computation gives, for frozen and writable inputs, N = 2 and 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from metrics import qe_liu2020 as qe
from metrics._memo import clear_memos, freeze


def _scene(seed: int, n: int, shape=(48, 53)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    srcs = [
        np.round(127 + 100 * np.sin(xx / (3.0 + k) + k) * np.cos(yy / 5.0) + rng.normal(0, 6, shape)).clip(
            0, 255
        )
        for k in range(n)
    ]
    srcs[0][5:20, 5:25] = 0.0  # flat at level 0 (the survey's 0.5 guard)
    srcs[-1][30:45, 10:30] = 90.0  # flat at another level
    if n > 1:
        srcs[1][5:20, 5:25] = 0.0
    fused = np.round(sum(srcs) / n)
    fused[:, :15] = srcs[0][:, :15]
    return srcs, fused


def _inline(srcs, f):
    return qe.weighted_q(srcs, f) * qe.weighted_q([qe._edges(s) for s in srcs], qe._edges(f))


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("frozen", [False, True])
def test_qe_liu2020_memo_same_bits(n, frozen):
    clear_memos()
    srcs, fused = _scene(n, n)
    if frozen:
        srcs, fused = [freeze(s) for s in srcs], freeze(fused)
    expected = _inline(srcs, fused)
    first = qe.qe_liu2020_value(srcs, fused)
    other = np.round(fused * 0.5 + srcs[-1] * 0.5)  # a second fused image: sources from the memo
    assert first == expected
    assert qe.qe_liu2020_value(srcs, other) == _inline(srcs, other)
    assert len(qe._source_side.cache) == 1
    clear_memos()
