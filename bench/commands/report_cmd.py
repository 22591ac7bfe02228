"""``report RUN_DIR``: ranked tables (Markdown, CSV, LaTeX), figures and report.html from results.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "report"
HELP = "Regenerate ranked tables, figures and report.html of a run folder from its results.csv."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by `python -m bench run`")
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")
    p.add_argument("--jobs", type=int, default=-1, help="processes drawing figures (default: all cores)")


def main(args: argparse.Namespace) -> int:
    from bench.params import check_jobs
    from bench.views import make_report

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
