"""``run``: fuse every selected scene with every selected method, score, write results and a ranked table."""

from __future__ import annotations

import argparse
import sys

from bench.commands._options import add_run_options, check_run_options
from bench.protocols import PROTOCOLS

NAME = "run"
HELP = "Run methods on datasets, score the fused images, write results.csv/run.json and print a ranked table."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--methods",
        default="all",
        help="all, none (with --external/--results), or comma-separated ids / globs / @classical / @learned"
        " (default: all)",
    )
    p.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="LABEL=DIR",
        help="also score fused images stored in DIR (DIR/<dataset>/<scene>.png or DIR/<scene>.png) as LABEL",
    )
    p.add_argument(
        "--results",
        action="append",
        default=[],
        metavar="NAME[:METHOD,...]",
        help="also score a published result set (its methods, or the listed ones)",
    )
    p.add_argument(
        "--dataset",
        default="synthetic",
        help="dataset id(s), comma-separated (default: the embedded synthetic set)",
    )
    p.add_argument(
        "--metrics", default="all", help="all, none, or comma-separated ids / globs (default: all)"
    )
    add_run_options(p, out_help="output folder (default: results/runs/<time>--<dataset>--<device>)")
    p.add_argument(
        "--protocol",
        default="standard",
        choices=list(PROTOCOLS),
        help="how images become metric inputs (default: standard)",
    )
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
        "--retry-errors",
        action="store_true",
        help="recompute fusions and scores whose cached outcome is an error",
    )
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")


def config_from_args(args: argparse.Namespace):
    from bench.errors import UserError
    from bench.registry import add_plugins
    from bench.runconfig import RunConfig, external_specs, resolve_datasets, resolve_methods, resolve_metrics

    check_run_options(args)
    if args.scheduler and args.backend != "dask":
        raise UserError("--scheduler needs --backend dask")
    plugins = add_plugins(getattr(args, "plugin", []) or [])
    datasets = resolve_datasets(args.dataset)
    stored = external_specs(args.external, args.results, datasets)
    methods = resolve_methods(args.methods) if (args.methods != "none" or not stored) else ()
    return RunConfig(
        methods=methods + stored,
        datasets=datasets,
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
        plugins=plugins,
    )


def main(args: argparse.Namespace) -> int:
    from bench.runner import run
    from bench.views import make_report

    summary = run(config_from_args(args))
    md = make_report(summary.out, summary.results, plots=not args.no_plots, jobs=args.jobs)
    c = summary.counts
    print(md)
    print(
        f"results: {summary.out / 'results.csv'}  (computed {c['computed']}, cached {c['cached']}, "
        f"fusion errors {c['fuse_errors']}, metric errors {c['score_errors']})"
    )
    return 0
