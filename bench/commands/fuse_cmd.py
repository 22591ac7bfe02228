"""``fuse --method M -o OUT [--decision-map DM] IMG IMG [IMG ...]``."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from bench.commands._options import add_plugin_option
from bench.errors import UserError

NAME = "fuse"
HELP = "Fuse N >= 2 registered source images with one method and write a PNG."


def parse_params(items: list[str]) -> dict:
    """``key=value`` strings -> dict; values are Python literals when they parse, else strings."""
    out = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"--param {item!r}: expected KEY=VALUE")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", type=Path, metavar="IMG", help="source images (N >= 2, same size)")
    p.add_argument("--method", "-m", required=True, help="method id (see `list methods`)")
    p.add_argument("-o", "--output", required=True, type=Path, help="fused image (PNG)")
    p.add_argument(
        "--decision-map", type=Path, default=None, help="also write the decision map (PNG), if any"
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="for torch methods")
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="method parameter (repeatable)"
    )
    add_plugin_option(p)


def main(args: argparse.Namespace) -> int:
    """Fuse through the registry entry's contract, exactly as a ``bench run`` job does."""
    from bench.imageio import read_sources, write_png
    from bench.registry import get_method

    method = get_method(args.method)
    params = parse_params(args.param)
    images = read_sources(args.images)
    device = "cpu"
    if method.info.device_aware:
        from bench.device import resolve_device

        device = resolve_device(args.device)
    reason = method.skip_reason(len(images), device)
    if reason is not None:
        raise UserError(f"method {method.info.id!r}: {reason.replace('scene has', 'got')}")
    if method.info.scene_aware:
        raise UserError(f"method {method.info.id!r} reads stored results of a dataset; use `bench run`")
    try:
        result = method.call(images, params, device=device)
    except TypeError as exc:
        if params and "unexpected keyword" in str(exc):
            raise UserError(f"method {method.info.id!r}: {exc}") from None
        raise
    write_png(args.output, result.image)
    print(f"wrote {args.output}")
    if args.decision_map is not None:
        if result.decision_map is None:
            raise UserError(f"method {method.info.id!r} produces no decision map")
        write_png(args.decision_map, result.decision_map)
        print(f"wrote {args.decision_map}")
    return 0
