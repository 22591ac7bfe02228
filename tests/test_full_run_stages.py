"""benchmarks/full_run_speed.py --stages: the per-process stage files are summed and the rest is what the
stages do not cover (the plugin itself is exercised by running the benchmark, not here: it wraps globals)."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _module(monkeypatch):
    import os
    import sys

    monkeypatch.setattr(sys, "path", list(sys.path))  # the script extends both on import
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    spec = importlib.util.spec_from_file_location("full_run_speed", REPO / "benchmarks" / "full_run_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stage_files_are_summed_per_process_kind(tmp_path, capsys, monkeypatch):
    frs = _module(monkeypatch)
    docs = [
        {"pid": 10, "cpu_at_import": 0.1, "cpu": 5.0, "stages": {"main:put_fused": [1.0, 4],
                                                                 "main:encode_png": [0.5, 4]}},
        {"pid": 11, "cpu_at_import": 0.2, "cpu": 10.0, "stages": {"fuse:timed calls": [4.0, 2],
                                                                  "score:metric_calls": [3.0, 9]}},
        {"pid": 12, "cpu_at_import": 0.3, "cpu": 6.0, "stages": {"fuse:timed calls": [2.0, 1]}},
    ]  # fmt: skip
    for d in docs:
        (tmp_path / f"{d['pid']}.json").write_text(json.dumps(d))
    got = frs._read_stages(tmp_path, main_pid=10)
    assert got["main"]["processes"] == 1 and got["workers"]["processes"] == 2
    assert got["workers"]["cpu"] == 16.0 and got["workers"]["stages"]["fuse:timed calls"] == [6.0, 3]
    frs._print_stages(got, unit=0.01, scale=1.0)
    out = capsys.readouterr().out
    assert "| **workers** (2 process(es)), total | 16.00 |" in out
    assert "(of which main:encode_png) | 0.50 | 4 |" in out  # nested: not subtracted again
    rest = [line.split("|")[2].strip() for line in out.splitlines() if line.startswith("|   rest")]
    assert rest == ["3.90", "6.50"]  # main 5 - 0.1 - 1 (encode_png is inside put_fused); workers 16 - 0.5 - 9


def test_published_result_sets_are_passed_to_bench_run(tmp_path, capsys, monkeypatch):
    """``--results`` / ``--results-dir`` reach the ``bench run`` command line (a leaderboard's cost), and
    the header names them and the CPU; nothing runs here (the child process is replaced)."""
    frs = _module(monkeypatch)
    seen = {}
    real_popen = frs.subprocess.Popen

    class _Done:
        pid = 1234
        returncode = 0

        def __init__(self, cmd, **kw):
            seen["cmd"] = cmd
            # a stand-in child that touches 200 MB, reaped here: the reported peak must cover it
            real_popen([sys.executable, "-c", "x = b'1' * (200 << 20)"]).wait()

        def communicate(self):
            time.sleep(0.1)  # the run works: the unit sampler (every 10 ms here) takes samples meanwhile
            return "", ""

    monkeypatch.setattr(frs, "measure_unit", lambda: {"cpu_s": 0.01})
    monkeypatch.setattr(frs, "paired_unit", lambda: 0.02)
    monkeypatch.setattr(frs, "SAMPLE_EVERY_S", 0.01)
    monkeypatch.setattr(frs.subprocess, "Popen", _Done)
    monkeypatch.setattr(frs, "_become_subreaper", lambda: False)
    import bench.provenance

    monkeypatch.setattr(bench.provenance, "machine", dict)  # (it runs commands: the Popen above is fake)
    rc = frs.main(["--methods", "none", "--metrics", "sd", "--results", "yuliu2020",
                   "--results", "mfifb:IFCNN", "--results-dir", str(tmp_path),
                   "--dataset", "lytro", "--limit", "1", "--json", str(tmp_path / "out.json")])  # fmt: skip
    assert rc == 0
    cmd = seen["cmd"]
    pairs = list(zip(cmd[:-1], cmd[1:], strict=True))
    assert ("--results", "yuliu2020") in pairs and ("--results", "mfifb:IFCNN") in pairs
    assert ("--results-dir", str(tmp_path.resolve())) in pairs
    lines = capsys.readouterr().out.splitlines()
    head = lines[0]
    assert "--results yuliu2020 --results mfifb:IFCNN" in head
    # the peak memory of the largest reaped process, printed and in the JSON (issue 15 asks for it)
    peak = json.loads((tmp_path / "out.json").read_text())["peak_rss_mb"]
    shown = [line for line in lines if line.startswith("peak resident memory of the largest process")]
    assert peak >= 200 and len(shown) == 1 and shown[0].endswith(f"{peak:,.0f} MB")
    # the unit sampled while the run worked: printed (median and range) and in the JSON
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["unit_during_run_cpu_s"] == 0.02 and len(out["unit_samples_cpu_s"]) >= 2
    sampled = [line for line in lines if line.startswith("# unit sampled during the run")]
    assert len(sampled) == 1 and "median 20.00 ms (min 20.00, max 20.00)" in sampled[0]
    from bench.provenance import cpu_label

    assert cpu_label() in head


def test_unit_sampler_samples_until_the_run_ends(monkeypatch):
    """The sampler thread takes a unit every ``SAMPLE_EVERY_S`` while its block runs and stops with it."""
    frs = _module(monkeypatch)
    values = iter(range(1, 10_000))
    monkeypatch.setattr(frs, "paired_unit", lambda: next(values) * 1e-3)
    monkeypatch.setattr(frs, "SAMPLE_EVERY_S", 0.01)
    with frs._UnitSampler() as sampler:
        time.sleep(0.2)
    n = len(sampler.samples)
    assert n >= 3 and sampler.samples == [k * 1e-3 for k in range(1, n + 1)]
    time.sleep(0.05)
    assert len(sampler.samples) == n and not sampler._thread.is_alive()


def test_image_counts_tell_scored_from_failed_images(tmp_path, monkeypatch):
    """A published result that is not downloaded is a failed ``time_*`` row, not a scored image: the
    per-image figure divides by the images that were scored."""
    frs = _module(monkeypatch)
    rows = [
        "dataset,scene,method,metric,value,status,message,protocol,device",
        "lytro,lytro-01,r:a,time_fuse_s,,ok,,standard,cpu",
        "lytro,lytro-01,r:a,en,7.0,ok,,standard,cpu",
        "lytro,lytro-01,r:a,qp,,error,boom,standard,cpu",
        "lytro,lytro-01,r:b,en,7.1,ok,,standard,cpu",
        "lytro,lytro-02,r:a,time_fuse_s,,error,r:a: c_02_a.tif not downloaded,standard,cpu",
        "lytro,lytro-02,r:b,time_fuse_s,,error,r:b: c_02_b.tif not downloaded,standard,cpu",
        "lytro,lytro-03,r:a,en,,error,every metric failed,standard,cpu",
    ]
    (tmp_path / "results.csv").write_text("\n".join(rows) + "\n")
    assert frs._image_counts(tmp_path / "results.csv") == (2, 2, "r:a: c_02_a.tif not downloaded")
    assert frs._image_counts(tmp_path / "absent.csv") == (0, 0, "")
