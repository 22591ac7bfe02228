"""``report RUN_DIR``: ranked tables (Markdown, CSV, LaTeX), figures and report.html from results.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "report"
HELP = "Regenerate ranked tables, figures and report.html of a run folder from its results.csv."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by `python -m bench run`")
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")


def make_report(run_dir: Path, df=None, plots: bool = True) -> str:
    """Write the report of ``run_dir``; return the Markdown tables."""
    from bench.report import write_tables

    rep, md = write_tables(run_dir, df)
    if plots:
        from bench.html import write_html
        from bench.plots import write_figures

        figs = write_figures(run_dir, rep / "figures", df)
        write_html(run_dir, rep, figs)
    return md


def main(args: argparse.Namespace) -> int:
    md = make_report(args.run_dir, plots=not args.no_plots)
    print(md)
    print(f"report: {args.run_dir / 'report'}")
    return 0
