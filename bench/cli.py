"""Command-line interface (argparse). One module per subcommand in ``bench/commands``.

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int``.
User errors (:class:`bench.errors.UserError`, unknown registry ids) print one line on stderr and
exit with status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from bench.errors import UserError

# Explicit, ordered list of subcommands (module names under bench/commands).
COMMANDS = ["list_cmd", "download_cmd", "fuse_cmd", "score_cmd", "run_cmd", "report_cmd", "train_cmd",
            "check_cmd", "paper_cmd"]
COMMANDS.append("meta_cmd")  # metric meta-evaluation (bench/meta.py)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="mfif-bench: benchmark and evaluation suite for multi-focus image fusion.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        mod = importlib.import_module(f"bench.commands.{name}")
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from bench.procenv import torch_huge_pages

    torch_huge_pages()  # before anything imports torch (methods, plugins)
    if getattr(args, "_one_blas_thread", False):  # before anything imports NumPy (plugins included)
        from bench.procenv import one_blas_thread

        one_blas_thread()
    if getattr(args, "_keep_freed_memory", False):
        from bench.procenv import keep_freed_memory

        keep_freed_memory()
    try:
        if getattr(args, "plugin", None) is not None:  # --plugin and $MFIF_PLUGINS, before the command
            from bench.registry import add_plugins

            add_plugins(args.plugin)
        return int(args._main(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
