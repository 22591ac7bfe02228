"""Building blocks of the compiled metric kernels that LLVM can vectorise (private).

- :func:`_f2i` / :func:`_i2f`: float64 <-> int64 bit casts;
- :func:`_u`: an int64 index as uint64 (same bits), so numba omits its negative-index wraparound, which
  would hide an affine address from the vectoriser;
- :func:`_log` / :func:`_logs`: natural logarithm below 1 ulp with fdlibm's algorithm, written with bit
  casts so that a loop of them vectorises (libm's ``log`` is a scalar call); :func:`_logs_array` for tests.

Used by :mod:`metrics._kernels_fmi` (FMI's window stage).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@intrinsic
def _f2i(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _i2f(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _u(typingctx, x):
    """An int64 index as uint64 (same bits): numba skips the negative-index wraparound for it."""

    def codegen(context, builder, signature, args):
        return args[0]

    return types.uint64(types.int64), codegen


# The algorithm and minimax coefficients of fdlibm 5.3 e_log.c (netlib.org/fdlibm), whose notice reads:
# "Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved. Developed at SunSoft, a Sun
# Microsystems, Inc. business. Permission to use, copy, modify, and distribute this software is freely
# granted, provided that this notice is preserved." (Re-written here; the special cases for zero,
# negative and subnormal arguments are dropped: the kernel's arguments are >= 1e-300, +inf or nan.)
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10


@njit(cache=True, nogil=True, error_model="numpy", inline="always", _nrt=False)
def _log(x):
    """Natural log of a positive normal double (or +inf / nan), below 1 ulp (fdlibm's algorithm).

    x = 2^k (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)); log(1 + f) = f - s (f - R) with s = f / (2 + f).
    """
    bits = _f2i(x)
    m = bits & 0x000FFFFFFFFFFFFF
    i = (m + 0x00095F6400000000) & 0x0010000000000000  # mantissa >= sqrt(2)/2 * 2: halve it
    f = _i2f(m | (i ^ 0x3FF0000000000000)) - 1.0
    dk = float((bits >> 52) - 1023 + (i >> 52))
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    hfsq = 0.5 * f * f
    out = dk * _LN2_HI - ((hfsq - (s * (hfsq + r) + dk * _LN2_LO)) - f)
    return out if x < np.inf else x


@njit(cache=True, nogil=True, error_model="numpy", inline="always", _nrt=False)
def _logs(buf, start, count):
    """``buf[start:start + count] = log(buf[start:start + count])`` in one vectorised loop."""
    for t in range(count):
        buf[_u(start + t)] = _log(buf[_u(start + t)])


@njit(cache=True, nogil=True, error_model="numpy", _nrt=False)
def _logs_array(buf):
    """In-place log of a 1-D array (for tests)."""
    _logs(buf, 0, buf.size)
