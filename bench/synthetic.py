"""The embedded ``synthetic`` dataset: seeded, deterministic multi-focus scenes rendered in code.

Each scene is an all-in-focus image (the ground truth) made of depth layers, and N >= 2 sources,
each focused on one layer. Defocus follows the depth-layer model used for GACN's training data
(``shared/docs/methods.md`` section 3.2), generalised to N layers: layers are composited from far to
near; an out-of-focus layer is blurred *and so is its alpha mask*, so its blur spreads across the
object boundary over whatever lies behind it (the defocus-spread effect seen in real pairs), while
an in-focus layer keeps a hard boundary. The blur radius grows with the depth distance between the
layer and the source's focal plane.

Ships as code, not files: every call renders the same bytes (sources are quantised to 8-bit, so a
scene written as PNG and read back is identical). The content hash of each source is the sha256 of
its uint8 bytes.

Scenes mix textures, hard edges, fine text-like detail and smooth gradients; gray and colour;
2-, 3- and 5-source stacks; odd sizes.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from bench.types import DatasetInfo

BLUR_PER_DEPTH = 1.6  # Gaussian sigma (pixels) per unit of depth distance from the focal plane


@dataclass(frozen=True)
class SceneSpec:
    id: str
    height: int
    width: int
    colour: bool
    n_sources: int
    content: tuple[str, ...]  # what the layers show: "texture", "edges", "text", "gradient"
    seed: int


SPECS: tuple[SceneSpec, ...] = (
    SceneSpec("syn-texture-gray", 192, 224, False, 2, ("texture", "texture"), 101),
    SceneSpec("syn-edges-rgb", 192, 256, True, 2, ("gradient", "edges"), 102),
    SceneSpec("syn-text-rgb", 176, 240, True, 2, ("text", "texture"), 103),
    SceneSpec("syn-gradient-gray", 160, 200, False, 2, ("gradient", "text"), 104),
    SceneSpec("syn-layers-rgb-3", 208, 208, True, 3, ("texture", "edges", "text"), 105),
    SceneSpec(
        "syn-stack-gray-5", 160, 192, False, 5, ("gradient", "texture", "text", "edges", "texture"), 106
    ),
    SceneSpec("syn-odd-rgb", 173, 201, True, 2, ("texture", "text"), 107),
    SceneSpec("syn-odd-gray-3", 157, 243, False, 3, ("edges", "gradient", "texture"), 108),
)


def _texture(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Band-limited noise at a few scales, stretched to [0.1, 0.9]."""
    out = np.zeros((h, w, c))
    for sigma, amp in ((1.0, 0.5), (3.0, 0.8), (8.0, 1.0)):
        out += amp * ndimage.gaussian_filter(rng.standard_normal((h, w, c)), (sigma, sigma, 0))
    out -= out.min()
    return 0.1 + 0.8 * out / max(out.max(), 1e-12)


