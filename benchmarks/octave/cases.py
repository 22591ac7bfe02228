"""Deterministic golden cases for the Octave reference harness (shared by the harness and the tests).

A case is a small JSON-able dict; :func:`build_case` turns it into the exact 8-bit grey images the metrics
and the MATLAB reference code both see (float64 holding integers 0..255):

``source``
    ``{"dataset": d, "scene": s}``: ``A``/``B`` of ``$MFIF_DATA/<d>/<s>``, read with
    :func:`bench.imageio.read_image` and put through the ``standard`` protocol (MATLAB ``rgb2gray`` weights,
    ``floor(y + 0.5)``; identity on grey files) -- exactly what the benchmark feeds its metrics.
    ``{"synthetic": seed, "shape": [h, w], "flat": bool}``: the visible set's synthetic generator
    (``shared/reference/README.md``: LCG noise, checker + ramp base, 5x5 box blur) at any size; ``GT`` = base.
    ``{"reference_png": pair}``: the visible set's own PNGs (``shared/reference/images``), for the
    harness-versus-visible-set agreement.
``crop``
    ``[y0, x0, h, w]`` (0-based), applied to the sources (and GT) before anything else.
``transpose``
    true: the sources (and GT) are transposed after the crop (portrait sizes from landscape scenes).
``flat``
    list of ``[y0, x0, h, w, a, b]``: the rectangle is set to the constant ``a`` in A and ``b`` in B
    (exactly flat regions, e.g. saturated 255 / clipped 0), after the crop.
``fused``
    integer rule on the (cropped, flattened) sources: ``A``, ``B``, ``avg`` ((A+B+1)//2), ``max``, ``min``,
    ``blend37`` ((3A+7B+5)//10), ``halfAB`` (left columns from A), ``blurA`` ([1 2 1]^T[1 2 1], edge
    replication, (s+8)//16), ``blur_avg`` (the same on avg), ``sharpen_avg`` (avg + (avg - box3(avg)),
    box3 with edge replication, (2*9*avg - s + 4)//9 clipped to 0..255), ``gt`` (the synthetic GT).

Every rule is integer arithmetic, so the images are bit-exact on every machine given the same decoded
source files (JPEG decoding is the only library-dependent step; goldens store SHA-256 of the pixels).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

FUSED_RULES = ("A", "B", "avg", "max", "min", "blend37", "halfAB", "blurA", "blur_avg", "sharpen_avg", "gt")


def data_root() -> Path | None:
    d = os.environ.get("MFIF_DATA")
    return Path(d) if d and Path(d).is_dir() else None


def reference_root() -> Path | None:
    root = data_root()
    if root is None:
        return None
    ref = root.parent / "reference"
    return ref if (ref / "metrics_reference.json").is_file() else None


def _lcg_noise(seed: int, h: int, w: int) -> np.ndarray:
    """n_k = (s >> 16) mod 32 after advancing s <- (1103515245 s + 12345) mod 2^31 once per pixel."""
    out = np.empty(h * w, dtype=np.int64)
    s = seed
    # vectorised in blocks with the affine jump would be faster; h*w is at most ~1e6 here
    a, c, m = 1103515245, 12345, 2**31
    for k in range(h * w):
        s = (a * s + c) % m
        out[k] = (s >> 16) % 32
    return out.reshape(h, w)


def _box5(x: np.ndarray) -> np.ndarray:
    p = np.pad(x, 2, mode="edge")
    h, w = x.shape
    s = sum(p[i : i + h, j : j + w] for i in range(5) for j in range(5))
    return (s + 12) // 25


def synthetic(seed: int, h: int, w: int, flat: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A, B, GT) int64 of the visible set's synthetic generator at size h x w."""
    y, x = np.mgrid[0:h, 0:w]
    base = 40 + ((x // 16 + y // 16) % 2) * 120 + (x + 2 * y) // 8 + _lcg_noise(seed, h, w)
    base = np.clip(base, 0, 255)
    if flat:
        base[h // 4 : h // 2, w // 4 : w // 2] = 128
        base[(5 * h) // 8 : (7 * h) // 8, (5 * w) // 8 : (7 * w) // 8] = 255
    blur = _box5(base)
    a, b = base.copy(), base.copy()
    a[:, w // 2 :] = blur[:, w // 2 :]
    b[:, : w // 2] = blur[:, : w // 2]
    return a, b, base


def _sep121(x: np.ndarray) -> np.ndarray:
    p = np.pad(x, 1, mode="edge")
    h, w = x.shape
    k = np.array([1, 2, 1])
    return (sum(k[i] * k[j] * p[i : i + h, j : j + w] for i in range(3) for j in range(3)) + 8) // 16


def _box3sum(x: np.ndarray) -> np.ndarray:
    p = np.pad(x, 1, mode="edge")
    h, w = x.shape
    return sum(p[i : i + h, j : j + w] for i in range(3) for j in range(3))


def fuse_rule(rule: str, a: np.ndarray, b: np.ndarray, gt: np.ndarray | None = None) -> np.ndarray:
    avg = (a + b + 1) // 2
    if rule == "A":
        return a.copy()
    if rule == "B":
        return b.copy()
    if rule == "avg":
        return avg
    if rule == "max":
        return np.maximum(a, b)
    if rule == "min":
        return np.minimum(a, b)
    if rule == "blend37":
        return (3 * a + 7 * b + 5) // 10
    if rule == "halfAB":
        f = b.copy()
        f[:, : a.shape[1] // 2] = a[:, : a.shape[1] // 2]
        return f
    if rule == "blurA":
        return _sep121(a)
    if rule == "blur_avg":
        return _sep121(avg)
    if rule == "sharpen_avg":
        return np.clip((18 * avg - _box3sum(avg) + 4) // 9, 0, 255)
    if rule == "gt":
        if gt is None:
            raise ValueError("fused rule 'gt' needs a synthetic case")
        return gt.copy()
    raise ValueError(f"unknown fused rule {rule!r}")


def _grey_u8(path: Path) -> np.ndarray:
    from bench.imageio import read_image
    from bench.protocols import prepare

    (g,) = prepare([read_image(path)], "standard")
    return np.asarray(g, dtype=np.int64)


def _scene_file(root: Path, dataset: str, scene: str, role: str) -> Path:
    hits = sorted((root / dataset / scene).glob(f"{role}.*"))
    if not hits:
        raise FileNotFoundError(f"{root / dataset / scene}/{role}.*")
    return hits[0]


def build_case(case: dict) -> dict:
    """Images of one case: ``{"A", "B", "F", "GT"}`` as float64 arrays holding 0..255 (GT may be None)."""
    src = case["source"]
    gt = None
    if "dataset" in src:
        root = data_root()
        if root is None:
            raise FileNotFoundError("MFIF_DATA is not set")
        a = _grey_u8(_scene_file(root, src["dataset"], src["scene"], "A"))
        b = _grey_u8(_scene_file(root, src["dataset"], src["scene"], "B"))
    elif "synthetic" in src:
        h, w = src["shape"]
        a, b, gt = synthetic(int(src["synthetic"]), h, w, bool(src.get("flat", False)))
    elif "reference_png" in src:
        from PIL import Image

        ref = reference_root()
        if ref is None:
            raise FileNotFoundError("shared/reference is not beside MFIF_DATA")
        d, p = ref / "images", src["reference_png"]

        def img(n):
            return np.asarray(Image.open(d / f"{n}.png"), dtype=np.int64)

        a, b = img(f"{p}_A"), img(f"{p}_B")
        gt = img(f"{p}_GT") if (d / f"{p}_GT.png").is_file() else None
        f = img(f"{p}_F_{case['fused']}")
        return _finish(a, b, f, gt)
    else:
        raise ValueError(f"case {case.get('id')}: unknown source {src}")
    if case.get("crop"):
        y0, x0, h, w = case["crop"]
        if y0 + h > a.shape[0] or x0 + w > a.shape[1]:
            raise ValueError(f"case {case['id']}: crop {case['crop']} outside {a.shape}")
        a, b = a[y0 : y0 + h, x0 : x0 + w], b[y0 : y0 + h, x0 : x0 + w]
        gt = None if gt is None else gt[y0 : y0 + h, x0 : x0 + w]
    if case.get("transpose"):
        a, b = a.T, b.T
        gt = None if gt is None else gt.T
    a, b = a.copy(), b.copy()
    for y0, x0, h, w, va, vb in case.get("flat", []):
        a[y0 : y0 + h, x0 : x0 + w] = va
        b[y0 : y0 + h, x0 : x0 + w] = vb
    f = fuse_rule(case["fused"], a, b, gt)
    return _finish(a, b, f, gt)


def _finish(a, b, f, gt) -> dict:
    out = {
        k: None if v is None else np.asarray(v, dtype=np.float64)
        for k, v in {"A": a, "B": b, "F": f, "GT": gt}.items()
    }
    for k, v in out.items():
        if v is not None and (v.min() < 0 or v.max() > 255):
            raise ValueError(f"{k} outside 0..255")
    return out


def pixels_sha256(images: dict) -> str:
    """SHA-256 over the uint8 bytes of A, B, F (and GT) in that order: guards the case builder."""
    h = hashlib.sha256()
    for k in ("A", "B", "F", "GT"):
        if images.get(k) is not None:
            h.update(k.encode())
            h.update(np.ascontiguousarray(images[k].astype(np.uint8)).tobytes())
    return h.hexdigest()


def visible_cases() -> list[dict]:
    """The visible set's 32 cases (8 pairs x 4 rules), read from the reference PNGs."""
    pairs = [
        "lytro_01",
        "lytro_04",
        "lytro_08",
        "lytro_12",
        "lytro_16",
        "lytro_20",
        "syn_checker",
        "syn_flat",
    ]
    return [
        {"id": f"visible_{p}_{r}", "source": {"reference_png": p}, "fused": r}
        for p in pairs
        for r in ("avg", "A", "halfAB", "blurA")
    ]


def _c(cid, source, fused, crop=None, flat=None, note=""):
    d = {"id": cid, "source": source, "fused": fused}
    if crop:
        d["crop"] = crop
    if flat:
        d["flat"] = flat
    if note:
        d["note"] = note
    return d


def golden_cases() -> list[dict]:
    """The new golden cases (sizes, grey/colour, flat regions, fused rules); see the module docstring."""
    g03 = {"dataset": "classic_gray", "scene": "g_03"}  # grey 480x640 TIF
    g06 = {"dataset": "classic_gray", "scene": "g_06"}  # grey 256x256 TIF
    g07 = {"dataset": "classic_gray", "scene": "g_07"}  # grey 384x512 TIF
    g09 = {"dataset": "classic_gray", "scene": "g_09"}  # grey 234x322 TIF
    g05 = {"dataset": "classic_gray", "scene": "g_05"}  # grey 176x268 TIF
    g10 = {"dataset": "classic_gray", "scene": "g_10"}  # grey 160x160 TIF
    flower = {"dataset": "sesf_gacn", "scene": "color_dsift_flower"}  # colour 480x640 PNG
    aymaz09 = {"dataset": "mfifb", "scene": "aymaz_09"}  # colour 256x256 BMP
    news = {"dataset": "mfifb", "scene": "newspaper"}  # colour 234x322 BMP
    temple = {"dataset": "mfifb", "scene": "temple"}  # grey 516x480 BMP
    tsai03 = {"dataset": "mfifb", "scene": "tsai_03"}  # colour 768x1024 JPG (decoder-dependent)
    syn = {"synthetic": 20240601}
    out = []
    # 480x640 grey (the independent check's size): full image, every fused rule family
    for r in ("avg", "A", "max", "blend37", "halfAB", "sharpen_avg", "blurA"):
        out.append(_c(f"g03_480x640_{r}", g03, r))
    # 350x534 colour (crop of a 480x640 colour PNG)
    for r in ("avg", "B", "max", "blur_avg"):
        out.append(_c(f"flower_350x534_{r}", flower, r, crop=[60, 50, 350, 534]))
    # 256x256 grey and colour
    for r in ("avg", "A", "min", "halfAB"):
        out.append(_c(f"g06_256x256_{r}", g06, r))
    for r in ("avg", "sharpen_avg"):
        out.append(_c(f"aymaz09_256x256_{r}", aymaz09, r))
    # small, odd, prime, non-square
    out.append(_c("g10_17x23_avg", g10, "avg", crop=[70, 60, 17, 23]))
    out.append(_c("g10_17x23_max", g10, "max", crop=[70, 60, 17, 23]))
    out.append(_c("g05_31x37_blend37", g05, "blend37", crop=[40, 100, 31, 37]))
    out.append(_c("g10_23x29_min", g10, "min", crop=[40, 90, 23, 29]))
    out.append(_c("g05_47x53_blurA", g05, "blurA", crop=[60, 150, 47, 53]))
    out.append(_c("news_59x83_halfAB", news, "halfAB", crop=[120, 200, 59, 83]))
    out.append(_c("g05_97x131_avg", g05, "avg", crop=[20, 30, 97, 131]))
    out.append(_c("news_101x103_max", news, "max", crop=[50, 80, 101, 103]))
    out.append(_c("g09_127x191_sharpen", g09, "sharpen_avg", crop=[30, 40, 127, 191]))
    out.append(_c("g09_211x307_avg", g09, "avg", crop=[10, 7, 211, 307]))
    out.append(_c("news_234x322_blurA", news, "blurA"))
    out.append(_c("g07_384x512_halfAB", g07, "halfAB"))
    out.append(_c("g07_383x509_avg", g07, "avg", crop=[1, 2, 383, 509]))
    out.append(_c("temple_516x480_avg", temple, "avg"))
    out.append(_c("g10_160x160_A", g10, "A"))
    # exactly flat regions (saturated and clipped, different grey levels in A and B)
    flat = [[20, 20, 60, 80, 255, 255], [120, 200, 50, 60, 0, 0], [200, 40, 30, 30, 250, 17]]
    out.append(_c("g03_480x640_flat_avg", g03, "avg", flat=flat))
    out.append(_c("g03_480x640_flat_max", g03, "max", flat=flat))
    out.append(_c("g06_256x256_flat_avg", g06, "avg", flat=flat))
    out.append(_c("g06_256x256_flat_B", g06, "B", flat=flat))
    out.append(_c("flower_350x534_flat_avg", flower, "avg", crop=[60, 50, 350, 534], flat=flat))
    # synthetic generator at new sizes (GT available), with and without flat patches
    for h, w, r, fl in (
        (17, 23, "avg", False),
        (64, 64, "gt", True),
        (97, 131, "halfAB", True),
        (128, 160, "sharpen_avg", False),
        (256, 256, "blurA", True),
        (233, 377, "avg", False),
        (350, 534, "max", True),
    ):
        src = dict(syn, shape=[h, w], flat=fl)
        out.append(_c(f"syn_{h}x{w}_{r}{'_flat' if fl else ''}", src, r))
    # large
    out.append(_c("tsai03_768x1024_avg", tsai03, "avg"))
    out.append(_c("tsai03_768x1024_max", tsai03, "max"))
    t = _c("tsai03_1024x768_T_blend37", tsai03, "blend37")
    t["transpose"] = True
    out.append(t)
    return out
