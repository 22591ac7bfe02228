"""Score one fused image with a list of metrics under a protocol; failures become NaN + message.

With ``jobs > 1`` the metrics run in a pool of threads (``bench score --jobs``): the heavy metric code
releases the GIL (NumPy, OpenCV, numba kernels compiled ``nogil``), so one image's metrics use every
core. Metrics are grouped by family (variants of one definition share memoised work and run one after
the other in one thread; the metrics of plugins form one group, so plugin code never runs in two threads
at once), the groups start costliest first (``MetricInfo.cost``), and the scores come back in the order
asked for. Values do not depend on ``jobs``: every metric is the same pure function of
the same read-only arrays, and the content-keyed memos hand every thread the same arrays.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.protocols import prepare
from bench.registry import get_metric

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Score:
    metric: str
    value: float
    status: str  # "ok" or "error"
    message: str = ""


def score_one(metric_id: str, sources, fused, reference=None, *, decision_map=None, focus_maps=None) -> Score:
    """Compute one metric on protocol-prepared arrays; never raises, never turns an error into 0.

    ``decision_map`` and ``focus_maps`` (float arrays in [0, 1], not protocol-prepared) go to metrics with
    ``MetricInfo.needs_decision_map`` only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _score(metric_id, sources, fused, reference, decision_map, focus_maps)


def _score(metric_id, sources, fused, reference, decision_map=None, focus_maps=None) -> Score:
    """:func:`score_one` without its warning filter (the caller installs it: thread pools do it once)."""
    metric = get_metric(metric_id)
    if metric.info.needs_reference and reference is None and not metric.info.needs_decision_map:
        return Score(metric_id, math.nan, "error", "needs a ground-truth reference and none was given")
    extra = {}
    if metric.info.needs_decision_map:
        if decision_map is None or focus_maps is None:
            return Score(metric_id, math.nan, "error", "needs a decision map and ground-truth focus maps")
        extra = {"decision_map": decision_map, "focus_maps": focus_maps}
    try:
        value = metric.call(sources, fused, reference, **extra)
    except Exception as exc:  # a failing metric is an error row, the run goes on
        from bench.errors import one_line

        return Score(metric_id, math.nan, "error", one_line(exc))
    return Score(metric_id, value, "ok", "" if math.isfinite(value) else "metric returned NaN")


#: Default threads for one image's metrics: at most this many ...
MAX_DEFAULT_JOBS = 4
#: ... and, for big images, about one per this many pixels: every running metric holds its own
#: temporaries (measured at 520x520: 835 MB peak in one thread, 910 MB in two), which scale with the
#: pixel count, so a 12-24 MP photo is scored one metric at a time unless ``--jobs`` says otherwise.
PIXELS_PER_DEFAULT_JOB = 4_000_000


def default_jobs(pixels: int = 0) -> int:
    """Threads for one image's metrics: the cores this process may run on, at most
    :data:`MAX_DEFAULT_JOBS`, and at most one per :data:`PIXELS_PER_DEFAULT_JOB` pixels of the image.

    >>> default_jobs(24_000_000)
    1
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    by_size = max(1, PIXELS_PER_DEFAULT_JOB // max(int(pixels), 1)) if pixels else MAX_DEFAULT_JOBS
    return max(1, min(cores, MAX_DEFAULT_JOBS, by_size))


def score_images(
    sources: Sequence[np.ndarray],
    fused: np.ndarray,
    metric_ids: Sequence[str],
    *,
    protocol: str = "standard",
    reference: np.ndarray | None = None,
    jobs: int = 1,
) -> list[Score]:
    """Score ``fused`` (float32 [0, 1]) against ``sources`` with every metric in ``metric_ids``.

    ``jobs`` threads share the work (see the module docstring); the result is in ``metric_ids`` order and
    the same for any ``jobs``.
    """
    prepped = prepare([*sources, fused] + ([reference] if reference is not None else []), protocol)
    src = prepped[: len(sources)]
    fus = prepped[len(sources)]
    ref = prepped[len(sources) + 1] if reference is not None else None
    return score_prepared(src, fus, ref, metric_ids, jobs=jobs)


def score_prepared(src, fus, ref, metric_ids: Sequence[str], *, jobs: int = 1) -> list[Score]:
    """:func:`score_images` on protocol-prepared (read-only float64) arrays."""
    groups = _groups(metric_ids)
    jobs = min(int(jobs), len(groups))
    with warnings.catch_warnings():  # once for all threads (catch_warnings is not thread-safe)
        warnings.simplefilter("ignore", RuntimeWarning)
        if jobs <= 1:
            return [_score(m, src, fus, ref) for m in metric_ids]
        return _score_threads(groups, metric_ids, src, fus, ref, jobs)


def builtin_metric(metric_id: str) -> bool:
    """True for the project's own metrics (their function lives under ``metrics.``), False for a plugin's."""
    return getattr(get_metric(metric_id).fn, "__module__", "").startswith("metrics.")


def _groups(metric_ids: Sequence[str]) -> list[list[str]]:
    """``metric_ids`` grouped by family (first-seen order inside a group), costliest group first."""
    from metrics.suites import metric_family

    by_family: dict[str, list[str]] = {}
    for m in dict.fromkeys(metric_ids):
        builtin = builtin_metric(m)
        # a plugin's metrics run one after the other in one thread: their module state is not ours to know
        by_family.setdefault(metric_family(m) if builtin else "\0plugins", []).append(m)
    groups = list(by_family.values())
    groups.sort(key=lambda g: -sum(get_metric(m).info.cost for m in g))  # stable: ties keep their order
    return groups


def _score_threads(groups, metric_ids, src, fus, ref, jobs: int) -> list[Score]:
    """Score the groups in ``jobs`` threads, each taking the next group when it is free."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    pending = list(reversed(groups))  # pop() takes the costliest first
    lock = threading.Lock()
    done: dict[str, Score] = {}

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                group = pending.pop()
            for m in group:
                done[m] = _score(m, src, fus, ref)

    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="score") as pool:
        for fut in [pool.submit(worker) for _ in range(jobs)]:
            fut.result()
    return [done[m] for m in metric_ids]
