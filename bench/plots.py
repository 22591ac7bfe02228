"""Figures of a run (matplotlib, PNG and PDF), drawn from ``results.csv`` and the cached images.

Per dataset:

- ``bars_<ds>``: bars of the headline metrics' means (ranked order, axes from zero, value labels,
  95% bootstrap CI whiskers clipped to the panel); ``bars_<ds>_<suite>``: the same for the metrics of
  each other suite the run computed, ``bars_<ds>_other`` for the rest (each metric once);
- ``per_image_<ds>``: per-scene values of the headline metrics, scenes by name, one line and marker
  per method (as GACN's Fig. 5);
- ``pareto_<ds>``: the rank aggregate and the first headline metric against mean fusion time (log
  scale) with the Pareto front, labels placed so they do not overlap;
- ``grid_<ds>``: for one scene, the sources, then per method the fused image with a zoomed inset,
  its decision map and the difference image ``F - A`` min-max normalised to [0, 1] (SESF Figs. 5-6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GRID_MAX_METHODS = 8


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
    # fixed layouts: no bbox_inches="tight" (it costs one more drawing pass per file)
    fig.savefig(png, dpi=100)
    fig.savefig(pdf)
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


_MARKERS = "os^vD<>pP*Xh"


def _label(metric: str) -> str:
    from bench.report import higher_is_better

    return f"{metric} ({'higher' if higher_is_better(metric) else 'lower'} is better)"


def _suite_pages(summary) -> list[tuple[str, str, list[str]]]:
    """(stem suffix, title, metrics): the headline, then one page per suite with computed members not
    shown yet, then the remaining metrics; each metric appears once."""
    from metrics.suites import SUITES, suite_members

    shown: set[str] = set(summary.headline)
    pages = [("", "headline metrics", list(summary.headline))] if summary.headline else []
    computed = list(summary.metrics)
    for sid, suite in SUITES.items():
        if sid in ("core", "nr"):
            continue
        try:
            members = suite_members(sid)
        except Exception:  # a suite naming an unregistered id: tests catch it, figures go on
            continue
        new = [m for m in members if m in computed and m not in shown]
        if new:
            pages.append((f"_{sid}", f"@{sid}: {suite.name}", new))
            shown.update(new)
    rest = [m for m in computed if m not in shown]
    if rest:
        pages.append(("_other", "other metrics", rest))
    return pages


def _limits(lo: np.ndarray, hi: np.ndarray, mean: np.ndarray) -> tuple[float, float]:
    """Axis limits that include zero and every finite mean (CIs may be clipped), with label room."""
    vals = np.concatenate([mean[np.isfinite(mean)], [0.0]])
    a, b = float(vals.min()), float(vals.max())
    span = (b - a) or 1.0
    return a - (0.02 * span if a < 0 else 0.0), b + 0.28 * span


def bars(summary, out: Path, suffix: str = "", what: str = "", metrics: list[str] | None = None) -> Figure:
    """Horizontal bars of the mean per method (ranked order), 95% bootstrap CI whiskers clipped to the
    panel, value labels; every axis starts at zero."""
    plt = _plt()
    metrics = list(summary.headline if metrics is None else metrics)
    methods = list(summary.methods["method"])
    rows, cols = _grid(len(metrics), 4)
    h = 0.22 * len(methods) + 0.9
    fig_h = h * rows + 1.2
    fig, axes = plt.subplots(rows, cols, figsize=(4.1 * cols, fig_h), squeeze=False)
    fig.subplots_adjust(  # inches: 0.8 above for the titles, 0.4 below, 0.6 between rows
        left=0.08, right=0.98, top=1 - 0.8 / fig_h, bottom=0.4 / fig_h, wspace=0.55, hspace=0.6 / (h - 0.6)
    )
    y = np.arange(len(methods))
    for ax, metric in zip(axes.flat, metrics, strict=False):
        c = summary.cells[summary.cells.metric == metric].set_index("method").reindex(methods)
        mean = c["mean"].to_numpy(dtype=float)
        lo_v, hi_v = c["ci95_low"].to_numpy(dtype=float), c["ci95_high"].to_numpy(dtype=float)
        x0, x1 = _limits(lo_v, hi_v, mean)
        lo = np.clip(np.nan_to_num(lo_v, nan=np.nan), x0, x1)
        hi = np.clip(np.nan_to_num(hi_v, nan=np.nan), x0, x1)
        colors = ["tab:orange" if v is True else "tab:blue" for v in c["leader"].tolist()]
        ax.barh(y, np.nan_to_num(mean), color=colors, height=0.7)
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(mean)
        ax.hlines(y[ok], lo[ok], hi[ok], color="0.15", lw=0.8)
        ax.set_xlim(x0, x1)
        span = x1 - x0
        for yy, v, t, top in zip(y, mean, c["tied_with_leader"].tolist(), np.fmax(mean, hi), strict=True):
            if not np.isfinite(v):
                ax.text(0, yy, " n/a", va="center", fontsize=6.5)
                continue
            text = f"{v:.4g}" + (" †" if t is True else "")
            if abs(v) > 0.45 * span:  # inside the bar, clear of the whisker
                ax.text(min(v, 0) + 0.01 * span, yy, text, va="center", fontsize=6.5, color="white")
            else:
                ax.text(top + 0.01 * span, yy, text, va="center", fontsize=6.5, clip_on=True)
        ax.set_yticks(y, methods, fontsize=7)
        ax.invert_yaxis()
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(_label(metric), fontsize=8.5)
    for ax in axes.flat[len(metrics) :]:
        ax.axis("off")
    fig.suptitle(
        f"{summary.dataset}: {what or 'headline metrics'} (mean over {summary.n_scenes} scenes; "
        "whiskers: 95% "
        "bootstrap CI, clipped to the panel; orange: leader; †: not significantly worse)",
        fontsize=9,
    )
    return _save(
        fig, out, f"bars_{_safe(summary.dataset)}{suffix}", f"{summary.dataset}: {what or 'headline metrics'}"
    )


def per_image(df: pd.DataFrame, summary, out: Path) -> Figure:
    """Per-scene values of the headline metrics, one line per method (distinct colour and marker),
    scenes labelled by name (as GACN's Fig. 5)."""
    plt = _plt()
    d = df[(df.dataset == summary.dataset) & (df.status == "ok")]
    scenes = list(dict.fromkeys(df[df.dataset == summary.dataset]["scene"]))
    methods = list(summary.methods["method"])
    metrics = list(summary.headline)
    rows, cols = _grid(len(metrics), 2)
    width = max(6.0, min(11.0, 0.32 * len(scenes) + 2.5))
    fig_h = 3.1 * rows + 1.8
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, fig_h), squeeze=False)
    fig.subplots_adjust(
        left=0.06, right=0.98, top=1 - 0.75 / fig_h, bottom=1.25 / fig_h, hspace=0.55, wspace=0.15
    )
    cmap = plt.get_cmap("tab10")
    x = np.arange(len(scenes))
    for ax, metric in zip(axes.flat, metrics, strict=False):
        w = d[d.metric == metric].pivot_table(
            index="scene", columns="method", values="value", aggfunc="first"
        )
        w = w.reindex(index=scenes, columns=methods)
        for k, m in enumerate(methods):
            ax.plot(
                x,
                w[m].to_numpy(dtype=float),
                marker=_MARKERS[k % len(_MARKERS)],
                lw=0.8,
                ms=4,
                color=cmap(k % 10),
                label=m,
                alpha=0.9,
                markerfacecolor="none" if k >= 10 else None,
            )
        ax.set_title(_label(metric), fontsize=8.5)
        ax.set_xticks(
            x,
            scenes,
            fontsize=6.5,
            rotation=60 if len(scenes) > 6 else 0,
            ha="right" if len(scenes) > 6 else "center",
        )
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(metrics) :]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(methods), 8), fontsize=7, frameon=False)
    fig.suptitle(f"{summary.dataset}: per-scene values of the headline metrics", fontsize=9)
    return _save(fig, out, f"per_image_{_safe(summary.dataset)}", f"{summary.dataset}: per-scene values")


