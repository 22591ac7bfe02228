"""Speed of every registered metric on one 520x520 reference pair, one thread (issue 3).

Usage::

    python benchmarks/metrics_speed.py [--metrics 'fmi*,qabf'] [--repeats 7] [--json out.json]

Methodology (style guide section 10):

* the allocator settings of ``bench run``'s workers (``bench/procenv.py``: the script re-executes
  itself with ``GLIBC_TUNABLES`` set, printed in the header; ``MFIF_MALLOC_TUNABLES=0`` keeps glibc's
  defaults, which cost 5-10 % in page faults);
* one thread: ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` set to 1 before NumPy
  is imported, and OpenCV's pool to one thread (``cv2.setNumThreads(1)``), as ``bench run``'s workers
  have them on a machine with one worker per core (``bench.procenv.match_opencv_threads``); the
  ``--jobs`` passes restore OpenCV's default, as ``bench score`` runs;
* input: the reference case ``lytro_01`` with fused rule ``avg`` (``$MFIF_REFERENCE`` or
  ``$MFIF_DATA/../reference``, ``images/lytro_01_{A,B,F_avg}.png``), read once as float64 0..255 (the
  ``standard`` protocol's metric inputs); only the metric function is timed (no I/O, no conversion);
* one warm-up call, then ``--repeats`` timed calls (fewer for slow metrics: about 5 s per metric at
  most), each on never-seen inputs (one pixel changed by one grey level: defeats the content-keyed
  memoisation some modules use, so every call is a full computation; read-only like the arrays
  ``bench.protocols.prepare`` gives the metrics in ``run`` and ``score``); median and IQR of the wall
  time, and the median CPU time (``time.process_time``), which a shared machine inflates much less;
  the targets (<= 0.5 s per metric, <= 3 s for all together) are judged on the CPU median;
* reference time: ``timing_summary.per_metric[reference_id].median_s_520x520`` of
  ``metrics_reference.json`` (Octave 7.3 / Python for ``cddfuse_*``, 2-core VM); ``ratio`` = ours / theirs
  (CPU median), ``speed-up`` = theirs / ours. Derived reference ids (sums/means of per-source values)
  have a recorded time of 0 and no ratio.

The TOTAL row sums the cold per-metric medians; a last line times one pass of all metrics over the same
inputs (variants then share memoised work, as in ``bench score --metrics all``), and another over a new
fused image of sources seen before (source-side memos hit: a run's steady state, and every published or
external image of a scene after the first; ``--metrics`` with the ``@core`` ids gives the issue's
"one external image" figure; ``--in-pass`` lists each metric's share of both passes). Every time is also
given as a ratio to the unit (``benchmarks/_unit.py``: one 5x5 ``uniform_filter`` pass over both
lytro-01 colour images, as ``methods_speed.py``; issue 15 targets: every metric <= 15 units, the pass <= 120
units), paired: every timed call or pass is preceded by a short unit measurement (``_unit.paired_unit``,
5 passes) and a figure in units is the median over repeats of time / that unit, so the machine's drift
during the run (20-30 % on a shared VM, shown by the unit measured before and after) cancels. ``first s``
is the first call of each metric (numba kernels load from their on-disk cache then); ``--compile-cost``
also times the import of every kernel module (each builds or loads its kernels at import) in fresh
processes with an empty and then a filled numba cache (compile vs cache load).
The script reports, it does not fail.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.procenv import reexec_with_tunables  # noqa: E402

reexec_with_tunables()  # the allocator settings of bench run's workers (bench/procenv.py)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.provenance import cpu_label, machine  # noqa: E402
from bench.registry import get_metric, list_metrics  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _unit import PAIRED_REPEATS, measure_unit, paired_unit  # noqa: E402

PER_METRIC_S = 0.5
TOTAL_S = 3.0
OPENCV_DEFAULT_THREADS = 0  # OpenCV's thread count at start (main sets OpenCV to one thread)
PER_METRIC_UNITS = 15
TOTAL_UNITS = 120

_COMPILE_PROBE = """
import importlib, pathlib, time
import metrics
t0 = time.process_time()
import numba
t1 = time.process_time()
# every kernel module builds (or loads) its kernels at import, on a tiny case with the real argument types
for path in sorted(pathlib.Path(metrics.__file__).parent.glob("_kernels_*.py")):
    importlib.import_module("metrics." + path.stem)
