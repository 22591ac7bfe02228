"""Speed of a whole ``bench run`` (fusion + every metric), fresh cache, as ratios to the unit (issue 15).

Usage::

    python benchmarks/full_run_speed.py [--methods all] [--metrics all] [--dataset lytro] [--limit 4]
                                        [--jobs 2] [--json out.json]

What it does:

* measures the unit (``benchmarks/_unit.py``: one 5x5 ``uniform_filter`` pass over both lytro-01 colour
  images, float32, as ``methods_speed.py``) in this process before and after the run (median CPU);
* runs ``python -m bench run`` as a child process with a fresh, empty result cache (``--cache-dir`` in a
  temporary folder) and output folder, ``--no-plots --no-progress``;
* reports the run's wall time, the CPU time of the run and all its worker processes (``getrusage`` of
  the reaped children: user + system), and the compute profile the runner writes into ``run.json``
  (``compute_seconds``: single-call seconds per method and per metric, with shares);
* every figure is printed in seconds and as a ratio to the unit (``unit-CPU`` = CPU seconds / unit);
  with ``--limit N`` the totals are also extrapolated linearly to all scenes of the dataset (said so).

The machine is shared: repeat and compare ratios, not seconds. The script reports, it does not fail.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _unit import measure_unit  # noqa: E402


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _n_scenes(dataset: str) -> int | None:
    data = os.environ.get("MFIF_DATA")
    if not data or not (Path(data) / dataset).is_dir():
        return None
    return sum(1 for p in (Path(data) / dataset).iterdir() if p.is_dir())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="all")
    ap.add_argument("--metrics", default="all")
    ap.add_argument("--dataset", default="lytro")
    ap.add_argument("--limit", type=int, default=None, help="first N scenes only (totals extrapolated)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--top", type=int, default=15, help="metrics listed by share")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    u0 = measure_unit()
    with tempfile.TemporaryDirectory(prefix="mfif-full-run-") as tmp:
        cmd = [
            sys.executable, "-m", "bench", "run", "--methods", args.methods, "--metrics", args.metrics,
            "--dataset", args.dataset, "--jobs", str(args.jobs), "--out", str(Path(tmp) / "out"),
            "--cache-dir", str(Path(tmp) / "cache"), "--no-plots", "--no-progress",
        ]  # fmt: skip
        if args.limit:
            cmd += ["--limit", str(args.limit)]
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        c0, w0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - w0, _children_cpu() - c0
        run_json = Path(tmp) / "out" / "run.json"
        meta = json.loads(run_json.read_text()) if run_json.exists() else {}
    u1 = measure_unit()
    unit = (u0["cpu_s"] + u1["cpu_s"]) / 2
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    prof = meta.get("compute_seconds") or {}
    fuse = prof.get("fuse", {})
    met = prof.get("metrics", {})
    fuse_s = sum(v["seconds"] for v in fuse.values())
    met_s = sum(v["seconds"] for v in met.values())
    scenes = _n_scenes(args.dataset)
    scale = (scenes / args.limit) if (args.limit and scenes and args.limit < scenes) else 1.0
    load = os.getloadavg()[0]
    print(
        f"# full run: bench run --methods {args.methods} --metrics {args.metrics} --dataset {args.dataset}"
        f"{f' --limit {args.limit}' if args.limit else ''} --jobs {args.jobs}, fresh cache; "
        f"exit {proc.returncode}; load {load:.1f} on {os.cpu_count()} cpus (shared machine: compare ratios)"
    )
    print(
        f"# unit = uniform_filter 5x5 over both lytro-01 images: {unit * 1e3:.2f} ms CPU "
        f"(before {u0['cpu_s'] * 1e3:.2f}, after {u1['cpu_s'] * 1e3:.2f})"
    )
    rows = [
        ("wall", wall),
        ("CPU, run + workers", cpu),
        ("compute (run.json): fusion + metrics", fuse_s + met_s),
        ("  fusion", fuse_s),
        ("  metrics", met_s),
    ]
    print(f"| figure | seconds | unit-CPU | x{scale:.1f} (all scenes, extrapolated) |")
    print("| --- | ---: | ---: | ---: |")
    for name, s in rows:
        print(f"| {name} | {s:.1f} | {s / unit:,.0f} | {s * scale / unit:,.0f} |")
    total = fuse_s + met_s
    if total:
        print(f"\n| metric (top {args.top}) | seconds | unit-CPU | share of compute |")
        print("| --- | ---: | ---: | ---: |")
        for mid, v in list(met.items())[: args.top]:
            sec = v["seconds"]
            print(f"| {mid} | {sec:.1f} | {sec / unit:,.0f} | {100 * sec / total:.1f} % |")
    if args.json:
        out = {"unit_cpu_s": unit, "wall_s": wall, "cpu_s": cpu, "scale": scale, "compute": prof, "cmd": cmd}
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
