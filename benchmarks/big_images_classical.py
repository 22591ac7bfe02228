"""Time and peak memory of the classical methods on big colour pairs (issue 14 item 5, classical part).

Usage::

    python benchmarks/big_images_classical.py [--mp 0.25,2,12,24] [--methods lp,gf] [--json out.json]

For every (method, size) one fresh child process builds a seeded synthetic colour pair of that many
megapixels (3:2 aspect; 24 MP = 6000x4000), calls ``fuse`` once and reports wall time, CPU time and
its peak resident size (``ru_maxrss``, which includes the two float32 sources: 2 x 12 bytes/pixel,
i.e. 576 MB at 24 MP). The parent prints a table: seconds and MB per megapixel, peak RSS, and the
time as a ratio to the reference unit measured in the same run (one 5x5 ``uniform_filter`` pass
over both float32 images at the same size, as ``benchmarks/methods_speed.py``), which is comparable
across machines where seconds are not. The budget is 6 GB peak RSS at 24 MP; rows above it are
marked. Children run with one thread (OMP/BLAS/OpenCV = 1) and the workers' allocator settings.

The script reports, it does not fail. The machine it ran on is shared: quote ratios, not seconds.
``--table a.json b.json ...`` prints the per-MP table (rows = methods; per size CPU s / units / peak MB)
from the JSON outputs of this script, ``big_images.py`` and ``big_images_banded.py``
(:mod:`_big_table`).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUDGET_MB = 6 * 1024


def make_pair_shape(mp: float) -> tuple[int, int]:
    """(height, width) of the synthetic pair of ``mp`` megapixels (3:2; 24 MP = 4000x6000)."""
    w = int(round((mp * 1e6 * 1.5) ** 0.5))
    return int(round(mp * 1e6 / w)), w


def make_pair(mp: float, seed: int = 0):
    """A seeded multi-focus colour pair of ``mp`` megapixels (left half sharp in A, right half in B)."""
    import cv2
    import numpy as np

    h, w = make_pair_shape(mp)
    rng = np.random.default_rng(seed)
    small = rng.random((max(h // 8, 2), max(w // 8, 2), 3), dtype=np.float32)
    sharp = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    np.clip(sharp, 0, 1, out=sharp)
    blur = cv2.GaussianBlur(sharp, (0, 0), 3.0)
    a, b = sharp.copy(), blur.copy()
    a[:, w // 2 :] = blur[:, w // 2 :]
    b[:, w // 2 :] = sharp[:, w // 2 :]
    q = lambda x: (np.floor(x * 255 + 0.5) / 255).astype(np.float32)  # noqa: E731 - 8-bit-like sources
    return [q(a), q(b)]


def child(method: str, mp: float) -> dict:
    import cv2

    cv2.setNumThreads(1)
    from bench.registry import get_method

    imgs = make_pair(mp)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    m = get_method(method)
    kw = {"device": "cpu"} if m.info.device_aware else {}
    t0, c0 = time.perf_counter(), time.process_time()
    res = m.fuse(imgs, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ok = res.image.shape == imgs[0].shape
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"method": method, "mp": mp, "shape": list(imgs[0].shape), "wall_s": wall, "cpu_s": cpu,
            "peak_rss_mb": peak / 1024, "inputs_rss_mb": base / 1024, "ok": bool(ok)}


def unit(mp: float) -> float:
    from scipy.ndimage import uniform_filter

    imgs = make_pair(mp)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for im in imgs:
            uniform_filter(im, size=(5, 5, 1))
        best = min(best, time.process_time() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mp", default="0.25,2,12,24", help="megapixel sizes (comma-separated)")
    ap.add_argument("--methods", default="@classical", help="method ids (comma-separated) or @classical")
    ap.add_argument("--json", default=None, help="write the rows here")
    ap.add_argument("--table", nargs="+", metavar="JSON", help="print the per-MP markdown table of these "
                    "JSON outputs (this script's, big_images.py's, big_images_banded.py's) and exit")
    ap.add_argument("--child", nargs=2, metavar=("METHOD", "MP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.table:
        from _big_table import table

        print(table(args.table))
        return 0
    if args.child:
        print(json.dumps(child(args.child[0], float(args.child[1]))))
        return 0
    from bench.procenv import set_worker_env
    from bench.registry import get_method, list_methods

    set_worker_env()
    if args.methods == "@classical":
        methods = [m for m in list_methods("*") if get_method(m).info.family == "classical"]
    else:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    sizes = [float(x) for x in args.mp.split(",")]
    rows = []
    print(f"# big images, classical methods; shared machine ({os.cpu_count()} cores); one thread per child")
    print(f"{'method':12s} {'MP':>6s} {'wall s':>9s} {'cpu s':>9s} {'s/MP':>8s} {'x unit':>9s} "
          f"{'peak MB':>9s} {'MB/MP':>7s}")
    for mp in sizes:
        u = unit(mp)
        print(f"{'(unit)':12s} {mp:6.2f} {'':9s} {u:9.3f}   5x5 uniform_filter over both images")
        for m in methods:
            env = dict(os.environ, PYTHONPATH=str(REPO))
            cp = subprocess.run([sys.executable, __file__, "--child", m, str(mp)], capture_output=True,
                                text=True, env=env)
            if cp.returncode != 0:
                last = (cp.stderr.strip().splitlines() or ["?"])[-1]
                why = "killed" if cp.returncode < 0 else cp.returncode
                print(f"{m:12s} {mp:6.2f} FAILED ({why}): {last}")
                rows.append({"method": m, "mp": mp, "error": last})
                continue
            r = json.loads(cp.stdout.strip().splitlines()[-1])
            r["unit_cpu_s"] = u
            rows.append(r)
            flag = "  OVER 6 GB" if r["peak_rss_mb"] > BUDGET_MB else ""
            print(f"{m:12s} {mp:6.2f} {r['wall_s']:9.2f} {r['cpu_s']:9.2f} {r['wall_s'] / mp:8.3f} "
                  f"{r['cpu_s'] / u:9.1f} {r['peak_rss_mb']:9.0f} {r['peak_rss_mb'] / mp:7.0f}{flag}",
                  flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
