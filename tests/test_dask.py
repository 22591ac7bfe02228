"""The Dask backend: a real LocalCluster on 127.0.0.1 (2 workers) gives the loky run's results."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from bench.runner import MethodSpec, RunConfig, run

pytest.importorskip("dask.distributed")


def _cfg(tmp_path, name: str, **kw) -> RunConfig:
    return RunConfig(
        methods=(MethodSpec("average"), MethodSpec("max")),
        datasets=("lytro",),
        metrics=("en",),
        limit=2,
        jobs=2,
        out=str(tmp_path / name),
        cache_dir=str(tmp_path / f"cache-{name}"),
        progress=False,
        **kw,
    )


def test_dask_local_cluster_equals_loky(tmp_path, data_dir):
    loky = run(_cfg(tmp_path, "loky", backend="loky"))
    dask = run(_cfg(tmp_path, "dask", backend="dask"))
    meta = json.loads((dask.out / "run.json").read_text())
    assert meta["executor"]["backend"] == "dask"
    assert meta["executor"]["scheduler"].startswith("tcp://127.0.0.1:")
    assert meta["executor"]["dask_workers"] == 2
    assert dask.counts["fuse_computed"] == 4 and dask.counts["score_computed"] == 4

    def scores(df):
        df = df[~df["metric"].str.startswith("time_")]
        return df.sort_values(["scene", "method", "metric"]).reset_index(drop=True)

    a, b = scores(loky.results), scores(dask.results)
    pd.testing.assert_frame_equal(a, b)
    assert (a["status"] == "ok").all() and len(a) == 4


@pytest.mark.slow
def test_existing_scheduler_address(tmp_path, data_dir):
    """--scheduler: an already running cluster (here a LocalCluster we start) receives the jobs;
    fused images are shipped to the workers rather than read from our cache folder."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        s = run(_cfg(tmp_path, "sched", backend="dask", scheduler=cluster.scheduler_address))
    ref = run(
        RunConfig(
            methods=(MethodSpec("average"), MethodSpec("max")),
            datasets=("lytro",),
            metrics=("en",),
            limit=2,
            jobs=1,
            out=str(tmp_path / "ref"),
            cache_dir=str(tmp_path / "cache-ref"),
            progress=False,
        )
    )
    a = (
        s.results[~s.results.metric.str.startswith("time_")]
        .sort_values(["scene", "method"])
        .reset_index(drop=True)
    )
    b = (
        ref.results[~ref.results.metric.str.startswith("time_")]
        .sort_values(["scene", "method"])
        .reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(a, b)
