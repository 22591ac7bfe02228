"""What a finished run records besides its results: artifact rows, compute profile and ``run.json`` content.

Pure functions of the run's jobs (:class:`bench.runner._FuseJob`: dataset, scene, spec, entry, ...) and
configuration; provenance comes from :mod:`bench.provenance`.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from bench import provenance
from bench.registry import get_method, get_metric
from bench.runconfig import RunConfig, default_cache_dir


def compute_profile(jobs: list, scores: dict) -> dict:
    """Single-call compute seconds per method (sum of per-scene medians) and per metric (sum of calls),
    for cached and fresh results alike, with each one's share of the total."""
    fuse: dict[str, float] = {}
    for j in jobs:
        if j.entry is not None and j.spec.id != "external" and np.isfinite(j.entry.time_median):
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


def artifact_rows(jobs: list) -> list[dict]:
    return [
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


def dataset_provenance(ids) -> dict:
    from bench.datasets import dataset_provenance as _prov

    return _prov(ids)


def run_metadata(
    cfg: RunConfig,
    device: str,
    started: str,
    wall: float,
    counts: dict,
    jobs: list,
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
        "git_commit": provenance.git_commit(),
        "argv": list(cfg.argv),
        "config": cfg_d,
        "started": started,
        "finished": provenance.now(),
        "wall_s": round(wall, 3),
        "device": device,
        **provenance.machine(),
        "gpu": provenance.gpu_name(device),
        "versions": provenance.versions(),
        "executor": executor_info,
        "fuse_threads": threads,
        "cache_dir": str(cfg.cache_dir or default_cache_dir()),
        "counts": counts,
        "methods": {
            m.name: {
                "id": m.id,
                "version": get_method(m.id).info.version,
                "weights_sha256": get_method(m.id).info.weights_sha256,
                "family": get_method(m.id).info.family,
            }
            for m in cfg.methods
        },
        "metrics": {m: get_metric(m).info.version for m in cfg.metrics},
        "externals": {e.label: e.describe() for e in cfg.externals},  # fused images read from files
        "dataset_sources": dataset_provenance(cfg.datasets),  # --dataset PATH: path + content hash
        "timing": "median and IQR over repeats of fuse() only, after one warm-up call per method and worker "
        "process; CUDA synchronised inside the timed region (bench/README.md)",
    }
