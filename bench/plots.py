"""Figures of a run (matplotlib, PNG and PDF), drawn from ``results.csv`` and the cached images.

Per dataset:

- ``bars_<ds>``: per-metric bar charts of the mean with 95% bootstrap CI whiskers (ranked order);
- ``per_image_<ds>``: per-image line plots, one line per method (as GACN's Fig. 5);
- ``pareto_<ds>``: quality against mean fusion time (log scale) with the Pareto front;
- ``grid_<ds>``: for one scene, the sources, then per method the fused image with a zoomed inset,
  its decision map and the difference image ``F - A`` min-max normalised to [0, 1] (SESF Figs. 5-6).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GRID_MAX_METHODS = 8
METRICS_PER_FIGURE = 12


@dataclass(frozen=True)
class Figure:
    title: str
    png: Path
    pdf: Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: Path, stem: str, title: str) -> Figure:
    out.mkdir(parents=True, exist_ok=True)
    png, pdf = out / f"{stem}.png", out / f"{stem}.pdf"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    fig.savefig(pdf, bbox_inches="tight")
    _plt().close(fig)
    return Figure(title, png, pdf)


def _grid(n: int, ncols: int = 4) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return int(math.ceil(n / ncols)), ncols


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def pareto_front(time: np.ndarray, quality: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Boolean mask of the points not dominated by another (less time and better quality).

    Examples
    --------
    >>> pareto_front(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.7, 0.6]), True).tolist()
    [True, True, False]
    """
    t = np.asarray(time, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64) * (1.0 if higher_is_better else -1.0)
    ok = np.isfinite(t) & np.isfinite(q)
    tt, qq = t[:, None], q[:, None]
    dominated = (t[None, :] <= tt) & (q[None, :] >= qq) & ((t[None, :] < tt) | (q[None, :] > qq))
    dominated &= ok[None, :]
    return ok & ~dominated.any(axis=1)


def bars(summary, out: Path, page: str = "") -> Figure:
    plt = _plt()
    methods = list(summary.methods["method"])
    rows, cols = _grid(len(summary.metrics))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 0.28 * len(methods) * rows + 1.2 * rows), squeeze=False
    )
    for ax, metric in zip(axes.flat, summary.metrics, strict=False):
        c = summary.cells[summary.cells.metric == metric].set_index("method").reindex(methods)
        y = np.arange(len(methods))
        mean = c["mean"].to_numpy(dtype=float)
        lo = np.clip(mean - c["ci95_low"].to_numpy(dtype=float), 0, None)
        hi = np.clip(c["ci95_high"].to_numpy(dtype=float) - mean, 0, None)
        colors = ["tab:orange" if bool(v) else "tab:blue" for v in c["leader"].fillna(False)]
        ax.barh(y, np.nan_to_num(mean), xerr=np.nan_to_num([lo, hi]), color=colors, capsize=2)
        ax.set_yticks(y, methods, fontsize=7)
        ax.invert_yaxis()
        arrow = "↑" if c["higher_is_better"].dropna().iloc[0] else "↓"
        ax.set_title(f"{metric} {arrow}", fontsize=9)
        finite = mean[np.isfinite(mean)]
        if finite.size:
            span = finite.max() - finite.min()
            ax.set_xlim(
                max(0.0, finite.min() - span) if finite.min() >= 0 else finite.min() - span,
                finite.max() + 0.5 * span + 1e-12,
            )
    for ax in axes.flat[len(summary.metrics) :]:
        ax.axis("off")
    fig.suptitle(f"{summary.dataset}: mean per metric (95% bootstrap CI)", fontsize=10)
    return _save(
        fig, out, f"bars_{_safe(summary.dataset)}{page}", f"{summary.dataset}: per-metric means{page}"
    )


def per_image(df: pd.DataFrame, summary, out: Path, page: str = "") -> Figure:
    plt = _plt()
    d = df[(df.dataset == summary.dataset) & (df.status == "ok")]
    scenes = list(dict.fromkeys(df[df.dataset == summary.dataset]["scene"]))
    methods = list(summary.methods["method"])
    rows, cols = _grid(len(summary.metrics), 2)
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 2.6 * rows), squeeze=False)
    cmap = plt.get_cmap("tab20")
    for ax, metric in zip(axes.flat, summary.metrics, strict=False):
        w = d[d.metric == metric].pivot_table(
            index="scene", columns="method", values="value", aggfunc="first"
        )
        w = w.reindex(index=scenes, columns=methods)
        x = np.arange(len(scenes))
        for k, m in enumerate(methods):
            ax.plot(x, w[m].to_numpy(dtype=float), marker=".", lw=1, ms=3, color=cmap(k % 20), label=m)
        ax.set_title(metric, fontsize=9)
        ax.set_xticks(x, [str(i + 1) for i in x], fontsize=6)
        ax.set_xlabel("image", fontsize=7)
    for ax in axes.flat[len(summary.metrics) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="upper center",
        ncol=min(len(methods), 8),
        fontsize=7,
        bbox_to_anchor=(0.5, 1.0 + 0.02 * math.ceil(len(methods) / 8)),
    )
    fig.tight_layout()
    return _save(
        fig, out, f"per_image_{_safe(summary.dataset)}{page}", f"{summary.dataset}: per-image values{page}"
    )


