"""Agreement of a port with the fused images published by Yu Liu's 2020 survey (issue 13 item 3).

Usage::

    python benchmarks/agreement_survey.py --methods gfdf,quadtree [--json out.json]
    python benchmarks/agreement_survey.py --methods brw,misf,asr [--scenes g_05,g_10]
    python benchmarks/agreement_survey.py --methods ica [--param rule=weighted]   # ica: needs icabases.mat
    python benchmarks/agreement_survey.py --methods nsct,sr --per-scene [--param overlap=7]

(``benchmarks/agreement_survey_b.py``, the per-scene table of the nsct/sr ports, is now this module with
``--per-scene``; it is kept as a thin entry point so existing commands work. The later ports' script
``agreement_survey_c.py`` was merged into this module: same table, same ``--scenes``.)

The survey (github.com/yuliu316316/MFIF @ 267c081b) published the fused images of 18 methods; five
scenes are in ``$MFIF_DATA/../reference/yuliu2020/Results`` (``c_01`` = ``lytro/lytro-01``, ``g_05``,
``g_06``, ``g_09``, ``g_10`` = ``classic_gray/g_NN``; mapping checked pixel by pixel, see that folder's
README). For each scene our method fuses the dataset's A/B sources; its float output is quantised the
way the MATLAB originals write their results (``uint8(F*255)``: round half away from zero, saturate)
and compared with the survey's 8-bit image:

* ``within1``: share of pixel values (all channels) with ``|ours - survey| <= 1`` grey level, in %;
* ``psnr``: PSNR in dB on the 0..255 scale (``inf`` when identical).

A port is "faithful" when ``within1 >= 99 %`` on every scene (issue 13). The functions are imported by
the agreement tests (``tests/test_baselines_survey_agreement.py``, ``test_baselines_sr.py``,
``test_baselines_nsct.py``); nothing here is a hard-coded value. Two views of one measurement:
:func:`measure` (a fuse callable, ``{scene: (within1 %, psnr)}``) and :func:`measure_rows` (a registered
method id with parameters, one row per scene, share in 0..1).
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

# survey scene id -> (our dataset, our scene, survey results sub-folder)
SCENES: dict[str, tuple[str, str, str]] = {
    "c_01": ("lytro", "lytro-01", "color"),
    "g_05": ("classic_gray", "g_05", "grayscale"),
    "g_06": ("classic_gray", "g_06", "grayscale"),
    "g_09": ("classic_gray", "g_09", "grayscale"),
    "g_10": ("classic_gray", "g_10", "grayscale"),
}
FAITHFUL_WITHIN1 = 99.0  # % of pixels within 1 grey level on every scene (issue 13)
FAITHFUL_SHARE = FAITHFUL_WITHIN1 / 100.0
# (our dataset, our scene, survey file stem): the per-scene view of SCENES
SCENE_ROWS: tuple[tuple[str, str, str], ...] = tuple(
    (ds, sc, f"{sub}/{sid}") for sid, (ds, sc, sub) in SCENES.items()
)
# our id -> the survey's file name where they differ (else the id itself)
SURVEY_NAME = {"gf": "gff", "nsct_sr": "nsct-sr"}


def data_dir() -> Path | None:
    d = os.environ.get("MFIF_DATA")
    return Path(d) if d and Path(d).is_dir() else None


def survey_dir() -> Path | None:
    """``$MFIF_REFERENCE/yuliu2020/Results``, else ``$MFIF_DATA/../reference/yuliu2020/Results``."""
    ref = os.environ.get("MFIF_REFERENCE")
    base = Path(ref) if ref else (data_dir().parent / "reference" if data_dir() else None)
    if base is None:
        return None
    d = base / "yuliu2020" / "Results"
    return d if d.is_dir() else None


def available() -> bool:
    """True when the survey images and the source scenes are both present."""
    d = data_dir()
    return d is not None and survey_dir() is not None and (d / "lytro" / "lytro-01").is_dir()


def load_sources(scene: str) -> list[np.ndarray]:
    """The A/B sources of a survey scene from ``$MFIF_DATA``, float32 in [0, 1]."""
    from bench.imageio import read_sources

    dataset, ours, _ = SCENES[scene]
    folder = data_dir() / dataset / ours
    paths = [next(iter(sorted(folder.glob(f"{role}.*")))) for role in ("A", "B")]
    return read_sources(paths)


def load_survey(method: str, scene: str) -> np.ndarray:
    """The survey's fused image of ``method`` (its file name, e.g. ``gfdf``) on ``scene``, uint8."""
    from PIL import Image

    with Image.open(survey_dir() / SCENES[scene][2] / f"{scene}_{method}.tif") as im:
        return np.asarray(im)


def matlab_uint8(img: np.ndarray) -> np.ndarray:
    """MATLAB ``uint8(img*255)`` of a float image: round half away from zero, saturate to 0..255."""
    return np.clip(np.floor(np.asarray(img, dtype=np.float64) * 255.0 + 0.5), 0, 255).astype(np.uint8)


