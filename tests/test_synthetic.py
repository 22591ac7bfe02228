"""The embedded synthetic dataset: deterministic bytes, the promised variety, a usable ground truth."""

from __future__ import annotations

import hashlib

import numpy as np

from bench import synthetic
from bench.registry import get_dataset


def _digest(scene_render: dict) -> str:
    h = hashlib.sha256()
    for img in [*scene_render["sources"], scene_render["reference"], *scene_render["focus_maps"]]:
        h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()


def test_generator_is_deterministic_same_bytes_twice():
    for spec in synthetic.SPECS:
        assert _digest(synthetic.render(spec)) == _digest(synthetic.render(spec)), spec.id


def test_variety_promised_by_the_dataset():
    scenes = get_dataset("synthetic").scenes()
    assert len(scenes) == 8
    ns = {len(s.roles) for s in scenes}
    assert {2, 3, 5} <= ns
    shapes = [s.load_sources()[0].shape for s in scenes]
    assert any(len(sh) == 2 for sh in shapes) and any(len(sh) == 3 for sh in shapes)
    assert any(sh[0] % 2 or sh[1] % 2 for sh in shapes)  # at least one odd size
    for s in scenes:
        src = s.load_sources()
        assert all(x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1 for x in src)
        assert s.load_reference().shape == src[0].shape
        maps = s.load_focus_maps()
        assert len(maps) == len(src)
        np.testing.assert_allclose(np.sum(maps, axis=0), 1.0)  # each pixel is in focus in exactly one source


def test_each_source_is_sharp_where_its_focus_map_says():
    """In-focus regions equal the ground truth; out-of-focus regions are visibly blurred."""
    for s in get_dataset("synthetic").scenes():
        gt = s.load_reference()
        for src, fm in zip(s.load_sources(), s.load_focus_maps(), strict=True):
            err = np.abs(src - gt)
            err = err.mean(axis=2) if err.ndim == 3 else err
            inner = fm > 0.5
            # far from boundaries (erode) an in-focus pixel equals the GT to 8-bit precision
            from scipy import ndimage

            core = ndimage.binary_erosion(inner, iterations=12)
            if core.any():
                assert np.median(err[core]) <= 1 / 255 + 1e-6, s.id
            out = ndimage.binary_erosion(~inner, iterations=2)
            if out.sum() > 100:
                assert err[out].mean() > 2 / 255, s.id


def test_sha256_is_of_the_8bit_bytes():
    s = get_dataset("synthetic").scenes()[0]
    a = s.load_sources()[0]
    expect = hashlib.sha256(np.round(a.astype(np.float64) * 255).astype(np.uint8).tobytes()).hexdigest()
    assert s.sha256[0] == expect
