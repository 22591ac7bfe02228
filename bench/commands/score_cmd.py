"""``score --fused F [--reference GT] [--metrics all|ids] [--protocol P] [--json] IMG IMG [...]``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from bench.commands._options import add_plugin_option
from bench.errors import UserError
from bench.protocols import PROTOCOLS

NAME = "score"
HELP = "Score a fused image against its sources with registered metrics."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", type=Path, metavar="IMG", help="source images (N >= 2)")
    p.add_argument("--fused", "-f", required=True, type=Path, help="fused image")
    p.add_argument(
        "--reference", type=Path, default=None, help="all-in-focus ground truth (for *_gt metrics)"
    )
    p.add_argument("--metrics", default="all", help="all, or comma-separated ids / globs (default: all)")
    p.add_argument("--protocol", default="standard", choices=list(PROTOCOLS),
                   help="how images become metric inputs (default: standard)")
    p.add_argument("--json", action="store_true", help="print {metric_id: value} as JSON")
    p.add_argument("--input-range", default=None, metavar="auto|LO,HI",
                   help="how float images map to [0, 1] (default: they must already be in [0, 1])")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="threads scoring the metrics side by side (default: one per core, at most 4, one for "
                        "images of 4 MP and more: memory; 1: one after the other; the values are the same)")
    add_plugin_option(p)
    # the metrics run in threads: BLAS one thread each; freed memory kept for the next metric (bench.procenv)
    p.set_defaults(_one_blas_thread=True, _keep_freed_memory=True)


def select_metrics(spec: str, have_reference: bool) -> list[str]:
    """Resolve a --metrics spec; ``all`` leaves out ground-truth metrics when there is no reference."""
    from bench.registry import get_metric, list_metrics

    if spec.strip() in ("none", ""):
        from bench.errors import UserError

        raise UserError(f"--metrics {spec!r} selects no metric; give ids, globs or all (see `list metrics`)")
    ids = list_metrics(spec)
    if spec == "all" and not have_reference:
        ids = [m for m in ids if not get_metric(m).info.needs_reference]
    if spec == "all":  # no decision map on the command line: decision-map metrics cannot be computed here
        ids = [m for m in ids if not get_metric(m).info.needs_decision_map]
    return ids


def main(args: argparse.Namespace) -> int:
    from bench.imageio import parse_input_range, read_image, read_sources
    from bench.scoring import default_jobs, score_images

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: give a number of threads >= 1")
    rng = parse_input_range(args.input_range)
    sources = read_sources(args.images, rng)
    fused = read_image(args.fused, rng)
    if fused.shape[:2] != sources[0].shape[:2]:
        h, w = sources[0].shape[:2]
        raise UserError(
            f"{args.fused}: size {fused.shape[1]}x{fused.shape[0]} differs from the sources ({w}x{h})"
        )
    reference = None
    if args.reference is not None:
        reference = read_image(args.reference, rng)
        if reference.shape[:2] != sources[0].shape[:2]:
            raise UserError(f"{args.reference}: size differs from the sources")
    ids = select_metrics(args.metrics, reference is not None)
    if args.metrics == "all":  # leave out metrics whose definition does not cover N sources
        from bench.registry import get_metric

        ids = [m for m in ids if get_metric(m).skip_reason(len(sources), True) is None]
    h, w = sources[0].shape[:2]
    jobs = default_jobs(h * w) if args.jobs is None else args.jobs
    scores = score_images(sources, fused, ids, protocol=args.protocol, reference=reference, jobs=jobs)
    out = {}
    for s in scores:
        ok = s.status == "ok" and math.isfinite(s.value)
        out[s.metric] = s.value if ok else None
        if not ok:
            print(f"warning: {s.metric}: {s.message or 'not computable'}", file=sys.stderr)
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        width = max((len(k) for k in out), default=0)
        for k, v in out.items():
            print(f"{k.ljust(width)}  {'null' if v is None else f'{v:.6g}'}")
    return 0
