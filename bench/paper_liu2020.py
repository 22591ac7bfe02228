"""Tables 6 and 7 of Yu Liu et al.'s 2020 survey, regenerated from the published fused images.

``bench paper liu2020-table6`` (10 grey pairs, ``classic_gray``) and ``liu2020-table7`` (20 colour Lytro
pairs, ``lytro``) score the survey's 18 methods' fused images (the ``yuliu2020`` result set,
``datasets/results/yuliu2020.toml``) with the ids that reproduce the survey's 8 metrics
(:data:`SURVEY_METRICS`) and put them beside the authors' values: ``paper`` is the mean of the authors'
per-image values (``evaluation/Q_{grayscale,color}.mat``, transcribed in ``per_image_values.json``) over the
images scored, ``ours`` our mean over the same images, ``delta = ours - paper``. Our own methods
(``--ours``) are fused on the same pairs and scored the same way, as extra rows labelled ``ours:<id>``
with no paper value.

Protocol, as the survey's ``evaluate_color.m`` / ``evaluate_grayscale.m``: read the 8-bit files, convert
colour with MATLAB ``rgb2gray`` on uint8 (rounded to uint8), hand ``double`` 0..255 images to the metrics:
that is our ``standard`` protocol (:mod:`bench.protocols`). The sources are our ``lytro`` / ``classic_gray``
files, pixel-identical to the survey's ``c_NN_1/_2.tif`` and ``g_NN_1/_2.tif`` (checked in the tests).

Runs on whatever part of the set is present (e.g. the 90 images in ``shared/reference/yuliu2020``) and
lists what is missing. Scoring does not go through the runner: it is a pure function of files.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import UserError

#: Survey column -> our metric id (see tests/test_metrics_liu2020.py for the measured agreement).
SURVEY_METRICS: dict[str, str] = {
    "QMI": "nmi",
    "QNCIE": "qncie",
    "QG": "qg@liu2020",
    "QP": "qp",
    "QE": "qe@liu2020",
    "QY": "qy@liu2020",
    "QCB": "qcb",
    "QCV": "qcv",
}
#: Row order of the survey's tables and ``.mat`` files (the repository's file names).
SURVEY_METHODS: tuple[str, ...] = (
    "dwt", "dtcwt", "nsct", "gff", "sr", "asr", "mwgf", "ica", "nsct-sr", "sssdi", "quadtree", "dsift",
    "srcf", "gfdf", "brw", "misf", "cnn", "madcnn",
)  # fmt: skip
#: Our methods run by default as extra rows (those registered; deep methods only on request).
#: ``id[param=value;...]`` fuses with those parameters: the survey's reproduction presets of our DWT/DTCWT.
DEFAULT_OURS: tuple[str, ...] = (
    "dwt", "dwt[preset=liu2020]", "dtcwt", "dtcwt[preset=liu2020]", "nsct", "gf", "sr", "asr", "mwgf", "ica",
    "nsct_sr", "quadtree", "dsift", "gfdf", "brw", "misf",
    "lp", "sf",
)  # fmt: skip


@dataclass(frozen=True)
class SurveyTable:
    id: str
    title: str
    subset: str  # key in per_image_values.json / name of the .mat
    dataset: str
    n_images: int
    scene_format: str  # image k (1-based) -> our scene id

    def scene(self, k: int) -> str:
        return self.scene_format.format(k=k)


TABLES: dict[str, SurveyTable] = {
    "liu2020-table6": SurveyTable(
        "liu2020-table6", "Liu et al. 2020 survey, Table 6: 10 grey pairs (classic_gray g_01..g_10)",
        "grayscale", "classic_gray", 10, "g_{k:02d}",
    ),
    "liu2020-table7": SurveyTable(
        "liu2020-table7", "Liu et al. 2020 survey, Table 7: 20 colour Lytro pairs (lytro-01..lytro-20)",
        "color", "lytro", 20, "lytro-{k:02d}",
    ),
}  # fmt: skip


def reference_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """Folder holding ``per_image_values.json`` (``--reference``: that folder or the JSON itself)."""
    if explicit:
        p = Path(explicit)
        return p.parent if p.is_file() else p
    if os.environ.get("MFIF_REFERENCE"):
        return Path(os.environ["MFIF_REFERENCE"]) / "yuliu2020"
    if os.environ.get("MFIF_DATA"):
        return Path(os.environ["MFIF_DATA"]).parent / "reference" / "yuliu2020"
    return None


def authors_values(table: SurveyTable, reference: str | os.PathLike | None = None, roots=()) -> dict:
    """``{method: {metric: [value per image]}}`` from ``per_image_values.json`` or the authors' ``.mat``.

    Looked for in the reference folder, then ``evaluation/Q_<subset>.mat`` under each result-set root.
    """
    ref = reference_dir(reference)
    if ref is not None and (ref / "per_image_values.json").is_file():
        return json.loads((ref / "per_image_values.json").read_text())["values"][table.subset]
    for root in [*(filter(None, [ref])), *roots]:
        mat = Path(root) / "evaluation" / f"Q_{table.subset}.mat"
        if mat.is_file():
            from scipy.io import loadmat

            q = loadmat(mat)["Q"]  # methods x metrics x images
            return {
                m: {c: [float(v) for v in q[i, j, :]] for j, c in enumerate(SURVEY_METRICS)}
                for i, m in enumerate(SURVEY_METHODS)
            }
    raise UserError(
        "the survey's per-image values were not found: give --reference FOLDER holding per_image_values.json "
        "(or evaluation/Q_color.mat, Q_grayscale.mat from github.com/yuliu316316/MFIF)"
    )


def score_image(sources: list[np.ndarray], fused: np.ndarray) -> dict[str, float]:
    """The 8 survey metrics of one fused image (float [0, 1] images, standard protocol)."""
    from bench.protocols import prepare
    from bench.registry import get_metric, load_all

    load_all()
    *srcs, f = prepare([*sources, fused])
    out = {}
    for col, mid in SURVEY_METRICS.items():
        try:
            with np.errstate(all="ignore"):
                out[col] = float(get_metric(mid).fn(srcs, f))
        except Exception as exc:  # noqa: BLE001 - one failing metric is a NaN cell, not a crash
            out[col] = math.nan
            out[f"error:{col}"] = f"{type(exc).__name__}: {exc}"
    return out


def split_spec(spec: str) -> tuple[str, dict]:
    """``"dwt[preset=liu2020]"`` -> ``("dwt", {"preset": "liu2020"})`` (several: ``;``); plain id: none."""
    if not spec.endswith("]") or "[" not in spec:
        return spec, {}
    mid, inner = spec[:-1].split("[", 1)
    params = {}
    for item in filter(None, inner.split(";")):
        k, sep, v = item.partition("=")
        if not sep:
            raise UserError(f"--ours {spec!r}: expected id[param=value;...]")
        params[k.strip()] = v.strip()
    return mid, params


def _job(kind: str, key: str, scene, fused_path: str | None, method_id: str | None) -> tuple:
    from bench.imageio import read_image

    try:
        sources = scene.load_sources()
        if kind == "published":
            fused = read_image(fused_path)
            if fused.shape[:2] != sources[0].shape[:2]:
                h, w = sources[0].shape[:2]
                raise ValueError(
                    f"{fused_path}: size {fused.shape[1]}x{fused.shape[0]} differs from the sources' {w}x{h}"
                )
        else:
            from bench.params import validate_params
            from bench.registry import get_method

            mid, params = split_spec(method_id)
            method = get_method(mid)
            fused = method.fuse(sources, **validate_params(method.info, params, method.fuse)).image
        return kind, key, scene.id, score_image(sources, fused), ""
    except Exception as exc:  # noqa: BLE001 - becomes an error cell
        return kind, key, scene.id, {}, f"{type(exc).__name__}: {exc}"


@dataclass
class SurveyResult:
    table: SurveyTable
    rows: list[dict]
    images: list[str]
    missing: list[str]
    missing_files: int
    errors: list[str]
    partial: str
    per_image: dict


def regenerate(
    table_id: str,
    *,
    reference: str | None = None,
    data_dir: str | None = None,
    results_dir: str | None = None,
    limit: int | None = None,
    scenes: list[str] | None = None,
    methods: list[str] | None = None,
    ours: list[str] | None = None,
    jobs: int = -1,
) -> SurveyResult:
    """Score the present published images (and ``ours``) and line them up with the authors' means."""
    from joblib import Parallel, delayed

    from bench.registry import get_dataset, load_all
    from bench.resultsets import get_set

    load_all()
    table = TABLES[table_id]
    rs = get_set("yuliu2020")
    wanted_methods = list(methods or SURVEY_METHODS)
    bad = [m for m in wanted_methods if m not in SURVEY_METHODS]
    if bad:
        raise UserError(f"unknown survey method(s) {', '.join(bad)} (known: {', '.join(SURVEY_METHODS)})")
    authors = authors_values(table, reference, rs.candidates(results_dir))
    order = [table.scene(k) for k in range(1, table.n_images + 1)]
    if scenes:
        unknown = [s for s in scenes if s not in order]
        if unknown:
            raise UserError(f"--scenes: {', '.join(unknown)} not in {table.id} ({order[0]}..{order[-1]})")
        order = [s for s in order if s in scenes]
    try:
        ds_scenes = {s.id: s for s in get_dataset(table.dataset).scenes(data_dir)}
    except UserError as exc:
        raise UserError(f"{table.id} needs the {table.dataset!r} source images: {exc}") from None
    files = {(f.scene, f.method): f for f in rs.select(wanted_methods, [table.dataset])}
    found, _ = rs.locate(list(files.values()), results_dir)
    present = [s for s in order if any((s, m) in files and files[(s, m)] in found for m in wanted_methods)]
    missing = [s for s in order if s not in present]
    partial = []
    if limit is not None:
        present = present[:limit]
        partial.append(f"--limit {limit}")
    if scenes:
        partial.append(f"--scenes {','.join(scenes)}")
    from bench.integrity import verify_files

    jobs_list, missing_files = [], 0
    for s in present:
        for m in wanted_methods:
            f = files.get((s, m))
            if f is None or f not in found:
                missing_files += 1
                continue
            verify_files([(found[f], f.sha256)])
            jobs_list.append(("published", m, ds_scenes[s], str(found[f]), None))
    ours_ids = _resolve_ours(ours)
    for mid in ours_ids:
        for s in present:
            jobs_list.append(("ours", f"ours:{mid}", ds_scenes[s], None, mid))
    out = Parallel(n_jobs=jobs, prefer="processes")(delayed(_job)(*j) for j in jobs_list)
    per_image: dict = {}
    errors = []
    for _kind, key, sid, vals, err in out:
        if err:
            errors.append(f"{key} on {sid}: {err}")
            continue
        per_image.setdefault(key, {})[sid] = vals
        errors += [f"{key} on {sid}, {k[6:]}: {v}" for k, v in vals.items() if k.startswith("error:")]
    rows = []
    idx = {table.scene(k): k - 1 for k in range(1, table.n_images + 1)}
    for m in [*wanted_methods, *(f"ours:{x}" for x in ours_ids)]:
        got = per_image.get(m, {})
        for col in SURVEY_METRICS:
            imgs = [s for s in present if s in got and math.isfinite(got[s].get(col, math.nan))]
            o = float(np.mean([got[s][col] for s in imgs])) if imgs else None
            p = None
            if not m.startswith("ours:") and imgs:
                p = float(np.mean([authors[m][col][idx[s]] for s in imgs]))
            rows.append(
                {"method": m, "metric": col, "paper": p, "ours": o,
                 "delta": None if p is None or o is None else o - p, "n": len(imgs)}
            )  # fmt: skip
    return SurveyResult(table, rows, present, missing, missing_files, errors, ", ".join(partial), per_image)


