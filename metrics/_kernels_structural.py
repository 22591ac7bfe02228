"""numba kernel of Octave's exact ``filter2`` at chosen windows (private; see :mod:`metrics._matlab`).

:func:`exact_at` is ``OctaveWindow.exact_at``: ``acc = fma(tap, img[r + p, c + q], acc)`` over the taps in
Octave's order, window by window, with LLVM's ``llvm.fma`` intrinsic (correctly rounded by definition:
the hardware instruction where the CPU has one, a correctly rounded library routine otherwise), which is
what the NumPy path emulates with error-free transformations (``_matlab.fma``): same bits, without
~50 NumPy calls per tap on small arrays.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _fma(typingctx, a, b, c):
    """Correctly rounded ``a*b + c`` for float64 scalars (``llvm.fma.f64``)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        dbl = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [dbl], ir.FunctionType(dbl, [dbl, dbl, dbl]))
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=True)
def exact_at(img, rows, cols, ps, qs, taps):
    """``out[k] = sum over taps t of fma(taps[t], img[rows[k] + ps[t], cols[k] + qs[t]], .)`` from 0."""
    out = np.empty(rows.size)
    for k in range(rows.size):
        r = rows[k]
        c = cols[k]
        acc = 0.0
        for t in range(taps.size):
            acc = _fma(taps[t], img[r + ps[t], c + qs[t]], acc)
        out[k] = acc
    return out


exact_at(np.ones((3, 3)), np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64),
         np.zeros(1, np.int64), np.ones(1))  # fmt: skip  # build (or load) now: a failure selects NumPy
