"""Central tolerances for the metric tests (one place; any other tolerance in a test says why).

* ``DTYPE_TOL`` -- (rtol, atol) by dtype, for comparisons between two computations of ours that should
  agree up to rounding (e.g. uint8 vs float64 input, gray vs grey-replicated RGB).
* :func:`reference_tolerance` -- tolerance for reproducing ``shared/reference/metrics_reference.json``:
  the JSON's own per-metric ``tolerance`` (``abs + rel * |expected|``), unless :data:`OVERRIDES` holds an
  entry for that reference id, with its written reason. Loosening a reference tolerance needs an entry
  here with evidence (``shared/reference/README.md`` "Known fragile values": count the flat windows,
  show that the reference itself moves under transposition / summation order, list the case).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (rtol, atol) for comparing two of our own computations of one value, by the arrays' dtype.
DTYPE_TOL: dict[type, tuple[float, float]] = {
    np.float64: (1e-12, 1e-12),
    np.float32: (1e-5, 1e-6),
}


@dataclass(frozen=True)
class Override:
    """A per-metric deviation from the JSON tolerance, with its reason.

    ``cases`` restricts the override to ``(pair, rule)`` cases (empty: every case of that id).
    """

    rel: float
    abs: float
    reason: str
    cases: tuple[tuple[str, str], ...] = ()


#: reference id -> Override. Empty: every metric meets the tolerance recorded in the JSON.
OVERRIDES: dict[str, Override] = {}


def reference_tolerance(ref_json: dict, ref_id: str, pair: str, rule: str) -> tuple[float, float]:
    """``(rel, abs)`` tolerance for one reference value (JSON tolerance unless overridden)."""
    ov = OVERRIDES.get(ref_id)
    if ov is not None and (not ov.cases or (pair, rule) in ov.cases):
        return ov.rel, ov.abs
    tol = ref_json["metrics"][ref_id]["tolerance"]
    return float(tol["rel"]), float(tol["abs"])


def within(got: float, expected: float, rel: float, abs_: float) -> bool:
    """``|got - expected| <= abs + rel * |expected|`` (False for NaN ``got``)."""
    return bool(abs(got - expected) <= abs_ + rel * abs(expected))


#: (rtol, atol) for "identical inputs give the ideal value": exact up to the metrics' regularising
#: constants (e.g. the summed Sheikh VIF's 1e-10 noise floor gives 1 - 8e-12 per source).
IDEAL_TOL: tuple[float, float] = (1e-9, 1e-9)
