"""numba kernel of Qcb (private; see :func:`metrics.qcb.qcb_chen_blum`).

:func:`add_preservation` is one source's term of ``q = q + lam * pres`` with MATLAB's mask arithmetic
``pres = (C'_s / C'_F) * mask + (C'_F / C'_s) * (1 - mask)``, ``mask = (C'_s < C'_F)`` as 1.0/0.0, with the
NumPy expression's operations element by element in the same order (inf * 0 still gives NaN there), so
the map has the NumPy path's bits: one pass instead of seven temporaries of the image's size.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def add_preservation(cp, cp_f, lam, q):
    """``q = q + lam * ((cp / cp_f) * m + (cp_f / cp) * (1 - m))`` with ``m = 1.0 if cp < cp_f else 0.0``."""
    for i in range(q.shape[0]):
        for j in range(q.shape[1]):
            a = cp[i, j]
            f = cp_f[i, j]
            m = 1.0 if a < f else 0.0
            q[i, j] = q[i, j] + lam[i, j] * ((a / f) * m + (f / a) * (1 - m))


_R = np.ones((2, 2))
_R.setflags(write=False)  # the memoised source side is read-only
add_preservation(_R, np.ones((2, 2)), _R, np.zeros((2, 2)))  # build (or load) now: a failure selects NumPy
