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
        "--metrics", default="all", help="all, none, or comma-separated ids / globs (default: all)"
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


def config_from_args(args: argparse.Namespace):
    from bench.runner import RunConfig, resolve_datasets, resolve_methods, resolve_metrics

    if args.limit is not None and args.limit < 1:
        from bench.errors import UserError

        raise UserError(f"--limit must be >= 1, got {args.limit}")
    if args.scheduler and args.backend != "dask":
        from bench.errors import UserError

        raise UserError("--scheduler needs --backend dask")
    from bench.external import parse_all

    methods = resolve_methods(args.methods) if args.methods.strip() != "none" else ()  # byo: only externals
    externals = parse_all(args.external, args.results, {m.name for m in methods})
    if not methods and not externals:
        from bench.errors import UserError

        raise UserError("--methods none needs --external or --results")
    return RunConfig(
        methods=methods,
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
        externals=externals,
        results_dir=args.results_dir,
    )


def main(args: argparse.Namespace) -> int:
    from bench.commands.report_cmd import make_report
    from bench.runner import run

    cfg = config_from_args(args)
    summary = run(cfg)
    md = make_report(summary.out, summary.results, plots=not args.no_plots, jobs=args.jobs)
    c = summary.counts
    print(md)
    print(
        f"results: {summary.out / 'results.csv'}  (computed {c['computed']}, cached {c['cached']}, "
        f"fusion errors {c['fuse_errors']}, metric errors {c['score_errors']})"
    )
    _external_summary(summary.results, [e.label for e in cfg.externals])
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
