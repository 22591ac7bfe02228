"""The two task functions of a run; they execute in worker processes and are pure: inputs in, results out.

Both go through the registry entries' call contract (:class:`bench.entries.Method.call`,
:func:`bench.scoring.score_one`), exactly like ``bench fuse`` and ``bench score``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.executor import one_line

_WARM: set[tuple[str, str]] = set()  # (method id, device) pairs warmed up in this process

#: Side of the centre crop a method is first warmed up on (see :func:`warm_up`).
WARM_CROP = 128
#: A full-size warm-up call is made as well when its estimated CPU cost is at most this (seconds) ...
WARM_FULL_MAX_S = 0.25
#: ... or, for methods that are not device-aware (the classical ones), at most this.
WARM_FULL_MAX_CLASSICAL_S = 5.0
#: How fusions are warmed up, as ``run.json`` records it (``executor.warmup``).
WARMUP_POLICY = (
    f"per worker and method: 2 untimed calls on a {WARM_CROP}px centre crop, then 1 untimed full-size call "
    f"when estimated <= {WARM_FULL_MAX_S} s CPU (classical methods: <= {WARM_FULL_MAX_CLASSICAL_S} s; "
    "always on GPU, for scene-aware methods and small images)"
)


@dataclass
class FuseOutcome:
    image: np.ndarray | None  # uint8
    dmap: np.ndarray | None  # uint8
    time_median: float
    time_iqr: float
    repeats: int
    n_threads: int
    status: str
    message: str = ""


def _as_u8(img: np.ndarray) -> np.ndarray:
    from bench.imageio import to_uint8

    return to_uint8(img)


def fuse_worker(
    method_id: str,
    params: dict,
    device: str,
    load_sources: Callable,
    repeats: int,
    dataset: str = "",
    scene: str = "",
) -> FuseOutcome:
    """Load the sources, warm the method up once per process, time ``repeats`` calls of ``Method.call``.

    Timing uses :func:`bench.device.time_call` (median and IQR, CUDA synchronised inside the timed
    region); the first time a process meets (method, device) it is warmed up first (:func:`warm_up`:
    untimed calls on a crop, plus one on the full images when that is cheap). The contract's output
    checks run after the timed calls.
    """
    from bench.device import time_call
    from bench.registry import get_method

    try:
        images = load_sources()
        method = get_method(method_id)
        dev = device if method.info.device_aware else "cpu"
        box: list = []

        def call():
            box[:] = [method.call(images, params, device=device, dataset=dataset, scene=scene, check=False)]

        warm = 0
        if (method_id, device) not in _WARM:
            _WARM.add((method_id, device))
            warm = 0 if warm_up(method, images, params, dev, dataset, scene) else 1
        stats = time_call(call, device=dev, repeats=repeats, warmup=warm)
        res = method.check_result(box[0], images)
        dm = None
        if res.decision_map is not None:
            dm = _as_u8(np.asarray(res.decision_map, dtype=np.float64))
        return FuseOutcome(_as_u8(res.image), dm, stats.median, stats.iqr, stats.n, stats.threads, "ok")
    except Exception as exc:  # an error row; the run goes on
        return FuseOutcome(None, None, math.nan, math.nan, 0, 0, "error", one_line(exc))


def warm_up(
    method, images: Sequence, params: dict, device: str = "cpu", dataset: str = "", scene: str = ""
) -> bool:
    """Warm ``method`` up in this process without paying a full untimed call where that is expensive.

    Returns True when the method is warm; False asks the caller for the classic warm-up, one untimed
    call on the full images (before the timed ones). What is done:

    1. two untimed calls on the centre ``WARM_CROP`` x ``WARM_CROP`` crop of the sources: the first
       pays the one-off costs (imports, weights, compiled kernels, thread pools), the second is timed
       on the process clock;
    2. from it, the cost of a full call is estimated (crop CPU x full area / crop area); when that is
       at most ``WARM_FULL_MAX_S``, or the method is not device-aware (classical) and the estimate is at
       most ``WARM_FULL_MAX_CLASSICAL_S``, the full warm-up call is made as well (returns False): those
       are timed exactly as before, at little cost. Classical methods keep per-shape set-up in Python
       caches (nsct's filter spectra per image size: its first call after a crop warm-up measured
       +61 %; dsift, quadtree, misf +17-29 %), which only a full-size call absorbs;
    3. otherwise (the deep methods, and the very slow classical ports such as sr and nsct_sr, whose full
       warm-up would cost minutes per worker) the crop calls are the whole warm-up.

    Why: a full warm-up call per method and worker process was ~10 % of the fusion CPU of a full run
    (issue 15); a simulated worker (the 16 methods of issue 15 on 4 lytro scenes in run order) spent
    29.8-30.2 s CPU instead of 34.7-35.6 s. The price is on the first timed call of an expensive method
    in a process, which still pays what only a full-size call does (the first touch of its memory,
    shape-specific kernel set-up): CPU of that call over the median of the method's later scenes, in
    that simulated worker, +0 to +6 % (median +3 %; msrsf 1.06, fmm 1.04, gacn 1.02, sff 1.00, sesf
    1.02-1.05) against -10 to +14 % after a full warm-up (single calls on a shared machine: the noise
    is of that size); in a fresh process whose first task it is, +5 to +20 % (ovh5 note). It is one
    scene per worker and method (2 of 20 on lytro with ``--jobs 2``), and the median over
    ``--repeats 3`` or more is not affected. The full warm-up is kept where the crop cannot stand for
    the images: images not larger than twice the crop, a GPU (cuDNN picks its algorithms per shape),
    scene-aware methods (a per-scene cache must not see a crop), and any method that fails on
    the crop.
    """
    h, w = np.shape(images[0])[:2]
    s = WARM_CROP
    if device != "cpu" or method.info.scene_aware or h < 2 * s or w < 2 * s:
        return False
    y, x = (h - s) // 2, (w - s) // 2
    crop = [np.ascontiguousarray(np.asarray(im)[y : y + s, x : x + s]) for im in images]
    try:
        method.call(crop, params, device=device, dataset=dataset, scene=scene, check=False)
        t0 = time.process_time()
        method.call(crop, params, device=device, dataset=dataset, scene=scene, check=False)
        crop_cpu = time.process_time() - t0
    except Exception:  # a minimum size, a shape it refuses: the classic warm-up decides
        return False
    full_cpu = crop_cpu * (h * w) / (s * s)
    limit = WARM_FULL_MAX_S if method.info.device_aware else WARM_FULL_MAX_CLASSICAL_S
    return full_cpu > max(limit, WARM_FULL_MAX_S)


def score_worker(
    load_sources: Callable,
    load_reference: Callable | None,
    fused: np.ndarray | str,
    metric_ids: Sequence[str],
    protocol: str,
    load_dm_inputs: Callable | None = None,
    shared: dict | None = None,
) -> list:
    """Score one fused image (uint8 array, or the path of its cached PNG) with ``metric_ids``.

    Returns ``[(Score, seconds)]``: each metric call is timed (protocol preparation excluded).
    Failures become error Scores (NaN and the message), never 0. ``shared``: a dict that the calls for
    the fused images of one scene pass along (:func:`score_bundle`), so the sources (and
    reference) are read and protocol-prepared once per scene instead of once per fused image
    (:func:`scene_inputs`); the metrics then also get the same read-only source objects every time,
    whose content keys their memos hash once (``metrics._memo.array_key``). Values are the same either
    way: preparation is per image and deterministic.
    """
    from bench.imageio import to_float
    from bench.protocols import prepare
    from bench.rundir import read_png_u8
    from bench.scoring import Score, score_one

    try:
        fused_u8 = read_png_u8(Path(fused)) if isinstance(fused, str) else fused
        src, ref = scene_inputs(load_sources, load_reference, protocol, shared)
        (fus,) = prepare([to_float(fused_u8)], protocol)
    except Exception as exc:
        return [(Score(m, math.nan, "error", one_line(exc)), math.nan) for m in metric_ids]
    # decision-map metrics get the method's decision map and the GT focus maps (not protocol-prepared)
    dm = fm = None
    if load_dm_inputs is not None:
        try:
            dm, fm = load_dm_inputs()
        except Exception:  # the metrics then give error rows with their own message
            dm = fm = None
    _metrics_ready(metric_ids)
    out = []
    for m in metric_ids:
        t0 = time.perf_counter()
        s = score_one(m, src, fus, ref, decision_map=dm, focus_maps=fm)
        out.append((s, time.perf_counter() - t0))
    return out


def _metrics_ready(metric_ids: Sequence[str]) -> None:
    """Load numba (metrics' compiled kernels) before the first timed call, when a built-in metric is
    asked for: its one-off set-up (0.4-0.7 s per process) would otherwise be booked to whichever metric
    runs first in this worker (``metrics._jit.ready``)."""
    from bench.scoring import builtin_metric

    try:
        if any(builtin_metric(m) for m in metric_ids):
            from metrics._jit import ready

            ready()
    except Exception:  # an unknown id or a failing import: the metric's own call reports it
        pass


def score_bundle(calls: tuple[tuple, ...]) -> list:
    """:func:`score_worker` for each fused image of one score task, in order (in one worker); the calls
    share one ``shared`` dict, so a scene's sources are read and prepared once per task."""
    shared: dict = {}
    return [score_worker(*args, shared=shared) for args in calls]


#: Fused images up to this size go to their score task as pixels, larger ones as the cached PNG's path.
FUSED_INLINE_MAX_BYTES = 4 * 2**20


def fused_input(outcome: FuseOutcome | None, path: Path, remote: bool = False):
    """What a score task gets as the fused image: the uint8 array this run just fused and stored (the very
    array whose sha256 the cache entry holds; the PNG is lossless, so decoding the file again would give
    the same pixels at ~7 ms per 520x520 read), else the cached PNG's path (the entry was verified when
    it was looked up), read in the worker; a remote Dask worker may not see our cache folder, so it
    always gets the pixels. Arrays over ``FUSED_INLINE_MAX_BYTES`` (4 MB, ~1.4 MP colour) go as paths
    too: a score task holds up to 32 fused images, and big photos would make it gigabytes to transfer."""
    from bench.rundir import read_png_u8

    fresh = outcome is not None and outcome.status == "ok" and outcome.image is not None
    if fresh and (remote or outcome.image.nbytes <= FUSED_INLINE_MAX_BYTES):
        img = outcome.image
        return img[:, :, 0] if img.ndim == 3 and img.shape[2] == 1 else img  # as the PNG decodes it
    return read_png_u8(path) if remote else str(path)


def scene_inputs(
    load_sources: Callable, load_reference: Callable | None, protocol: str, shared: dict | None = None
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """(protocol-prepared sources, prepared reference or None) of a scene, kept in ``shared`` (when given)
    under the identity of the two loaders and the protocol: the score calls of one task carry the same
    loader objects for the same scene. A failure is raised and not kept (the next call tries again)."""
    from bench.protocols import prepare

    key = (id(load_sources), id(load_reference), protocol)
    hit = shared.get(key) if shared is not None else None
    if hit is not None and hit[0] is load_sources and hit[1] is load_reference:
        return hit[2], hit[3]
    sources = list(load_sources())
    reference = load_reference() if load_reference is not None else None
    src = prepare(sources, protocol)
    ref = prepare([reference], protocol)[0] if reference is not None else None
    if shared is not None:  # the loaders are kept too, so their ids cannot be reused while the entry lives
        shared[key] = (load_sources, load_reference, src, ref)
    return src, ref


def has_focus_maps(scene) -> bool:
    """Whether the scene has ground-truth focus maps (decision-map metrics need them)."""
    try:
        return scene.load_focus_maps() is not None
    except Exception:
        return False


def dm_inputs(dm_path: str, load_focus_maps: Callable) -> tuple:
    """(decision map in [0, 1], GT focus maps) for the decision-map metrics."""
    from bench.rundir import read_png_u8

    return read_png_u8(Path(dm_path)).astype(np.float64) / 255.0, load_focus_maps()
