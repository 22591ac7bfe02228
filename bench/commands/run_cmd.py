"""``run``: fuse every selected scene with every selected method, score, write results and a ranked table."""

from __future__ import annotations

import argparse
import sys

from bench.protocols import PROTOCOLS

NAME = "run"
HELP = "Run methods on datasets, score the fused images, write results.csv/run.json and print a ranked table."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--methods",
        default="all",
        help="all, or comma-separated ids / globs / @classical / @learned (default: all)",
    )
    p.add_argument(
        "--dataset",
        default="synthetic",
        help="dataset id(s), comma-separated (default: the embedded synthetic set)",
    )
    p.add_argument(
        "--data-dir", default=None, help="folder holding <dataset>/ (else $MFIF_DATA, then the cache)"
    )
    p.add_argument(
        "--metrics",
        default="@core,@gt",
        help="all, none, or comma-separated ids / globs / @suites (default: @core,@gt; ground-truth metrics "
        "give rows only where a reference exists)",
    )
    p.add_argument("--limit", type=int, default=None, help="use only the first N scenes of each dataset")
    p.add_argument(
        "--jobs", type=int, default=-1, help="parallel workers (default: all cores; 1 = in process)"
    )
    p.add_argument(
        "--out", default=None, help="output folder (default: results/runs/<time>--<dataset>--<device>)"
    )
    p.add_argument("--repeats", type=int, default=1, help="timed fusion repeats per scene, after a warm-up")
    p.add_argument(
        "--protocol",
        default="standard",
        choices=list(PROTOCOLS),
        help="how images become metric inputs (default: standard)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (device-aware methods only)")
    p.add_argument(
        "--backend", default="loky", choices=["loky", "dask"], help="parallel backend (default: loky)"
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="existing Dask scheduler (with --backend dask; default: a LocalCluster)",
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="result cache folder (default: ~/.cache/mfif-bench/results, $MFIF_CACHE moves it)",
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="recompute fusions and scores whose cached outcome is an error",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")


def config_from_args(args: argparse.Namespace):
    from bench.runner import RunConfig, resolve_datasets, resolve_methods, resolve_metrics

    if args.limit is not None and args.limit < 1:
        from bench.errors import UserError

        raise UserError(f"--limit must be >= 1, got {args.limit}")
    if args.scheduler and args.backend != "dask":
        from bench.errors import UserError

        raise UserError("--scheduler needs --backend dask")
    return RunConfig(
        methods=resolve_methods(args.methods),
        datasets=resolve_datasets(args.dataset),
        metrics=resolve_metrics(args.metrics),
        data_dir=args.data_dir,
        limit=args.limit,
        jobs=args.jobs,
        out=args.out,
        repeats=args.repeats,
        protocol=args.protocol,
        device=args.device,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=not args.no_progress,
        cache_dir=args.cache_dir,
        retry_errors=args.retry_errors,
        argv=tuple(sys.argv),
    )


def main(args: argparse.Namespace) -> int:
    from bench.commands.report_cmd import make_report
    from bench.headline import counts_line
    from bench.runner import run

    summary = run(config_from_args(args))
    md = make_report(summary.out, summary.results, plots=not args.no_plots, jobs=args.jobs)
    c = summary.counts
    print(md)
    print(
        f"results: {summary.out / 'results.csv'}  (computed {c['computed']}, cached {c['cached']}; "
        f"{counts_line(summary.results, c)})"
    )
    return 0
