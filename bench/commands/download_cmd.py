"""``download NAME [NAME ...]``: fetch declared datasets into the user cache (or --dest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UserError

NAME = "download"
HELP = "Download datasets into the cache (~/.cache/mfif-bench/datasets or --dest), sha256-verified."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME",
                   help="dataset ids (see `list datasets`) or result sets (see `list results`)")
    p.add_argument("--dest", type=Path, default=None,
                   help="root folder to download into (default: the user cache)")
    p.add_argument("--mirror", default=None,
                   help="base URL serving <NAME>/<path> instead of the official URLs")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--methods", default=None, help="result sets only: comma-separated subset of its methods")
    p.add_argument("--scenes", default=None, help="result sets only: comma-separated subset of scene ids")
    p.add_argument("--results", action="store_true",
                   help="NAMEs are result sets (needed for names that are also datasets, e.g. mfifb)")


def main(args: argparse.Namespace) -> int:
    from bench.datasets import cache_root
    from bench.download import download_dataset
    from bench.registry import DATASETS, get_dataset
    from bench.resultsets import all_sets

    status = 0
    for name in args.names:
        if args.results or (name not in DATASETS and name in all_sets()):  # result set (bench/resultsets.py)
            status = max(status, _download_results(name, args))
            continue
        dest = args.dest or cache_root() / "datasets"
        ds = get_dataset(name)
        if not hasattr(ds, "files"):
            raise UserError(f"dataset {name!r} is embedded in the code; there is nothing to download")
        fetched, present = download_dataset(ds, dest, mirror=args.mirror, progress=not args.no_progress)
        print(f"{name}: {fetched} downloaded, {present} already present, in {dest / name}")
        if name in all_sets():
            print(f"({name} is also a result set of published fused images: `download --results {name}`)")
    return status


def _download_results(name: str, args: argparse.Namespace) -> int:
    """Result sets: every file verified; the ones that could not be fetched are listed, exit status 1."""
    import sys

    from bench.datasets import cache_root
    from bench.resultsets import download_set, parse_spec

    rs, methods = parse_spec(name + (f":{args.methods}" if args.methods else ""))
    dest = args.dest or cache_root() / "results"
    scenes = [x.strip() for x in args.scenes.split(",") if x.strip()] if args.scenes else None
    fetched, present, failed = download_set(rs, dest, mirror=args.mirror, progress=not args.no_progress,
                                            methods=methods, scenes=scenes)
    print(f"{name}: {fetched} downloaded, {present} already present (sha256-verified), "
          f"{len(failed)} unavailable, in {dest / name}")
    if failed:
        for f, why in failed[:10]:
            print(f"  unavailable: {f.path} ({why})", file=sys.stderr)
        if len(failed) > 10:
            print(f"  ... and {len(failed) - 10} more", file=sys.stderr)
        print(f"error: {len(failed)} of {len(failed) + fetched + present} files of {name!r} could not be "
              "downloaded; run the same command again to resume", file=sys.stderr)
        return 1
    return 0
