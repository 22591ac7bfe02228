"""The benchmark runner: fusion jobs per (method x scene), then scoring jobs per fused image.

:func:`run` is the pure-ish core used by ``python -m bench run`` and ``python -m bench paper``. It

1. resolves methods, datasets (training-only sets are refused), metrics and scenes;
2. looks every fusion up in the :class:`bench.cache.ResultCache`; missing ones run in parallel
   (joblib loky, or Dask), CPU methods with ``jobs`` workers, methods placed on a CUDA device one
   at a time in the main process (one worker per device);
3. looks every score up; missing ones are computed per fused image, in parallel;
4. writes ``results.csv`` (long format), ``artifacts.csv`` (where each fused image lives) and
   ``run.json``, all atomically, at the end.

Workers only compute and return; the main process alone writes the cache, so a run can be killed
at any time and the next call resumes from what was committed. Rows are assembled from the cache
and the fresh results in a fixed order, so there are no lost or duplicated rows.

Row conventions (``results.csv``)
    - ``metric = time_fuse_s``: median fusion time over ``repeats`` (seconds); ``time_fuse_iqr_s``:
      its IQR. A fusion that raised gives a ``time_fuse_s`` row with ``status = error``, NaN and the
      message, and no metric rows. A scene with more sources than a method supports gives a
      ``time_fuse_s`` row with ``status = skipped``.
    - A metric that raised gives ``status = error`` and NaN; never 0.
    - Ground-truth metrics (``needs_reference``) produce no row on scenes without a reference, and
      metrics defined for at most ``MetricInfo.max_sources`` sources none on scenes with more.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.cache import FusedEntry, ResultCache, atomic_write_text, fused_key, read_png_u8, score_key
from bench.errors import UserError
from bench.integrity import sha256_file
from bench.procenv import allow_worker_growth, set_worker_env
from bench.protocols import PROTOCOLS
from bench.registry import get_dataset, get_method, get_metric, list_datasets, list_methods, list_metrics

RESULT_COLUMNS = ["dataset", "scene", "method", "metric", "value", "status", "message", "protocol", "device"]
TIME_METRIC = "time_fuse_s"
TIME_IQR_METRIC = "time_fuse_iqr_s"
BACKENDS = ("loky", "dask")
METRICS_PER_TASK = 38  # about half of all metrics: two score tasks per fused image


@dataclass(frozen=True)
class MethodSpec:
    """One column of a run: a registered method with fixed parameters, shown under ``label``."""

    id: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.id


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on (built by the CLI, or by ``bench.paper``)."""

    methods: tuple[MethodSpec, ...]
    datasets: tuple[str, ...] = ("synthetic",)
    metrics: tuple[str, ...] = ()
    data_dir: str | None = None
    limit: int | None = None
    scenes: tuple[str, ...] | None = None
    max_sources: int | None = None
    jobs: int = 1
    out: str | None = None
    repeats: int = 1
    protocol: str = "standard"
    device: str = "auto"
    backend: str = "loky"
    scheduler: str | None = None
    progress: bool = True
    cache_dir: str | None = None
    retry_errors: bool = False
    argv: tuple[str, ...] = ()


@dataclass
class RunSummary:
    out: Path
    results: pd.DataFrame
    counts: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# resolution of user choices
# --------------------------------------------------------------------------------------------
def resolve_methods(spec: str) -> tuple[MethodSpec, ...]:
    """``all``, ids, globs and ``@family`` (``@classical``, ``@learned``), comma-separated -> specs.

    ``@family`` selects by ``MethodInfo.family``.
    """
    ids: list[str] = []
    for tok in [t.strip() for t in spec.split(",") if t.strip()]:
        if tok.startswith("@"):
            fam = [m for m in list_methods("*") if get_method(m).info.family == tok[1:]]
            if not fam:
                raise UserError(f"no method of family {tok[1:]!r} (families: classical, learned)")
            ids.extend(fam)
        else:
            ids.extend(list_methods(tok))
    if not ids:
        raise UserError(f"--methods {spec!r} selects no method")
    return tuple(MethodSpec(m) for m in dict.fromkeys(ids))


def resolve_metrics(spec: str) -> tuple[str, ...]:
    """``all``, ``none``, ids and globs (comma-separated) -> metric ids."""
    if spec.strip() == "none":
        return ()
    return tuple(list_metrics(spec))


