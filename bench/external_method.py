"""External results as a method: fused images made elsewhere, read from a folder, scored like any other.

``bench run --external LABEL=DIR`` adds a column ``LABEL`` whose fusion of scene ``S`` of dataset ``D`` is the
image file found by :func:`find_fused` under ``DIR`` (``DIR/D/S.*``, else ``DIR/S.*``; PNG, TIFF, JPEG, BMP).
It is the registered method ``external`` (``family="external"``, ``scene_aware=True``) called with
``root=DIR``, so workers rebuild it from the run configuration alone. Its rows carry no fusion time, its
cache key is the file's sha256, and a missing file is an error row that is never cached.

Published result sets (``--results NAME``) resolve to the same method through
:func:`bench.external.resolve_external` when that module is present (the survey result sets).
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo

EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
METHOD_ID = "external"


def find_fused(root: str | os.PathLike, dataset: str, scene: str) -> Path | None:
    """The fused image of ``scene`` under ``root`` (``root/dataset/scene.*``, else ``root/scene.*``)."""
    root = Path(root).expanduser()
    for folder in (root / dataset, root):
        for ext in EXTENSIONS:
            for name in (scene + ext, scene + ext.upper()):
                p = folder / name
                if p.is_file():
                    return p
    return None


@register_method(
    MethodInfo(
        id=METHOD_ID,
        name="External results",
        family="external",
        paper="",
        source="fused images read from a folder (bench run --external LABEL=DIR)",
        license="",
        n_image_rule="any: the stored image of the scene",
        scene_aware=True,
        version="1",
        notes="no fusion time; the cache key is the file's sha256",
    )
)
def fuse(images, *, dataset: str, scene: str, root: str) -> FusionResult:
    from bench.imageio import read_image

    path = find_fused(root, dataset, scene)
    if path is None:
        raise FileNotFoundError(f"no fused image for scene {scene!r} of {dataset!r} under {root}")
    img = read_image(path)
    if img.shape[:2] != images[0].shape[:2]:
        raise ValueError(f"{path}: size {img.shape[1]}x{img.shape[0]} differs from the sources")
    if img.ndim != images[0].ndim:  # a gray result for colour sources or the reverse: match the sources
        import numpy as np

        img = np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img.mean(axis=2).astype(np.float32)
    return FusionResult(img)


def parse_external(items: list[str]) -> list[tuple[str, str]]:
    """``LABEL=DIR`` strings -> [(label, dir)]; a bad item or a missing folder is a user error."""
    from bench.errors import UserError

    out = []
    for item in items or []:
        label, sep, folder = item.partition("=")
        if not sep or not label or not folder:
            raise UserError(f"--external {item!r}: expected LABEL=DIR")
        if not Path(folder).expanduser().is_dir():
            raise UserError(f"--external {item!r}: {folder} is not a folder")
        out.append((label, str(Path(folder).expanduser().resolve())))
    return out