def place_labels(points: np.ndarray, sizes: np.ndarray, box: tuple[float, float]) -> np.ndarray:
    """Offsets (in points) for text labels of the given display sizes next to ``points`` (display
    coordinates) so that no two labels overlap where it can be avoided: each label, in order of the
    points' height, takes the first of a fixed list of candidate offsets whose box overlaps no label
    placed before it (greedy; the last candidate when all collide).

    >>> pts = np.array([[100.0, 100.0], [100.0, 102.0]]); sz = np.array([[40.0, 8.0], [40.0, 8.0]])
    >>> off = place_labels(pts, sz, (400.0, 300.0)); bool(abs(off[0, 1] - off[1, 1]) >= 8)
    True
    """
    cands = [(4, 3), (4, -11), (-4, 3), (-4, -11), (4, 13), (4, -21), (-4, 13), (-4, -21), (4, 23), (-4, 23)]
    placed: list[tuple[float, float, float, float]] = []
    offsets = np.zeros((len(points), 2))
    for i in np.argsort(-points[:, 1], kind="stable"):
        (px, py), (w, h) = points[i], sizes[i]
        choice = cands[-1]
        for dx, dy in cands:
            x0 = px + dx if dx >= 0 else px + dx - w
            y0 = py + dy
            rect = (x0, y0, x0 + w, y0 + h)
            inside = rect[0] >= 0 and rect[2] <= box[0] and rect[1] >= 0 and rect[3] <= box[1]
            if inside and all(
                rect[2] <= r[0] or rect[0] >= r[2] or rect[3] <= r[1] or rect[1] >= r[3] for r in placed
            ):
                choice = (dx, dy)
                break
        dx, dy = choice
        x0 = px + dx if dx >= 0 else px + dx - w
        placed.append((x0, py + dy, x0 + w, py + dy + h))
        offsets[i] = (dx, dy)
    return offsets


