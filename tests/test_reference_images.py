"""The reference inputs are what ``shared/reference/README.md`` says they are (guards the generator).

The synthetic pairs (``syn_checker``, ``syn_flat``), their ground truth and the four fused rules are
rebuilt here from the documented integer recipe, independently of ``bench``; the real pairs' fused
images are rebuilt from their A/B PNGs. Each rebuilt image must equal the PNG byte for byte and match
the SHA-256 of the raw pixel bytes (row-major uint8) in ``images/manifest.json``.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

H, W = 128, 160
SEEDS = {"syn_checker": 20240601, "syn_flat": 777}


def lcg_noise(seed: int, n: int) -> np.ndarray:
    """``s <- (1103515245 s + 12345) mod 2^31``; advance once per pixel, then ``(s >> 16) mod 32``."""
    out = np.empty(n, dtype=np.int64)
    s = seed
    for k in range(n):  # 20480 steps of an integer recurrence (test-only generator)
        s = (1103515245 * s + 12345) % (1 << 31)
        out[k] = (s >> 16) % 32
    return out


def box_sum(img: np.ndarray, k: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum over a k x k neighbourhood with edge replication (optionally weighted), exact integers."""
    r = k // 2
    pad = np.pad(img.astype(np.int64), r, mode="edge")
    wts = np.ones((k, k), dtype=np.int64) if weights is None else weights
    out = np.zeros(img.shape, dtype=np.int64)
    for dy in range(k):
        for dx in range(k):
            out += wts[dy, dx] * pad[dy : dy + img.shape[0], dx : dx + img.shape[1]]
    return out


def synthetic_base(pair: str) -> np.ndarray:
    y, x = np.mgrid[0:H, 0:W]
    noise = lcg_noise(SEEDS[pair], H * W).reshape(H, W)
    base = 40 + ((x // 16 + y // 16) % 2) * 120 + (x + 2 * y) // 8 + noise
    if pair == "syn_flat":
        base[32:64, 40:80] = 128
        base[80:112, 100:140] = 255
    return base


def synthetic_pair(pair: str) -> dict[str, np.ndarray]:
    base = synthetic_base(pair)
    blur = (box_sum(base, 5) + 12) // 25
    a = base.copy()
    a[:, 80:] = blur[:, 80:]
    b = base.copy()
    b[:, :80] = blur[:, :80]
    return {"A": a, "B": b, "GT": base}


def fused_rules(a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    half = a.shape[1] // 2
    k = np.outer([1, 2, 1], [1, 2, 1])
    return {
        "F_avg": (a + b + 1) // 2,
        "F_A": a.copy(),
        "F_halfAB": np.concatenate([a[:, :half], b[:, half:]], axis=1),
        "F_blurA": (box_sum(a, 3, k) + 8) // 16,
    }


def sha256_pixels(img: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(img, dtype=np.uint8).tobytes()).hexdigest()


@pytest.fixture(scope="module")
def manifest(reference_dir):
    return json.loads((reference_dir / "images" / "manifest.json").read_text())


def _png(reference_dir, name: str) -> np.ndarray:
    return np.asarray(Image.open(reference_dir / "images" / name))


def test_lcg_first_values_are_the_documented_recurrence():
    # by hand: 1103515245*777 + 12345 = 857431357710; mod 2^31 = 585382158; >> 16 = 8932; mod 32 = 4
    assert 1103515245 * 777 + 12345 - 399 * 2**31 == 585382158
    assert lcg_noise(777, 1)[0] == (585382158 >> 16) % 32 == 4


@pytest.mark.parametrize("pair", sorted(SEEDS))
def test_synthetic_images_rebuild_byte_identical(reference_dir, manifest, pair):
    built = synthetic_pair(pair)
    built.update(fused_rules(built["A"], built["B"]))
    files = manifest["pairs"][pair]["files"]
    assert set(files) == set(built), f"manifest lists {sorted(files)}, rebuilt {sorted(built)}"
    assert list(manifest["pairs"][pair]["shape"]) == [H, W]
    for role, img in built.items():
        assert img.min() >= 0 and img.max() <= 255, f"{pair}/{role} out of uint8 range"
        png = _png(reference_dir, files[role]["png"])
        np.testing.assert_array_equal(png, img.astype(np.uint8), err_msg=f"{pair}/{role}")
        assert sha256_pixels(img) == files[role]["sha256_pixels"], f"{pair}/{role} sha256"


def test_real_pairs_fused_rules_and_hashes(reference_dir, manifest):
    real = [p for p, v in manifest["pairs"].items() if v["kind"] == "real"]
    assert len(real) == 6
    for pair in real:
        files = manifest["pairs"][pair]["files"]
        a = _png(reference_dir, files["A"]["png"])
        b = _png(reference_dir, files["B"]["png"])
        assert a.dtype == np.uint8 and a.ndim == 2 and list(a.shape) == manifest["pairs"][pair]["shape"]
        assert sha256_pixels(a) == files["A"]["sha256_pixels"]
        assert sha256_pixels(b) == files["B"]["sha256_pixels"]
        for role, img in fused_rules(a, b).items():
            png = _png(reference_dir, files[role]["png"])
            np.testing.assert_array_equal(png, img.astype(np.uint8), err_msg=f"{pair}/{role}")
            assert sha256_pixels(png) == files[role]["sha256_pixels"], f"{pair}/{role} sha256"