def resolve_datasets(spec: str | Sequence[str]) -> tuple[str, ...]:
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    out = []
    for n in names:
        for d in list_datasets(n):
            info = get_dataset(d).info
            if info.training_only:
                raise UserError(f"dataset {d!r} is a training set and cannot be used as a test set")
            out.append(d)
    return tuple(dict.fromkeys(out))


def resolve_run_device(device: str, methods: Sequence[MethodSpec]) -> str:
    """The device for device-aware methods (``bench.device.resolve_device``); ``cpu`` when none is."""
    from bench.device import resolve_device

    if not any(get_method(m.id).info.device_aware for m in methods):
        if device not in ("auto", "cpu"):
            resolve_device(device)  # still validate an explicit request
        return "cpu"
    if device == "auto" and not _nvidia_driver_present():
        return "cpu"  # no driver, no CUDA: skip the slow torch import (keeps cached runs fast)
    return resolve_device(device)


def _nvidia_driver_present() -> bool:
    return (
        Path("/proc/driver/nvidia").exists()
        or Path("/dev/nvidia0").exists()
        or Path("/dev/nvidiactl").exists()
    )


_WARM: set[tuple[str, str]] = set()  # (method id, device) pairs warmed up in this process


# --------------------------------------------------------------------------------------------
# worker functions (run in loky / dask workers; pure: inputs in, results out)
# --------------------------------------------------------------------------------------------
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


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _as_u8(img: np.ndarray) -> np.ndarray:
    from bench.imageio import to_uint8

    return to_uint8(img)


def fuse_worker(
    method_id: str, params: dict, device: str, device_aware: bool, load_sources: Callable, repeats: int
) -> FuseOutcome:
    """Load the sources, warm the method up once per process, time ``repeats`` calls of ``fuse``.

    Timing uses :func:`bench.device.time_call` (median and IQR, CUDA synchronised inside the timed
    region); the warm-up is one untimed call the first time a process meets (method, device).
    """
    from bench.device import time_call
    from bench.types import FusionResult

    try:
        images = load_sources()
        method = get_method(method_id)
        kwargs = dict(params)
        if device_aware:
            kwargs["device"] = device
        warm = 0 if (method_id, device) in _WARM else 1
        _WARM.add((method_id, device))
        box: list = []

        def call():
            box[:] = [method.fuse(images, **kwargs)]

        stats = time_call(call, device=device if device_aware else "cpu", repeats=repeats, warmup=warm)
        res = box[0]
        if isinstance(res, np.ndarray):
            res = FusionResult(res)
        if not isinstance(res, FusionResult):
            raise TypeError(f"Expected fuse() to return FusionResult, got {type(res).__name__}")
        img = np.asarray(res.image)
        if img.shape != images[0].shape:
            raise ValueError(f"Expected a fused image of shape {images[0].shape}, got {img.shape}")
        if not np.all(np.isfinite(img)):
            raise ValueError("fused image contains NaN or infinity")
        dm = None
        if res.decision_map is not None:
            dm = _as_u8(np.asarray(res.decision_map, dtype=np.float64))
            if dm.ndim == 3:
                dm = dm[:, :, 0]
        return FuseOutcome(_as_u8(img), dm, stats.median, stats.iqr, stats.n, stats.threads, "ok")
    except Exception as exc:  # an error row; the run goes on
        return FuseOutcome(None, None, math.nan, math.nan, 0, 0, "error", _one_line(exc))


def score_worker(
    load_sources: Callable,
    load_reference: Callable | None,
    fused: np.ndarray | str,
    metric_ids: Sequence[str],
    protocol: str,
    load_dm_inputs: Callable | None = None,
) -> list:
    """Score one fused image (uint8 array, or the path of its cached PNG) with ``metric_ids``.

    Returns ``[(Score, seconds)]``: each metric call is timed (protocol preparation excluded).
    Failures become error Scores (NaN and the message), never 0.
    """
    from bench.imageio import to_float
    from bench.protocols import prepare
    from bench.scoring import Score, score_one

    try:
        fused_u8 = read_png_u8(Path(fused)) if isinstance(fused, str) else fused
        sources = load_sources()
        reference = load_reference() if load_reference is not None else None
        imgs = [*sources, to_float(fused_u8)] + ([reference] if reference is not None else [])
        prepped = prepare(imgs, protocol)
    except Exception as exc:
        return [(Score(m, math.nan, "error", _one_line(exc)), math.nan) for m in metric_ids]
    n = len(sources)
    src, fus = prepped[:n], prepped[n]
    ref = prepped[n + 1] if reference is not None else None
    # headline hook (issue 12): decision-map metrics get the method's decision map and the GT focus maps
    dm = fm = None
    if load_dm_inputs is not None:
        try:
            dm, fm = load_dm_inputs()
        except Exception:  # the metrics then give error rows with their own message
            dm = fm = None
    out = []
    for m in metric_ids:
        t0 = time.perf_counter()
        s = score_one(m, src, fus, ref, decision_map=dm, focus_maps=fm)
        out.append((s, time.perf_counter() - t0))
    return out


