"""Speed of a whole ``bench run`` (fusion + every metric), fresh cache, as ratios to the unit (issue 15).

Usage::

    python benchmarks/full_run_speed.py [--preset issue15] [--methods all] [--metrics all]
                                        [--dataset lytro] [--limit 4 | --scenes lytro-01,lytro-02]
                                        [--jobs 2] [--top 0] [--root DIR] [--json out.json] [--stages]
                                        [--results NAME[:METHOD,...] [--results-dir DIR]]

A/B of a fusion change in minutes: ``--methods msrsf,sesf --metrics none --scenes lytro-01,lytro-02``,
once with ``--root`` pointing at a checkout of the base commit and once without (alternate, same load).

The cost of scoring published images (a leaderboard's bulk: every image of a pair after the first reuses the
sources' work): ``--methods none --results yuliu2020 --results-dir <folder holding yuliu2020/> --dataset lytro
--limit 1`` scores the survey's 18 images of lytro-01 with every metric.

``--preset issue15`` selects what issue 15's baseline measured ("16 methods x 20 scenes x 76 metrics",
143,000 unit-CPU for the full lytro table): the 16 methods registered then (:data:`ISSUE15_METHODS`, i.e.
all but the survey ports added later) and every no-reference metric but the three ``@liu2020`` variants
and the decision-map metrics added later (:data:`ISSUE15_LATER_METRICS`), so that a full-table figure is
comparable with the issue's; explicit ``--methods``/``--metrics`` override it.

What it does:

* measures the unit (``benchmarks/_unit.py``: one 5x5 ``uniform_filter`` pass over both lytro-01 colour
  images, float32, as ``methods_speed.py``) in this process before and after the run (median CPU);
* runs ``python -m bench run`` as a child process with a fresh, empty result cache (``--cache-dir`` in a
  temporary folder) and output folder, ``--no-plots --no-progress``; ``--scenes`` (which ``bench run``
  does not have) runs the same command with ``RunConfig.scenes`` set; ``--root`` runs another checkout's
  ``bench`` (its code, this script's measurement);
* reports the run's wall time, the CPU time of the run and all its worker processes (``getrusage`` of
  the reaped children: user + system; the script makes itself the subreaper of the run's process tree,
  so pool workers that outlive ``bench run`` are reaped and counted too), and the compute profile the
  runner writes into ``run.json`` (``compute_seconds``: single-call seconds per method and per metric,
  with shares), and the peak resident memory of the largest process of the run (``ru_maxrss`` of the
  reaped children: the run itself or one worker, not their sum);
* samples the unit every ``SAMPLE_EVERY_S`` (30 s) in this process while the run works and prints their
  median, range and the run's CPU against it: the drift during the run, and the unit under the run's load
  beside the idle before/after unit that every other figure uses;
* every figure is printed in seconds and as a ratio to the unit (``unit-CPU`` = CPU seconds / unit);
  with ``--limit N`` or ``--scenes`` the totals are also extrapolated linearly to all scenes of the
  dataset (said so);
* the run's overhead: CPU of the run and its workers minus the per-call compute of ``run.json`` (start-up
  and imports of the run and its workers, the untimed warm-up call of each method in each worker, image
  decoding, PNG encoding and cache writes, task transfer); on a loaded machine the per-call figures are
  wall-clock and inflated, so this difference is a lower bound there;
* the fused images scored (``results.csv``) and the metrics' seconds per scored image; images that failed
  before any metric (a crashed method, a published result not downloaded) are counted and the first
  message shown, since the extrapolation by scenes assumes every scene as costly as the scored ones;
* the share of every method's fusion and every metric in the run's compute (``run.json``; the runner
  times each call by wall clock, so on a loaded machine the seconds are inflated but the shares stay
  comparable), and each share applied to the measured CPU total as an estimated unit-CPU per entry.

* ``--stages``: where the CPU outside the timed calls goes, per process (``_stage_profile.py``, loaded into
  the run and its workers as a plugin module): start-up up to the first task, the untimed warm-up calls, image
  reading, protocol preparation, PNG encoding and cache writes, the report, and the rest (task transfer,
  imports during tasks, the executor). The accounting costs a little CPU itself: compare runs with the same
  setting.

The machine is shared: repeat and compare ratios, not seconds. The script reports, it does not fail.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _unit import measure_unit, paired_unit  # noqa: E402

#: The methods registered when issue 15 was filed (before the survey ports gfdf, quadtree, nsct, dsift,
#: ifcnn, mwgf, sr, nsct_sr, misf, brw, asr were added).
ISSUE15_METHODS = "average,dtcwt,dwt,fmm,focusstack,gacn,gf,lp,max,msrsf,rp,sesf,sesf_scse,sesf_sse,sf,sff"
#: Metrics added after issue 15 was filed (the survey variants and the decision-map metrics).
ISSUE15_LATER_METRICS = ("qg@liu2020", "qe@liu2020", "qy@liu2020", "dm_acc", "dm_iou", "dm_bf")


def issue15_metrics() -> str:
    """Every no-reference metric registered now except those added after issue 15 (76 at the time)."""
    from bench.registry import get_metric, list_metrics

    ids = [m for m in list_metrics("all") if not get_metric(m).info.needs_reference]
    return ",".join(m for m in ids if m not in ISSUE15_LATER_METRICS)


def _become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``), so that pool workers that outlive
    ``bench run`` are reaped here and their CPU time lands in ``RUSAGE_CHILDREN``."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _reap_descendants(timeout_s: float = 120.0) -> int:
    """Wait for adopted descendants to exit (workers notice their parent is gone); how many were reaped."""
    n, deadline = 0, time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.2)
        else:
            n += 1
    return n


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


#: Seconds between the unit samples taken in this (otherwise idle) process while the run works.
SAMPLE_EVERY_S = 30.0


class _UnitSampler:
    """Samples the unit (:func:`_unit.paired_unit`) every :data:`SAMPLE_EVERY_S` seconds in a thread of this
    process while the run works: how far the machine drifts during a run, and the unit under the run's load
    (memory bandwidth and caches shared with the workers) beside the idle before/after unit the figures use.
    About 50 ms of this process's CPU per sample, which is not counted in the run's CPU."""

    def __init__(self) -> None:
        import threading

        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="unit-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append(paired_unit())

    def __enter__(self) -> _UnitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _children_peak_mb() -> float:
    """Peak resident memory of the largest reaped descendant (the run or one worker), MB (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _n_scenes(dataset: str) -> int | None:
    data = os.environ.get("MFIF_DATA")
    if not data or not (Path(data) / dataset).is_dir():
        return None
    return sum(1 for p in (Path(data) / dataset).iterdir() if p.is_dir())


#: ``bench run`` with ``RunConfig.scenes`` set (argv: scene ids, then the ``bench run`` arguments)
_CHILD_WITH_SCENES = (
    "import dataclasses, sys\n"
    "from bench.commands import run_cmd\n"
    "scenes = tuple(sys.argv[1].split(','))\n"
    "_config = run_cmd.config_from_args\n"
    "run_cmd.config_from_args = lambda a: dataclasses.replace(_config(a), scenes=scenes)\n"
    "from bench.cli import main\n"
    "sys.exit(main(['run', *sys.argv[2:]]))\n"
)


def _scene_ids(dataset: str) -> list[str] | None:
    data = os.environ.get("MFIF_DATA")
    if not data or not (Path(data) / dataset).is_dir():
        return None
    return sorted(p.name for p in (Path(data) / dataset).iterdir() if p.is_dir())


#: stages of _stage_profile.py that do not nest, per process kind (the others are parts of these)
_TOP_STAGES = {
    "main": ("main:put_fused", "main:get_fused", "main:put_scores", "main:get_scores", "main:assemble",
             "main:report_tables", "read_sources", "read_png"),
    "workers": ("fuse:warm-up, crop calls", "fuse:warm-up, full-size call", "fuse:timed calls",
                "fuse:check_result", "fuse:to_uint8", "read_sources", "read_png", "score:prepare",
                "score:metric_calls"),
}  # fmt: skip


def _image_counts(results_csv: Path) -> tuple[int, int, str]:
    """(fused images with at least one metric value, images that failed before any metric, the first
    such failure's message) from the run's long-format ``results.csv`` (``time_*`` rows carry fusion
    and loading failures: a crashed method, a published result that is not downloaded)."""
    scored: set = set()
    failed: set = set()
    first = ""
    if not results_csv.exists():
        return 0, 0, ""
    with results_csv.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = row["scene"], row["method"]
            if row["metric"].startswith("time_"):
                if row["status"] != "ok":
                    failed.add(key)
                    first = first or row["message"]
            elif row["status"] == "ok":
                scored.add(key)
    return len(scored), len(failed - scored), first


def _read_stages(folder: Path, main_pid: int) -> dict:
    """{"main": {...}, "workers": {...}}: CPU at start-up, total CPU, per-stage [seconds, calls], summed."""
    out: dict = {}
    for f in sorted(folder.glob("*.json")):
        doc = json.loads(f.read_text())
        kind = "main" if doc["pid"] == main_pid else "workers"
        agg = out.setdefault(kind, {"processes": 0, "cpu": 0.0, "cpu_at_import": 0.0, "stages": {}})
        agg["processes"] += 1
        agg["cpu"] += doc["cpu"]
        agg["cpu_at_import"] += doc["cpu_at_import"]
        for k, (sec, n) in doc["stages"].items():
            a = agg["stages"].setdefault(k, [0.0, 0])
            a[0] += sec
            a[1] += n
    return out


def _print_stages(stages: dict, unit: float, scale: float) -> None:
    print("\nCPU per stage (_stage_profile.py; CPU of a process up to its last stage)")
    print(f"| process / stage | seconds | calls | unit-CPU | x{scale:.2f} |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for kind in ("main", "workers"):
        agg = stages.get(kind)
        if not agg:
            continue
        names = dict.fromkeys(_TOP_STAGES[kind] + (_TOP_STAGES["workers"] if kind == "main" else ()))
        top = [(k, *agg["stages"][k]) for k in names if k in agg["stages"]]  # main = worker with --jobs 1
        rest = agg["cpu"] - agg["cpu_at_import"] - sum(sec for _, sec, _ in top)
        rows = [(f"**{kind}** ({agg['processes']} process(es)), total", agg["cpu"], ""),
                ("  start-up and imports before the first task", agg["cpu_at_import"], "")]
        rows += [(f"  {k}", sec, n) for k, sec, n in top]
        rows += [(f"    (of which {k})", sec, n) for k, (sec, n) in agg["stages"].items() if k not in names]
        rows.append(("  rest (task transfer, executor, imports inside tasks, ...)", rest, ""))
        for name, sec, n in rows:
            print(f"| {name} | {sec:.2f} | {n} | {sec / unit:,.0f} | {sec * scale / unit:,.0f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=["issue15"], default=None, help="issue 15's method/metric set")
    ap.add_argument("--methods", default=None, help="default: all (issue15: its 16 methods)")
    ap.add_argument("--metrics", default=None, help="default: all (issue15: its 76 metrics)")
    ap.add_argument("--dataset", default="lytro")
    ap.add_argument("--limit", type=int, default=None, help="first N scenes only (totals extrapolated)")
    ap.add_argument("--scenes", default=None, help="comma-separated scene ids only (totals extrapolated)")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose bench runs (default: this one)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--top", type=int, default=0, help="metrics listed by share (0: all)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--stages", action="store_true", help="CPU per stage and process (_stage_profile.py)")
    ap.add_argument("--out", type=Path, default=None, help="keep the run folder here (default: temporary)")
    ap.add_argument("--results", action="append", default=[], metavar="NAME[:METHOD,...]",
                    help="also score a published result set (bench run --results; --methods none: it alone)")
    ap.add_argument("--results-dir", default=None, help="passed to bench run (else $MFIF_RESULTS, ...)")
    args = ap.parse_args(argv)
    if args.methods is None:
        args.methods = ISSUE15_METHODS if args.preset == "issue15" else "all"
    n_metrics = None
    if args.metrics is None:
        args.metrics = issue15_metrics() if args.preset == "issue15" else "all"
        n_metrics = len(args.metrics.split(",")) if args.preset == "issue15" else None
    scene_ids = [s for s in args.scenes.split(",") if s] if args.scenes else None
    if scene_ids is not None:
        if args.limit:
            print("error: --scenes and --limit exclude each other", file=sys.stderr)
            return 2
        known = _scene_ids(args.dataset)
        unknown = sorted(set(scene_ids) - set(known or ()))
        if known is None or unknown:
            print(f"error: --scenes: {', '.join(unknown) or args.scenes} not in $MFIF_DATA/{args.dataset}",
                  file=sys.stderr)  # fmt: skip
            return 2
    root = args.root.resolve()
    if not (root / "bench" / "__init__.py").is_file():
        print(f"error: --root {args.root}: no bench/ package there", file=sys.stderr)
        return 2

    u0 = measure_unit()
    with tempfile.TemporaryDirectory(prefix="mfif-full-run-") as tmp:
        out_dir = args.out.resolve() if args.out else Path(tmp) / "out"
        run_args = [
            "--methods", args.methods, "--metrics", args.metrics,
            "--dataset", args.dataset, "--jobs", str(args.jobs), "--out", str(out_dir),
            "--cache-dir", str(Path(tmp) / "cache"), "--no-plots", "--no-progress",
        ]  # fmt: skip
        if args.limit:
            run_args += ["--limit", str(args.limit)]
        for spec in args.results:
            run_args += ["--results", spec]
        if args.results_dir:
            run_args += ["--results-dir", str(Path(args.results_dir).resolve())]
        if scene_ids is not None:
            cmd = [sys.executable, "-c", _CHILD_WITH_SCENES, ",".join(scene_ids), *run_args]
        else:
            cmd = [sys.executable, "-m", "bench", "run", *run_args]
        env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        stage_dir = Path(tmp) / "stages"
        if args.stages:
            stage_dir.mkdir()
            here = str(Path(__file__).resolve().parent)
            env["PYTHONPATH"] += os.pathsep + here
            env["MFIF_PLUGINS"] = ",".join(x for x in (env.get("MFIF_PLUGINS"), "_stage_profile") if x)
            env["MFIF_STAGE_DIR"] = str(stage_dir)
            env["MFIF_STAGE_PARENT"] = str(os.getpid())
        subreaper = _become_subreaper()
        c0, w0 = _children_cpu(), time.perf_counter()
        pipe = subprocess.PIPE
        with _UnitSampler() as sampler:
            popen = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=pipe, stderr=pipe, text=True)
            out_text, err_text = popen.communicate()
        proc = subprocess.CompletedProcess(cmd, popen.returncode, out_text, err_text)
        wall = time.perf_counter() - w0
        reaped = _reap_descendants() if subreaper else 0
        cpu = _children_cpu() - c0
        peak_mb = _children_peak_mb()
        run_json = out_dir / "run.json"
        meta = json.loads(run_json.read_text()) if run_json.exists() else {}
        n_scored, n_failed, first_failure = _image_counts(out_dir / "results.csv")
        stages = _read_stages(stage_dir, popen.pid) if args.stages else None
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
    used = len(scene_ids) if scene_ids is not None else args.limit
    scale = (scenes / used) if (used and scenes and used < scenes) else 1.0
    load = os.getloadavg()[0]
    from bench.provenance import cpu_label, machine
    shown_metrics = f"{n_metrics} metrics (issue 15 set)" if n_metrics else args.metrics
    shown_methods = "the 16 methods of issue 15" if args.methods == ISSUE15_METHODS else args.methods
    print(
        f"# full run: bench run --methods {shown_methods} --metrics {shown_metrics} --dataset {args.dataset}"
        f"{f' --limit {args.limit}' if args.limit else ''}{f' --scenes {args.scenes}' if scene_ids else ''}"
        f"{''.join(f' --results {r}' for r in args.results)}"
        f" --jobs {args.jobs}, fresh cache{f', code of {root}' if root != ROOT else ''}; "
        f"exit {proc.returncode}; load {load:.1f} on {os.cpu_count()} cpus, {cpu_label()} "
        "(shared machine: compare ratios)"
    )
    if not subreaper:
        print("# WARNING: could not become the subreaper: CPU counts only processes reaped by bench run")
    elif reaped:
        print(f"# {reaped} helper process(es) outlived bench run (e.g. loky's resource tracker): reaped here")
    print(
        f"# unit = uniform_filter 5x5 over both lytro-01 images: {unit * 1e3:.2f} ms CPU "
        f"(before {u0['cpu_s'] * 1e3:.2f}, after {u1['cpu_s'] * 1e3:.2f}); figures below in seconds and "
        f"as unit-CPU = seconds / unit"
    )
    during = statistics.median(sampler.samples) if sampler.samples else None
    if during is None:
        print(f"# unit sampled during the run (every {SAMPLE_EVERY_S:g} s): no sample (the run was shorter)")
    else:
        n, lo, hi = len(sampler.samples), min(sampler.samples), max(sampler.samples)
        plural = "s" if n > 1 else ""
        print(
            f"# unit sampled during the run (every {SAMPLE_EVERY_S:g} s, {n} sample{plural}, under the run's "
            f"load): median {during * 1e3:.2f} ms (min {lo * 1e3:.2f}, max {hi * 1e3:.2f}); "
            f"CPU of the run and its workers / that unit = "
            f"{cpu * scale / during:,.0f} unit-CPU{' (extrapolated)' if scale != 1 else ''}"
        )
    if n_scored and met_s:
        print(
            f"# fused images scored: {n_scored}; metrics per scored image: {met_s / n_scored:.3f} s = "
            f"{met_s / n_scored / unit:,.0f} units (sources' work included: once per scene and task)"
        )
    if n_failed:
        caveat = " (the extrapolation counts them as scored: read the per-image figure)" if scale != 1 else ""
        print(f"# {n_failed} fused image(s) failed before scoring{caveat}; first: {first_failure}")
    rows = [
        ("wall", wall),
        ("CPU, run + workers", cpu),
        ("compute (run.json, wall per call): fusion + metrics", fuse_s + met_s),
        ("  fusion", fuse_s),
        ("  metrics", met_s),
        ("overhead: CPU - compute (start-up, warm-up calls, I/O, cache)", cpu - fuse_s - met_s),
    ]
    print(f"| figure | seconds | unit-CPU | x{scale:.2f} (all scenes, extrapolated) |")
    print("| --- | ---: | ---: | ---: |")
    for name, sec in rows:
        print(f"| {name} | {sec:.1f} | {sec / unit:,.0f} | {sec * scale / unit:,.0f} |")
    total = fuse_s + met_s
    print(f"\npeak resident memory of the largest process (the run or one worker): {peak_mb:,.0f} MB")
    if total:
        print(
            f"\nshares of compute: fusion {100 * fuse_s / total:.1f} %, metrics {100 * met_s / total:.1f} %; "
            f"'est. unit-CPU' = share x measured CPU / unit{f' x{scale:.2f}' if scale != 1 else ''}"
        )
        for kind, entries, top in (("method (fusion)", fuse, 0), ("metric", met, args.top)):
            items = sorted(entries.items(), key=lambda kv: -kv[1]["seconds"])
            head = f"{kind}{f' (top {top})' if top else ''}"
            print(f"\n| {head} | seconds | share of compute | est. unit-CPU |")
            print("| --- | ---: | ---: | ---: |")
            for key, v in items[: top or None]:
                sec = v["seconds"]
                est = cpu * sec / total * scale / unit
                print(f"| {key} | {sec:.1f} | {100 * sec / total:.2f} % | {est:,.0f} |")
    if stages:
        _print_stages(stages, unit, scale)
    if args.json:
        out = {
            "machine": machine(),
            "unit_cpu_s": unit, "wall_s": wall, "cpu_s": cpu, "unit_cpu": cpu / unit, "scale": scale,
            "peak_rss_mb": peak_mb, "unit_during_run_cpu_s": during, "unit_samples_cpu_s": sampler.samples,
            "unit_cpu_extrapolated": cpu * scale / unit, "compute": prof,
            "scenes": scene_ids, "root": str(root), "stages": stages,
            "images_scored": n_scored, "images_failed": n_failed,
            "cmd": cmd if scene_ids is None else ["bench run with RunConfig.scenes", *run_args],
        }  # fmt: skip
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