def pareto(summary, out: Path, page: str = "") -> Figure:
    plt = _plt()
    meth = summary.methods.set_index("method")
    rows, cols = _grid(len(summary.metrics))
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 3.0 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, summary.metrics, strict=False):
        c = summary.cells[summary.cells.metric == metric].set_index("method")
        names = [m for m in c.index if m in meth.index]
        t = meth.loc[names, "time_mean_s"].to_numpy(dtype=float)
        q = c.loc[names, "mean"].to_numpy(dtype=float)
        hib = bool(c["higher_is_better"].iloc[0])
        front = pareto_front(t, q, hib)
        ax.scatter(t, q, s=14, color="tab:blue")
        order = np.argsort(t[front])
        ax.plot(
            t[front][order],
            q[front][order],
            color="tab:red",
            lw=1,
            drawstyle="steps-post" if hib else None,
            label="Pareto front",
        )
        for n, x, y, f in zip(names, t, q, front, strict=True):
            if np.isfinite(x) and np.isfinite(y):
                ax.annotate(
                    n,
                    (x, y),
                    fontsize=6,
                    color="tab:red" if f else "0.3",
                    xytext=(2, 2),
                    textcoords="offset points",
                )
        if np.isfinite(t).any() and (t[np.isfinite(t)] > 0).all():
            ax.set_xscale("log")
        ax.set_xlabel("mean fusion time (s)", fontsize=7)
        ax.set_title(f"{metric} {'↑' if hib else '↓'}", fontsize=9)
    for ax in axes.flat[len(summary.metrics) :]:
        ax.axis("off")
    fig.suptitle(f"{summary.dataset}: quality vs time", fontsize=10)
    fig.tight_layout()
    return _save(
        fig,
        out,
        f"pareto_{_safe(summary.dataset)}{page}",
        f"{summary.dataset}: quality vs time (Pareto front){page}",
    )


def _zoom_box(a: np.ndarray, b: np.ndarray, frac: float = 0.2) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a square where the two sources differ most (the focus boundary)."""
    from scipy.ndimage import uniform_filter

    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    if diff.ndim == 3:
        diff = diff.mean(axis=2)
    h, w = diff.shape
    s = max(8, int(min(h, w) * frac))
    energy = uniform_filter(diff, size=s, mode="constant")
    y, x = np.unravel_index(int(np.argmax(energy)), energy.shape)
    y0 = int(np.clip(y - s // 2, 0, h - s))
    x0 = int(np.clip(x - s // 2, 0, w - s))
    return y0, y0 + s, x0, x0 + s


def difference_image(fused: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``fused - source`` (luminance), min-max normalised to [0, 1] (0.5 everywhere if constant)."""
    from bench.imageio import luminance

    d = luminance(np.asarray(fused, dtype=np.float32)).astype(np.float64) - luminance(
        np.asarray(source, dtype=np.float32)
    ).astype(np.float64)
    lo, hi = d.min(), d.max()
    return np.full_like(d, 0.5) if hi - lo <= 0 else (d - lo) / (hi - lo)