def _call(i: int, fn: Callable, args: tuple) -> tuple[int, Any]:
    allow_worker_growth()  # the metric caches are bounded; loky must not restart the worker for them
    return i, fn(*args)


# --------------------------------------------------------------------------------------------
# execution backends
# --------------------------------------------------------------------------------------------
class Executor:
    """Runs ``(fn, args)`` tasks and yields ``(index, result)`` as they finish.

    ``loky`` with ``jobs == 1`` runs in the main process. A crashed worker (segfault, OOM kill)
    breaks the pool; the unfinished tasks are retried once in a fresh pool, then reported as
    errors by :func:`run`.
    """

    def __init__(self, backend: str = "loky", jobs: int = 1, scheduler: str | None = None) -> None:
        if backend not in BACKENDS:
            raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.jobs = jobs if jobs > 0 else max(os.cpu_count() or 1, 1)
        self.scheduler = scheduler
        self._client = None
        self._cluster = None
        self.info: dict = {"backend": backend, "jobs": self.jobs}

    def __enter__(self) -> Executor:
        if not (self.backend == "dask" and self.scheduler):  # local workers, started from here
            self.info["glibc_tunables"] = os.environ.get("GLIBC_TUNABLES", "") if set_worker_env() else ""
        if self.backend == "dask":
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise UserError(
                    "--backend dask needs dask[distributed]: pip install 'mfif-bench[dist]'"
                ) from None
            if self.scheduler:
                try:
                    self._client = Client(self.scheduler, timeout="20s")
                except OSError as exc:
                    raise UserError(f"cannot reach Dask scheduler {self.scheduler}: {exc}") from None
            else:
                self._cluster = LocalCluster(
                    n_workers=self.jobs,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
            self.info["scheduler"] = self._client.scheduler.address
            self.info["dask_workers"] = len(self._client.scheduler_info().get("workers", {}))
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(
        self, tasks: Sequence[tuple[Callable, tuple]], in_process: bool = False
    ) -> Iterator[tuple[int, Any]]:
        if not tasks:
            return
        if in_process or (self.backend == "loky" and self.jobs == 1):
            for i, (fn, args) in enumerate(tasks):
                yield i, fn(*args)
            return
        from joblib import Parallel, delayed, parallel_config

        pending = set(range(len(tasks)))
        for attempt in range(2):
            try:
                cfg = {"backend": "dask"} if self.backend == "dask" else {"backend": "loky"}
                n_jobs = -1 if self.backend == "dask" else min(self.jobs, len(pending))
                with parallel_config(**cfg):
                    gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                        delayed(_call)(i, *tasks[i]) for i in sorted(pending)
                    )
                    for i, res in gen:
                        pending.discard(i)
                        yield i, res
                return
            except Exception as exc:  # a worker died; retry what is left once
                if attempt == 1 or not _is_worker_crash(exc):
                    raise
        return


def _is_worker_crash(exc: BaseException) -> bool:
    name = type(exc).__name__
    return "Terminated" in name or "BrokenProcessPool" in name or "KilledWorker" in name


# --------------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------------
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


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def default_cache_dir() -> Path:
    from bench.datasets import cache_root

    return cache_root() / "results"


def default_out_dir(datasets: Sequence[str], device: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("results") / "runs" / f"{stamp}--{'+'.join(datasets)}--{device}"


def _select_scenes(dataset: str, cfg: RunConfig) -> list:
    scenes = get_dataset(dataset).scenes(cfg.data_dir)
    if cfg.scenes is not None:
        wanted = set(cfg.scenes)
        scenes = [s for s in scenes if s.id in wanted]
    if cfg.limit is not None:
        scenes = scenes[: cfg.limit]
    if cfg.max_sources is not None:
        scenes = [_first_sources(s, cfg.max_sources) for s in scenes]
    return scenes


def _first_sources(scene, n: int):
    """The scene restricted to its first ``n`` sources (a focus stack's first frames)."""
    import dataclasses

    if n < 2:
        raise UserError(f"a scene needs at least 2 sources, asked for {n}")
    if len(scene.sha256) <= n:
        return scene
    if scene.paths:
        from bench.imageio import read_sources

        paths = tuple(scene.paths[:n])
        load = lambda p=paths: read_sources(p)  # noqa: E731
    else:
        full = scene.load_sources
        load = lambda f=full, k=n: f()[:k]  # noqa: E731
        paths = ()
    return dataclasses.replace(
        scene,
        id=f"{scene.id}[:{n}]",
        roles=scene.roles[:n],
        sha256=scene.sha256[:n],
        load_sources=load,
        paths=paths,
    )


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, disable=not enabled, file=sys.stderr, unit="job", dynamic_ncols=True, leave=False
    )


