"""Agreement of the later survey ports (brw, misf, sssdi, srcf, ica) with Yu Liu 2020's fused images.

Usage::

    python benchmarks/agreement_survey_c.py --methods brw [--json out.json]

Self-contained twin of ``benchmarks/agreement_survey.py`` (same rule, kept separate so that the
consolidation of the first two scripts does not collide with these ports). The survey
(github.com/yuliu316316/MFIF @ 267c081b) published the fused images of 18 methods; five scenes are in
``$MFIF_REFERENCE/yuliu2020/Results`` (default: ``reference/`` beside ``$MFIF_DATA``): ``c_01`` =
``lytro/lytro-01`` (colour), ``g_05``, ``g_06``, ``g_09``, ``g_10`` = ``classic_gray/g_NN``. Our float
output is quantised as the MATLAB originals write it (``uint8(F*255)``: round half away from zero,
saturate) and compared with the survey's 8-bit image: ``within1`` = % of values (all channels) with
``|ours - survey| <= 1``, ``psnr`` in dB on 0..255. Faithful = ``within1 >= 99 %`` on every scene.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENES: dict[str, tuple[str, str, str]] = {
    "c_01": ("lytro", "lytro-01", "color"),
    "g_05": ("classic_gray", "g_05", "grayscale"),
    "g_06": ("classic_gray", "g_06", "grayscale"),
    "g_09": ("classic_gray", "g_09", "grayscale"),
    "g_10": ("classic_gray", "g_10", "grayscale"),
}
FAITHFUL_WITHIN1 = 99.0


def data_dir() -> Path | None:
    d = os.environ.get("MFIF_DATA")
    return Path(d) if d and Path(d).is_dir() else None


def survey_dir() -> Path | None:
    ref = os.environ.get("MFIF_REFERENCE")
    base = Path(ref) if ref else (data_dir().parent / "reference" if data_dir() else None)
    if base is None:
        return None
    d = base / "yuliu2020" / "Results"
    return d if d.is_dir() else None


def load_sources(scene: str) -> list[np.ndarray]:
    """The A/B sources of a survey scene from ``$MFIF_DATA``, float32 in [0, 1]."""
    from bench.imageio import read_sources

    dataset, ours, _ = SCENES[scene]
    folder = data_dir() / dataset / ours
    return read_sources([sorted(folder.glob(f"{role}.*"))[0] for role in ("A", "B")])


def load_survey(method: str, scene: str) -> np.ndarray:
    """The survey's 8-bit fused image of ``method`` (its file name) on ``scene``."""
    from PIL import Image

    with Image.open(survey_dir() / SCENES[scene][2] / f"{scene}_{method}.tif") as im:
        return np.asarray(im)


def matlab_uint8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(img*255)``: round half away from zero, saturate."""
    return np.clip(np.floor(np.asarray(img, dtype=np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


def agreement(ours: np.ndarray, survey: np.ndarray) -> tuple[float, float]:
    """(% of values within 1 grey level, PSNR dB) of a float [0, 1] image against an 8-bit one."""
    d = np.abs(matlab_uint8(ours).astype(np.int16) - np.asarray(survey).astype(np.int16))
    if d.shape != np.shape(survey):
        raise ValueError(f"shape mismatch: ours {np.shape(ours)}, survey {np.shape(survey)}")
    mse = float(np.mean(d.astype(np.float64) ** 2))
    return 100.0 * float(np.mean(d <= 1)), float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def measure(
    fuse: Callable[[list[np.ndarray]], np.ndarray], survey_name: str, scenes: tuple[str, ...] = tuple(SCENES)
) -> dict[str, tuple[float, float]]:
    """``{scene: (within1 %, psnr dB)}`` of ``fuse(sources) -> float image`` against the survey."""
    return {s: agreement(fuse(load_sources(s)), load_survey(survey_name, s)) for s in scenes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", required=True, help="comma list of our ids, optionally id=survey_name")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if data_dir() is None or survey_dir() is None:
        print("error: needs MFIF_DATA (and the survey images next to it, or MFIF_REFERENCE)", file=sys.stderr)
        return 2
    from bench.registry import get_method

    scenes = tuple(s for s in args.scenes.split(",") if s)
    rows = []
    print("| method | " + " | ".join(scenes) + " | faithful |")
    print("| --- |" + " ---: |" * len(scenes) + " :-: |")
    for item in args.methods.split(","):
        ours, _, theirs = item.partition("=")
        fuse = get_method(ours).fuse
        res = measure(lambda srcs, f=fuse: f(srcs).image, theirs or ours, scenes)
        ok = all(w >= FAITHFUL_WITHIN1 for w, _ in res.values())
        cells = " | ".join(f"{np.floor(w * 1000) / 1000:.3f} % / {p:.1f} dB" for w, p in res.values())
        print(f"| {ours} | {cells} | {'yes' if ok else 'no'} |", flush=True)
        rows.append(
            {
                "method": ours,
                "survey": theirs or ours,
                "faithful": ok,
                "scenes": {s: {"within1_pct": w, "psnr_db": p} for s, (w, p) in res.items()},
            }
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
