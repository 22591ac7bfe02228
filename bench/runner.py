"""The benchmark runner: plan and execute fusion jobs per (method x scene), then scoring jobs per fused image.

:func:`run` is the core used by ``python -m bench run`` and ``python -m bench paper``. It

1. takes a :class:`bench.runconfig.RunConfig` (names already resolved; unknown ones were user errors);
2. looks every fusion up in the :class:`bench.cache.ResultCache`; missing ones run in parallel
   (:class:`bench.executor.Executor`: joblib loky, or Dask), CPU methods with ``jobs`` workers, methods
   placed on a CUDA device one at a time in the main process (one worker per device);
3. looks every score up; missing ones are computed in parallel, the fused images of one scene in one
   task per metric group (scene affinity: the sources' memoised work is built once per scene);
4. writes the run folder (:class:`bench.rundir.RunFolder`: ``results.csv``, ``artifacts.csv``,
   ``run.json``), all atomically, at the end.

Whether an entry applies to a scene and how it is called is decided by the entries themselves
(:class:`bench.entries.Method`, :class:`bench.entries.Metric`). Workers only compute and return
(:mod:`bench.workers`); the main process alone writes the cache, so a run can be killed at any time
and the next call resumes from what was committed. Rows are assembled from the cache and the fresh
results in a fixed order, so there are no lost or duplicated rows. Row conventions: :mod:`bench.rundir`.
"""

from __future__ import annotations

import functools
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench import provenance
from bench.cache import FusedEntry, ResultCache, fused_key, score_key
from bench.errors import UserError, is_environmental_message
from bench.executor import Executor, LazyTasks, is_worker_crash, one_line
from bench.integrity import sha256_file
from bench.progress import progress_bar
from bench.protocols import PROTOCOLS
from bench.registry import add_plugins, get_method, get_metric
from bench.runconfig import (
    MethodSpec,
    RunConfig,
    default_cache_dir,
    default_out_dir,
    resolve_datasets,
    resolve_methods,
    resolve_metrics,
    resolve_run_device,
    select_scenes,
)
from bench.rundir import RESULT_COLUMNS, TIME_IQR_METRIC, TIME_METRIC, RunFolder, read_results, write_results
from bench.runmeta import artifact_rows, compute_profile, run_metadata
from bench.workers import (
    WARMUP_POLICY,
    FuseOutcome,
    dm_inputs,
    fuse_worker,
    fused_input,
    has_focus_maps,
    score_bundle,
)

__all__ = [
    "RESULT_COLUMNS", "TIME_IQR_METRIC", "TIME_METRIC", "MethodSpec", "RunConfig", "RunSummary",
    "default_cache_dir", "metric_groups", "read_results", "resolve_datasets", "resolve_methods",
    "resolve_metrics", "run", "scene_bundles", "write_results",
]

METRICS_PER_TASK = 38  # about half of all metrics: two score tasks per fused image
SCENE_TASK_IMAGES = 32  # at most this many fused images of one scene in a score task (scene affinity)


@dataclass
class RunSummary:
    out: Path
    results: Any  # pandas.DataFrame
    counts: dict = field(default_factory=dict)


@dataclass
class _FuseJob:
    dataset: str
    scene: Any
    spec: MethodSpec
    device: str
    key: str
    entry: FusedEntry | None = None
    outcome: FuseOutcome | None = None
    status: str = "pending"  # ok | error | skipped
    message: str = ""
    cached_error: bool = False


def run(cfg: RunConfig) -> RunSummary:
    """Execute a run (see module docstring) and return its results table and output folder."""
    if cfg.protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {cfg.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if cfg.repeats < 1:
        raise UserError(f"--repeats must be >= 1, got {cfg.repeats}")
    if not cfg.methods and not cfg.externals:  # byo: a run may score external images only
        raise UserError("no methods selected")
    names = [m.name for m in cfg.methods]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"two method columns are named {', '.join(dup)}; give stored results another LABEL")
    add_plugins(cfg.plugins)  # a plugin that fails to import is a user error, before any work
    started = provenance.now()
    t_start = time.perf_counter()
    device = resolve_run_device(cfg.device, cfg.methods)
    out = Path(cfg.out) if cfg.out else default_out_dir(cfg.datasets, device)
    out.mkdir(parents=True, exist_ok=True)
    from bench.runlock import run_lock

    with run_lock(out):  # robust: one run at a time per --out
        return _run_locked(cfg, device, out, started, t_start)