def run(cfg: RunConfig) -> RunSummary:
    """Execute a run (see module docstring) and return its results table and output folder."""
    if cfg.protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {cfg.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    if cfg.repeats < 1:
        raise UserError(f"--repeats must be >= 1, got {cfg.repeats}")
    if not cfg.methods:
        raise UserError("no methods selected")
    started = _now()
    t_start = time.perf_counter()
    device = resolve_run_device(cfg.device, cfg.methods)
    out = Path(cfg.out) if cfg.out else default_out_dir(cfg.datasets, device)
    out.mkdir(parents=True, exist_ok=True)
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
        with Executor(cfg.backend, cfg.jobs, cfg.scheduler) as ex:
            todo = [j for j in jobs if j.status == "pending"]
            counts["fuse_cached"] = sum(1 for j in jobs if j.entry is not None or j.cached_error)
            score_plan = _plan_scores(jobs, metrics, cfg.protocol, cache, cfg.retry_errors)
            with _progress(len(todo) + len(score_plan[1]), cfg.progress) as bar:
                _run_fusions(todo, ex, cfg, cache, counts, bar)
                score_plan = _plan_scores(jobs, metrics, cfg.protocol, cache, cfg.retry_errors)
                bar.total = len(todo) + len(score_plan[1])
                bar.refresh()
                scores = _run_scores(score_plan, jobs, ex, cfg, cache, counts, bar)
            executor_info = ex.info
        df = _assemble(jobs, metrics, scores, cfg.protocol)
        profile = _profile(jobs, scores)
    finally:
        cache.close()
    counts["fuse_errors"] = sum(1 for j in jobs if j.status == "error")
    counts["fuse_errors_cached"] = sum(1 for j in jobs if j.cached_error)
    counts["computed"] = counts["fuse_computed"] + counts["score_computed"]
    counts["cached"] = counts["fuse_cached"] + counts["score_cached"]
    write_results(out, df)
    _write_artifacts(out, jobs)
    meta = _run_metadata(cfg, device, started, time.perf_counter() - t_start, counts, jobs, executor_info)
    meta["compute_seconds"] = profile
    atomic_write_text(out / "run.json", json.dumps(meta, indent=2, default=str) + "\n")
    return RunSummary(out, df, counts)


def _plan_fusions(cfg: RunConfig, device: str, cache: ResultCache) -> list[_FuseJob]:
    jobs: list[_FuseJob] = []
    for ds in cfg.datasets:
        for scene in _select_scenes(ds, cfg):
            for spec in cfg.methods:
                info = get_method(spec.id).info
                dev = device if info.device_aware else "cpu"
                params = dict(info.params)
                params.update(dict(spec.params))
                weights_sha = info.weights_sha256
                if params.get("weights"):  # a user checkpoint: key on its content, not its path
                    wpath = Path(str(params["weights"])).expanduser()
                    if not wpath.is_file():
                        raise UserError(f"{wpath}: weights file for method {spec.id!r} not found")
                    weights_sha = sha256_file(wpath)
                    params = {k: v for k, v in params.items() if k != "weights"}
                key = fused_key(spec.id, info.version, weights_sha, params, dev, scene.sha256)
                job = _FuseJob(ds, scene, spec, dev, key)
                n = len(scene.sha256)
                if info.max_images is not None and n > info.max_images:
                    job.status, job.message = (
                        "skipped",
                        f"method handles at most {info.max_images} sources, scene has {n}",
                    )
                elif info.needs_gpu and dev == "cpu":
                    job.status, job.message = "skipped", "method needs a CUDA device"
                else:
                    entry = cache.get_fused(key)
                    if entry is not None and entry.status != "ok" and not cfg.retry_errors:
                        job.status, job.cached_error = "error", True
                        job.message = entry.message
                    elif entry is not None and entry.status == "ok" and entry.repeats >= cfg.repeats:
                        job.entry, job.status = entry, "ok"
                jobs.append(job)
    return jobs


def _run_fusions(
    todo: list[_FuseJob], ex: Executor, cfg: RunConfig, cache: ResultCache, counts: dict, bar
) -> None:
    def task(j: _FuseJob):
        info = get_method(j.spec.id).info
        params = dict(info.params)
        params.update(dict(j.spec.params))
        return (
            fuse_worker,
            (j.spec.id, params, j.device, info.device_aware, j.scene.load_sources, cfg.repeats),
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
            if not _is_worker_crash(exc):
                raise
            for i, j in enumerate(group):
                if i not in done:
                    j.status, j.message = "error", f"worker crashed: {_one_line(exc)}"
                    bar.update(1)


def _store_fusion(job: _FuseJob, res: FuseOutcome, cache: ResultCache) -> None:
    job.outcome = res
    if res.status != "ok":
        job.status, job.message = "error", res.message
        if not res.message.startswith(_TRANSIENT):
            cache.put_fused_error(job.key, res.message, device=job.device, method=job.spec.id, created=_now())
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
        created=_now(),
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
                    has_dm = j.entry.dm_path is not None and _has_focus_maps(j.scene)
                if not has_dm:
                    continue
                keys[(i, m.info.id)] = score_key(
                    m.info.id, m.info.version, protocol, f"{j.entry.sha256}/dm:{j.entry.key}",
                    j.scene.reference_sha256,
                )
                continue
            if m.info.needs_reference and not j.scene.reference_sha256:
                continue
            if m.info.max_sources is not None and len(j.scene.roles) > m.info.max_sources:
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


def _has_focus_maps(scene) -> bool:
    """Whether the scene has ground-truth focus maps (headline hook, issue 12)."""
    try:
        return scene.load_focus_maps() is not None
    except Exception:
        return False


def _dm_inputs(dm_path: str, load_focus_maps: Callable) -> tuple:
    """(decision map in [0, 1], GT focus maps) for the decision-map metrics (headline hook, issue 12)."""
    return read_png_u8(Path(dm_path)).astype(np.float64) / 255.0, load_focus_maps()


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

    def task(i: int, mids: list[str]):
        j = jobs[i]
        needs_ref = any(get_metric(m).info.needs_reference for m in mids)
        fused = read_png_u8(j.entry.path) if remote else str(j.entry.path)
        dm_in = None  # headline hook (issue 12): inputs of the decision-map metrics
        if any(get_metric(m).info.needs_decision_map for m in mids):
            dm_in = functools.partial(_dm_inputs, str(j.entry.dm_path), j.scene.load_focus_maps)
        return (
            score_worker,
            (j.scene.load_sources, j.scene.load_reference if needs_ref else None, fused, mids, cfg.protocol,
             dm_in),
        )

    done: set[int] = set()
    try:
        for t, res in ex.map(_LazyTasks(missing, task)):
            i, _ = missing[t]
            rows = []
            for s, sec in res:
                scores[(i, s.metric)] = (s.value, s.status, s.message, sec)
                if not s.message.startswith(_TRANSIENT):
                    rows.append((keys[(i, s.metric)], s.metric, s.value, s.status, s.message, sec))
                counts["score_computed"] += 1
                counts["score_errors"] += s.status != "ok"
            cache.put_scores(rows, _now())
            done.add(t)
            bar.update(1)
    except Exception as exc:
        if not _is_worker_crash(exc):
            raise
        for t, (i, mids) in enumerate(missing):  # error rows, never cached: the next run retries them
            if t not in done:
                for m in mids:
                    scores[(i, m)] = (math.nan, "error", f"worker crashed: {_one_line(exc)}", math.nan)
                    counts["score_errors"] += 1
    return scores


_TRANSIENT = ("MemoryError", "KeyboardInterrupt")


class _LazyTasks:
    """A sequence of tasks built on access, so large inputs are not all held at once."""

    def __init__(self, items: list, build: Callable) -> None:
        self._items, self._build = items, build

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int):
        return self._build(*self._items[i])

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def _profile(jobs: list[_FuseJob], scores: dict) -> dict:
    """Single-call compute seconds per method (sum of per-scene medians) and per metric (sum of calls),
    for cached and fresh results alike, with each one's share of the total."""
    fuse: dict[str, float] = {}
    for j in jobs:
        if j.entry is not None and np.isfinite(j.entry.time_median):
            fuse[j.spec.name] = fuse.get(j.spec.name, 0.0) + j.entry.time_median
    met: dict[str, float] = {}
    for (_, mid), v in scores.items():
        if len(v) > 3 and np.isfinite(v[3]):
            met[mid] = met.get(mid, 0.0) + v[3]
    total = sum(fuse.values()) + sum(met.values())

    def pack(d: dict) -> dict:
        return {
            k: {"seconds": round(s, 3), "share_percent": round(100 * s / total, 2) if total else 0.0}
            for k, s in sorted(d.items(), key=lambda kv: -kv[1])
        }

    return {"total": round(total, 3), "fuse": pack(fuse), "metrics": pack(met)}


def _assemble(jobs: list[_FuseJob], metrics: list, scores: dict, protocol: str) -> pd.DataFrame:
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
        rows.append({**base, "metric": TIME_METRIC, "value": e.time_median, "status": "ok", "message": ""})
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


def write_results(out: Path, df: pd.DataFrame) -> None:
    """Write ``results.csv`` atomically (float values round-trip exactly)."""
    atomic_write_text(out / "results.csv", df.to_csv(index=False, float_format=None))


def read_results(run_dir: str | os.PathLike) -> pd.DataFrame:
    """Read a run's ``results.csv``; a missing file is a user error."""
    path = Path(run_dir) / "results.csv"
    if not path.is_file():
        raise UserError(f"{path}: no results.csv here; is this a run folder (python -m bench run --out DIR)?")
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values=["", "nan", "NaN"],
        dtype={"scene": str, "method": str, "metric": str, "message": str, "status": str},
    )
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path}: not a results file (missing columns {', '.join(missing)})")
    df["message"] = df["message"].fillna("")
    return df