t2 = time.process_time()
print(t1 - t0, t2 - t1)
"""


def compile_cost() -> list[tuple[str, float, float]]:
    """(case, numba import s, first kernel calls s) in fresh processes: empty cache, then filled cache."""
    import subprocess
    import tempfile

    out = []
    with tempfile.TemporaryDirectory(prefix="mfif-numba-cache-") as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
        env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        for case in ("empty cache (compile)", "filled cache (load)", "filled cache (load)"):
            res = subprocess.run(
                [sys.executable, "-c", _COMPILE_PROBE], env=env, capture_output=True, text=True
            )
            if res.returncode != 0:
                out.append(
                    (case + ": failed " + res.stderr.strip().splitlines()[-1], float("nan"), float("nan"))
                )
                continue
            imp, first = (float(v) for v in res.stdout.split())
            out.append((case, imp, first))
    return out


def reference_dir() -> Path:
    env = os.environ.get("MFIF_REFERENCE")
    if env:
        return Path(env)
    data = os.environ.get("MFIF_DATA")
    if data:
        return Path(data).parent / "reference"
    return Path(__file__).resolve().parent.parent.parent / "shared" / "reference"


_COUNTER = [0]


def fresh(images: list[np.ndarray]) -> list[np.ndarray]:
    """Copies of ``images`` with one pixel changed by one grey level (a new one on every call).

    Some metric modules memoise intermediate results by image content (so that ``ssim``, ``ssim@af``
    and ``ssim@bf`` share work); every timed call gets never-seen inputs so that it measures the full
    computation. The change cannot affect the timing.
    """
    _COUNTER[0] += 1
    k = _COUNTER[0]
    out = []
    for img in images:
        c = img.copy()
        r, col = divmod(k, c.shape[1])
        r %= c.shape[0]
        c[r, col] = c[r, col] + 1 if c[r, col] < 255 else c[r, col] - 1
        c.setflags(write=False)  # read-only, as bench.protocols.prepare hands inputs to the metrics
        out.append(c)
    return out


def time_metric(fn, sources, fused, repeats: int, budget_s: float = 5.0):
    """(wall times, cpu times, first call's cpu, paired units) of ``repeats`` cold calls after one warm-up
    call (fewer if slow); ``units[i]`` is the unit measured right before call ``i`` (:func:`paired_unit`)."""
    t0 = time.process_time()
    fn(*_split(fresh([*sources, fused])), reference=None)
    first = time.process_time() - t0
    n = max(1, min(repeats, int(budget_s / max(first, 1e-6))))
    walls, cpus, units = [], [], []
    for _ in range(n):
        srcs, fus = _split(fresh([*sources, fused]))
        units.append(paired_unit())
        w0, c0 = time.perf_counter(), time.process_time()
        fn(srcs, fus, reference=None)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return walls, cpus, first, units


def _ratio(cpus: list[float], units: list[float]) -> float:
    """Median over repeats of a time / the unit (CPU) measured right before it."""
    return statistics.median(c / u for c, u in zip(cpus, units, strict=True))


def _split(images: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    return images[:-1], images[-1]


def time_all_together(
    fns, sources, fused, repeats: int = 3, per_metric: list | None = None
) -> tuple[float, float]:
    """(median CPU seconds, median units) of one pass of every metric over the same (fresh) inputs, shared
    caches allowed; units: each pass against the unit measured right before it (:func:`paired_unit`).

    With ``per_metric`` (a list), each metric's ``(median CPU seconds, median units)`` inside the pass is
    appended to it.
    """
    cpus, units, each = [], [], [[] for _ in fns]
    for _ in range(repeats):
        srcs, fus = _split(fresh([*sources, fused]))
        units.append(paired_unit())
        c0 = time.process_time()
        for k, fn in enumerate(fns):
            t0 = time.process_time()
            fn(srcs, fus, reference=None)
            each[k].append(time.process_time() - t0)
        cpus.append(time.process_time() - c0)
    if per_metric is not None:
        per_metric.extend((statistics.median(e), _ratio(e, units)) for e in each)
    return statistics.median(cpus), _ratio(cpus, units)


def time_scene_pass(
    fns, sources, fused, repeats: int = 3, per_metric: list | None = None
) -> tuple[float, float]:
    """(median CPU seconds, median units) of one pass over a *new fused image of sources seen before*
    (per-metric figures as :func:`time_all_together`).

    The runner's steady state (every fused image of a scene after the first, and every published or
    external image of a scene): source-side memos (metrics._memo.source_memo) hit, the fused side is new.
    """
    srcs = fresh(sources)
    for fn in fns:  # the first fused image of the scene: fills the source-side memos
        fn(srcs, fresh([fused])[0], reference=None)
    cpus, units, each = [], [], [[] for _ in fns]
    for _ in range(repeats):
        fus = fresh([fused])[0]
        units.append(paired_unit())
        c0 = time.process_time()
        for k, fn in enumerate(fns):
            t0 = time.process_time()
            fn(srcs, fus, reference=None)
            each[k].append(time.process_time() - t0)
        cpus.append(time.process_time() - c0)
    if per_metric is not None:
        per_metric.extend((statistics.median(e), _ratio(e, units)) for e in each)
    return statistics.median(cpus), _ratio(cpus, units)


def time_threaded_pass(
    ids: list[str], sources, fused, jobs: int, repeats: int = 3, known_sources: bool = False
) -> tuple[float, float, float, float]:
    """(median wall s, median CPU s, their median units) of one pass of ``ids`` over fresh inputs in
    ``jobs`` threads, scheduled as ``bench score --jobs`` does (:func:`bench.scoring.score_prepared`); with
    ``known_sources`` the sources were seen before (their memos hit: the scene pass) and only the fused
    image is new. Units: against the unit's CPU time measured right before each pass."""
    import cv2

    from bench.scoring import score_prepared

    one = cv2.getNumThreads()
    cv2.setNumThreads(OPENCV_DEFAULT_THREADS or one)  # as bench score runs (no worker pool around it)
    try:
        return _time_passes(score_prepared, ids, sources, fused, jobs, repeats, known_sources)
    finally:
        cv2.setNumThreads(one)


