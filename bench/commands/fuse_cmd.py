"""``fuse --method M -o OUT [--decision-map DM] [--bit-depth auto|8|16] IMG IMG [IMG ...]``."""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from pathlib import Path

from bench.commands._options import add_plugin_option
from bench.errors import UserError

NAME = "fuse"
HELP = "Fuse N >= 2 registered source images with one method and write a PNG or TIFF."


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
    p.add_argument(
        "-o", "--output", required=True, type=Path,
        help="fused image; the extension picks the format: .png, .tif/.tiff (.jpg: lossy, with a warning)",
    )
    p.add_argument(
        "--decision-map", type=Path, default=None, help="also write the decision map (PNG/TIFF), if any"
    )
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="for torch methods")
    p.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="method parameter (repeatable)"
    )
    p.add_argument(
        "--bit-depth", default="auto", choices=["auto", "8", "16"],
        help="bits per sample of the output (default auto: 16 when any source has more than 8 bits)",
    )
    p.add_argument(
        "--input-range", default=None, metavar="auto|LO,HI",
        help="how float sources map to [0, 1] (default: they must already be in [0, 1]; auto: the TIFF's "
        "declared range, else the smallest of 0..1, 0..255, 0..65535 holding the values)",
    )
    add_plugin_option(p)


class _heartbeat:  # noqa: N801 - used as a context manager
    """Progress on stderr for long fusions: a line after ``first`` seconds, then every ``every`` seconds."""

    def __init__(self, what: str, first: float = 5.0, every: float = 15.0) -> None:
        import threading

        self.what, self.first, self.every = what, first, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        t0 = time.monotonic()
        wait = self.first
        while not self._stop.wait(wait):
            print(f"{self.what}: running for {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
            wait = self.every

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(args: argparse.Namespace) -> int:
    """Fuse through the registry entry's contract, exactly as a ``bench run`` job does."""
    from bench.imageio import check_output_path, parse_input_range, read_sources, write_image
    from bench.params import validate_params
    from bench.registry import get_method

    method = get_method(args.method)
    params = validate_params(method.info, parse_params(args.param), method.fuse)
    check_output_path(args.output)  # before any work: a folder, an unknown format, no write access
    if args.decision_map is not None:
        check_output_path(args.decision_map, "decision map")
    rng = parse_input_range(args.input_range)
    metas: list = []
    images = read_sources(args.images, rng, metas)
    src_depth = max(m.bit_depth for m in metas)
    depth = (16 if src_depth > 8 else 8) if args.bit_depth == "auto" else int(args.bit_depth)
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
        h, w = images[0].shape[:2]
        with _heartbeat(f"fuse: {method.info.id} on {len(images)} sources of {w}x{h}"):
            result = method.call(images, params, device=device)
    except TypeError as exc:
        if params and "unexpected keyword" in str(exc):
            raise UserError(f"method {method.info.id!r}: {exc}") from None
        raise
    except (ValueError, MemoryError) as exc:  # a property of these inputs (too small, too many, ...)
        if os.environ.get("MFIF_DEBUG") == "1":
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        names = ", ".join(str(p) for p in args.images[:3]) + (", ..." if len(args.images) > 3 else "")
        raise UserError(f"method {method.info.id!r} cannot fuse {names}: {msg}") from None
    if args.decision_map is not None and result.decision_map is None:  # check before writing anything
        raise UserError(f"method {method.info.id!r} produces no decision map; drop --decision-map")
    record = {
        "method": method.info.id,
        "version": method.info.version,
        "params": {k: v for k, v in params.items() if k != "device"},
        "sources": [str(p) for p in args.images],
        "source_bit_depth": src_depth,
        "bit_depth": depth,
        "bit_depth_choice": args.bit_depth,
        "input_range": list(rng) if isinstance(rng, tuple) else rng,
    }
    desc = json.dumps({"mfif-bench": record}, sort_keys=True, default=str)
    what = write_image(args.output, result.image, depth, desc)
    print(f"wrote {args.output} ({what}; sources {src_depth}-bit, --bit-depth {args.bit_depth})")
    if args.decision_map is not None:
        what = write_image(args.decision_map, result.decision_map, depth, desc)
        print(f"wrote {args.decision_map} ({what})")
    sys.stdout.flush()
    return 0
