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
        "--dataset",
        default="synthetic",
        help="dataset id(s), comma-separated (default: the embedded synthetic set)",
    )
    p.add_argument(
        "--metrics",
        default="@core,@gt",
        help="all, none, or comma-separated ids / globs / @suites (default: @core,@gt; ground-truth metrics "
        "give rows only where a reference exists)",
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
    # byo (issue 11): external fused images, published result sets (bench/external.py)
    p.add_argument(
        "--external", action="append", default=[], metavar="LABEL=DIR[,times=FILE.csv]",
        help="score your own fused images as method LABEL: DIR/<scene>.<ext>, DIR/<dataset>/<scene>.<ext> "
        "or a pattern DIR/{scene}_mine.png; times.csv (scene,seconds) gives fusion times (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--results", action="append", default=[], metavar="NAME[:METHOD,...]",
        help="published result set (see `list results`), shown as NAME:METHOD (repeatable)",
    )  # fmt: skip
    p.add_argument("--results-dir", default=None, help="folder holding <result set>/ (else $MFIF_RESULTS)")
    p.add_argument("--no-plots", action="store_true", help="write tables only, skip figures and report.html")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit with status 1 if any row is an error (fusion or metric, cached or fresh): for CI",
    )


def config_from_args(args: argparse.Namespace):
    from bench.errors import UserError
    from bench.registry import add_plugins
    from bench.runconfig import RunConfig, resolve_datasets, resolve_methods, resolve_metrics

    check_run_options(args)
    if args.scheduler and args.backend != "dask":
        raise UserError("--scheduler needs --backend dask")
    plugins = add_plugins(getattr(args, "plugin", []) or [])
    methods = resolve_methods(args.methods) if args.methods.strip() != "none" else ()  # only externals
    datasets = resolve_datasets(args.dataset)
    metrics = resolve_metrics(args.metrics)
    _check_ground_truth(args.metrics, metrics, datasets)
    from bench.external import parse_all

    externals = parse_all(args.external, args.results, {m.name for m in methods})
    if not methods and not externals:
        raise UserError("--methods none needs --external or --results")
    return RunConfig(
        methods=methods,
        datasets=datasets,
        metrics=metrics,
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
        externals=externals,
        results_dir=args.results_dir,
    )


def _check_ground_truth(spec: str, metrics: tuple, datasets: tuple) -> None:
    """Metrics named explicitly that need a ground truth no selected dataset has: an error when no other
    metric is left, else a warning (``all`` and globs leave them out silently, as documented)."""
    from bench.errors import UserError
    from bench.registry import get_dataset, get_metric

    if not metrics or spec.strip() == "all" or any(ch in spec for ch in "*?[@"):
        return  # "all", globs and @suites leave ground-truth metrics out silently where there is none
    if any(get_dataset(d).info.has_ground_truth for d in datasets):
        return
    gt = [m for m in metrics if get_metric(m).info.needs_reference]
    if not gt:
        return
    msg = (
        f"metric(s) {', '.join(gt)} need a ground-truth image and dataset(s) {', '.join(datasets)} have "
        "none (no rows would be written)"
    )
    if len(gt) == len(metrics):
        raise UserError(msg + "; pick a dataset with ground truth (see `list datasets`, column GT)")
    print(f"warning: {msg}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from bench.headline import counts_line
    from bench.runlock import run_lock
    from bench.runner import run
    from bench.summary import has_errors
    from bench.views import make_report

    cfg = config_from_args(args)
    if cfg.out is None:
        summary = run(cfg)
        md = make_report(summary.out, summary.results, plots=not args.no_plots, jobs=args.jobs)
    else:
        with run_lock(cfg.out):  # the report is part of the run: no other run may write in between
            summary = run(cfg)
            md = make_report(summary.out, summary.results, plots=not args.no_plots, jobs=args.jobs)
    c = summary.counts
    print(md)
    print(
        f"results: {summary.out / 'results.csv'}  (computed {c['computed']}, cached {c['cached']}; "
        f"{counts_line(summary.results, c)})"
    )
    _external_summary(summary.results, [e.label for e in cfg.externals])
    if args.strict and has_errors(summary.results):
        return 1
    return 0


def _external_summary(df, labels) -> None:
    """byo: one line per external label with missing/unreadable images, naming the first files."""
    for label in labels:
        t = df[(df["method"] == label) & (df["metric"] == "time_fuse_s")]
        bad = t[t["status"] == "error"]
        if len(bad):
            more = " ..." if len(bad) > 5 else ""
            print(f"external {label}: {len(bad)} of {len(t)} scenes have no usable fused image (error rows): "
                  + "; ".join(bad["message"].head(5)) + more, file=sys.stderr)  # fmt: skip