def _resolve_ours(ours: list[str] | None) -> list[str]:
    from bench.registry import METHODS

    if ours is None:
        return [m for m in DEFAULT_OURS if split_spec(m)[0] in METHODS]
    if ours == ["none"] or ours == []:
        return []
    from bench.params import validate_params

    for m in ours:
        mid, params = split_spec(m)
        validate_params(METHODS.get(mid).info, params, METHODS.get(mid).fuse)  # unknown id/param: UserError
    return list(ours)


def format_text(res: SurveyResult) -> str:
    t = res.table
    lines = [
        t.title,
        "metrics: " + ", ".join(f"{c}={m}" for c, m in SURVEY_METRICS.items()),
        f"images scored: {len(res.images)} of {t.n_images} ({', '.join(res.images) or 'none'})",
        "paper = mean of the authors' per-image values on the same images; rows 'ours:' are our methods",
    ]
    if res.missing:
        lines.append(
            f"MISSING: no published images for {len(res.missing)} scene(s): {', '.join(res.missing)} "
            "(`python -m bench download yuliu2020` fetches them)"
        )
    if res.missing_files:
        lines.append(f"missing: {res.missing_files} published image(s) of the scored scenes")
    if res.partial:
        lines.append(f"PARTIAL: {res.partial}")
    lines.append("")
    cols = list(SURVEY_METRICS)
    wm = max([14, *(len(r["method"]) + 1 for r in res.rows)])
    head = f"{'method':<{wm}}" + "".join(f"{c:>22}" for c in cols)
    lines += [head, " " * wm + "".join(f"{'ours (delta)':>22}" for _ in cols), "-" * len(head)]
    by = {(r["method"], r["metric"]): r for r in res.rows}
    for m in dict.fromkeys(r["method"] for r in res.rows):
        cells = []
        for c in cols:
            r = by[(m, c)]
            if r["ours"] is None:
                cells.append(f"{'–':>22}")
            elif r["delta"] is None:
                cells.append(f"{r['ours']:>22.4f}")
            else:
                cells.append(f"{r['ours']:>11.4f} ({r['delta']:+.1e})")
        lines.append(f"{m:<{wm}}" + "".join(cells))
    if res.errors:
        lines += ["", f"errors ({len(res.errors)}):", *(f"  {e}" for e in res.errors[:20])]
    return "\n".join(lines)


def to_json(res: SurveyResult) -> dict:
    return {
        "table": res.table.id,
        "rows": res.rows,
        "images": res.images,
        "missing_scenes": res.missing,
        "missing_files": res.missing_files,
        "errors": res.errors,
        "partial": res.partial,
        "metric_ids": SURVEY_METRICS,
    }