def _gradient(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((h, w, c))
    for k in range(c):
        a, b, ph = rng.uniform(-1.0, 1.0, 3)
        out[:, :, k] = 0.5 + 0.3 * np.sin(2.2 * (a * xx + b * yy) + 3 * ph)
    # a faint fine grating, so that defocus of a smooth region is still measurable
    fine = 0.06 * np.sin(2 * np.pi * (np.mgrid[0:h, 0:w][1] / 5.0 + np.mgrid[0:h, 0:w][0] / 9.0))
    return out + fine[:, :, None]


def _edges(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Flat patches with hard edges: rectangles, discs and a checkerboard."""
    out = np.ascontiguousarray(np.broadcast_to(np.round(rng.uniform(50, 130, c)).astype(np.uint8), (h, w, c)))
    for _ in range(9):
        col = tuple(int(v) for v in rng.integers(0, 256, c))
        x0, y0 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
        x1, y1 = x0 + int(rng.integers(8, w // 2)), y0 + int(rng.integers(8, h // 2))
        if rng.random() < 0.5:
            cv2.rectangle(out, (x0, y0), (x1, y1), col, thickness=-1)
        else:
            cv2.circle(out, (x0, y0), int(rng.integers(6, min(h, w) // 4)), col, thickness=-1)
    out = out / 255.0
    yy, xx = np.mgrid[0:h, 0:w]
    checker = ((yy // 6 + xx // 6) % 2).astype(float)
    band = (yy > h * 0.7) & (yy < h * 0.8)
    out[band] = checker[band][:, None] * 0.8 + 0.1
    return out


def _text(rng: np.random.Generator, h: int, w: int, c: int) -> np.ndarray:
    """Fine text-like detail: rows of small Hershey glyphs on a light background."""
    level = np.round(rng.uniform(180, 230, c)).astype(np.uint8)
    out = np.ascontiguousarray(np.broadcast_to(level, (h, w, c)))
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    y = 12
    while y < h - 2:
        line = "".join(letters[i] for i in rng.integers(0, len(letters), 40))
        col = tuple(int(v) for v in rng.integers(0, 80, c))
        cv2.putText(out, line, (2, y), cv2.FONT_HERSHEY_PLAIN, 0.8, col, 1, cv2.LINE_8)
        y += int(rng.integers(10, 16))
    return out / 255.0


_CONTENT = {"texture": _texture, "gradient": _gradient, "edges": _edges, "text": _text}


def _layer_masks(rng: np.random.Generator, h: int, w: int, n: int) -> list[np.ndarray]:
    """n nested-ish region masks: layer 0 is the background (far), layer n-1 the nearest object.

    Returns hard binary masks of each layer's *own extent* (layer j occludes layers < j).
    """
    masks = [np.ones((h, w), dtype=np.float64)]
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(1, n):
        cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.2, 0.8) * w
        ry, rx = rng.uniform(0.18, 0.35) * h, rng.uniform(0.18, 0.35) * w
        blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        x0 = int(rng.integers(0, w // 2))
        bar = (xx >= x0) & (xx < x0 + int(rng.integers(w // 8, w // 3))) & (yy > h * rng.uniform(0.4, 0.7))
        masks.append((blob | bar).astype(np.float64))
    return masks


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return img
    s = (sigma, sigma, 0) if img.ndim == 3 else sigma
    return ndimage.gaussian_filter(img, s, mode="reflect", truncate=3.0)


def render(spec: SceneSpec) -> dict:
    """Render one scene: {"sources": [...], "reference": gt, "focus_maps": [...]}, float32 in [0, 1]."""
    rng = np.random.default_rng(spec.seed)
    h, w, c = spec.height, spec.width, 3 if spec.colour else 1
    n = spec.n_sources
    contents = [_CONTENT[spec.content[j % len(spec.content)]](rng, h, w, c) for j in range(n)]
    masks = _layer_masks(rng, h, w, n)
    depth = np.arange(n, dtype=float)  # layer j sits at depth j; source k focuses on depth k

    # all-in-focus ground truth: hard composite, far to near
    gt = contents[0].copy()
    visible = [masks[0].copy()]
    for j in range(1, n):
        m = masks[j][:, :, None]
        gt = m * contents[j] + (1 - m) * gt
        visible = [v * (1 - masks[j]) for v in visible] + [masks[j].copy()]

    sources = []
    for k in range(n):
        out = _blur(contents[0], BLUR_PER_DEPTH * abs(depth[0] - depth[k]))
        for j in range(1, n):
            sigma = BLUR_PER_DEPTH * abs(depth[j] - depth[k])
            alpha = _blur(masks[j], sigma)[:, :, None]  # a defocused edge spreads over what is behind
            out = alpha * _blur(contents[j], sigma) + (1 - alpha) * out
        sources.append(out)

    def q(x: np.ndarray) -> np.ndarray:
        x = np.clip(x, 0.0, 1.0)
        x = np.floor(x * 255.0 + 0.5) / 255.0
        return (x[:, :, 0] if c == 1 else x).astype(np.float32)

    return {
        "sources": [q(s) for s in sources],
        "reference": q(gt),
        "focus_maps": [v.astype(np.float32) for v in visible],
    }


@functools.lru_cache(maxsize=16)
def _rendered(scene_id: str) -> dict:
    spec = next(s for s in SPECS if s.id == scene_id)
    return render(spec)


def _sha(img: np.ndarray) -> str:
    u8 = np.floor(img.astype(np.float64) * 255.0 + 0.5).astype(np.uint8)
    return hashlib.sha256(u8.tobytes()).hexdigest()


class SyntheticDataset:
    """The embedded dataset: same interface as a declared one (``info``, ``scenes()``)."""

    info = DatasetInfo(
        id="synthetic",
        name="Synthetic (embedded, seeded)",
        n_scenes=len(SPECS),
        roles=("A", "B", "C", "D", "E"),
        has_ground_truth=True,
        citation="mfif-bench embedded generator (bench/synthetic.py)",
        license="MIT (generated by this project)",
        url="",
        embedded=True,
        notes="2-, 3- and 5-source scenes, gray and colour, odd sizes; all-in-focus ground truth and "
        "focus maps.",
    )

    def scenes(self, data_dir=None, *, verify: bool = True) -> list:
        from bench.datasets import Scene

        out = []
        for spec in SPECS:
            r = _rendered(spec.id)
            out.append(
                Scene(
                    dataset="synthetic",
                    id=spec.id,
                    roles=tuple("ABCDE"[: spec.n_sources]),
                    sha256=tuple(_sha(s) for s in r["sources"]),
                    load_sources=(lambda sid=spec.id: [s.copy() for s in _rendered(sid)["sources"]]),
                    load_reference=(lambda sid=spec.id: _rendered(sid)["reference"].copy()),
                    load_focus_maps=(lambda sid=spec.id: [m.copy() for m in _rendered(sid)["focus_maps"]]),
                    reference_sha256=_sha(r["reference"]),
                )
            )
        return out


DATASET = SyntheticDataset()
