"""Is a ranking real? Paired Wilcoxon tests against the leader (Holm-corrected) and bootstrap CIs.

None of the anchor papers tests significance. For one metric on one dataset we compare the leader
(best mean) with every other method on the scenes where both have a value, with a one-sided
paired Wilcoxon signed-rank test ("the leader is better"), and correct the p-values for the
``k - 1`` comparisons with Holm's step-down method. A method whose corrected p-value is at least
``alpha`` is *not significantly worse* than the leader (marked in the tables).

Note that with few scenes no difference can be significant: the exact one-sided Wilcoxon p-value
is at least ``2**-n`` (0.0625 for 4 scenes).

References
----------
Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bulletin 1 (1945) 80-83.
Holm S. A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6 (1979) 65-70.
Efron B, Tibshirani R. An Introduction to the Bootstrap. Chapman & Hall (1993), ch. 13.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and are not counted).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03]).round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out


def paired_wilcoxon(a: np.ndarray, b: np.ndarray, higher_is_better: bool) -> float:
    """One-sided p-value that ``a`` beats ``b`` (paired, NaN pairs dropped); NaN if no non-zero pair."""
    from scipy.stats import wilcoxon

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    if not higher_is_better:
        d = -d
    if np.count_nonzero(d) == 0:
        return math.nan
    return float(wilcoxon(d, alternative="greater", zero_method="wilcox").pvalue)


def versus_leader(
    values: Mapping[str, np.ndarray], leader: str, higher_is_better: bool
) -> dict[str, tuple[float, float]]:
    """{method: (raw p, Holm p)} for every method except the leader.

    ``values`` maps method -> per-scene values aligned on the same scene order (NaN = missing).
    """
    others = [m for m in values if m != leader]
    raw = [paired_wilcoxon(values[leader], values[m], higher_is_better) for m in others]
    adj = holm(raw)
    return {m: (r, float(a)) for m, r, a in zip(others, raw, adj, strict=True)}


def bootstrap_ci(
    x: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of the finite values of ``x`` (seeded, vectorised).

    Returns (NaN, NaN) for fewer than two values.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    lo, hi = np.percentile(means, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return float(lo), float(hi)