def _pareto_panel(ax, names, t, q, hib: bool, ylabel: str) -> None:
    front = pareto_front(t, q, hib)
    ok = np.isfinite(t) & np.isfinite(q)
    ax.scatter(t[ok & ~front], q[ok & ~front], s=18, color="0.45", zorder=3)
    ax.scatter(t[front], q[front], s=24, color="tab:red", zorder=4, label="Pareto front")
    order = np.argsort(t[front])
    ax.plot(t[front][order], q[front][order], color="tab:red", lw=1, drawstyle="steps-post")
    if ok.any() and (t[ok] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel("mean fusion time per scene (s, log scale)", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if not hib:
        ax.invert_yaxis()  # better is up
    fig = ax.figure
    ax.get_xlim(), ax.get_ylim()  # apply autoscaling: transData is final (fixed layout, no draw needed)
    idx = np.flatnonzero(ok)
    texts = [
        ax.annotate(
            names[i],
            (t[i], q[i]),
            fontsize=6.5,
            xytext=(0, 0),
            textcoords="offset points",
            color="tab:red" if front[i] else "0.25",
        )
        for i in idx
    ]
    if not texts:
        return
    pts = ax.transData.transform(np.column_stack([t[idx], q[idx]]))
    bb = ax.get_window_extent()
    scale = 72.0 / fig.dpi  # display pixels -> points
    # label boxes estimated from the font size (about 0.6 em per character): no drawing pass needed
    sizes = np.array([[0.6 * 6.5 * len(names[i]) + 2, 1.25 * 6.5] for i in idx])
    pts_pt = (pts - [bb.x0, bb.y0]) * scale
    offs = place_labels(pts_pt, sizes, (bb.width * scale, bb.height * scale))
    for tx, (dx, dy) in zip(texts, offs, strict=True):
        tx.set_position((dx, dy))
        tx.set_horizontalalignment("left" if dx >= 0 else "right")


def pareto(summary, out: Path) -> Figure:
    """Quality against mean fusion time: the rank aggregate and the first headline metric."""
    from bench.report import higher_is_better

    plt = _plt()
    meth = summary.methods.set_index("method")
    names = list(meth.index)
    t = meth["time_mean_s"].to_numpy(dtype=float)
    panels = [
        (
            "rank",
            meth["avg_rank"].to_numpy(dtype=float),
            False,
            "rank aggregate over the headline's metric families (lower is better)",
        )
    ]
    if summary.headline:
        m0 = summary.headline[0]
        c = summary.cells[summary.cells.metric == m0].set_index("method").reindex(names)
        panels.append((m0, c["mean"].to_numpy(dtype=float), higher_is_better(m0), f"mean {_label(m0)}"))
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.6), squeeze=False)
    fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.12, wspace=0.25)
    for ax, (_, q, hib, lab) in zip(axes.flat, panels, strict=True):
        _pareto_panel(ax, names, t, q, hib, lab)
    fig.suptitle(f"{summary.dataset}: quality against time (red: Pareto front; better is up)", fontsize=9)
    return _save(
        fig,
        out,
        f"pareto_{_safe(summary.dataset)}",
        f"{summary.dataset}: quality against time (Pareto front)",
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
        rows = df[df.dataset == s.dataset]
        tasks = [(bars, (s, out, suffix, what, metrics)) for suffix, what, metrics in _suite_pages(s)]
        if s.headline:
            tasks += [(per_image, (rows, s, out)), (pareto, (s, out))]
        figs += _draw(tasks, jobs)
        if artifacts is not None and len(artifacts):
            a = artifacts[artifacts.dataset == s.dataset]
            if len(a):
                scene = a["scene"].iloc[0]
                srcs = _scene_sources(run_dir, s.dataset, scene, a["sources"].iloc[0])
                if srcs is not None and all(Path(p).is_file() for p in a[a.scene == scene]["fused"]):
                    figs.append(image_grid(s, a, srcs, scene, out))
    return figs
