"""Start-up of the command line, as whole processes, against enfuse in one paired run (issue 10 item 8).

Usage::

    python benchmarks/startup_speed.py [--rounds 5] [--json out.json]

Methodology: every command runs as a fresh process (``python -m bench ...``, the interpreter of this
script, ``PYTHONPATH`` = this checkout) and is timed from spawn to exit with ``time.perf_counter``.
The peer tool, ``enfuse`` (focus-stacking settings: contrast weight 1, exposure and saturation weight 0,
hard mask), fuses the same Lytro pair. One warm-up round (file cache, registry index), then ``--rounds``
rounds in which every command runs once, alternating with an enfuse run (so a busy machine slows both
alike); the median of the rounds is reported, with the ratio to the median enfuse time.

Commands and targets (issue 10):

* ``fuse --method lp`` on ``$MFIF_DATA/lytro/lytro-01/{A,B}.jpg``: at most 4x enfuse;
* ``--help`` and ``list methods``: under 0.4 s;
* ``score --metrics qg`` on a 32x40 pair (computing Qg there takes about a millisecond, so the time is
  the start-up): under 0.5 s.

Without enfuse on the PATH the ratios are left out. The script reports; it does not fail.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's bench (provenance), like the commands it times


def _timed(cmd: list[str], env: dict, cwd: str) -> float:
    t0 = time.perf_counter()
    cp = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if cp.returncode != 0:
        raise SystemExit(f"failed ({cp.returncode}): {' '.join(cmd)}\n{cp.stderr}")
    return dt


def _small_pair(folder: Path) -> list[str]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)  # fixture only
    out = []
    for n in "AB":
        p = folder / f"{n}.png"
        Image.fromarray(rng.integers(0, 256, (32, 40), dtype=np.uint8)).save(p)
        out.append(str(p))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    data = Path(os.environ.get("MFIF_DATA", REPO.parent / "shared" / "datasets"))
    pair = [str(data / "lytro" / "lytro-01" / f"{r}.jpg") for r in "AB"]
    if not all(Path(p).is_file() for p in pair):
        raise SystemExit(f"needs the Lytro pair {pair[0]} (set MFIF_DATA)")
    tmp = Path(tempfile.mkdtemp(prefix="startup-"))
    small = _small_pair(tmp)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    py = [sys.executable, "-m", "bench"]
    commands = {
        "fuse --method lp (lytro-01)": [*py, "fuse", "--method", "lp", "-o", str(tmp / "lp.png"), *pair],
        "--help": [*py, "--help"],
        "list methods": [*py, "list", "methods"],
        "score --metrics qg (32x40)": [*py, "score", "--metrics", "qg", "-f", small[0], *small],
        "python -c pass (interpreter)": [sys.executable, "-c", "pass"],
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    }
    targets = {
        "fuse --method lp (lytro-01)": ("ratio", 4.0),
        "--help": ("s", 0.4),
        "list methods": ("s", 0.4),
        "score --metrics qg (32x40)": ("s", 0.5),
        "python -c pass (interpreter)": ("s", None),
        "python -c 'import numpy'": ("s", None),
    }
    enfuse = shutil.which("enfuse")
    peer = None
    if enfuse:
        peer = [enfuse, "--exposure-weight=0", "--saturation-weight=0", "--contrast-weight=1", "--hard-mask",
                "-o", str(tmp / "enfuse.tif"), *pair]
    times: dict[str, list[float]] = {k: [] for k in commands}
    peer_times: list[float] = []
    for rnd in range(args.rounds + 1):  # round 0 is the warm-up
        for name, cmd in commands.items():
            if peer:
                t = _timed(peer, env, str(tmp))
                if rnd:
                    peer_times.append(t)
            t = _timed(cmd, env, str(tmp))
            if rnd:
                times[name].append(t)
    shutil.rmtree(tmp, ignore_errors=True)

    from bench.provenance import cpu_label, git_commit, machine

    unit = statistics.median(peer_times) if peer_times else None
    print(f"# start-up, whole processes, median of {args.rounds} alternating rounds after a warm-up")
    print(f"# {cpu_label()}, {os.cpu_count()} logical CPUs, commit {git_commit()[:12]}; "
          "machine possibly shared: compare the ratios")
    if unit:
        print(f"# enfuse (lytro-01, focus-stacking settings): {unit * 1000:.0f} ms = 1.00x")
    out = {"rounds": args.rounds, "enfuse_s": unit, "machine": machine(), "commands": {}}
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = med / unit if unit else None
        kind, target = targets[name]
        rtxt = f"{ratio:5.2f}x enfuse" if ratio is not None else "   (no enfuse)"
        if target is None:
            ok, goal = None, "none (reference)"
            verdict = "reference"
        elif kind == "ratio" and ratio is None:
            ok, goal = None, f"<= {target:g}x enfuse"
            verdict = f"target {goal}: not judged (no enfuse on the PATH)"
        else:
            ok = (ratio is not None and ratio <= target) if kind == "ratio" else med <= target
            goal = f"<= {target:g}x enfuse" if kind == "ratio" else f"< {target:g} s"
            verdict = f"target {goal}: {'met' if ok else 'NOT met'}"
        print(f"{name:30s} {med * 1000:7.0f} ms  {rtxt}  {verdict}")
        out["commands"][name] = {"median_s": med, "times_s": ts, "ratio_to_enfuse": ratio, "target": goal,
                                 "met": ok}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
