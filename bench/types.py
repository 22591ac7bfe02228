"""Frozen metadata dataclasses shared by every registry entry, and the fusion result type.

Behaviour (ranking direction, GPU scheduling, cache keys, test skips) reads these fields; generic
code never branches on an entry's id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is not needed to read metadata (keeps `bench list` fast)
    import numpy as np

FAMILIES = ("classical", "learned", "external")
EXTEND_RULES = ("native", "serial")


@dataclass(frozen=True)
class ParamSpec:
    """Declared type and range of one method parameter (checked by :func:`bench.params.validate_params`).

    ``type`` is ``"int"``, ``"float"``, ``"bool"``, ``"str"``, ``"path"`` or ``"tuple"`` (of numbers);
    ``min``/``max`` bound numbers (inclusive, ``None`` for open); ``choices`` lists the allowed strings.
    """

    name: str
    type: str
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    doc: str = ""


@dataclass(frozen=True)
class MethodInfo:
    """Metadata of a fusion method.

    Attributes
    ----------
    id : str
        Registry id typed by users (``lp``, ``sesf``).
    name : str
        Display name used in tables.
    family : str
        ``"classical"``, ``"learned"``, or ``"external"`` (fused images read from files: no fusion
        time, marked external in tables; see :mod:`bench.entries`).
    paper : str
        Citation with DOI.
    source : str
        Where the reference code lives (repo, path, commit) or ``"paper"`` for re-implementations.
    license : str
        Licence of the ported source.
    max_images : int or None
        ``None`` when any number N >= 2 of sources is handled; 2 for pair-only methods.
    n_image_rule : str
        How N > 2 sources are handled, in words, shown in docs.
    extend : str
        How the registry extends the registered function to N > 2 sources: ``"native"`` (the function
        takes any N it accepts) or ``"serial"`` (the function fuses exactly two images; the registry
        folds ``F = fuse([F, I_k])`` for k = 3..N, and the N-image result has no decision map).
    needs_gpu : bool
        True only if the method cannot run on CPU at all.
    device_aware : bool
        True when ``fuse`` takes a ``device`` keyword (torch methods); the runner passes it.
    deterministic : bool
        Same inputs give the same bytes.
    version : str
        Bump when outputs change; part of every cache key.
    weights_url, weights_sha256 : str
        Official weights, downloaded to the cache and verified; empty for classical methods.
    notes : str
        Choices made where the paper is silent, approximations, reproduction switches.
    params : tuple of (name, value)
        Default parameters; the caller's parameters override them (:meth:`bench.entries.Method.params`).
    scene_aware : bool
        True when ``fuse`` takes ``dataset=`` and ``scene=`` keywords (external result sets read the
        fused image of that scene from a file); the runner passes them.
    param_specs : tuple of ParamSpec
        Optional declared type/range per parameter; parameters without one are checked against the
        type of their default (``bench.params``).
    lossless : bool
        False when fusing identical sources need not return them (a truncated transform, e.g. ``ica``'s
        60 bases for 63 patch directions); the contract tests then ask 99 % of values within one grey
        level instead of all.
    """

    id: str
    name: str
    family: str = "classical"
    paper: str = ""
    source: str = ""
    license: str = ""
    max_images: int | None = None
    n_image_rule: str = "native"
    extend: str = "native"
    needs_gpu: bool = False
    device_aware: bool = False
    deterministic: bool = True
    version: str = "1"
    weights_url: str = ""
    weights_sha256: str = ""
    notes: str = ""
    params: tuple[tuple[str, object], ...] = ()
    scene_aware: bool = False
    param_specs: tuple[ParamSpec, ...] = ()
    lossless: bool = True

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"MethodInfo.family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.extend not in EXTEND_RULES:
            rules = ", ".join(EXTEND_RULES)
            raise ValueError(f"MethodInfo.extend must be one of {rules}, got {self.extend!r}")


@dataclass(frozen=True)
class MetricInfo:
    """Metadata of a fusion quality metric.

    Attributes
    ----------
    id : str
        Short user-facing id (``qg``, ``psnr@vifb``).
    name : str
        Display name.
    higher_is_better : bool
        Ranking direction.
    needs_reference : bool
        True for ground-truth metrics (``ssim_gt``): they take ``reference=``.
    range : tuple
        (low, high); ``None`` for an open end.
    reference_id : str
        Key in ``shared/reference/metrics_reference.json`` this metric must match ("" if none).
    reference_impl : str
        Reference implementation: repo, path and commit.
    n_sources : str
        How N > 2 sources are handled, or "2" if the definition does not generalise.
    max_sources : int or None
        Largest number of sources the definition covers (``None``: any). The runner gives no row for
        scenes with more sources, as for ground-truth metrics on scenes without a reference.
    version : str
        Bump when values change; part of every score cache key.
    notes : str
        Conventions, NaN cases, differences from other variants.
    ideal : float or None
        Value the metric takes when every source and the fused image are the same (non-constant)
        image, where one is defined (``inf`` allowed, e.g. PSNR); ``None`` means "no ideal defined".
        Read by the registry-wide property tests.
    needs_decision_map : bool
        True for metrics of a method's decision map against the scene's ground-truth focus maps
        (``metrics/dm_quality.py``): they take ``decision_map=`` and ``focus_maps=`` and the runner gives
        them rows only where both exist.
    family : str
        Metric family for rank aggregates (a definition computed under several ids counts once);
        "" means the default of ``metrics.suites.metric_family``.
    cost : float
        Rough CPU cost of one call on a 520x520 pair, in units of the 5x5 uniform-filter pass
        (``benchmarks/metrics_speed.py``). It only orders parallel scoring (``bench score --jobs``: the
        costliest families start first); no effect on any value.
    """

    id: str
    name: str
    higher_is_better: bool = True
    needs_reference: bool = False
    range: tuple = (None, None)
    reference_id: str = ""
    reference_impl: str = ""
    n_sources: str = "any"
    max_sources: int | None = None
    version: str = "1"
    notes: str = ""
    ideal: float | None = None
    needs_decision_map: bool = False
    family: str = ""
    cost: float = 1.0


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a dataset (from its declaration file, or built into code)."""

    id: str
    name: str
    n_scenes: int
    roles: tuple[str, ...] = ("A", "B")
    has_ground_truth: bool = False
    citation: str = ""
    license: str = ""
    url: str = ""
    training_only: bool = False
    embedded: bool = False
    notes: str = ""


@dataclass
class FusionResult:
    """What every ``fuse`` returns.

    ``image`` is float32 in [0, 1] with the sources' shape (HxW or HxWx3).

    ``decision_map`` (one convention for every method) is float32 in [0, 1], HxW, or None when the
    method has none. Its value is the **index of the selected source divided by N - 1**: 0 where
    the first source (A) is chosen, 1 where the last source is chosen. A soft map is the expected
    index / (N - 1); for a pair that is ``1 - weight of A``. The registry-wide contract test
    (``tests/test_decision_map_contract.py``) checks it on the synthetic scenes, whose ground-truth
    focus maps are known.
    """

    image: np.ndarray
    decision_map: np.ndarray | None = None
    extras: dict = field(default_factory=dict)
