"""Agreement of our ports with the Yu Liu 2020 survey's published fused images (issue 13 item 3).

Usage::

    python benchmarks/agreement_survey_b.py --methods nsct,sr [--json out.json]

For every method and each of the five scenes whose survey images are kept in
``$MFIF_REFERENCE/yuliu2020/Results`` (default: ``reference/`` beside ``$MFIF_DATA``; lytro-01 in colour and
classic_gray g_05, g_06, g_09, g_10), the sources are read from ``$MFIF_DATA`` (the survey's ``c_01_1.tif``
is exactly ``lytro/lytro-01/A.jpg`` decoded, ``g_NN_1.tif`` exactly ``classic_gray/g_NN/A.tif``: the
reference folder's README), fused with our method, and compared with the survey's 8-bit image: the share of
pixels (all channels) within 1 grey level and the PSNR (peak 255). A method is "faithful" at >= 99 % within
1 grey level on every scene (issue 13).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# (our dataset, scene, survey file stem)
SCENES = (
    ("lytro", "lytro-01", "color/c_01"),
    ("classic_gray", "g_05", "grayscale/g_05"),
    ("classic_gray", "g_06", "grayscale/g_06"),
    ("classic_gray", "g_09", "grayscale/g_09"),
    ("classic_gray", "g_10", "grayscale/g_10"),
)
# our id -> the survey's file suffix
SURVEY_NAME = {"nsct": "nsct", "sr": "sr", "nsct_sr": "nsct-sr", "asr": "asr", "dwt": "dwt", "dtcwt": "dtcwt"}
FAITHFUL_SHARE = 0.99


def data_root() -> Path:
    return Path(os.environ.get("MFIF_DATA", "../shared/datasets"))


def reference_root() -> Path:
    """``$MFIF_REFERENCE/yuliu2020/Results``, else the ``reference/`` folder beside ``$MFIF_DATA``."""
    ref = os.environ.get("MFIF_REFERENCE") or str(data_root().parent / "reference")
    return Path(ref) / "yuliu2020" / "Results"


def available() -> bool:
    """True when the survey images and the source scenes are both present."""
    return reference_root().is_dir() and (data_root() / "lytro" / "lytro-01").is_dir()


def agreement(fused: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(share of values within 1 grey level, PSNR in dB) of a [0, 1] image vs an 8-bit reference."""
    ours = np.rint(np.clip(fused, 0.0, 1.0) * 255.0)
    diff = ours - reference.astype(np.float64)
    share = float(np.mean(np.abs(diff) <= 1.0))
    mse = float(np.mean(diff**2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
    return share, psnr


def scene_sources(dataset: str, scene: str) -> list[np.ndarray]:
    from bench.imageio import read_sources

    folder = data_root() / dataset / scene
    paths = [sorted(folder.glob(f"{role}.*"))[0] for role in ("A", "B")]
    return read_sources(paths)


def read_reference(stem: str, method: str) -> np.ndarray:
    import cv2

    path = reference_root() / f"{stem}_{SURVEY_NAME.get(method, method)}.tif"
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(path)
    return img[:, :, ::-1] if img.ndim == 3 else img


def measure(method: str, scenes=SCENES, **params) -> list[dict]:
    """One row per scene: ``{"method", "scene", "within_1gl", "psnr"}``."""
    from bench.registry import get_method

    fuse = get_method(method).fuse
    rows = []
    for dataset, scene, stem in scenes:
        ref = read_reference(stem, method)
        fused = fuse(scene_sources(dataset, scene), **params).image
        share, psnr = agreement(fused, ref)
        rows.append({"method": method, "scene": scene, "within_1gl": share, "psnr": psnr})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="nsct,sr")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--param", action="append", default=[], help="KEY=VALUE passed to fuse (int/float/str)")
    args = ap.parse_args(argv)
    params = {}
    for kv in args.param:
        key, _, val = kv.partition("=")
        for conv in (int, float, str):
            try:
                params[key] = conv(val)
                break
            except ValueError:
                continue
    if not available():
        print(
            f"error: survey images or datasets not found ({reference_root()}, {data_root()})", file=sys.stderr
        )
        return 2
    print("| method | scene | % within 1 GL | PSNR dB |")
    print("| --- | --- | ---: | ---: |")
    rows = []
    for m in args.methods.split(","):
        for r in measure(m.strip(), **params):
            rows.append(r)
            print(
                f"| {r['method']} | {r['scene']} | {100 * r['within_1gl']:.2f} | {r['psnr']:.2f} |",
                flush=True,
            )
        worst = min(r["within_1gl"] for r in rows if r["method"] == m.strip())
        verdict = "faithful" if worst >= FAITHFUL_SHARE else "approximation"
        print(f"| {m.strip()} | worst | {100 * worst:.2f} | {verdict} |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