def _time_passes(score_prepared, ids, sources, fused, jobs, repeats, known_sources):
    """The timed passes of :func:`time_threaded_pass` (OpenCV's threads set by the caller)."""
    walls, cpus, units = [], [], []
    known = fresh(sources)
    if known_sources:
        score_prepared(known, fresh([fused])[0], None, ids, jobs=jobs)
    for _ in range(repeats):
        srcs, fus = _split(fresh([*sources, fused]))
        if known_sources:
            srcs = known
        units.append(paired_unit())
        w0, c0 = time.perf_counter(), time.process_time()
        score_prepared(srcs, fus, None, ids, jobs=jobs)
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), _ratio(walls, units), _ratio(cpus, units)


def qp_transform_floor(shape: tuple[int, int], repeats: int = 5) -> float:
    """Units (median over ``repeats``, each paired with its unit) of the inverse DFTs alone that Qp needs on
    new inputs: three phase congruencies (two sources and the fused image) of 4 scales x 6 orientations,
    72 complex128 transforms of ``shape`` with the flags of :func:`metrics._phasecong._inverse_dft`
    (OpenCV, this process's threads; out of place here, so that every call transforms the same values). A
    lower bound of Qp called alone on new inputs, before the filters, the energy stage and the correlations.
    """
    import cv2

    from metrics._phasecong import NORIENT, NSCALE, _as_pairs

    rng = np.random.default_rng(0)  # fixture only: the transforms' time does not depend on the values
    spectrum = _as_pairs(rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    out = np.empty_like(spectrum)
    flags = cv2.DFT_COMPLEX_OUTPUT | cv2.DFT_SCALE
    ratios = []
    for _ in range(repeats):
        unit = paired_unit()
        c0 = time.process_time()
        for _ in range(3 * NSCALE * NORIENT):
            cv2.idft(spectrum, dst=out, flags=flags)
        ratios.append((time.process_time() - c0) / unit)
    return statistics.median(ratios)


def _over(rows: list[dict], key: str) -> str:
    """``yes`` or ``NO (id units, ...)``: the metrics of ``rows`` whose ``key`` (units) exceed the target."""
    over = sorted((r[key], r["metric"]) for r in rows if r[key] > PER_METRIC_UNITS)[::-1]
    return "yes" if not over else "NO (" + ", ".join(f"{m} {u:.1f}" for u, m in over) + ")"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--metrics", default="all", help="ids or globs (default: all)")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--json", help="write the rows as JSON to this file")
    ap.add_argument("--compile-cost", action="store_true", help="also time numba compile vs cache load")
    ap.add_argument(
        "--in-pass", action="store_true", help="also each metric's CPU inside the two passes (shared work)"
    )
    ap.add_argument(
        "--jobs", type=int, default=0,
        help="also time the pass in N threads as `bench score --jobs N` runs it (wall and CPU; 0: skip)",
    )
    args = ap.parse_args(argv)
    global OPENCV_DEFAULT_THREADS
    import cv2

    OPENCV_DEFAULT_THREADS = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one thread, as a run's worker (bench.procenv.match_opencv_threads)
    u0 = measure_unit()

    ref_dir = reference_dir()
    ref = json.loads((ref_dir / "metrics_reference.json").read_text())
    ref_times = ref["timing_summary"]["per_metric"]

    def img(name: str) -> np.ndarray:
        return np.asarray(Image.open(ref_dir / "images" / f"{name}.png"), dtype=np.float64)

    sources, fused = [img("lytro_01_A"), img("lytro_01_B")], img("lytro_01_F_avg")
    print(
        f"# metrics speed: lytro_01/avg 520x520, 1 thread (OpenCV too), python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()} {cpu_label()}, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '(unset)')}"
    )
    print(
        f"# unit (before the metrics) = {u0['cpu_s'] * 1e3:.2f} ms CPU: 5x5 uniform_filter over both images"
    )
    head = (
        f"{'metric':18s} {'reference id':28s} {'cpu med s':>9s} {'x unit':>7s} {'first s':>8s} "
        f"{'wall med s':>10s} {'wall IQR':>9s} {'ref s':>8s} {'ratio':>8s} {'speed-up':>8s}"
    )
    print(head)
    print("-" * len(head))
    rows = []
    for mid in list_metrics(args.metrics):
        m = get_metric(mid)
        if m.info.needs_reference:
            continue  # ground-truth metrics: no ground truth for real pairs (and no reference time)
        walls, cpus, first, units = time_metric(m.fn, sources, fused, args.repeats)
        q = statistics.quantiles(walls, n=4) if len(walls) > 1 else [walls[0]] * 3
        cpu, wall = statistics.median(cpus), statistics.median(walls)
        x_unit = _ratio(cpus, units)
        rt = (ref_times.get(m.info.reference_id) or {}).get("median_s_520x520")
        ratio = cpu / rt if rt else None
        rows.append(
            {
                "metric": mid,
                "reference_id": m.info.reference_id,
                "cpu_median_s": cpu,
                "units": x_unit,
                "paired_unit_cpu_s": statistics.median(units),
                "first_cpu_s": first,
                "wall_median_s": wall,
                "wall_iqr_s": q[2] - q[0],
                "reference_s": rt,
                "ratio": ratio,
                "n": len(walls),
            }
        )
        flag = f"  > {PER_METRIC_UNITS} units" if x_unit > PER_METRIC_UNITS else ""
        print(
            f"{mid:18s} {m.info.reference_id or '-':28s} {cpu:9.4f} {x_unit:7.1f} {first:8.3f} "
            f"{wall:10.4f} {q[2] - q[0]:9.4f} "
            f"{(f'{rt:.4f}' if rt else '-'):>8s} {(f'{ratio:.3f}' if ratio else '-'):>8s} "
            f"{(f'{1 / ratio:.0f}x' if ratio else '-'):>8s}{flag}"
        )
    total_cpu = sum(r["cpu_median_s"] for r in rows)
    total_ref = sum(r["reference_s"] or 0.0 for r in rows)
    print("-" * len(head))
    print(
        f"{'TOTAL':18s} {len(rows):>3d} metrics {'':19s} {total_cpu:9.4f} "
        f"{sum(r['wall_median_s'] for r in rows):10.4f} {'':9s} {total_ref:8.2f}"
    )
    fns = [get_metric(r["metric"]).fn for r in rows]
    in_pass, in_scene = [], []
    together, together_u = time_all_together(fns, sources, fused, per_metric=in_pass)
    scene_pass, scene_u = time_scene_pass(fns, sources, fused, per_metric=in_scene)
    for row, a, b in zip(rows, in_pass, in_scene, strict=True):
        row["in_pass_cpu_s"], row["in_pass_units"] = a
        row["in_scene_pass_cpu_s"], row["in_scene_pass_units"] = b
    ids = [r["metric"] for r in rows]
    threaded = threaded_scene = None
    if args.jobs:
        threaded = time_threaded_pass(ids, sources, fused, args.jobs)
        threaded_scene = time_threaded_pass(ids, sources, fused, args.jobs, known_sources=True)
    u1 = measure_unit()
    unit = (u0["cpu_s"] + u1["cpu_s"]) / 2
    print(
        f"# unit: {u0['cpu_s'] * 1e3:.2f} ms before, {u1['cpu_s'] * 1e3:.2f} ms after, "
        f"{unit * 1e3:.2f} ms mean; every 'units' figure is the median over repeats of a time divided by "
        f"the unit measured right before it ({PAIRED_REPEATS} passes: the drift between the two readings "
        f"above cancels); sum of the metrics' cold medians = {sum(r['units'] for r in rows):.0f} units"
    )
    print(
        f"# one pass of all {len(rows)} metrics over the same fresh inputs (variants share memoised "
        f"work): CPU median {together:.3f} s = {together_u:.0f} units"
    )
    print(
        f"# the same pass on a new fused image of sources seen before (a run's later images of a scene, "
        f"published/external images): CPU median {scene_pass:.3f} s = {scene_u:.0f} units"
    )
    if threaded is not None:
        wall, cpu, wall_u, cpu_u = threaded
        print(
            f"# the first pass in {args.jobs} threads (bench score --jobs {args.jobs}; fresh inputs): wall "
            f"median {wall:.3f} s = {wall_u:.0f} units, CPU {cpu:.3f} s = {cpu_u:.0f} units "
            f"(load {os.getloadavg()[0]:.1f}: wall means something only on an idle machine)"
        )
        wall, cpu, wall_u, cpu_u = threaded_scene
        print(
            f"# the scene pass in {args.jobs} threads (sources seen before): wall median {wall:.3f} s = "
            f"{wall_u:.0f} units, CPU {cpu:.3f} s = {cpu_u:.0f} units"
        )
    if args.in_pass:
        print("# inside the passes (units): metric, pass with fresh sources, with known sources, share of it")
        for r in sorted(rows, key=lambda r: -r["in_scene_pass_units"]):
            print(
                f"#   {r['metric']:18s} {r['in_pass_units']:7.1f} {r['in_scene_pass_units']:7.1f} "
                f"{100 * r['in_scene_pass_cpu_s'] / scene_pass:6.1f} %"
            )
    print(
        f"# targets (issue 15): every metric <= {PER_METRIC_UNITS} units: called alone on fresh inputs "
        f"{_over(rows, 'units')}, with the sources known (a run's steady state) "
        f"{_over(rows, 'in_scene_pass_units')}; the pass <= {TOTAL_UNITS} units: "
        f"{'yes' if together_u <= TOTAL_UNITS else 'NO'} (CPU medians)"
    )
    if any(r["metric"] == "qp" for r in rows):
        print(
            f"# qp called alone on new inputs computes three phase congruencies: their 72 inverse DFTs "
            f"alone take {qp_transform_floor(sources[0].shape):.1f} units (a floor for Qp on new inputs; "
            f"with the sources known it computes one)"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"# peak resident memory of this process (every pass above, memoised source work included): "
          f"{peak_mb:,.0f} MB")  # fmt: skip
    if args.compile_cost:
        for case, imp, first in compile_cost():
            print(f"# numba, fresh process, {case}: import numba {imp:.2f} s, kernels ready {first:.2f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": rows,
                    "sum_cpu_s": total_cpu,
                    "together_cpu_s": together,
                    "together_units": together_u,
                    "scene_pass_cpu_s": scene_pass,
                    "scene_pass_units": scene_u,
                    "threaded_pass": None if threaded is None else {
                        "jobs": args.jobs, "wall_s": threaded[0], "cpu_s": threaded[1],
                        "wall_units": threaded[2], "cpu_units": threaded[3],
                        "scene_wall_s": threaded_scene[0], "scene_cpu_s": threaded_scene[1],
                        "scene_wall_units": threaded_scene[2], "scene_cpu_units": threaded_scene[3],
                    },
                    "unit_cpu_s": unit,
                    "peak_rss_mb": peak_mb,
                    "machine": machine(),
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