def agreement(ours: np.ndarray, survey: np.ndarray) -> tuple[float, float]:
    """(% of values within 1 grey level, PSNR in dB) of our float [0, 1] image against an 8-bit one."""
    q = matlab_uint8(ours).astype(np.int16)
    ref = np.asarray(survey).astype(np.int16)
    if q.shape != ref.shape:
        raise ValueError(f"shape mismatch: ours {q.shape}, survey {ref.shape}")
    d = np.abs(q - ref)
    within1 = 100.0 * float(np.mean(d <= 1))
    mse = float(np.mean(d.astype(np.float64) ** 2))
    psnr = float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
    return within1, psnr


def measure(
    fuse: Callable[[list[np.ndarray]], np.ndarray], survey_name: str, scenes: tuple[str, ...] = tuple(SCENES)
) -> dict[str, tuple[float, float]]:
    """``{scene: (within1 %, psnr dB)}`` of ``fuse(sources) -> float image`` against the survey."""
    return {s: agreement(fuse(load_sources(s)), load_survey(survey_name, s)) for s in scenes}


def measure_rows(method: str, scenes=SCENE_ROWS, **params) -> list[dict]:
    """One row per scene, ``{"method", "scene", "within_1gl" (share 0..1), "psnr"}``, of a registered method.

    ``scenes``: items of :data:`SCENE_ROWS` (our dataset, our scene, survey stem); ``params`` go to fuse.
    """
    from bench.registry import get_method

    fuse = get_method(method).fuse
    by_stem = {f"{sub}/{sid}": sid for sid, (_, _, sub) in SCENES.items()}
    rows = []
    for _, scene, stem in scenes:
        sid = by_stem[stem]
        w, p = agreement(
            fuse(load_sources(sid), **params).image, load_survey(SURVEY_NAME.get(method, method), sid)
        )
        rows.append({"method": method, "scene": scene, "within_1gl": w / 100.0, "psnr": p})
    return rows


def parse_params(items: list[str]) -> dict:
    """``KEY=VALUE`` strings to a dict (each value int, else float, else str)."""
    params = {}
    for kv in items:
        key, _, val = kv.partition("=")
        for conv in (int, float, str):
            try:
                params[key] = conv(val)
                break
            except ValueError:
                continue
    return params


def _pct(w: float) -> str:
    """Percentage with 3 decimals, rounded down (99.9996 prints 99.999, never 100.000)."""
    return f"{np.floor(w * 1000) / 1000:.3f}"


def main(
    argv: list[str] | None = None, *, default_methods: str | None = None, per_scene: bool = False
) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--methods",
        required=default_methods is None,
        default=default_methods,
        help="comma list of our ids, optionally id=survey_name (e.g. gf=gff)",
    )
    ap.add_argument("--scenes", default=",".join(SCENES), help="comma list of survey scene ids (table view)")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--param", action="append", default=[], help="KEY=VALUE passed to fuse (int/float/str)")
    ap.add_argument(
        "--per-scene", action="store_true", default=per_scene, help="one line per method and scene"
    )
    args = ap.parse_args(argv)
    if not available():
        print("error: needs MFIF_DATA (and the survey images next to it, or MFIF_REFERENCE)", file=sys.stderr)
        return 2
    params = parse_params(args.param)
    items = [item.strip().partition("=") for item in args.methods.split(",") if item.strip()]
    if args.per_scene:
        return _main_per_scene(items, params, args.json)
    from bench.registry import get_method

    scenes = tuple(s for s in args.scenes.split(",") if s)
    unknown = sorted(set(scenes) - set(SCENES))
    if unknown:
        print(
            f"error: --scenes: unknown scene(s) {', '.join(unknown)} (known: {', '.join(SCENES)})",
            file=sys.stderr,
        )
        return 2
    rows = []
    print("| method | " + " | ".join(scenes) + " | faithful |")
    print("| --- |" + " ---: |" * len(scenes) + " :-: |")
    for ours, _, theirs in items:
        fuse = get_method(ours).fuse
        res = measure(
            lambda srcs, f=fuse: f(srcs, **params).image, theirs or SURVEY_NAME.get(ours, ours), scenes
        )
        ok = all(w >= FAITHFUL_WITHIN1 for w, _ in res.values())
        cells = " | ".join(f"{_pct(w)} % / {p:.1f} dB" for w, p in res.values())
        print(f"| {ours} | {cells} | {'yes' if ok else 'no'} |", flush=True)
        rows.append(
            {
                "method": ours,
                "survey": theirs or SURVEY_NAME.get(ours, ours),
                "faithful": ok,
                "scenes": {s: {"within1_pct": w, "psnr_db": p} for s, (w, p) in res.items()},
            }
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def _main_per_scene(items: list[tuple[str, str, str]], params: dict, json_path: Path | None) -> int:
    print("| method | scene | % within 1 GL | PSNR dB |")
    print("| --- | --- | ---: | ---: |")
    rows = []
    for ours, _, theirs in items:
        if theirs:
            SURVEY_NAME[ours] = theirs
        mine = measure_rows(ours, **params)
        for r in mine:
            print(
                f"| {r['method']} | {r['scene']} | {100 * r['within_1gl']:.2f} | {r['psnr']:.2f} |",
                flush=True,
            )
        worst = min(r["within_1gl"] for r in mine)
        verdict = "faithful" if worst >= FAITHFUL_SHARE else "approximation"
        print(f"| {ours} | worst | {100 * worst:.2f} | {verdict} |", flush=True)
        rows += mine
    if json_path:
        json_path.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
