"""Command-line options shared by several commands (one definition each)."""

from __future__ import annotations

import argparse


def add_plugin_option(p: argparse.ArgumentParser) -> None:
    """``--plugin MODULE`` (repeatable): import a module that registers methods/metrics (see README)."""
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE to register its methods/metrics (repeatable; also $MFIF_PLUGINS=mod1,mod2)",
    )


def add_run_options(p: argparse.ArgumentParser, *, out_help: str) -> None:
    """The options of every command that executes a run (``run``, ``paper``)."""
    p.add_argument(
        "--data-dir", default=None, help="folder holding <dataset>/ (else $MFIF_DATA, then the cache)"
    )
    p.add_argument("--limit", type=int, default=None, help="use only the first N scenes of each dataset")
    p.add_argument(
        "--jobs", type=int, default=-1, help="parallel workers (default: all cores; 1 = in process)"
    )
    p.add_argument("--out", default=None, help=out_help)
    p.add_argument("--repeats", type=int, default=1, help="timed fusion repeats per scene, after a warm-up")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (device-aware methods only)")
    p.add_argument(
        "--cache-dir",
        default=None,
        help="result cache folder (default: ~/.cache/mfif-bench/results, $MFIF_CACHE moves it)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_plugin_option(p)


def check_run_options(args: argparse.Namespace) -> None:
    """User errors in the shared run options (one line, exit 2)."""
    from bench.errors import UserError
    from bench.params import check_jobs

    check_jobs(args.jobs)
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be >= 1, got {args.limit}")
    if args.repeats < 1:
        raise UserError(f"--repeats must be >= 1, got {args.repeats}")
