"""``download NAME [NAME ...]``: fetch declared datasets into the user cache (or --dest)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.errors import UserError

NAME = "download"
HELP = "Download datasets into the cache (~/.cache/mfif-bench/datasets or --dest), sha256-verified."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="+", metavar="NAME", help="dataset ids (see `list datasets`)")
    p.add_argument(
        "--dest", type=Path, default=None, help="root folder to download into (default: the user cache)"
    )
    p.add_argument(
        "--mirror", default=None, help="base URL serving <NAME>/<path> instead of the official URLs"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from bench.datasets import cache_root
    from bench.download import download_dataset
    from bench.registry import get_dataset

    dest = args.dest or cache_root() / "datasets"
    for name in args.names:
        ds = get_dataset(name)
        if not hasattr(ds, "files"):
            raise UserError(f"dataset {name!r} is embedded in the code; there is nothing to download")
        fetched, present = download_dataset(ds, dest, mirror=args.mirror, progress=not args.no_progress)
        print(f"{name}: {fetched} downloaded, {present} already present, in {dest / name}")
    return 0
