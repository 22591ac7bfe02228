"""Time and peak memory of the deep methods on big images (issue 14 item 5), and tiled vs untiled.

Usage (from the repository root)::

    MFIF_DATA=../shared/datasets MFIF_WEIGHTS=../shared/weights python benchmarks/big_images.py
    python benchmarks/big_images.py --methods ifcnn,sesf,gacn --mp 2,12,24 --threads 1
    python benchmarks/big_images.py --compare --mp 2      # tiled vs untiled agreement at 2 MP

The big pair is ``lytro/lytro-01`` (520x520) resized with OpenCV ``INTER_CUBIC`` to a 3:2 frame of the
requested size (24 MP = 6000x4000) and written once as PNG to a temporary folder. Each (method, size)
runs in its own process under ``/usr/bin/time -v``: the reported peak RSS ("Maximum resident set
size") covers reading the two PNGs, the fusion (``tile="auto"``: tiled above the method's threshold)
and nothing else; wall time is the process's, minus nothing (model loading is a fraction of a second);
CPU time of the fusion call (``fuse_cpu_s``) and the 5x5 uniform-filter unit at the same size measured in
the same run (``unit_cpu_s``) go into the JSON for ``big_images_classical.py --table``.
``--compare`` instead fuses each size twice in one process, ``tile=0`` and ``tile=1024``, and reports
the share of pixels within one grey level and bit-identical.

This is a benchmark, not a test: it prints a table and asserts nothing. Timings depend on the load of
the machine (printed); run with one torch thread on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENE = ("lytro", "lytro-01")
RSS_LIMIT_GB = 6.0


def _size(mp: float) -> tuple[int, int]:
    """(width, height) of a 3:2 frame with ``mp`` megapixels (24 -> 6000x4000)."""
    h = int(round((mp * 1e6 / 1.5) ** 0.5 / 8)) * 8
    return int(round(h * 1.5 / 8)) * 8, h


def make_pair(mp: float, folder: Path) -> list[Path]:
    """The two lytro-01 sources resized to ``mp`` megapixels, as PNG files in ``folder``."""
    import cv2
    import numpy as np
    from PIL import Image

    data = Path(os.environ.get("MFIF_DATA", REPO.parent / "shared" / "datasets"))
    w, h = _size(mp)
    out = []
    for role in ("A", "B"):
        path = folder / f"{mp:g}mp_{role}.png"
        if not path.exists():
            src = np.asarray(Image.open(data / SCENE[0] / SCENE[1] / f"{role}.jpg").convert("RGB"))
            Image.fromarray(cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)).save(
                path, compress_level=1
            )
        out.append(path)
    return out


_CHILD = """
import sys, time, torch
torch.set_num_threads({threads})
from bench.imageio import read_image
from bench.registry import get_method
imgs = [read_image(p) for p in {paths!r}]
t0, c0 = time.perf_counter(), time.process_time()
res = get_method({method!r}).fuse(imgs, device="cpu")
print("FUSE_SECONDS", time.perf_counter() - t0, res.image.shape)
print("FUSE_CPU", time.process_time() - c0)
"""


def _unit(mp: float) -> float:
    """The 5x5 uniform-filter unit over both images at this size (``big_images_classical.unit``)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from big_images_classical import unit

    return unit(mp)


def measure(method: str, paths: list[Path], threads: int) -> dict:
    code = _CHILD.format(threads=threads, paths=[str(p) for p in paths], method=method)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-v", sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO
    )
    wall = time.perf_counter() - t0
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    fuse = re.search(r"FUSE_SECONDS ([0-9.]+)", proc.stdout)
    res = {"method": method, "process_s": wall, "peak_rss_gb": int(rss.group(1)) / 1024**2 if rss else None}
    if proc.returncode != 0 or not fuse:
        tail = [ln for ln in proc.stderr.splitlines() if ln.strip() and "\r" not in ln][-3:]
        res["error"] = f"exit {proc.returncode}: {' | '.join(tail)}"
    else:
        res["fuse_s"] = float(fuse.group(1))
        cpu = re.search(r"FUSE_CPU ([0-9.]+)", proc.stdout)
        if cpu:  # all threads of the process (one torch thread: comparable to the unit)
            res["fuse_cpu_s"] = float(cpu.group(1))
    return res


_COMPARE = """
import numpy as np, torch
torch.set_num_threads({threads})
from bench.imageio import read_image
from bench.registry import get_method
imgs = [read_image(p) for p in {paths!r}]
fuse = get_method({method!r}).fuse
whole = np.rint(fuse(imgs, device="cpu", tile=0).image * 255)
tiled = np.rint(fuse(imgs, device="cpu", tile=1024).image * 255)
d = np.abs(whole - tiled)
print("AGREE", float(np.mean(d <= 1)), float(np.mean(d == 0)), float(d.max()))
"""


def compare(method: str, paths: list[Path], threads: int) -> dict:
    code = _COMPARE.format(threads=threads, paths=[str(p) for p in paths], method=method)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO)
    m = re.search(r"AGREE ([0-9.e-]+) ([0-9.e-]+) ([0-9.e-]+)", proc.stdout)
    if not m:
        return {"method": method, "error": proc.stderr.strip().splitlines()[-1:]}
    return {
        "method": method,
        "within_1": float(m.group(1)),
        "identical": float(m.group(2)),
        "max": float(m.group(3)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="ifcnn,sesf,gacn")
    ap.add_argument("--mp", default="2,12,24", help="comma-separated sizes in megapixels")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compare", action="store_true", help="tiled vs untiled agreement instead of timing")
    ap.add_argument("--workdir", type=Path, default=None, help="where the big PNGs go (default: a temp dir)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    sizes = [float(x) for x in args.mp.split(",") if x]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mfif-big-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; torch threads {args.threads}")
    rows = []
    for mp in sizes:
        paths = make_pair(mp, work)
        w, h = _size(mp)
        u = None if args.compare else _unit(mp)
        for m in methods:
            if args.compare:
                r = {**compare(m, paths, args.threads), "mp": mp, "size": f"{w}x{h}"}
                line = r.get("error") or (
                    f"within 1 level {r['within_1']:.5%}, identical {r['identical']:.5%}, max {r['max']:.0f}"
                )
                print(f"{m:8s} {w}x{h} tiled vs untiled: {line}", flush=True)
            else:
                r = {**measure(m, paths, args.threads), "mp": mp, "size": f"{w}x{h}", "unit_cpu_s": u}
                if "error" in r:
                    print(f"{m:8s} {w}x{h}: ERROR {r['error']}", flush=True)
                else:
                    ok = "PASS" if r["peak_rss_gb"] <= RSS_LIMIT_GB else "MISS"
                    per_mp = r["fuse_s"] / mp
                    print(
                        f"{m:8s} {w}x{h} ({mp:g} MP): fuse {r['fuse_s']:.1f} s ({per_mp:.1f} s/MP), "
                        f"process {r['process_s']:.1f} s, peak RSS {r['peak_rss_gb']:.2f} GB "
                        f"(<= {RSS_LIMIT_GB} GB: {ok}); load {os.getloadavg()[0]:.1f}",
                        flush=True,
                    )
            rows.append(r)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
