"""Memory and rate of the patch-coding methods (sr, nsct_sr, asr) on big pairs, in bounded time.

Usage::

    python benchmarks/big_images_banded.py --method sr --mp 24 --seconds 600 --json sr24.json
    python benchmarks/big_images_banded.py --method sr --mp 24 --stub-coder --json sr24_flow.json

A full 24 MP run of these methods takes hours of CPU (every 8x8 patch of every source and channel is
coded by OMP), so this script gives the evidence that can be had in minutes, and says which is which:

* **real, bounded** (default): one child process runs the method's registry ``fuse`` on the seeded
  synthetic pair of :mod:`big_images_classical` (24 MP = 6000x4000 colour), unchanged except that the
  OMP coder (``baselines._omp.omp_l1`` / ``omp_l1_compiled``) is wrapped to count the patches it codes.
  The parent samples the child's ``VmRSS`` / ``VmHWM`` (``/proc/<pid>/status``) and CPU time every
  ``--every`` seconds and stops it after ``--seconds``. Reported: the RSS samples (the banded coding
  should plateau after its first band), patches coded, CPU seconds per patch in the coder's phase,
  the number of patches of the whole image and the projected CPU time of a full run (a projection:
  rate x count, not a measurement).
* **data flow, coder stubbed** (``--stub-coder``): the same child with the coder replaced by a stub that
  returns zero codes (``l1 = 0``, residual = the patch) without any OMP work: every band, the patch
  extraction, accumulation, the NSCT part of nsct_sr, the division and the output conversion run to the
  end, so the measured peak RSS is that of the whole data flow at this size. The real coder's own
  buffers (per 2048-patch chunk, independent of the image size) come on top; the bounded real run shows
  them. The output is of course not the method's.

Children run with one thread (OMP/BLAS/numba = 1). The machine this ran on is shared: quote CPU seconds and
the unit of :mod:`big_images_classical` measured in the same run, not wall time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
             "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

METHODS = ("sr", "nsct_sr", "asr")


PIECE = 16384  # rows per logged coder call: a multiple of both coders' chunk sizes (2048, 4096)


def _install_coder_hook(log: Path, stub: bool) -> None:
    """Wrap (or stub) the OMP entry points; each piece coded appends ``wall cpu patches`` to ``log``.

    The real coders are called on consecutive pieces of ``PIECE`` rows: their chunks (2048 / 4096
    signals from the start of the call) fall on the same rows as in one call, so the codes are the same;
    the pieces only give a finer progress log.
    """
    import numpy as np

    import baselines._omp as omp

    fh = log.open("a", buffering=1)
    t0 = time.perf_counter()

    def note(rows: int) -> None:
        fh.write(f"{time.perf_counter() - t0:.3f} {time.process_time():.3f} {rows}\n")

    def wrap(real):
        def coder(x, *args, **kwargs):
            m = x.shape[0]
            if stub:
                note(m)
                return np.zeros(m), np.array(x, dtype=np.float64, copy=True)
            l1 = resid = None
            for s0 in range(0, m, PIECE):
                a, r = real(x[s0 : s0 + PIECE], *args, **kwargs)
                if l1 is None:
                    l1, resid = np.empty(m, dtype=a.dtype), np.empty((m,) + r.shape[1:], dtype=r.dtype)
                l1[s0 : s0 + PIECE], resid[s0 : s0 + PIECE] = a, r
                del a, r
                note(min(PIECE, m - s0))
            return l1, resid

        return coder

    omp.omp_l1 = wrap(omp.omp_l1)
    omp.omp_l1_compiled = wrap(omp.omp_l1_compiled)


def child(method: str, mp: float, log: Path, stub: bool) -> dict:
    import resource

    import cv2

    cv2.setNumThreads(1)
    from big_images_classical import make_pair

    from bench.registry import get_method

    imgs = make_pair(mp)
    _install_coder_hook(log, stub)
    c0 = time.process_time()
    res = get_method(method).fuse(imgs)
    return {"cpu_s": time.process_time() - c0, "ok": res.image.shape == imgs[0].shape,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def total_patches(method: str, mp: float) -> int:
    """Patches the coder sees for the whole synthetic pair (N = 2, 3 channels), default parameters."""
    from big_images_classical import make_pair_shape

    h, w = make_pair_shape(mp)
    step = {"sr": 1, "nsct_sr": 2, "asr": 1}[method]  # 8x8 patches, overlap 7 / 6 / 7
    ny, nx = (h - 8) // step + 1, (w - 8) // step + 1
    return 2 * 3 * ny * nx


def _status(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out["cpu_s"] = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return out


def parent(method: str, mp: float, seconds: float, every: float, stub: bool) -> dict:
    from big_images_classical import unit

    from bench.procenv import set_worker_env

    set_worker_env()
    u = unit(mp)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "coder.log"
        log.touch()
        cmd = [sys.executable, __file__, "--child", method, str(mp), str(log)] + (["--stub-coder"] * stub)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(REPO)))
        t0, samples = time.monotonic(), []
        stopped = False
        while proc.poll() is None:
            s = _status(proc.pid)
            if s:
                samples.append({"t": round(time.monotonic() - t0, 1), **s})
            if not stub and time.monotonic() - t0 > seconds:
                proc.kill()
                stopped = True
                break
            time.sleep(every)
        out, err = proc.communicate()
        calls = [tuple(float(v) for v in ln.split()) for ln in log.read_text().splitlines() if ln.strip()]
    row = {"method": method, "mp": mp, "mode": "stub-coder" if stub else "real-bounded",
           "unit_cpu_s": u, "stopped_at_s": seconds if stopped else None, "samples": samples,
           "load_avg": os.getloadavg()[0]}
    if not stopped:
        if proc.returncode != 0:
            row["error"] = (err.strip().splitlines() or ["?"])[-1]
        else:
            row.update(json.loads(out.strip().splitlines()[-1]))
    row["peak_rss_mb"] = max([s.get("VmHWM", 0) for s in samples] + [row.get("peak_rss_mb", 0)])
    total = total_patches(method, mp)
    coded = int(sum(c[2] for c in calls))
    row.update({"coder_calls": len(calls), "patches_coded": coded, "patches_total": total})
    if calls and not stub:
        first_cpu = calls[0][1]  # CPU at the end of the first coder call (after the set-up phase)
        n_after = sum(c[2] for c in calls[1:])
        if n_after > 0:
            rate = (calls[-1][1] - first_cpu) / n_after
            row["band_cpu_s_per_patch"] = rate
            row["projected_banded_cpu_s"] = rate * total
            row["projected_banded_units"] = rate * total / u
        steps = [(b[1] - a[1]) / b[2] for a, b in zip(calls, calls[1:], strict=False) if b[2] > 0]
        if steps:  # the coder alone: the median piece (nsct_sr's NSCT work between channels left out)
            med = sorted(steps)[len(steps) // 2]
            row["coder_cpu_s_per_patch_median"] = med
            row["projected_coder_cpu_s"] = med * total
    return row


def _report(r: dict) -> None:
    print(f"{r['method']} {r['mp']:g} MP ({r['mode']}); unit {r['unit_cpu_s']:.3f} s CPU; "
          f"load {r['load_avg']:.1f}")
    if r.get("error"):
        print(f"  FAILED: {r['error']}")
    step = max(1, len(r["samples"]) // 24)
    for s in r["samples"][::step] + r["samples"][-1:]:
        print(f"  t {s['t']:7.1f} s  cpu {s.get('cpu_s', 0):7.1f} s  RSS {s.get('VmRSS', 0):7.0f} MB  "
              f"HWM {s.get('VmHWM', 0):7.0f} MB")
    print(f"  peak RSS {r['peak_rss_mb']:.0f} MB; coder calls {r['coder_calls']}, patches coded "
          f"{r['patches_coded']:,} of {r['patches_total']:,}")
    if "projected_banded_cpu_s" in r:
        print(f"  banded phase {r['band_cpu_s_per_patch'] * 1e6:.1f} us CPU per coded patch (coder, extr.,"
              f" accumulation) -> whole image {r['projected_banded_cpu_s']:.0f} s CPU = "
              f"{r['projected_banded_units']:.0f} units (a projection, not a measurement)")
    if "projected_coder_cpu_s" in r:
        print(f"  coder alone (median piece) {r['coder_cpu_s_per_patch_median'] * 1e6:.1f} us CPU/patch -> "
              f"{r['projected_coder_cpu_s']:.0f} s CPU for the whole image (projection)")
    if "cpu_s" in r:
        print(f"  completed: {r['cpu_s']:.1f} s CPU = {r['cpu_s'] / r['unit_cpu_s']:.0f} units")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=METHODS, default="sr")
    ap.add_argument("--mp", type=float, default=24.0)
    ap.add_argument("--seconds", type=float, default=600.0, help="wall-time bound of the real run")
    ap.add_argument("--every", type=float, default=5.0, help="RSS sampling period (s)")
    ap.add_argument("--stub-coder", action="store_true", help="zero-cost coder: the data-flow peak")
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], float(args.child[1]), Path(args.child[2]), args.stub_coder)))
        return 0
    row = parent(args.method, args.mp, args.seconds, args.every, args.stub_coder)
    _report(row)
    if args.json:
        Path(args.json).write_text(json.dumps(row, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
