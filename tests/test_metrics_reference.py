"""Every metric reproduces ``shared/reference/metrics_reference.json``, driven by ``MetricInfo.reference_id``.

Parametrised over (pair, rule, reference id) for every value in the JSON. A reference id that no
registered metric claims FAILS (so a missing metric can never pass silently), as does a reference id
claimed by two metrics. ``null`` reference values must come out NaN. Inputs are the reference PNGs as
float64 (exactly ``np.asarray(Image.open(png), float64)``), fed to the metric function directly; the
``standard`` protocol is the identity on these 8-bit grey PNGs (checked once below). Ground-truth
metrics get ``reference=`` the pair's ``*_GT.png`` (synthetic pairs only).

Fast subset (always on): both synthetic pairs x 4 rules, plus ``lytro_04/avg`` (real 520x520 pair with
saturated flat areas: the NaN-versus-number case of Liu's Qy). The other 23 real cases are marked
``slow`` (``pytest -m slow``). Tolerances: :mod:`tests._tolerances` (the JSON's per-metric tolerance
unless an override with a written reason exists).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from _tolerances import reference_tolerance, within
from conftest import reference_path
from PIL import Image

from bench.imageio import read_image
from bench.protocols import prepare
from bench.registry import METRICS, load_all

FAST_CASES = {(p, r) for p in ("syn_checker", "syn_flat") for r in ("avg", "A", "halfAB", "blurA")} | {
    ("lytro_04", "avg")
}


def _load_json() -> dict | None:
    root = reference_path()
    if root is None or not (root / "metrics_reference.json").is_file():
        return None
    return json.loads((root / "metrics_reference.json").read_text())


_REF = _load_json()


def _params():
    if _REF is None:
        return [pytest.param("", "", "", marks=pytest.mark.skip(reason="set MFIF_DATA=../shared/datasets"))]
    out = []
    for pair, rules in _REF["values"].items():
        for rule, vals in rules.items():
            marks = [] if (pair, rule) in FAST_CASES else [pytest.mark.slow]
            for ref_id in vals:
                out.append(pytest.param(pair, rule, ref_id, id=f"{pair}-{rule}-{ref_id}", marks=marks))
    return out


def _by_reference_id() -> dict[str, list[str]]:
    load_all()
    out: dict[str, list[str]] = {}
    for m in METRICS.values():
        if m.info.reference_id:
            out.setdefault(m.info.reference_id, []).append(m.info.id)
    return out


@cache
def _images(images_dir: str, pair: str, rule: str):
    """(sources, fused, ground truth or None) for one case, loaded once per test session."""
    d = Path(images_dir)

    def img(name: str) -> np.ndarray:
        return np.asarray(Image.open(d / f"{name}.png"), dtype=np.float64)

    gt = img(f"{pair}_GT") if (d / f"{pair}_GT.png").is_file() else None
    return (img(f"{pair}_A"), img(f"{pair}_B")), img(f"{pair}_F_{rule}"), gt


@pytest.mark.calibration
@pytest.mark.parametrize("pair, rule, ref_id", _params())
def test_reference_value(reference_dir, pair, rule, ref_id):
    owners = _by_reference_id().get(ref_id, [])
    if not owners:
        pytest.fail(f"no registered metric has reference_id={ref_id!r}")
    if len(owners) > 1:
        pytest.fail(f"reference_id={ref_id!r} is claimed by several metrics: {owners}")
    metric = METRICS.get(owners[0])
    sources, fused, gt = _images(str(reference_dir / "images"), pair, rule)
    if metric.info.needs_reference and gt is None:
        pytest.fail(f"{ref_id} has a value for {pair}/{rule} but the pair has no ground truth")
    got = float(metric.fn(list(sources), fused, reference=gt if metric.info.needs_reference else None))
    expected = _REF["values"][pair][rule][ref_id]
    if expected is None:
        assert math.isnan(got), f"{metric.info.id} on {pair}/{rule}: reference is NaN (null), got {got!r}"
        return
    rel, abs_ = reference_tolerance(_REF, ref_id, pair, rule)
    assert within(got, expected, rel, abs_), (
        f"{metric.info.id} ({ref_id}) on {pair}/{rule}: got {got!r}, expected {expected!r}, "
        f"|delta|={abs(got - expected):.3e} > {abs_:g} + {rel:g}*|expected|"
    )


@pytest.mark.calibration
def test_every_reference_id_is_registered_exactly_once(reference_dir):
    ref = json.loads((reference_dir / "metrics_reference.json").read_text())
    owners = _by_reference_id()
    missing = sorted(set(ref["metrics"]) - set(owners))
    assert not missing, f"reference ids without a registered metric: {missing}"
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared, f"reference ids claimed by several metrics: {shared}"
    unknown = sorted(set(owners) - set(ref["metrics"]))
    assert not unknown, f"metrics declare reference ids absent from the JSON: {unknown}"


def test_reference_impl_names_the_json_source(reference_dir):
    """Each metric's ``reference_impl`` names the repository and commit recorded in the JSON."""
    ref = json.loads((reference_dir / "metrics_reference.json").read_text())
    bad = []
    for ref_id, ids in _by_reference_id().items():
        src = ref["metrics"].get(ref_id, {}).get("source", {})
        if not src.get("repo"):
            continue
        impl = METRICS.get(ids[0]).info.reference_impl
        if src["repo"] not in impl or src["commit"][:7] not in impl:
            bad.append((ids[0], ref_id, impl))
    assert not bad, f"reference_impl does not name the JSON's repo@commit: {bad}"


def test_standard_protocol_is_identity_on_reference_pngs(reference_dir):
    """The reference PNGs are 8-bit grey: read -> ``prepare(standard)`` gives back their exact values."""
    images = reference_dir / "images"
    for name in ("lytro_04_A", "syn_flat_F_blurA", "syn_checker_GT"):
        direct = np.asarray(Image.open(images / f"{name}.png"), dtype=np.float64)
        (prepped,) = prepare([read_image(images / f"{name}.png")], "standard")
        assert prepped.dtype == np.float64
        np.testing.assert_array_equal(prepped, direct)
