"""``ecssd_gt``: a ground-truth test set of real photographs, rendered with the depth-layer defocus model.

Each scene is one real all-in-focus photograph from ECSSD (the ground truth, unchanged apart from a
deterministic downscale) split into depth layers, and N sources each focused on one layer, rendered
with the same model as the embedded ``synthetic`` set (``bench/synthetic.py``): layers are composited
far to near; an out-of-focus layer is blurred *and so is its alpha mask*, so its blur spreads across
the object boundary, while an in-focus layer keeps a hard boundary; the blur grows with the depth
distance to the source's focal plane.

Layers: pairs (2 sources) use the ECSSD foreground mask as the near layer over the background;
3-source stacks (every third stem) also split the background at a seeded horizontal line (the upper part
farther), as in a ground plane. The focus maps are the visible extents of the layers.

Which photographs: the last 50 stems of ``train_ecssd`` (0951..1000), which every model we train
holds out for validation (``bench/training.py``: the last ``val_images`` = 50 stems; the model cards
in ``methods/weights/*.md`` say "950 training / 50 validation images (last stems held out)"); their
loss is only reported, never used for updates or model selection. The authors' weights (SESF-Fuse,
GACN, IFCNN) were trained on other data (MS-COCO and synthetic sets built from it). ``TEST_STEMS``
is what trainers must keep excluding.

Rendered on demand from the verified ``train_ecssd`` files and cached as PNG under
``$MFIF_CACHE/rendered/ecssd_gt/<version>/`` (written atomically; re-rendered if a file is missing or
unreadable). Every render is deterministic (seeded by the stem).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from bench.types import DatasetInfo

VERSION = "1"
TEST_STEMS = tuple(f"{k:04d}" for k in range(951, 1001))  # never trained on (see module docstring)
N_TRIPLES = 16  # every third stem (0953, 0956, ..., 0998) becomes a 3-source stack, the other 34 pairs
MAX_SIDE = 320  # deterministic INTER_AREA downscale (keeps a run of every method affordable)
BLUR_PER_DEPTH = (1.4, 2.6)  # Gaussian sigma per unit of depth, drawn per scene in this range


def scene_ids() -> list[str]:
    # interleaved, so that the first N scenes (--limit N) mix pairs and stacks
    return [f"ecssd-{s}-{3 if k % 3 == 2 and k < 3 * N_TRIPLES else 2}" for k, s in enumerate(TEST_STEMS)]


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return img
    s = (sigma, sigma, 0) if img.ndim == 3 else sigma
    return ndimage.gaussian_filter(img, s, mode="reflect", truncate=3.0)


def render_photo(image: np.ndarray, mask: np.ndarray, n: int, seed: int) -> dict:
    """Sources, reference and focus maps from an all-in-focus photo (HxWx3 float in [0, 1]) and its
    foreground mask (HxW, > 0.5 = object), for ``n`` = 2 or 3 sources; float32, sources 8-bit valued."""
    rng = np.random.default_rng(seed)
    h, w = mask.shape
    fg = (mask > 0.5).astype(np.float64)
    if n == 2:
        layers = [np.ones((h, w)), fg]
    elif n == 3:
        cut = int(rng.uniform(0.35, 0.65) * h)
        near_bg = np.zeros((h, w))
        near_bg[cut:] = 1.0
        layers = [np.ones((h, w)), near_bg, fg]
    else:
        raise ValueError(f"Expected n in (2, 3), got {n}")
    unit = rng.uniform(*BLUR_PER_DEPTH)
    img = image.astype(np.float64)
    visible = [layers[0].copy()]
    for j in range(1, n):
        visible = [v * (1 - layers[j]) for v in visible] + [layers[j].copy()]
    sources = []
    for k in range(n):
        out = _blur(img, unit * k)
        for j in range(1, n):
            sigma = unit * abs(j - k)
            alpha = _blur(layers[j], sigma)[:, :, None]
            out = alpha * _blur(img, sigma) + (1 - alpha) * out
        sources.append(out)

    def q(x: np.ndarray) -> np.ndarray:
        return (np.floor(np.clip(x, 0.0, 1.0) * 255.0 + 0.5) / 255.0).astype(np.float32)

    return {
        "sources": [q(s) for s in sources],
        "reference": q(img),
        "focus_maps": [v.astype(np.float32) for v in visible],
    }


def _cache_dir() -> Path:
    from bench.datasets import cache_root

    return cache_root() / "rendered" / "ecssd_gt" / VERSION


def _write_png(path: Path, img: np.ndarray) -> None:
    u8 = np.floor(np.clip(img, 0, 1) * 255.0 + 0.5).astype(np.uint8)
    if u8.ndim == 3:
        u8 = u8[:, :, ::-1]
    ok, buf = cv2.imencode(".png", u8)
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(buf.tobytes())
    os.replace(tmp, path)


def _read_png(path: Path) -> np.ndarray | None:
    u8 = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if u8 is None:
        return None
    if u8.ndim == 3:
        u8 = u8[:, :, ::-1]
    return (u8.astype(np.float32) / 255.0).astype(np.float32)


def _load_photo(stem: str, data_dir) -> tuple[np.ndarray, np.ndarray]:
    from bench.imageio import read_image
    from bench.registry import get_dataset

    ds = get_dataset("train_ecssd")
    root = ds.root(data_dir)
    files = {f.role: f for f in ds.files if f.scene == stem}
    from bench.integrity import verify_files

    verify_files([(root / f.path, f.sha256) for f in files.values()])
    image = read_image(root / files["image"].path)
    mask = read_image(root / files["mask"].path)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if mask.ndim == 3:
        mask = mask.mean(axis=2)
    h, w = mask.shape
    s = min(1.0, MAX_SIDE / max(h, w))
    if s < 1.0:
        size = (int(round(w * s)), int(round(h * s)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        mask = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    return np.clip(image, 0, 1), mask


@functools.lru_cache(maxsize=8)
def rendered(scene_id: str, data_dir: str | None = None) -> dict:
    """The rendered scene (from the PNG cache, else rendered from the photo and cached)."""
    _, stem, n = scene_id.split("-")
    n = int(n)
    folder = _cache_dir() / scene_id
    names = [*"ABC"[:n], "GT", *[f"focus{k}" for k in range(n)]]
    imgs = [_read_png(folder / f"{name}.png") for name in names] if folder.is_dir() else [None]
    if all(x is not None for x in imgs) and len(imgs) == len(names):
        return {"sources": imgs[:n], "reference": imgs[n], "focus_maps": imgs[n + 1 :]}
    image, mask = _load_photo(stem, data_dir)
    seed = int(hashlib.sha256(f"ecssd_gt/{scene_id}".encode()).hexdigest()[:8], 16)
    r = render_photo(image, mask, n, seed)
    for name, img in zip(names, [*r["sources"], r["reference"], *r["focus_maps"]], strict=True):
        _write_png(folder / f"{name}.png", img)
    return r


def _sha(img: np.ndarray) -> str:
    return hashlib.sha256(
        np.floor(img.astype(np.float64) * 255.0 + 0.5).astype(np.uint8).tobytes()
    ).hexdigest()


class EcssdGtDataset:
    """Same interface as a declared dataset (``info``, ``scenes()``)."""

    info = DatasetInfo(
        id="ecssd_gt",
        name="ECSSD photographs with rendered defocus (ground truth, held-out stems)",
        n_scenes=len(TEST_STEMS),
        roles=("A", "B", "C"),
        has_ground_truth=True,
        citation="J. Shi, Q. Yan, L. Xu, J. Jia, Hierarchical Image Saliency Detection on Extended CSSD, "
        "IEEE TPAMI 38(4) (2016); defocus rendered by mfif-bench (bench/gtphotos.py)",
        license="ECSSD: no licence or terms-of-use statement was found (research use); rendering code MIT",
        url="https://www.cse.cuhk.edu.hk/leojia/projects/hsaliency/dataset.html",
        notes=f"{len(TEST_STEMS) - N_TRIPLES} pairs and {N_TRIPLES} 3-source stacks rendered from "
        "train_ecssd "
        "stems 0951..1000, which no shipped learned method was trained on; needs train_ecssd "
        "(python -m bench download train_ecssd).",
    )

    def scenes(self, data_dir=None, *, verify: bool = True) -> list:
        from bench.datasets import Scene

        dd = str(data_dir) if data_dir else None
        out = []
        for sid in scene_ids():
            r = rendered(sid, dd)
            n = len(r["sources"])
            out.append(
                Scene(
                    dataset="ecssd_gt",
                    id=sid,
                    roles=tuple("ABC"[:n]),
                    sha256=tuple(_sha(s) for s in r["sources"]),
                    load_sources=(lambda s=sid, d=dd: [x.copy() for x in rendered(s, d)["sources"]]),
                    load_reference=(lambda s=sid, d=dd: rendered(s, d)["reference"].copy()),
                    load_focus_maps=(lambda s=sid, d=dd: [m.copy() for m in rendered(s, d)["focus_maps"]]),
                    reference_sha256=_sha(r["reference"]),
                )
            )
        return out


DATASET = EcssdGtDataset()
