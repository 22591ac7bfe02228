"""The shared SESF decision pipeline (methods/_sesf_pipeline.py): one implementation, versioned.

Bit-identity of sesf / gacn against the official outputs after the move is checked by
``tests/test_methods_sesf_gacn.py`` (``-m slow`` runs all 38 / 26 pairs).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.registry import get_method


def test_every_user_carries_the_pipeline_version():
    from methods._sesf_pipeline import PIPELINE_VERSION, method_version

    assert method_version("1") == f"1+pipeline{PIPELINE_VERSION}"
    for m in ("sesf", "sesf_sse", "sesf_scse", "gacn", "msrsf"):
        assert get_method(m).info.version.endswith(f"+pipeline{PIPELINE_VERSION}"), m


def test_one_implementation_no_copies():
    import methods._sesf_pipeline as p
    from methods import gacn, sesf

    for name in (
        "to_levels",
        "network_gray",
        "consistency_check",
        "blend_with_guided_map",
        "decide_and_blend",
    ):
        assert getattr(sesf, name) is getattr(p, name)
    assert gacn._levels01 is p.levels01 and gacn.network_gray is p.gray01
    assert sesf.SKIMAGE_GRAY is p.SKIMAGE_GRAY is gacn.SKIMAGE_GRAY


def test_gray_conversions_agree_on_8bit_images():
    """SESF's gray (from 0..255 levels) and GACN's (from [0, 1]) give the same network input."""
    from methods._sesf_pipeline import gray01, levels01, network_gray, to_levels

    rng = np.random.default_rng(5)  # fixed seed; no expected value depends on it
    for shape in ((17, 23), (17, 23, 3)):
        img = (rng.integers(0, 256, shape) / 255.0).astype(np.float32)
        np.testing.assert_array_equal(levels01(img), to_levels(img) / 255.0)
        np.testing.assert_array_equal(gray01(levels01(img)), network_gray(to_levels(img)))


@pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
def test_strip_blend_equals_whole_image(colour):
    from methods._sesf_pipeline import decide_and_blend

    rng = np.random.default_rng(11)  # fixed seed; no expected value depends on it
    shape = (150, 90, 3) if colour else (150, 90)
    la = np.rint(rng.random(shape) * 255)
    lb = np.rint(rng.random(shape) * 255)
    d0 = np.zeros(shape[:2], bool)
    d0[:, :40] = True
    d0[60:100, 50:80] = True
    whole, d1 = decide_and_blend(la, lb, d0)
    strips, d1s = decide_and_blend(la, lb, d0, strip_rows=32)
    np.testing.assert_array_equal(d1, d1s)
    diff = np.abs(np.rint(whole * 255) - np.rint(strips * 255))
    # the box sums' float rounding depends on the strip origin, and the truncation of values that are
    # integers in exact arithmetic flips on that (noise images: 99.86 % / 99.89 % bit-identical when
    # written, every pixel within one level)
    assert diff.max() <= 1 and np.mean(diff == 0) >= 0.995
