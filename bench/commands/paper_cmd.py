"""``paper TABLE [--json]``: regenerate a paper table and print paper, ours and delta side by side."""

from __future__ import annotations

import argparse
import json

NAME = "paper"
HELP = (
    "Regenerate a paper table (sesf2020-table2, gacn2022-table1, gacn2022-table3) next to the paper's values."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bench.paper import TABLES

    p.add_argument("table", choices=sorted(TABLES), metavar="TABLE", help=", ".join(sorted(TABLES)))
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"rows": [{"method", "metric", "paper", "ours", "delta"}, ...], ...}',
    )
    p.add_argument(
        "--reference",
        default=None,
        help="paper_tables.json (default: $MFIF_REFERENCE or $MFIF_DATA/../reference)",
    )
    p.add_argument(
        "--data-dir", default=None, help="folder holding the datasets (else $MFIF_DATA, then the cache)"
    )
    p.add_argument("--limit", type=int, default=None, help="only the first N scenes (a partial, quick check)")
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="gacn2022-table3: use only the first N frames of the stack (times are per image)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="parallel workers (default: all cores)")
    p.add_argument("--repeats", type=int, default=1, help="timed fusion repeats per scene")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--out", default=None, help="run folder (default: results/paper/<TABLE>)")
    p.add_argument("--cache-dir", default=None, help="result cache folder (default: the user cache)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def main(args: argparse.Namespace) -> int:
    from bench.paper import format_text, regenerate, to_json
    from bench.params import check_jobs

    check_jobs(args.jobs)
    res = regenerate(
        args.table,
        reference=args.reference,
        data_dir=args.data_dir,
        jobs=args.jobs,
        limit=args.limit,
        frames=args.frames,
        device=args.device,
        out=args.out,
        cache_dir=args.cache_dir,
        progress=not args.no_progress,
        repeats=args.repeats,
    )
    print(json.dumps(to_json(res), indent=1) if args.json else format_text(res))
    return 0
