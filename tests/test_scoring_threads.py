"""``bench score --jobs``: metrics scored in threads give the same values as one after the other."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from bench.registry import get_metric, list_metrics
from bench.scoring import _groups, score_images
from metrics._memo import clear_memos, memoize_images


def _images(n: int, size: int = 96, seed: int = 3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = 0.5 + 0.3 * np.sin(6 * xx) * np.cos(5 * yy)
    srcs = [np.clip(base + 0.1 * rng.standard_normal(base.shape), 0, 1).astype(np.float32) for _ in range(n)]
    fused = np.clip(np.mean(srcs, axis=0) + 0.02 * rng.standard_normal(base.shape), 0, 1).astype(np.float32)
    return srcs, fused


def _ids(n_sources: int) -> list[str]:
    return [
        m for m in list_metrics("all")
        if not get_metric(m).info.needs_reference and not get_metric(m).info.needs_decision_map
        and get_metric(m).skip_reason(n_sources, True) is None
    ]


def _same(a, b) -> bool:
    return [s.metric for s in a] == [s.metric for s in b] and all(
        (x.value == y.value or (math.isnan(x.value) and math.isnan(y.value))) and x.status == y.status
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("n", [2, 3])
def test_threads_give_the_values_of_one_thread(n):
    srcs, fused = _images(n)
    ids = _ids(n)
    clear_memos()
    one = score_images(srcs, fused, ids, jobs=1)
    clear_memos()  # both runs compute everything (no memo hit from the first)
    three = score_images(srcs, fused, ids, jobs=3)
    assert _same(one, three)
    assert all(s.status == "ok" for s in one), [s.metric for s in one if s.status != "ok"]


def test_order_follows_the_request_and_duplicates_are_kept():
    srcs, fused = _images(2)
    ids = ["sd", "qabf", "en", "sd", "qabf@vifb"]
    scores = score_images(srcs, fused, ids, jobs=2)
    assert [s.metric for s in scores] == ids
    assert scores[0].value == scores[3].value


def test_groups_keep_variants_together_costliest_first():
    groups = _groups(["sd", "qabf", "qp", "qabf@vifb", "en", "qabf@cddfuse"])
    assert ["qabf", "qabf@vifb", "qabf@cddfuse"] in groups
    costs = [sum(get_metric(m).info.cost for m in g) for g in groups]
    assert costs == sorted(costs, reverse=True)


def test_a_failing_metric_is_an_error_row_in_a_thread_too():
    srcs, fused = _images(2)
    scores = score_images(srcs, fused[:20], ["sd", "qabf", "en"], jobs=2)  # size mismatch: every metric fails
    assert all(s.status == "error" and math.isnan(s.value) and s.message for s in scores)


def test_memo_computes_a_key_once_when_threads_ask_together():
    calls = []
    gate = threading.Event()

    def slow(a):
        calls.append(1)
        gate.wait(5)
        return a * 2

    memo = memoize_images(slow, 4)
    a = np.arange(12.0).reshape(3, 4)
    out = []
    threads = [threading.Thread(target=lambda: out.append(memo(a))) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(out) == 4
    assert all(o is out[0] for o in out)  # every thread got the one stored array


def test_memo_waiters_compute_themselves_when_the_owner_fails():
    calls = []

    def flaky(a):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.2)
            raise RuntimeError("first call fails")
        return a + 1

    memo = memoize_images(flaky, 4)
    a = np.ones((2, 2))
    errors, out = [], []

    def run():
        try:
            out.append(memo(a))
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    threads[0].start()
    time.sleep(0.05)
    threads[1].start()
    for t in threads:
        t.join(10)
    assert len(errors) == 1 and len(out) == 1 and np.array_equal(out[0], a + 1)


def test_cli_rejects_zero_jobs(tmp_path):
    from PIL import Image

    srcs, fused = _images(2)
    paths = []
    for k, im in enumerate([*srcs, fused]):
        p = tmp_path / f"{k}.png"
        Image.fromarray((im * 255).astype(np.uint8)).save(p)
        paths.append(str(p))
    cmd = [sys.executable, "-m", "bench", "score", "-f", paths[2], paths[0], paths[1], "--metrics", "sd"]
    bad = subprocess.run([*cmd, "--jobs", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error:") and "--jobs" in bad.stderr
    assert "Traceback" not in bad.stderr
    ok = subprocess.run([*cmd, "--jobs", "2", "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and '"sd"' in ok.stdout


def test_plugin_metrics_share_one_group(monkeypatch):
    """Metrics whose code lives outside the ``metrics`` package (plugins) never run in two threads at once."""
    import types

    import bench.scoring as scoring
    from bench.types import MetricInfo

    def fake(mid: str, module: str):
        fn = lambda sources, fused, reference=None: 0.0  # noqa: E731
        fn.__module__ = module
        return types.SimpleNamespace(fn=fn, info=MetricInfo(id=mid, name=mid))

    entries = {"p1": fake("p1", "mymod"), "p2@x": fake("p2@x", "other_plugin"), "sd": get_metric("sd"),
               "en": get_metric("en")}
    monkeypatch.setattr(scoring, "get_metric", entries.__getitem__)
    groups = scoring._groups(["p1", "sd", "p2@x", "en"])
    assert ["p1", "p2@x"] in groups and ["sd"] in groups and ["en"] in groups


def test_score_pins_blas_to_one_thread_before_numpy_loads():
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = (
        "import os, sys\n"
        "from bench.cli import build_parser\n"
        "from bench.procenv import one_blas_thread\n"
        "args = build_parser().parse_args(['score', '-f', 'f.png', 'a.png', 'b.png'])\n"
        "assert args._one_blas_thread and 'numpy' not in sys.modules\n"
        "print(one_blas_thread(), os.environ['OPENBLAS_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])\n"
        "import numpy\n"
        "print(one_blas_thread())\n"
    )
    cp = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.split() == ["True", "1", "1", "False"]


def test_default_threads_shrink_for_big_images(monkeypatch):
    import os

    import bench.scoring as scoring

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert scoring.default_jobs() == scoring.MAX_DEFAULT_JOBS == 4  # many cores: at most 4
    assert scoring.default_jobs(520 * 520) == 4
    assert scoring.default_jobs(3_000_000) == 1 and scoring.default_jobs(24_000_000) == 1
    assert scoring.default_jobs(1_500_000) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert scoring.default_jobs(520 * 520) == 1  # one core: one thread
