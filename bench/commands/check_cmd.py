"""``check RUN_DIR --baseline FILE [--atol X] [--rtol Y] [--update]``: the regression gate."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "check"
HELP = "Compare a run's scores with a committed baseline; non-zero exit on regressions or missing rows."


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bench.check import DEFAULT_ATOL, DEFAULT_RTOL

    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a folder written by `python -m bench run`")
    p.add_argument("--baseline", required=True, type=Path, help="baseline CSV (results/baselines/*.csv)")
    p.add_argument(
        "--atol", type=float, default=DEFAULT_ATOL, help=f"absolute tolerance (default {DEFAULT_ATOL})"
    )
    p.add_argument(
        "--rtol", type=float, default=DEFAULT_RTOL, help=f"relative tolerance (default {DEFAULT_RTOL})"
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="write the run's scores into the baseline (new and changed rows get today's date)",
    )


def main(args: argparse.Namespace) -> int:
    from bench.check import compare, format_report, update

    if args.update:
        c = update(args.run_dir, args.baseline, args.atol, args.rtol)
        print(
            f"baseline {args.baseline}: added {c['added']}, changed {c['changed']}, "
            f"unchanged {c['unchanged']}, "
            f"kept {c['kept']} rows the run did not cover"
        )
        return 0
    res = compare(args.run_dir, args.baseline, args.atol, args.rtol)
    print(format_report(res))
    return 1 if res.failed else 0
