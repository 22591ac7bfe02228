"""Overlapping tiles for the deep methods' network passes on big images (issue 14 item 5).

A network whose output pixel depends on a bounded input window (its receptive-field radius, the
*halo*) can be run tile by tile: each tile is cut from the image with ``halo`` extra pixels on every
side that is inside the image, the network runs on that piece, and only the tile's core is kept. The
core's values are then the whole-image values (up to float rounding of differently sized
convolutions), because the padding the network applies at the piece's border reaches at most
``halo`` pixels inwards. Image borders are left as they are, so the network's own padding rule
applies there exactly as on the whole image.

``tile`` parameter of the methods: ``"auto"`` (tile only above a method's size threshold), ``0`` or
``None`` (never tile) or a positive integer (tile with that core size, in pixels).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

#: default core size of a tile (pixels a side)
DEFAULT_TILE = 1024


@dataclass(frozen=True)
class Tile:
    """One tile: its core (kept) and its outer window (core + halo, clipped to the image).

    ``inner`` is the core's position inside the outer window.
    """

    core: tuple[slice, slice]
    outer: tuple[slice, slice]
    inner: tuple[slice, slice]


def resolve_tile(tile: int | str | None, h: int, w: int, auto_pixels: int, size: int = DEFAULT_TILE) -> int:
    """Core size to use (0 = the whole image at once).

    Parameters
    ----------
    tile : "auto", 0, None or int > 0
        The user's setting.
    h, w : int
        Image size.
    auto_pixels : int
        ``"auto"`` tiles when ``h * w`` exceeds this.
    size : int
        Core size chosen by ``"auto"``.

    Raises
    ------
    ValueError
        Any other value (the message names the parameter).
    """
    if tile is None or (isinstance(tile, str) and tile.strip().lower() in ("0", "none", "off", "false")):
        return 0
    if isinstance(tile, str) and tile.strip().lower() == "auto":
        return size if h * w > auto_pixels else 0
    if isinstance(tile, bool) or not isinstance(tile, int):
        try:
            tile = int(str(tile))
        except ValueError:
            raise ValueError(f"tile must be 'auto', 0 (off) or a positive tile size, got {tile!r}") from None
    if tile < 0:
        raise ValueError(f"tile must be 'auto', 0 (off) or a positive tile size, got {tile}")
    if tile == 0 or (tile >= h and tile >= w):
        return 0
    return int(tile)


def _spans(n: int, size: int, halo: int) -> list[tuple[int, int, int, int]]:
    out = []
    for c0 in range(0, n, size):
        c1 = min(n, c0 + size)
        out.append((c0, c1, max(0, c0 - halo), min(n, c1 + halo)))
    return out


def plan(h: int, w: int, size: int, halo: int) -> list[Tile]:
    """Tiles of core ``size`` covering an ``h`` x ``w`` image, each with ``halo`` pixels of context."""
    if size <= 0:
        raise ValueError(f"Expected a positive tile size, got {size}")
    tiles = []
    for y0, y1, oy0, oy1 in _spans(h, size, halo):
        for x0, x1, ox0, ox1 in _spans(w, size, halo):
            tiles.append(
                Tile(
                    core=(slice(y0, y1), slice(x0, x1)),
                    outer=(slice(oy0, oy1), slice(ox0, ox1)),
                    inner=(slice(y0 - oy0, y1 - oy0), slice(x0 - ox0, x1 - ox0)),
                )
            )
    return tiles


def progress(items: list, desc: str, min_items: int = 4) -> Iterator:
    """Iterate ``items`` with a tqdm bar on stderr when there are at least ``min_items`` of them."""
    if len(items) < min_items:
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(items, desc=desc, unit="tile", file=sys.stderr, leave=False, mininterval=1.0)
