"""Meta-evaluation of the no-reference metrics against ground truth: which metrics to trust.

None of the anchors (MFIFB, VIFB, the SESF/GACN evaluator, Liu's toolbox) measures whether its
metrics agree with a ground truth. On datasets with an all-in-focus reference we measure two things
for every metric that needs no reference:

1. **Ranking agreement.** Per scene, the methods are ranked by the metric and by ``ssim_gt`` (and by
   ``psnr_gt``); Kendall's tau-b between the two rankings (both oriented so that higher is better;
   ties allowed), then the mean over scenes with a percentile bootstrap 95% CI over scenes
   (:func:`bench.significance.bootstrap_ci`). The *win rate* is how often the metric's best method is
   the ``ssim_gt``-best one (a tie among k best counts 1/k).
2. **Controlled degradations.** On each GT scene the best fusion (the method with the highest mean
   ``ssim_gt`` on the dataset) is degraded at increasing levels: residual defocus (Gaussian blur),
   misregistration (sub-pixel shift), noise, JPEG compression, and mixing with the average fusion.
   For every metric the Spearman correlation between level and the oriented score, per scene, then the
   mean; +1 means the score gets worse at every step, as it should ("moves the right way").

The fusions and the agreement scores come from :func:`bench.runner.run` (cached like any run); the
degraded images are scored with :func:`bench.scoring.score_images`, one scene per worker.

Verdict per metric (``trust`` / ``partial`` / ``avoid``): ``trust`` when the lower end of the tau CI
against ``ssim_gt`` is above :data:`TRUST_TAU` and at least 4 of 5 degradations move it the right way
(oriented rho >= :data:`RIGHT_WAY`); ``avoid`` when the mean tau is below :data:`AVOID_TAU` or two or
more degradations move it the wrong way (oriented rho <= -:data:`RIGHT_WAY`); otherwise ``partial``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GT_METRICS = ("ssim_gt", "psnr_gt")
TRUST_TAU = 0.3
AVOID_TAU = 0.1
RIGHT_WAY = 0.5

#: degradation -> increasing levels (level 0 is the undegraded fusion)
DEGRADATIONS: dict[str, tuple[float, ...]] = {
    "blur": (0.0, 0.5, 1.0, 2.0, 3.0),  # Gaussian sigma, pixels
    "shift": (0.0, 0.5, 1.0, 2.0, 4.0),  # pixels, diagonal, sub-pixel by bilinear warp
    "noise": (0.0, 0.005, 0.01, 0.02, 0.04),  # Gaussian std on [0, 1]
    "jpeg": (0.0, 90.0, 70.0, 50.0, 25.0),  # JPEG quality (0: none)
    "mix_average": (0.0, 0.25, 0.5, 0.75, 1.0),  # weight of the average fusion
}


def degrade(img: np.ndarray, kind: str, level: float, average: np.ndarray, seed: int = 0) -> np.ndarray:
    """``img`` (float32 [0, 1], HxW or HxWx3) degraded by ``kind`` at ``level``; level 0 returns a copy."""
    import cv2
    from scipy import ndimage

    x = np.asarray(img, dtype=np.float32)
    if level == 0:
        return x.copy()
    if kind == "blur":
        s = (level, level, 0) if x.ndim == 3 else level
        return ndimage.gaussian_filter(x, s, mode="reflect", truncate=3.0).astype(np.float32)
    if kind == "shift":
        m = np.float32([[1, 0, level], [0, 1, level]])
        h, w = x.shape[:2]
        return cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if kind == "noise":
        rng = np.random.default_rng(seed)
        return np.clip(x + rng.normal(0.0, level, x.shape), 0, 1).astype(np.float32)
    if kind == "jpeg":
        u8 = np.floor(np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8)
        bgr = u8[:, :, ::-1] if u8.ndim == 3 else u8
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(level)])
        dec = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        dec = dec[:, :, ::-1] if dec.ndim == 3 else dec
        return (dec.astype(np.float32) / 255.0).astype(np.float32)
    if kind == "mix_average":
        return ((1 - level) * x + level * np.asarray(average, dtype=np.float32)).astype(np.float32)
    raise ValueError(f"unknown degradation {kind!r}")


def _oriented(metric: str, v: np.ndarray) -> np.ndarray:
    from bench.report import higher_is_better

    return np.asarray(v, dtype=np.float64) * (1.0 if higher_is_better(metric) else -1.0)


def kendall_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b on the pairs where both are finite (NaN for fewer than 3 or a constant side).

    >>> kendall_b(np.array([1, 2, 3.0]), np.array([10, 20, 30.0]))
    1.0
    """
    from scipy.stats import kendalltau

    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return math.nan
    return float(kendalltau(x[ok], y[ok], variant="b").statistic)