def _run_locked(cfg: RunConfig, device: str, out: Path, started: str, t_start: float) -> RunSummary:
    cache = ResultCache(cfg.cache_dir or default_cache_dir())
    metrics = [get_metric(m) for m in cfg.metrics]
    try:
        jobs = _plan_fusions(cfg, device, cache)
        counts = {
            "fuse_computed": 0,
            "fuse_cached": 0,
            "fuse_errors": 0,
            "score_computed": 0,
            "score_cached": 0,
            "score_errors": 0,
        }
        with Executor(cfg.backend, cfg.jobs, cfg.scheduler, cfg.plugins) as ex:
            ex.info["warmup"] = WARMUP_POLICY  # how the fusion times were taken (bench/README.md)
            todo = [j for j in jobs if j.status == "pending"]
            counts["fuse_cached"] = sum(1 for j in jobs if j.entry is not None or j.cached_error)
            score_plan = _plan_scores(jobs, metrics, cfg.protocol, cache, cfg.retry_errors)
            with progress_bar(len(todo) + len(score_plan[1]), cfg.progress) as bar:
                _run_fusions(todo, ex, cfg, cache, counts, bar)
                score_plan = _plan_scores(jobs, metrics, cfg.protocol, cache, cfg.retry_errors)
                bar.total = len(todo) + len(score_plan[1])
                bar.refresh()
                scores = _run_scores(score_plan, jobs, ex, cfg, cache, counts, bar)
            executor_info = ex.info
        df = _assemble(jobs, metrics, scores, cfg.protocol)
        profile = compute_profile(jobs, scores)
    finally:
        cache.close()
    counts["fuse_errors"] = sum(1 for j in jobs if j.status == "error")
    counts["fuse_errors_cached"] = sum(1 for j in jobs if j.cached_error)
    counts["computed"] = counts["fuse_computed"] + counts["score_computed"]
    counts["cached"] = counts["fuse_cached"] + counts["score_cached"]
    folder = RunFolder(out)
    folder.write_results(df)
    folder.write_artifacts(artifact_rows(jobs))
    meta = run_metadata(cfg, device, started, time.perf_counter() - t_start, counts, jobs, executor_info)
    meta["compute_seconds"] = profile
    folder.write_meta(meta)
    from bench.summary import format_summary

    print(format_summary(df, counts), file=sys.stderr)  # end-of-run summary (issue 14)
    return RunSummary(out, df, counts)


def _plan_fusions(cfg: RunConfig, device: str, cache: ResultCache) -> list[_FuseJob]:
    jobs: list[_FuseJob] = []
    for ds in cfg.datasets:
        for scene in select_scenes(ds, cfg):
            for spec in cfg.methods:
                method = get_method(spec.id)
                info = method.info
                dev = device if info.device_aware else "cpu"
                params = method.params(spec.params)
                weights_sha = info.weights_sha256
                if params.get("weights"):  # a user checkpoint: key on its content, not its path
                    wpath = Path(str(params["weights"])).expanduser()
                    if not wpath.is_file():
                        raise UserError(f"{wpath}: weights file for method {spec.id!r} not found")
                    weights_sha = sha256_file(wpath)
                    params = {k: v for k, v in params.items() if k != "weights"}
                key = fused_key(spec.id, info.version, weights_sha, params, dev, scene.sha256)
                job = _FuseJob(ds, scene, spec, dev, key)
                reason = method.skip_reason(len(scene.sha256), dev)
                if reason is not None:
                    job.status, job.message = "skipped", reason
                else:
                    entry = cache.get_fused(key)
                    if entry is not None and entry.status != "ok" and not cfg.retry_errors:
                        job.status, job.cached_error = "error", True
                        job.message = entry.message
                    elif entry is not None and entry.status == "ok" and entry.repeats >= cfg.repeats:
                        job.entry, job.status = entry, "ok"
                jobs.append(job)
            for ext in cfg.externals:  # byo: external fused images (bench/external.py)
                job = _external_job(ds, scene, ext, cache, cfg.results_dir)
                if job is not None:
                    jobs.append(job)
    return jobs


def _external_job(ds: str, scene, ext, cache: ResultCache, results_dir: str | None) -> _FuseJob | None:
    """byo: an external image as a finished fusion job (cached like ours; a problem is an error row)."""
    from bench import external

    if not external.covers(ext, ds):
        return None
    job = _FuseJob(ds, scene, MethodSpec("external", (), ext.label), "cpu", "")
    try:
        got = external.load_fused(ext, ds, scene, results_dir)
    except external.ExternalImageError as exc:
        job.status, job.message = "error", str(exc)
        return job
    job.key = external.fused_key(ext, got.file_sha256, scene)
    entry = cache.get_fused(job.key)
    if entry is None or entry.status != "ok":
        entry = cache.put_fused(
            job.key, got.image_u8, None, time_median=math.nan, time_iqr=math.nan, repeats=0, n_threads=0,
            device="cpu", method=f"external:{ext.label}", created=provenance.now(),
        )  # fmt: skip
    import dataclasses

    job.entry = dataclasses.replace(entry, time_median=got.time_s)  # the user's time, never cached
    job.status, job.message = "ok", f"external: {got.path}"
    return job


