"""Property-based fuzzing (hypothesis) of image reading and of every registered metric.

Image reading: random shapes (1 pixel, odd sizes), dtypes (uint8, uint16, float32 in and out of
[0, 1], with NaN/inf), gray/RGB/RGBA, PNG and TIFF. Each read returns exactly the written samples
scaled to float32 [0, 1], or raises a one-line :class:`UserError` naming the file; never any other
exception, never a silently clipped value.

Metrics: random shapes (1x1 up to 24x24, odd), gray or colour, N = 2..4 sources, random, constant (0,
0.5, 1) and extreme (checkerboard 0/1) images. Each call returns a finite value, NaN (the documented
"not defined here" answer, which the runner turns into a row with the message), +inf only for
metrics whose ``ideal`` is inf (PSNR of identical images), or raises ``ValueError`` with a one-line
message (the "too small for the window" user errors); never another exception. On random
non-constant images of at least 16x16 no metric may return an exact 0 (a silent zero). Infinite
values are allowed only where the declared ``range`` is open on that side (``psnr@cddfuse`` of an
all-black fused image is ``-inf``, as its reference formula ``10 log10(max(F)^2 / MSE)`` gives).

Fast by default (a few examples per metric); ``-m slow`` runs many more.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.errors import UserError
from bench.imageio import read_image
from bench.protocols import prepare
from bench.registry import get_metric, list_metrics

FAST = settings(max_examples=6, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SLOW = settings(max_examples=80, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# ---- image reading -----------------------------------------------------------------------------------


@st.composite
def image_files(draw):
    h = draw(st.integers(1, 9))
    w = draw(st.integers(1, 9))
    ch = draw(st.sampled_from([1, 3, 4]))
    dtype = draw(st.sampled_from(["uint8", "uint16", "float32"]))
    fmt = "tif" if dtype == "float32" else draw(st.sampled_from(["png", "tif"]))
    shape = (h, w) if ch == 1 else (h, w, ch)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if dtype == "float32":
        kind = draw(st.sampled_from(["unit", "wide", "nan", "inf", "const"]))
        a = rng.random(shape, dtype=np.float32)
        if kind == "wide":
            a = a * 300 - 20
        elif kind == "nan":
            a.flat[draw(st.integers(0, a.size - 1))] = np.nan
        elif kind == "inf":
            a.flat[draw(st.integers(0, a.size - 1))] = -np.inf
        elif kind == "const":
            a[...] = draw(st.sampled_from([0.0, 1.0, 0.25]))
    else:
        hi = 255 if dtype == "uint8" else 65535
        a = rng.integers(0, hi + 1, shape).astype(dtype)
        if draw(st.booleans()):
            a[...] = draw(st.sampled_from([0, hi]))
    return fmt, a


def _write(path, a):
    import cv2
    import tifffile

    if path.suffix == ".tif":
        photometric = "minisblack" if a.ndim == 2 else "rgb"
        tifffile.imwrite(path, a, photometric=photometric,
                         extrasamples=["unassalpha"] if a.ndim == 3 and a.shape[2] == 4 else None)
    else:
        b = a if a.ndim == 2 else a[:, :, [2, 1, 0, 3][: a.shape[2]]]
        assert cv2.imwrite(str(path), b)


def _check_read(tmp_path, case):
    fmt, a = case
    p = tmp_path / f"f.{fmt}"
    _write(p, a)
    want = a[:, :, :3] if a.ndim == 3 else a
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the alpha warning
        # the alpha channel is dropped before any check, so only the colour samples decide
        if a.dtype == np.float32 and not (np.isfinite(want).all() and want.min() >= 0 and want.max() <= 1):
            with pytest.raises(UserError) as ei:
                read_image(p)
            assert "\n" not in str(ei.value) and "f.tif" in str(ei.value)
            return
        got = read_image(p)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert np.isfinite(got).all() and got.min() >= 0 and got.max() <= 1
    scale = {np.dtype("uint8"): 255.0, np.dtype("uint16"): 65535.0}.get(a.dtype, 1.0)
    np.testing.assert_array_equal(got, want.astype(np.float32) / np.float32(scale))


@FAST
@given(case=image_files())
def test_fuzz_read_image(tmp_path_factory, case):
    _check_read(tmp_path_factory.mktemp("fz"), case)


@pytest.mark.slow
@SLOW
@given(case=image_files())
def test_fuzz_read_image_slow(tmp_path_factory, case):
    _check_read(tmp_path_factory.mktemp("fz"), case)


# ---- metrics ---------------------------------------------------------------------------------------------


@st.composite
def metric_inputs(draw):
    h = draw(st.integers(1, 24))
    w = draw(st.integers(1, 24))
    colour = draw(st.booleans())
    n = draw(st.integers(2, 4))
    shape = (h, w, 3) if colour else (h, w)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)

    def one():
        kind = draw(st.sampled_from(["random", "random", "const", "checker"]))
        if kind == "const":
            return np.full(shape, draw(st.sampled_from([0.0, 0.5, 1.0])), np.float32)
        if kind == "checker":
            yy, xx = np.indices(shape[:2])
            c = ((yy + xx) % 2).astype(np.float32)
            return np.repeat(c[:, :, None], 3, axis=2) if colour else c
        return rng.random(shape, dtype=np.float32)

    return [one() for _ in range(n)], one(), one()


def _check_metric(mid, case):
    info = get_metric(mid).info
    sources, fused, ref = case
    if info.max_sources is not None and len(sources) > info.max_sources:
        sources = sources[: info.max_sources]
    imgs = prepare([*sources, fused, ref], "standard")
    n = len(sources)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            v = get_metric(mid).fn(imgs[:n], imgs[n], reference=imgs[n + 1] if info.needs_reference else None)
    except (ValueError, UserError) as exc:  # a clear user error: one line, says what is wrong
        assert str(exc) and "\n" not in str(exc).strip(), f"{mid}: multi-line or empty message {exc!r}"
        return
    v = float(v)
    if math.isinf(v):  # +inf: the ideal of PSNR-like metrics; -inf only on an open lower range
        lo, hi = (tuple(info.range) + (None, None))[:2]
        ok = (v > 0 and (hi is None or math.isinf(hi))) or (v < 0 and lo is None)
        assert ok, f"{mid} returned {v} outside its declared range {info.range}"
    # random images only: a checker (two levels) has a large range too, and on checkers an exact 0 can be true
    # (CE of a checker fused from a checker source and a random one: identical histograms, then no level in
    # common -- both terms are 0 by definition)
    random_inputs = all(np.ptp(x) > 0.05 and np.unique(x).size > 16 for x in [*sources, fused]) and min(
        fused.shape[:2]
    ) >= 16
    if random_inputs and math.isfinite(v):
        assert v != 0.0 or mid.startswith(("mse", "rmse", "nabf")), f"{mid}: silent 0 on random images"


METRICS = list_metrics("*")


@pytest.mark.parametrize("mid", METRICS)
@FAST
@given(case=metric_inputs())
def test_fuzz_metric(mid, case):
    _check_metric(mid, case)


@pytest.mark.slow
@pytest.mark.parametrize("mid", METRICS)
@SLOW
@given(case=metric_inputs())
def test_fuzz_metric_slow(mid, case):
    _check_metric(mid, case)
