"""``report RUN_DIR``: ranked tables (Markdown, CSV, LaTeX), figures and report.html from results.csv."""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
from pathlib import Path

NAME = "report"
HELP = "Regenerate ranked tables, figures and report.html of a run folder from its results.csv."

FIGURES_VERSION = "2"  # bump when bench/plots.py draws differently (part of the figure cache key)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by `python -m bench run`")
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")
    p.add_argument("--jobs", type=int, default=-1, help="processes drawing figures (default: all cores)")


def _figures_key(run_dir: Path) -> str:
    h = hashlib.sha256(FIGURES_VERSION.encode())
    for name in ("results.csv", "artifacts.csv"):
        p = run_dir / name
        h.update(p.read_bytes() if p.is_file() else b"")
    return h.hexdigest()


def _figures(run_dir: Path, rep: Path, df, summaries, jobs: int = 1) -> list:
    """Draw the figures, or copy them from the figure cache when results and artifacts are unchanged.

    Figures are a pure function of results.csv and artifacts.csv, so a repeated run (whose files
    are byte-identical) reuses them: ``<cache_dir>/figures/<sha256 of both files>/``.
    """
    from bench.plots import Figure, write_figures
    from bench.runner import default_cache_dir

    out = rep / "figures"
    key = _figures_key(run_dir)
    cached = default_cache_dir() / "figures" / key
    if (cached / "index.txt").is_file():
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(cached, out)
        figs = []
        for line in (out / "index.txt").read_text().splitlines():
            stem, title = line.split("\t", 1)
            figs.append(Figure(title, out / f"{stem}.png", out / f"{stem}.pdf"))
        return figs
    if out.exists():
        shutil.rmtree(out)  # no stale figures from an earlier drawing
    figs = write_figures(run_dir, out, df, summaries, jobs=jobs)
    (out / "index.txt").write_text("".join(f"{f.png.stem}\t{f.title}\n" for f in figs))
    tmp = cached.with_name(f".{key}.{os.getpid()}.tmp")
    try:
        shutil.copytree(out, tmp)
        os.replace(tmp, cached) if not cached.exists() else shutil.rmtree(tmp)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # a read-only cache only costs redrawing
    return figs


def make_report(run_dir: Path, df=None, plots: bool = True, jobs: int = 1) -> str:
    """Write the report of ``run_dir``; return the Markdown to print (compact when there are many metrics)."""
    from bench.report import PRINT_MAX_METRICS, to_markdown, write_tables

    run_dir = Path(run_dir)
    rep, _, summaries = write_tables(run_dir, df)
    md = to_markdown(summaries, max_metrics=PRINT_MAX_METRICS)
    if any(len(s.metrics) > PRINT_MAX_METRICS for s in summaries):
        md += f"\nFull tables (every metric, mean ± std, first places, ranks): {rep / 'tables.md'}\n"
    if plots:
        from bench.html import write_html

        figs = _figures(run_dir, rep, df, summaries, jobs)
        write_html(run_dir, rep, figs, summaries)
    return md


def main(args: argparse.Namespace) -> int:
    from bench.params import check_jobs

    check_jobs(args.jobs)
    md = make_report(args.run_dir, plots=not args.no_plots, jobs=args.jobs)
    print(md)
    rep = args.run_dir / "report"
    wrote = ["tables.md", "tables.tex", "summary.csv"]
    if not args.no_plots:
        wrote = ["report.html", *wrote, "figures/"]
    wrote = [w for w in wrote if (rep / w.rstrip("/")).exists()]  # name only what is there
    print(f"report: {rep} ({', '.join(wrote)})")
    return 0