def _run_fusions(
    todo: list[_FuseJob], ex: Executor, cfg: RunConfig, cache: ResultCache, counts: dict, bar
) -> None:
    def task(j: _FuseJob):
        return (
            fuse_worker,
            (j.spec.id, dict(j.spec.params), j.device, j.scene.load_sources, cfg.repeats, j.dataset,
             j.scene.id),
        )

    gpu = [j for j in todo if j.device != "cpu"]
    cpu = [j for j in todo if j.device == "cpu"]
    for group, in_process in ((cpu, False), (gpu, True)):
        done: set[int] = set()
        try:
            for i, res in ex.map([task(j) for j in group], in_process=in_process):
                _store_fusion(group[i], res, cache)
                counts["fuse_computed"] += 1
                done.add(i)
                bar.update(1)
        except Exception as exc:
            if not is_worker_crash(exc):
                raise
            for i, j in enumerate(group):
                if i not in done:
                    j.status, j.message = "error", f"worker crashed: {one_line(exc)}"
                    bar.update(1)


def _store_fusion(job: _FuseJob, res: FuseOutcome, cache: ResultCache) -> None:
    job.outcome = res
    if res.status != "ok":
        job.status, job.message = "error", res.message
        if not is_environmental_message(res.message):  # never cached
            cache.put_fused_error(
                job.key, res.message, device=job.device, method=job.spec.id, created=provenance.now()
            )
        return
    job.entry = cache.put_fused(
        job.key,
        res.image,
        res.dmap,
        time_median=res.time_median,
        time_iqr=res.time_iqr,
        repeats=res.repeats,
        n_threads=res.n_threads,
        device=job.device,
        method=job.spec.id,
        created=provenance.now(),
    )
    job.status = "ok"


def _plan_scores(jobs: list[_FuseJob], metrics: list, protocol: str, cache: ResultCache, retry_errors: bool):
    """Return ({(job idx, metric id): score key}, [(job idx, [metric ids]) still to compute])."""
    keys: dict[tuple[int, str], str] = {}
    for i, j in enumerate(jobs):
        if j.entry is None:
            continue
        has_dm = None  # headline hook (issue 12): decision-map metrics only with a map and GT focus maps
        for m in metrics:
            if m.info.needs_decision_map:
                if has_dm is None:
                    has_dm = j.entry.dm_path is not None and has_focus_maps(j.scene)
                if not has_dm:
                    continue
                keys[(i, m.info.id)] = score_key(
                    m.info.id, m.info.version, protocol, f"{j.entry.sha256}/dm:{j.entry.key}",
                    j.scene.reference_sha256,
                )
                continue
            if m.skip_reason(len(j.scene.roles), bool(j.scene.reference_sha256)) is not None:
                continue
            ref = j.scene.reference_sha256 if m.info.needs_reference else ""
            keys[(i, m.info.id)] = score_key(m.info.id, m.info.version, protocol, j.entry.sha256, ref)
    hits = cache.get_scores(keys.values())
    if retry_errors:
        hits = {k: v for k, v in hits.items() if v[1] == "ok"}
    missing: dict[int, list[str]] = {}
    for (i, mid), k in keys.items():
        if k not in hits:
            missing.setdefault(i, []).append(mid)
    # one task per fused image and group of metrics: several tasks per image keep both workers busy on
    # small runs and commit progress often; variants of one metric (``ifc``, ``ifc@af``, ...) stay in one
    # task, as they share memoised work inside a worker process
    tasks = [(i, group) for i, mids in sorted(missing.items()) for group in metric_groups(mids)]
    return keys, tasks, hits


def metric_groups(metric_ids: Sequence[str], size: int = METRICS_PER_TASK) -> list[list[str]]:
    """Split metric ids into groups of about ``size`` that never separate a family (the id before ``@``)."""
    family = lambda m: m.split("@", 1)[0]  # noqa: E731
    order = sorted(range(len(metric_ids)), key=lambda k: (family(metric_ids[k]), k))
    groups: list[list[str]] = []
    current: list[str] = []
    for k in order:
        m = metric_ids[k]
        if current and len(current) >= size and family(current[-1]) != family(m):
            groups.append(current)
            current = []
        current.append(m)
    if current:
        if groups and len(current) < size // 2:
            groups[-1].extend(current)  # no small trailing task
        else:
            groups.append(current)
    return groups


