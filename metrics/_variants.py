"""Register a metric's variant family in one call (private helper): ``id``, ``id@af``, ``id@bf``,
``id@avg``, ``id@sum`` and lineage variants ``id@<lineage>``.

Many fusion metrics are a per-source score ``q(S_i, F)`` combined over the sources; published tables
report the combined value (as a mean or a sum, depending on the paper) or the per-source values
``q(A, F)`` and ``q(B, F)``; other codebases (lineages: VIFB, Tang, CDDFuse, ...) compute the same idea
differently. Distinct things get distinct ids; :func:`register_family` registers all of them from one
base :class:`bench.types.MetricInfo` and one per-source function, so that the ids, the validation and the
combination rule are the same everywhere:

=============  ==================================  ========================================
suffix         value                               sources needed
=============  ==================================  ========================================
``""``         the base id, combined by ``combine``  >= 1
``"avg"``      mean over sources of ``q(S_i, F)``  >= 1
``"sum"``      sum over sources                    >= 1
``"af"``       ``q(S_1, F)`` (first source)        >= 1
``"bf"``       ``q(S_2, F)`` (second source)       >= 2
other          ``compute(sources, fused)``          ``min_n`` (default 1)
=============  ==================================  ========================================

Each variant's metadata is the base's with the fields given in ``variants[suffix]`` replaced (``name``,
``n_sources`` get defaults such as ``"SSIM(A,F)"`` / ``"any: uses the first source only"``). Every metric
function validates through :func:`metrics._checks.check_inputs` and returns a Python float.

Example (``metrics/vif.py``)::

    register_family(
        MetricInfo(id="vif", name="VIF", ...),
        vifp_mscale,
        combine="sum",
        variants={"af": dict(reference_id="VIF_sheikh_AF", ...), "bf": dict(reference_id="VIF_sheikh_BF")},
    )
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bench.registry import register_metric
from bench.types import MetricInfo
from metrics._checks import check_inputs

PerSource = Callable[[np.ndarray, np.ndarray], float]

_COMBINE = {"mean": lambda v: float(np.mean(v)), "sum": lambda v: float(sum(v))}
_DEFAULT_TEXT = {
    "af": ("{name}(A,F)", "any: uses the first source only"),
    "bf": ("{name}(B,F)", "any >= 2: uses the second source only"),
    "avg": ("{name} (mean over sources)", "any: mean over sources"),
    "sum": ("{name} (sum over sources)", "any: sum over sources"),
}


def _metric_fn(metric_id: str, per_source: PerSource, suffix: str, combine: str, spec: Mapping[str, Any]):
    """The registered callable of one variant (validation, then the variant's rule)."""
    compute = spec.get("compute")
    if suffix in ("", "avg", "sum"):
        rule = _COMBINE[combine if suffix == "" else ("mean" if suffix == "avg" else "sum")]
        min_n = spec.get("min_n", 1)

        def value(srcs, f):
            return rule([per_source(s, f) for s in srcs])
    elif suffix in ("af", "bf"):
        k = 0 if suffix == "af" else 1
        min_n = spec.get("min_n", k + 1)

        def value(srcs, f):
            return float(per_source(srcs[k], f))
    elif compute is not None:
        min_n = spec.get("min_n", 1)

        def value(srcs, f):
            return float(compute(srcs, f))
    else:
        raise ValueError(f"{metric_id}: a lineage variant needs compute=(sources, fused) -> float")

    def metric(sources: Sequence[np.ndarray], fused: np.ndarray, *, reference=None) -> float:
        srcs, f = check_inputs(sources, fused, min_n=min_n, metric=metric_id)
        return value(srcs, f)

    metric.__name__ = metric_id.replace("@", "_")
    family = metric_id.split("@")[0]
    metric.__doc__ = spec.get("doc") or f"{metric_id}: variant {suffix or 'base'} of {family}."
    return metric


def register_family(
    base: MetricInfo,
    per_source: PerSource,
    *,
    combine: str = "mean",
    variants: Mapping[str, Mapping[str, Any]] | None = None,
    register_base: bool = True,
) -> dict[str, Callable[..., float]]:
    """Register ``base.id`` and its variants ``base.id@<suffix>``; return ``{id: metric function}``.

    Parameters
    ----------
    base : MetricInfo
        Metadata of the combined metric (its id has no ``@``).
    per_source : callable
        ``q(source, fused) -> float`` on validated float64 2-D arrays.
    combine : {"mean", "sum"}
        How the base id combines the per-source values.
    variants : mapping
        ``suffix -> MetricInfo field overrides`` (plus optional ``compute``, ``min_n``, ``doc`` keys that
        are not metadata). Suffixes ``af``, ``bf``, ``avg``, ``sum`` follow the table in the module
        docstring; any other suffix is a lineage and needs ``compute``.
    register_base : bool
        Also register ``base.id`` itself (``False`` when the base is registered by hand).
    """
    if "@" in base.id:
        raise ValueError(f"the base id of a family has no '@': {base.id!r}")
    if combine not in _COMBINE:
        raise ValueError(f"combine must be one of {sorted(_COMBINE)}, got {combine!r}")
    specs: dict[str, Mapping[str, Any]] = {"": {}} if register_base else {}
    specs.update(variants or {})
    out = {}
    for suffix, spec in specs.items():
        metric_id = base.id if suffix == "" else f"{base.id}@{suffix}"
        fields = {k: v for k, v in spec.items() if k not in ("compute", "min_n", "doc")}
        if suffix in _DEFAULT_TEXT:
            name_t, n_text = _DEFAULT_TEXT[suffix]
            fields.setdefault("name", name_t.format(name=base.name))
            fields.setdefault("n_sources", n_text)
            fields.setdefault("cost", 1.0)  # derived from the base's memoised per-source values: cheap
        info = dataclasses.replace(base, id=metric_id, **fields)
        fn = _metric_fn(metric_id, per_source, suffix, combine, spec)
        register_metric(info)(fn)
        out[metric_id] = fn
    return out
