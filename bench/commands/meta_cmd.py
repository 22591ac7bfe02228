"""``meta --dataset NAME[,NAME] [--methods ...] [--metrics ...] [--json]``: which metrics to trust."""

from __future__ import annotations

import argparse
import json

NAME = "meta"
HELP = (
    "Meta-evaluate the no-reference metrics on ground-truth datasets: Kendall tau against ssim_gt/psnr_gt, "
    "win rate, and response to controlled degradations; writes a 'which metric to trust' table."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="synthetic", help="dataset id(s) with ground truth, comma-separated")
    p.add_argument("--methods", default="all", help="methods whose fusions are ranked (default: all)")
    p.add_argument(
        "--metrics", default="@nr", help="metrics to evaluate (default: @nr, every no-reference one)"
    )
    p.add_argument(
        "--data-dir", default=None, help="folder holding <dataset>/ (else $MFIF_DATA, then the cache)"
    )
    p.add_argument("--limit", type=int, default=None, help="first N scenes of each dataset")
    p.add_argument(
        "--degradation-scenes",
        type=int,
        default=12,
        help="scenes per dataset used for the controlled degradations (default: 12)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="parallel workers (default: all cores)")
    p.add_argument("--cache-dir", default=None, help="result cache folder (as for run)")
    p.add_argument("--out", default=None, help="output folder (default: results/meta/<datasets>)")
    p.add_argument("--json", action="store_true", help="print the per-metric results as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def main(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from bench.meta import meta_evaluate, to_json, to_markdown

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")
    if args.degradation_scenes < 1:
        raise UserError(f"--degradation-scenes must be >= 1, got {args.degradation_scenes}")
    res = meta_evaluate(
        tuple(d.strip() for d in args.dataset.split(",") if d.strip()),
        args.methods,
        args.metrics,
        data_dir=args.data_dir,
        jobs=args.jobs,
        cache_dir=args.cache_dir,
        out=args.out,
        limit=args.limit,
        degradation_scenes=args.degradation_scenes,
        progress=not args.no_progress,
    )
    if args.json:
        print(json.dumps(to_json(res.table, res.best), indent=1))
    else:
        print(to_markdown(res.table))
        print(f"meta: {res.out} (meta.md, meta.csv, meta.json, meta.png, agreement.csv, degradations.csv)")
    return 0