def _run_scores(
    plan, jobs: list[_FuseJob], ex: Executor, cfg: RunConfig, cache: ResultCache, counts: dict, bar
) -> dict:
    keys, missing, hits = plan
    scores: dict[tuple[int, str], tuple[float, str, str, float]] = {}
    for (i, mid), k in keys.items():
        if k in hits:
            scores[(i, mid)] = hits[k]
    counts["score_cached"] = len(scores)
    remote = ex.backend == "dask" and bool(cfg.scheduler)  # workers may not see our cache folder

    def call(i: int, mids: list[str]) -> tuple:
        j = jobs[i]
        needs_ref = any(get_metric(m).info.needs_reference for m in mids)
        fused = fused_input(j.outcome, j.entry.path, remote)
        dm_in = None  # headline hook (issue 12): inputs of the decision-map metrics
        if any(get_metric(m).info.needs_decision_map for m in mids):
            dm_in = functools.partial(dm_inputs, str(j.entry.dm_path), j.scene.load_focus_maps)
        load_ref = j.scene.load_reference if needs_ref else None
        return (j.scene.load_sources, load_ref, fused, mids, cfg.protocol, dm_in)

    def task(*items: tuple[int, list[str]]):
        return score_bundle, (tuple(call(i, mids) for i, mids in items),)

    bundles = scene_bundles(missing, lambda i: (jobs[i].dataset, jobs[i].scene.id), ex.jobs)
    done: set[int] = set()
    try:
        for t, results in ex.map(LazyTasks(bundles, task)):
            rows = []
            for (i, _), res in zip(bundles[t], results, strict=True):
                for s, sec in res:
                    scores[(i, s.metric)] = (s.value, s.status, s.message, sec)
                    if not is_environmental_message(s.message):  # never cached
                        rows.append((keys[(i, s.metric)], s.metric, s.value, s.status, s.message, sec))
                    counts["score_computed"] += 1
                    counts["score_errors"] += s.status != "ok"
            cache.put_scores(rows, provenance.now())
            done.add(t)
            bar.update(len(bundles[t]))
    except Exception as exc:
        if not is_worker_crash(exc):
            raise
        for t, bundle in enumerate(bundles):  # error rows, never cached: the next run retries them
            if t not in done:
                for i, mids in bundle:
                    for m in mids:
                        scores[(i, m)] = (math.nan, "error", f"worker crashed: {one_line(exc)}", math.nan)
                        counts["score_errors"] += 1
    return scores


def scene_bundles(
    items: Sequence[tuple[int, list[str]]], scene_of: Any, jobs: int, cap: int = SCENE_TASK_IMAGES
) -> list[tuple[tuple[int, list[str]], ...]]:
    """Group score items ``(job index, metric ids)`` into tasks with scene affinity.

    A task holds fused images of one scene (``scene_of(job index)``) scored with the same metric ids, so
    one worker scores them all and the metrics' source-side memos (:func:`metrics._memo.source_memo`:
    phase congruency, GSM fits, feature maps of the sources) are built once per scene and metric group
    instead of once in every worker. At most ``min(cap, len(items) // (2 * jobs))`` images per task (at
    least one), so small runs still give every worker work. Order: the items' order (scene-major), each
    task where its first item was. Values do not depend on the grouping.
    """
    size = max(1, min(cap, len(items) // (2 * max(jobs, 1))))
    groups: dict[tuple, list[tuple[int, list[str]]]] = {}
    for i, mids in items:  # dicts keep insertion order: each group where its first item was
        groups.setdefault((scene_of(i), tuple(mids)), []).append((i, mids))
    return [tuple(v[k : k + size]) for v in groups.values() for k in range(0, len(v), size)]


def _assemble(jobs: list[_FuseJob], metrics: list, scores: dict, protocol: str):
    import pandas as pd

    rows = []
    for i, j in enumerate(jobs):
        base = {
            "dataset": j.dataset,
            "scene": j.scene.id,
            "method": j.spec.name,
            "protocol": protocol,
            "device": j.device,
        }
        if j.status != "ok":
            rows.append(
                {**base, "metric": TIME_METRIC, "value": math.nan, "status": j.status, "message": j.message}
            )
            continue
        e = j.entry
        if j.spec.id == "external":  # byo: NaN unless the user gave a time; the message marks the row
            note = "" if np.isfinite(e.time_median) else "; no fusion time given"
            rows.append({**base, "metric": TIME_METRIC, "value": e.time_median, "status": "ok",
                         "message": j.message + note})  # fmt: skip
        else:
            rows.append({**base, "metric": TIME_METRIC, "value": e.time_median, "status": "ok",
                         "message": ""})  # fmt: skip
            rows.append(
                {
                    **base,
                    "metric": TIME_IQR_METRIC,
                    "value": e.time_iqr,
                    "status": "ok",
                    "message": f"IQR over {e.repeats} repeats",
                }
            )
        for m in metrics:
            v = scores.get((i, m.info.id))
            if v is None:
                continue  # ground-truth metric on a scene without reference: no row
            rows.append({**base, "metric": m.info.id, "value": v[0], "status": v[1], "message": v[2]})
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