def image_grid(summary, artifacts: pd.DataFrame, sources: list[np.ndarray], scene: str, out: Path) -> Figure:
    """Sources, then per method (ranked, at most GRID_MAX_METHODS): fused + inset, decision map, F - A."""
    from bench.rundir import read_png_u8

    plt = _plt()
    arts = artifacts[(artifacts.dataset == summary.dataset) & (artifacts.scene == scene)].set_index("method")
    methods = [m for m in summary.methods["method"] if m in arts.index][:GRID_MAX_METHODS]
    y0, y1, x0, x1 = _zoom_box(sources[0], sources[1])
    ncol = max(3, len(sources))
    fig, axes = plt.subplots(
        1 + len(methods), ncol, figsize=(2.4 * ncol, 2.4 * (1 + len(methods))), squeeze=False
    )
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    gray = {"cmap": "gray", "vmin": 0, "vmax": 1}
    for k, src in enumerate(sources[:ncol]):
        axes[0, k].imshow(src, **gray)
        axes[0, k].set_title(f"source {chr(65 + k)}", fontsize=8)
    for k in range(len(sources), ncol):
        axes[0, k].axis("off")
    for r, m in enumerate(methods, start=1):
        row = arts.loc[m]
        fused = read_png_u8(Path(row["fused"])) / 255.0
        ax = axes[r, 0]
        ax.imshow(fused, **gray)
        ax.set_ylabel(m, fontsize=8)
        inset = ax.inset_axes([0.58, 0.58, 0.4, 0.4])
        inset.imshow(fused[y0:y1, x0:x1], **gray)
        inset.set_xticks([])
        inset.set_yticks([])
        for sp in inset.spines.values():
            sp.set_edgecolor("yellow")
        ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="yellow", lw=0.8))
        if isinstance(row["decision_map"], str) and row["decision_map"]:
            axes[r, 1].imshow(read_png_u8(Path(row["decision_map"])) / 255.0, **gray)
        else:
            axes[r, 1].text(0.5, 0.5, "no decision map", ha="center", va="center", fontsize=7)
        axes[r, 2].imshow(difference_image(fused, sources[0]), **gray)
        if r == 1:
            axes[r, 0].set_title("fused (zoom inset)", fontsize=8)
            axes[r, 1].set_title("decision map", fontsize=8)
            axes[r, 2].set_title("fused − A (normalised)", fontsize=8)
        for k in range(3, ncol):
            axes[r, k].axis("off")
    fig.suptitle(f"{summary.dataset} / {scene}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return _save(fig, out, f"grid_{_safe(summary.dataset)}", f"{summary.dataset}: fused images of {scene}")


def _scene_sources(run_dir: Path, dataset: str, scene: str, paths: str) -> list[np.ndarray] | None:
    from bench.imageio import read_sources

    if isinstance(paths, str) and paths:
        files = [Path(p) for p in paths.split(";")]
        if all(p.is_file() for p in files):
            return read_sources(files)
    try:  # embedded datasets have no files: regenerate through the registry
        import json

        from bench.registry import get_dataset

        data_dir = json.loads((run_dir / "run.json").read_text()).get("config", {}).get("data_dir")
        for s in get_dataset(dataset).scenes(data_dir):
            if s.id == scene:
                return s.load_sources()
    except Exception:  # the data moved away: no grid, the rest of the report still works
        return None
    return None


def _draw(tasks: list, jobs: int) -> list[Figure]:
    """Run the drawing tasks ``(function, args)``, in ``jobs`` processes (loky) when there are several."""
    if jobs == 1 or len(tasks) < 2:
        return [fn(*args) for fn, args in tasks]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, backend="loky")(delayed(fn)(*args) for fn, args in tasks)


def write_figures(
    run_dir: str | Path,
    out: str | Path,
    df: pd.DataFrame | None = None,
    summaries: list | None = None,
    jobs: int = 1,
) -> list[Figure]:
    """Draw every figure of the run into ``out``; returns them in display order.

    ``jobs`` > 1 (or -1: all cores) draws the metric pages in that many worker processes; the figures
    are the same.
    """
    from bench.report import summarize
    from bench.rundir import read_results

    run_dir, out = Path(run_dir), Path(out)
    df = read_results(run_dir) if df is None else df
    figs: list[Figure] = []
    art_path = run_dir / "artifacts.csv"
    artifacts = pd.read_csv(art_path, dtype=str, keep_default_na=False) if art_path.is_file() else None
    for s in summaries if summaries is not None else summarize(df):
        pages = [s.metrics[i : i + METRICS_PER_FIGURE] for i in range(0, len(s.metrics), METRICS_PER_FIGURE)]
        tasks = []
        rows = df[df.dataset == s.dataset]
        for k, chunk in enumerate(pages, start=1):
            part = dataclasses.replace(s, metrics=chunk)
            page = f"_p{k}" if len(pages) > 1 else ""
            tasks += [
                (bars, (part, out, page)),
                (per_image, (rows, part, out, page)),
                (pareto, (part, out, page)),
            ]
        figs += _draw(tasks, jobs)
        if artifacts is not None and len(artifacts):
            a = artifacts[artifacts.dataset == s.dataset]
            if len(a):
                scene = a["scene"].iloc[0]
                srcs = _scene_sources(run_dir, s.dataset, scene, a["sources"].iloc[0])
                if srcs is not None and all(Path(p).is_file() for p in a[a.scene == scene]["fused"]):
                    figs.append(image_grid(s, a, srcs, scene, out))
    return figs