def _spearman(levels: np.ndarray, v: np.ndarray) -> float:
    from scipy.stats import spearmanr

    ok = np.isfinite(v)
    if ok.sum() < 3 or np.ptp(v[ok]) == 0:
        return math.nan
    return float(spearmanr(levels[ok], v[ok]).statistic)


def agreement(df: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per (dataset, scene, metric): tau-b against each GT metric and the win share, from run rows."""
    ok = df[(df["status"] == "ok") & ~df["metric"].str.startswith("time_")]
    rows = []
    for (ds, scene), g in ok.groupby(["dataset", "scene"], sort=False):
        wide = g.pivot_table(index="method", columns="metric", values="value", aggfunc="first")
        if "ssim_gt" not in wide:
            continue
        gt = {k: _oriented(k, wide[k].to_numpy()) for k in GT_METRICS if k in wide}
        best_gt = set(wide.index[np.isclose(gt["ssim_gt"], np.nanmax(gt["ssim_gt"]), rtol=0, atol=1e-12)])
        for m in metrics:
            if m not in wide:
                continue
            v = _oriented(m, wide[m].to_numpy())
            row = {"dataset": ds, "scene": scene, "metric": m}
            for k, gv in gt.items():
                row[f"tau_{k}"] = kendall_b(v, gv)
            fin = np.isfinite(v)
            if fin.any():
                best = set(wide.index[fin & (v == np.nanmax(v))])
                row["win"] = len(best & best_gt) / len(best)
            else:
                row["win"] = math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def _scene_degradations(scene, best: str, metrics: list[str], protocol: str, seed: int) -> list[dict]:
    """Score every degradation level of one scene's best fusion (one worker task)."""
    from bench.registry import get_method
    from bench.scoring import score_images

    sources = scene.load_sources()
    reference = scene.load_reference()
    method = get_method(best)
    kw = {"device": "cpu"} if method.info.device_aware else {}
    fused = np.asarray(method.fuse(sources, **kw).image, dtype=np.float32)
    average = np.asarray(get_method("average").fuse(sources).image, dtype=np.float32)
    ids = list(metrics) + [m for m in GT_METRICS if m not in metrics]
    out = []
    for kind, levels in DEGRADATIONS.items():
        for k, level in enumerate(levels):
            img = degrade(fused, kind, level, average, seed=seed + k)
            for s in score_images(sources, img, ids, protocol=protocol, reference=reference):
                out.append(
                    {
                        "scene": scene.id,
                        "kind": kind,
                        "step": k,
                        "level": level,
                        "metric": s.metric,
                        "value": s.value,
                    }
                )
    return out


def degradation_scores(
    scenes: list, best: str, metrics: list[str], protocol: str = "standard", jobs: int = 1
) -> pd.DataFrame:
    """Long table (scene, kind, step, level, metric, value) of the degraded best fusions."""
    from joblib import Parallel, delayed

    tasks = [
        delayed(_scene_degradations)(sc, best, metrics, protocol, 1000 + i) for i, sc in enumerate(scenes)
    ]
    res = (
        Parallel(n_jobs=jobs, backend="loky")(tasks)
        if jobs != 1 and len(tasks) > 1
        else [t[0](*t[1]) for t in tasks]
    )
    return pd.DataFrame([r for part in res for r in part])


def monotonicity(deg: pd.DataFrame) -> pd.DataFrame:
    """Per (metric, kind): mean over scenes of -Spearman(level, oriented score) (+1: worse at every step)."""
    rows = []
    for (m, kind, scene), g in deg.groupby(["metric", "kind", "scene"], sort=False):
        g = g.sort_values("step")
        rho = _spearman(g["step"].to_numpy(dtype=float), _oriented(m, g["value"].to_numpy()))
        rows.append(
            {"metric": m, "kind": kind, "scene": scene, "rho": -rho if np.isfinite(rho) else math.nan}
        )
    r = pd.DataFrame(rows)
    return r.groupby(["metric", "kind"], sort=False)["rho"].mean().unstack("kind")


def trust_table(agree: pd.DataFrame, mono: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per metric: tau vs ssim_gt / psnr_gt (mean, 95% CI), win rate, degradation rho, verdict."""
    from bench.significance import bootstrap_ci
    from metrics.suites import metric_family

    rows = []
    for m in metrics:
        a = agree[agree["metric"] == m] if len(agree) else agree
        row: dict = {"metric": m, "family": metric_family(m), "n_scenes": int(len(a))}
        for k in GT_METRICS:
            col = f"tau_{k}"
            x = a[col].to_numpy(dtype=float) if col in a else np.array([])
            fin = x[np.isfinite(x)]
            row[col] = float(fin.mean()) if fin.size else math.nan
            row[f"{col}_lo"], row[f"{col}_hi"] = bootstrap_ci(fin)
        w = a["win"].to_numpy(dtype=float) if "win" in a else np.array([])
        row["win_rate"] = float(np.nanmean(w)) if np.isfinite(w).any() else math.nan
        right = wrong = 0
        for kind in DEGRADATIONS:
            v = float(mono.loc[m, kind]) if m in mono.index and kind in mono.columns else math.nan
            row[f"deg_{kind}"] = v
            right += bool(np.isfinite(v) and v >= RIGHT_WAY)
            wrong += bool(np.isfinite(v) and v <= -RIGHT_WAY)
        row["deg_right"] = right
        row["deg_wrong"] = wrong
        tau, lo = row["tau_ssim_gt"], row["tau_ssim_gt_lo"]
        if np.isfinite(lo) and lo > TRUST_TAU and right >= 4:
            verdict = "trust"
        elif not np.isfinite(tau) or tau < AVOID_TAU or wrong >= 2:
            verdict = "avoid"
        else:
            verdict = "partial"
        row["verdict"] = verdict
        rows.append(row)
    t = pd.DataFrame(rows)
    return t.sort_values(["tau_ssim_gt"], ascending=False, na_position="last").reset_index(drop=True)


def to_markdown(t: pd.DataFrame, title: str = "") -> str:
    def f(x, d=2):
        return "–" if x is None or not np.isfinite(x) else f"{x:+.{d}f}" if d else f"{x:.0f}"

    head = (
        "| metric | family | tau vs ssim_gt [95% CI] | tau vs psnr_gt | wins | blur | shift | noise | jpeg | "
        "mix avg | verdict |"
    )
    lines = [title, "", head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"] if title else [head]
    if not title:
        lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in t.itertuples(index=False):
        ci = f"{f(r.tau_ssim_gt)} [{f(r.tau_ssim_gt_lo)}, {f(r.tau_ssim_gt_hi)}]"
        degs = " | ".join(f(getattr(r, f"deg_{k}")) for k in DEGRADATIONS)
        wr = "–" if not np.isfinite(r.win_rate) else f"{100 * r.win_rate:.0f}%"
        lines.append(f"| {r.metric} | {r.family} | {ci} | {f(r.tau_psnr_gt)} | {wr} | {degs} | {r.verdict} |")
    return "\n".join(lines) + "\n"


def figure(t: pd.DataFrame, out: Path, title: str) -> Path:
    """Dot plot of tau vs ssim_gt with CIs (colour = verdict) and a heatmap of the degradation rhos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(t)
    fig, (a1, a2) = plt.subplots(
        1,
        2,
        figsize=(12, 0.22 * n + 1.6),
        sharey=True,
        layout="constrained",
        gridspec_kw={"width_ratios": [1.3, 1]},
    )
    y = np.arange(n)
    colors = {"trust": "tab:green", "partial": "tab:orange", "avoid": "tab:red"}
    c = [colors[v] for v in t["verdict"]]
    lo = (t["tau_ssim_gt"] - t["tau_ssim_gt_lo"]).clip(lower=0).fillna(0)
    hi = (t["tau_ssim_gt_hi"] - t["tau_ssim_gt"]).clip(lower=0).fillna(0)
    a1.errorbar(t["tau_ssim_gt"], y, xerr=[lo, hi], fmt="none", ecolor="0.5", lw=0.8)
    a1.scatter(t["tau_ssim_gt"], y, c=c, s=18, zorder=3)
    a1.axvline(0, color="0.3", lw=0.8)
    a1.axvline(TRUST_TAU, color="tab:green", lw=0.6, ls="--")
    a1.set_xlim(-1, 1)
    a1.set_yticks(y, t["metric"], fontsize=7)
    a1.invert_yaxis()
    a1.set_xlabel("Kendall tau-b vs ssim_gt per scene (mean, 95% bootstrap CI)", fontsize=8)
    a1.grid(axis="x", alpha=0.3)
    for v, col in colors.items():
        a1.scatter([], [], c=col, s=18, label=v)
    a1.legend(fontsize=7, loc="lower left")
    kinds = list(DEGRADATIONS)
    mat = t[[f"deg_{k}" for k in kinds]].to_numpy(dtype=float)
    im = a2.imshow(mat, aspect="auto", cmap="RdYlGn", vmin=-1, vmax=1, interpolation="nearest")
    a2.set_xticks(range(len(kinds)), kinds, fontsize=7, rotation=30, ha="right")
    for (i, j), v in np.ndenumerate(mat):
        a2.text(j, i, "–" if not np.isfinite(v) else f"{v:+.1f}", ha="center", va="center", fontsize=5.5)
    fig.colorbar(im, ax=a2, shrink=0.5, label="-Spearman(level, score): +1 = worse at every step")
    a2.set_title("controlled degradations of the best fusion", fontsize=8)
    fig.suptitle(title, fontsize=9)
    png = out / "meta.png"
    fig.savefig(png, dpi=110)
    fig.savefig(out / "meta.pdf")
    plt.close(fig)
    return png


CORE_SIZE = 12


def propose_core(t: pd.DataFrame, k: int = CORE_SIZE) -> list[str]:
    """The evidence's ``@core``: metrics not judged ``avoid`` that no degradation moves the wrong way,
    one per family (the id with the highest tau against ``ssim_gt``), families by that tau, the top ``k``.

    >>> t = pd.DataFrame({"metric": ["a", "a@x", "b", "c"], "family": ["a", "a", "b", "c"],
    ...                   "tau_ssim_gt": [0.5, 0.6, 0.4, 0.9], "deg_wrong": [0, 0, 0, 0],
    ...                   "verdict": ["trust", "trust", "partial", "avoid"]})
    >>> propose_core(t, 2)
    ['a@x', 'b']
    """
    ok = t[(t["verdict"] != "avoid") & (t["deg_wrong"] == 0) & t["tau_ssim_gt"].notna()]
    best = ok.sort_values("tau_ssim_gt", ascending=False, kind="stable").drop_duplicates("family")
    return list(best["metric"][:k])


@dataclass
class MetaResult:
    table: pd.DataFrame
    agreement: pd.DataFrame
    degradations: pd.DataFrame
    out: Path
    best: dict


def meta_evaluate(
    datasets: tuple[str, ...],
    methods: str = "all",
    metrics: str = "@nr",
    *,
    data_dir: str | None = None,
    jobs: int = -1,
    cache_dir: str | None = None,
    out: str | Path | None = None,
    limit: int | None = None,
    degradation_scenes: int = 12,
    progress: bool = True,
) -> MetaResult:
    """Run the methods on the GT datasets, then write ``meta.csv``, ``meta.md``, ``meta.png`` into ``out``."""
    from bench.errors import UserError
    from bench.registry import get_dataset, get_metric
    from bench.runner import RunConfig, resolve_datasets, resolve_methods, resolve_metrics, run

    ds = resolve_datasets(list(datasets))
    for d in ds:
        if not get_dataset(d).info.has_ground_truth:
            raise UserError(f"--dataset {d}: meta-evaluation needs a dataset with ground truth")
    nr = [m for m in resolve_metrics(metrics) if not get_metric(m).info.needs_reference]
    if not nr:
        raise UserError(f"--metrics {metrics!r} selects no metric without a reference")
    meths = resolve_methods(methods)
    if len(meths) < 3:
        raise UserError("--methods: a ranking agreement needs at least 3 methods")
    out = Path(out) if out else Path("results") / "meta" / "+".join(ds)
    out.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(
        methods=meths,
        datasets=ds,
        metrics=tuple(nr) + GT_METRICS,
        data_dir=data_dir,
        limit=limit,
        jobs=jobs,
        out=str(out / "run"),
        cache_dir=cache_dir,
        progress=progress,
    )
    df = run(cfg).results
    agree = agreement(df, nr)
    degs, best = [], {}
    for d in ds:
        sub = df[(df["dataset"] == d) & (df["metric"] == "ssim_gt") & (df["status"] == "ok")]
        if sub.empty:
            continue
        best[d] = str(sub.groupby("method")["value"].mean().idxmax())
        scenes = get_dataset(d).scenes(data_dir)[:limit] if limit else get_dataset(d).scenes(data_dir)
        scenes = [s for s in scenes if s.reference_sha256][:degradation_scenes]
        deg = degradation_scores(scenes, best[d], nr, jobs=jobs)
        deg.insert(0, "dataset", d)
        degs.append(deg)
    deg = (
        pd.concat(degs, ignore_index=True)
        if degs
        else pd.DataFrame(columns=["dataset", "scene", "kind", "step", "level", "metric", "value"])
    )
    deg["scene"] = deg["dataset"] + "/" + deg["scene"]
    title = (
        f"Which metric to trust: {', '.join(ds)} ({agree['scene'].nunique() if len(agree) else 0} scenes, "
        f"{len(meths)} methods; degradations of {', '.join(f'{k}: {v}' for k, v in best.items())})"
    )
    table = write_outputs(out, agree, deg, nr, best, title)
    return MetaResult(table, agree, deg, out, best)


def write_outputs(
    out: Path, agree: pd.DataFrame, deg: pd.DataFrame, metrics: list[str], best: dict, title: str
) -> pd.DataFrame:
    """Write meta.csv, agreement.csv, degradations.csv, meta.md, meta.png/pdf, meta.json; return the table."""
    from bench.cache import atomic_write_text

    mono = monotonicity(deg) if len(deg) else pd.DataFrame()
    table = trust_table(agree, mono, metrics)
    atomic_write_text(out / "meta.csv", table.to_csv(index=False))
    atomic_write_text(out / "agreement.csv", agree.to_csv(index=False))
    atomic_write_text(out / "degradations.csv", deg.to_csv(index=False))
    md = to_markdown(table, f"### {title}")
    if len(deg):
        gt_check = trust_table(agree.iloc[0:0], mono, [m for m in GT_METRICS if m in set(deg["metric"])])
        md += "\nSanity check, the ground-truth metrics under the same degradations:\n\n" + to_markdown(
            gt_check
        )
    md += f"\nThe evidence's @core (rule: bench.meta.propose_core): {', '.join(propose_core(table))}\n"
    atomic_write_text(out / "meta.md", md)
    figure(table, out, title)
    atomic_write_text(out / "meta.json", json.dumps(to_json(table, best), indent=1) + "\n")
    return table


def rebuild(out: str | Path) -> pd.DataFrame:
    """Rewrite the outputs of a meta folder from its agreement.csv and degradations.csv (no recomputation)."""
    out = Path(out)
    agree = pd.read_csv(out / "agreement.csv")
    deg = pd.read_csv(out / "degradations.csv")
    best = (
        json.loads((out / "meta.json").read_text()).get("best_fusion", {})
        if (out / "meta.json").is_file()
        else {}
    )
    metrics = list(dict.fromkeys([*agree["metric"], *[m for m in deg["metric"] if m not in GT_METRICS]]))
    title = (out / "meta.md").read_text().splitlines()[0].lstrip("# ") if (out / "meta.md").is_file() else ""
    return write_outputs(out, agree, deg, metrics, best, title)


def to_json(t: pd.DataFrame, best: dict) -> dict:
    def clean(v):
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return {
        "best_fusion": best,
        "core_proposal": propose_core(t),
        "metrics": {
            r["metric"]: {
                "family": r["family"],
                "tau_ssim_gt": {
                    "mean": clean(r["tau_ssim_gt"]),
                    "ci95": [clean(r["tau_ssim_gt_lo"]), clean(r["tau_ssim_gt_hi"])],
                },
                "tau_psnr_gt": {
                    "mean": clean(r["tau_psnr_gt"]),
                    "ci95": [clean(r["tau_psnr_gt_lo"]), clean(r["tau_psnr_gt_hi"])],
                },
                "win_rate": clean(r["win_rate"]),
                "n_scenes": int(r["n_scenes"]),
                "degradations": {
                    k: {
                        "rho": clean(r[f"deg_{k}"]),
                        "right_way": bool(np.isfinite(r[f"deg_{k}"]) and r[f"deg_{k}"] >= RIGHT_WAY),
                    }
                    for k in DEGRADATIONS
                },
                "verdict": r["verdict"],
            }
            for r in t.to_dict("records")
        },
    }
