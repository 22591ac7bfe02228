"""``paper TABLE [--json]``: regenerate a paper table and print paper, ours and delta side by side."""

from __future__ import annotations

import argparse
import json

from bench.commands._options import add_run_options, check_run_options

NAME = "paper"
HELP = (
    "Regenerate a published table (see TABLE below) next to the paper's values."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    # the table ids are checked in main (importing bench.paper here would slow down every command)
    p.add_argument(
        "table", metavar="TABLE", help="paper table id, e.g. sesf2020-table2 (an unknown id lists them all)"
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"rows": [{"method", "metric", "paper", "ours", "delta"}, ...], ...}',
    )
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for model cards)")
    p.add_argument(
        "--reference",
        default=None,
        help="paper_tables.json to use instead of the packaged transcription (also $MFIF_REFERENCE); "
        "liu2020-*: the folder holding per_image_values.json (default: <reference>/yuliu2020)",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="gacn2022-table3: use only the first N frames of the stack (times are per image)",
    )
    add_run_options(p, out_help="run folder (default: results/runs/<time>--paper-<TABLE>)")
    # liu2020-table6/7 only (bench/paper_liu2020.py)
    p.add_argument("--ours", default=None, help="liu2020-*: our method ids as extra rows (default: the "
                   "registered classical ones of the survey, lp, sf; 'none' for none)")
    p.add_argument("--scenes", default=None, help="liu2020-*: comma-separated subset of scene ids")
    p.add_argument("--survey-methods", default=None, help="liu2020-*: subset of the survey's 18 methods")
    p.add_argument("--results-dir", default=None, help="liu2020-*: folder holding <result set>/<files>")


def main(args: argparse.Namespace) -> int:
    from bench.errors import UserError
    from bench.paper import TABLES, format_text, regenerate, to_json
    from bench.paper_liu2020 import TABLES as LIU2020
    from bench.paper_reimpl import format_markdown

    if args.table in LIU2020:
        check_run_options(args)
        return _liu2020(args)

    if args.table not in TABLES:
        known = ", ".join(sorted([*TABLES, *LIU2020]))
        raise UserError(f"unknown paper table {args.table!r}; choose one of {known}")
    check_run_options(args)
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
    if args.json:
        print(json.dumps(to_json(res), indent=1))
    else:
        print(format_markdown(res) if args.markdown else format_text(res))
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
