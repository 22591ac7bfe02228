"""``paper TABLE [--json]``: regenerate a paper table and print paper, ours and delta side by side."""

from __future__ import annotations

import argparse
import json

NAME = "paper"
HELP = (
    "Regenerate a paper table (sesf2020-table2, gacn2022-table1, gacn2022-table3, liu2020-table6, "
    "liu2020-table7) next to the paper's values."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bench.paper import TABLES
    from bench.paper_liu2020 import TABLES as LIU2020  # survey tables (byo, issue 11)

    names = sorted([*TABLES, *LIU2020])
    p.add_argument("table", choices=names, metavar="TABLE", help=", ".join(names))
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"rows": [{"method", "metric", "paper", "ours", "delta"}, ...], ...}',
    )
    p.add_argument(
        "--reference",
        default=None,
        help="paper_tables.json (default: $MFIF_REFERENCE or $MFIF_DATA/../reference); liu2020-*: the folder "
        "holding per_image_values.json (default: <reference>/yuliu2020)",
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
    # liu2020-table6/7 only (bench/paper_liu2020.py)
    p.add_argument("--ours", default=None, help="liu2020-*: our method ids as extra rows (default: the "
                   "registered classical ones of the survey, lp, sf; 'none' for none)")
    p.add_argument("--scenes", default=None, help="liu2020-*: comma-separated subset of scene ids")
    p.add_argument("--survey-methods", default=None, help="liu2020-*: subset of the survey's 18 methods")
    p.add_argument("--results-dir", default=None, help="liu2020-*: folder holding <result set>/<files>")


def main(args: argparse.Namespace) -> int:
    from bench.paper import format_text, regenerate, to_json
    from bench.paper_liu2020 import TABLES as LIU2020

    if args.table in LIU2020:
        return _liu2020(args)

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


def _liu2020(args: argparse.Namespace) -> int:
    from bench import paper_liu2020 as liu

    def split(v):
        return [x.strip() for x in v.split(",") if x.strip()] if v else None

    res = liu.regenerate(
        args.table, reference=args.reference, data_dir=args.data_dir, results_dir=args.results_dir,
        limit=args.limit, scenes=split(args.scenes), methods=split(args.survey_methods),
        ours=split(args.ours), jobs=args.jobs,
    )
    print(json.dumps(liu.to_json(res), indent=1) if args.json else liu.format_text(res))
    return 0