def _write_artifacts(out: Path, jobs: list[_FuseJob]) -> None:
    rows = [
        {
            "dataset": j.dataset,
            "scene": j.scene.id,
            "method": j.spec.name,
            "fused": str(j.entry.path),
            "decision_map": str(j.entry.dm_path or ""),
            "fused_sha256": j.entry.sha256,
            "sources": ";".join(str(p) for p in getattr(j.scene, "paths", ())),
        }
        for j in jobs
        if j.entry is not None
    ]
    cols = ["dataset", "scene", "method", "fused", "decision_map", "fused_sha256", "sources"]
    atomic_write_text(out / "artifacts.csv", pd.DataFrame(rows, columns=cols).to_csv(index=False))


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in (
        "mfif-bench",
        "numpy",
        "scipy",
        "opencv-contrib-python-headless",
        "scikit-image",
        "pywavelets",
        "pandas",
        "joblib",
        "torch",
        "dask",
        "distributed",
    ):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name(device: str) -> str:
    from bench.device import device_name

    return device_name(device) if device.startswith("cuda") else ""


def _run_metadata(
    cfg: RunConfig,
    device: str,
    started: str,
    wall: float,
    counts: dict,
    jobs: list[_FuseJob],
    executor_info: dict,
) -> dict:
    threads: dict[str, list[int]] = {}
    for j in jobs:
        if j.entry is not None:
            threads.setdefault(j.spec.name, [])
            if j.entry.n_threads not in threads[j.spec.name]:
                threads[j.spec.name].append(j.entry.n_threads)
    cfg_d = asdict(cfg)
    cfg_d["methods"] = [{"id": m.id, "params": dict(m.params), "label": m.name} for m in cfg.methods]
    return {
        "git_commit": _git_commit(),
        "argv": list(cfg.argv),
        "config": cfg_d,
        "started": started,
        "finished": _now(),
        "wall_s": round(wall, 3),
        "device": device,
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpu": _gpu_name(device),
        "host": platform.node(),
        "platform": platform.platform(),
        "versions": _versions(),
        "executor": executor_info,
        "fuse_threads": threads,
        "cache_dir": str(cfg.cache_dir or default_cache_dir()),
        "counts": counts,
        "methods": {
            m.name: {
                "id": m.id,
                "version": get_method(m.id).info.version,
                "weights_sha256": get_method(m.id).info.weights_sha256,
            }
            for m in cfg.methods
        },
        "metrics": {m: get_metric(m).info.version for m in cfg.metrics},
        "timing": "median and IQR over repeats of fuse() only, after one warm-up call per method and worker "
        "process; CUDA synchronised inside the timed region (bench/README.md)",
    }
