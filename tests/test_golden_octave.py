"""Our metrics against golden values from the original MATLAB code run under GNU Octave (issue #16).

``tests/data/golden/octave_golden.json`` is written by the reference harness
(``python -m benchmarks.octave.harness run --cases golden``, README "Developer: the Octave reference
harness"):
per case, the values of every metric id's upstream MATLAB code (Octave version, upstream repositories and
commits, adaptations and case definitions are in the file). The cases are rebuilt here from their
definitions (:mod:`benchmarks.octave.cases`: shared datasets or the synthetic generator, integer crop /
flatten / fuse rules) and their pixels checked against the SHA-256 stored with the values, so a golden value
is never compared with other pixels than Octave saw.

Tolerance: 1e-9 relative (+1e-12 absolute) for every id, the visible set's closed-form tolerance, or the
visible set's own looser tolerance where it has one (FMI dct/wavelet, Qp; not IFC, held to 1e-9 here).
Cases whose value is decided by rounding noise are listed in :data:`FRAGILE` with their evidence; there the
test asserts the documented (looser) bound *and* that the noise-determined windows are really present.
For the survey variants ``qe@liu2020`` / ``qy@liu2020`` the survey's code as Octave evaluates it
(:data:`OCTAVE_BITS`) must also reproduce every golden value within 1e-9 (see :data:`_LIU2020_PLATFORM`).

Fast subset (always on): the small cases in :data:`FAST_CASES`; the rest is ``@pytest.mark.slow``.
``octave_visible.json`` (the harness on the visible set's own 32 cases) must agree with
``shared/reference/metrics_reference.json`` within 1e-12: that is the harness's own acceptance test.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pytest

from benchmarks.octave import cases as C
from benchmarks.octave import specs as S
from benchmarks.octave.compare import metric_for, our_value, rel_error
from metrics._memo import flat_windows

GOLDEN = Path(__file__).parent / "data" / "golden" / "octave_golden.json"
VISIBLE = Path(__file__).parent / "data" / "golden" / "octave_visible.json"
DOC = json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else None

REL, ABS = 1e-9, 1e-12
FAST_CASES = {"syn_17x23_avg", "syn_64x64_gt_flat", "g10_17x23_avg", "g05_31x37_blend37", "news_101x103_max"}

#: (golden id, case id) -> (documented bound on the relative error, evidence). See the module docstring.
_MEF_NOISE = (
    "MEF-SSIM windows where the sources' deviations cancel exactly (A + B constant over the 11x11 window "
    "while A varies, equal weights): the reference's desired patch is pure rounding residue, rescaled to "
    "norm max(ed) by mef_ssim.m, so q there is set by the last bits of Octave's filter2 means. Evidence: "
    "on the 64x64 crop [40:104, 420:484] of g03_480x640_max (6 such windows) Octave's analysis_ms_ssim "
    "gives 0.98475692485435951, transposed 0.984725206730376 (3.2e-5 apart); ours is 0.9847489020356 both "
    "ways (it treats the residue as the exact zero patch). Count: metrics.mef_ssim.noise_windows."
)
#: Bound: each such window moves its q by up to ~0.05 (0.0459 seen at g03_480x640_max (69, 451), direct
#: float64 transcription vs ours); 52 of 296,100 level-0 windows x 0.05 x level weight 0.071 -> < 1e-6.
FRAGILE: dict[tuple[str, str], tuple[float, str]] = {
    ("MEF_MS_SSIM_tang", "g03_480x640_avg"): (1e-6, _MEF_NOISE),  # 52 noise windows at scale 1
    ("MEF_MS_SSIM_tang", "g03_480x640_max"): (1e-6, _MEF_NOISE),  # 52 noise windows at scale 1
    ("MEF_MS_SSIM_tang", "g03_480x640_blurA"): (1e-6, _MEF_NOISE),  # same sources: 2.2e-7 measured
}  # (g03_480x640_blend37, the same 52 windows with a 3:7 blend: 1.7e-10, passes 1e-9)

_IFC_NOISE = (
    "IFC where F copies the source exactly over a textured region: there g = 1 and the noise variance "
    "sv^2 = (ss_y - g cov)/n is the rounding residue of (n*mx)*my against n*(mx*mx) in distsub_est_m.m "
    "(clamped to 1e-15, or a few 1e-14), against the 1e-10 regulariser, so each such block's log2 term moves "
    "by ~1e-3 with the last bits of the pyramid coefficients (corrDn's summation order and folded borders, "
    "not reproduced). Evidence: Octave's own ifcvec moves by 2.2e-7 (g06_256x256_halfAB, A side) and 7.6e-7 "
    "(B side), 1.8e-7 (g03_480x640_A) when both images are transposed, an exact symmetry of the algorithm "
    "(sp5 band 1 = -band 4 transposed), while cases without copied regions move by <= 4e-14. Bound: the "
    "visible set's IFC tolerance 2e-6. Count: 16x16 windows with F == source, source not flat."
)
#: (case, sides): the IFC golden cases where F copies a source over textured windows (measured error
#: 2.2e-8 .. 9.5e-7 after the fix; every other IFC case <= 4.3e-11)
_IFC_COPY_CASES = {
    "g03_480x640_A": "A",
    "g03_480x640_halfAB": "AB",
    "flower_350x534_B": "B",
    "g06_256x256_A": "A",
    "g06_256x256_halfAB": "AB",
    "aymaz09_256x256_avg": "AB",
    "g07_384x512_halfAB": "AB",
    "g10_160x160_A": "A",
    "g03_480x640_flat_avg": "AB",
    "g03_480x640_flat_max": "AB",
    "g06_256x256_flat_B": "B",
    "syn_97x131_halfAB_flat": "AB",
}
for _cid, _sides in _IFC_COPY_CASES.items():
    for _side in _sides:
        FRAGILE[(f"IFC_sheikh_{_side}F", _cid)] = (2e-6, _IFC_NOISE)
    for _g in ("IFC_sheikh_sum", "IFC_sheikh_avg"):
        FRAGILE[(_g, _cid)] = (2e-6, _IFC_NOISE)

#: qe@liu2020 / qy@liu2020: the survey's code compares rounding residue with exact 0 (metricPeilla's guard
#: "sigma1_sq + sigma2_sq == 0" -> 0.5) or divides residues by C1 = C2 = 2e-16 (metricYang) on windows that
#: are exactly flat. Octave's filter2 (a full 2-D kernel) gives those windows exactly 0 variance (qe: the
#: guard fires on every flat window) or a residue ratio (qy: Octave's g03 values reach 10.6 and 11.0 for a
#: mean of numbers in [-1, 1]); MATLAB's separable filter2 gives other residue, and our ids follow MATLAB,
#: whose published per-image survey values they reproduce (qe 90/90 within 1e-9, qy 74/90 within 1e-9 and
#: the 16 flat-window images within 1.8e-4: tests/test_metrics_liu2020.py). Evidence that nothing else
#: differs: the same code evaluated with Octave's bits (OCTAVE_BITS, ``octave_bits=True``) reproduces EVERY
#: golden value of both ids within 1e-9 (measured: qe 3.0e-15, qy 2.4e-12). Bound: the measured difference
#: of our id from Octave (x1.5). Count: 8x8 (qe) / 7x7 (qy) windows exactly flat in the sources.
_LIU2020_PLATFORM = "survey code on exactly flat windows: Octave's filter2 vs MATLAB's (see _LIU2020 comment)"
_LIU2020_CASES = {
    ("qe@liu2020", "flower_350x534_flat_avg"): 5.20e-07,
    ("qe@liu2020", "g03_480x640_A"): 5.11e-05,
    ("qe@liu2020", "g03_480x640_avg"): 1.60e-05,
    ("qe@liu2020", "g03_480x640_blend37"): 1.56e-05,
    ("qe@liu2020", "g03_480x640_blurA"): 3.92e-05,
    ("qe@liu2020", "g03_480x640_flat_avg"): 1.79e-05,
    ("qe@liu2020", "g03_480x640_flat_max"): 2.84e-05,
    ("qe@liu2020", "g03_480x640_halfAB"): 1.11e-05,
    ("qe@liu2020", "g03_480x640_max"): 3.07e-05,
    ("qe@liu2020", "g03_480x640_sharpen_avg"): 4.62e-08,
    ("qe@liu2020", "g05_47x53_blurA"): 4.04e-05,
    ("qe@liu2020", "g05_97x131_avg"): 2.15e-07,
    ("qe@liu2020", "g06_256x256_A"): 1.98e-06,
    ("qe@liu2020", "g06_256x256_avg"): 9.21e-07,
    ("qe@liu2020", "g06_256x256_flat_B"): 1.03e-05,
    ("qe@liu2020", "g06_256x256_flat_avg"): 4.13e-06,
    ("qe@liu2020", "g06_256x256_halfAB"): 3.14e-06,
    ("qe@liu2020", "g06_256x256_min"): 1.40e-06,
    ("qe@liu2020", "syn_233x377_avg"): 5.71e-09,
    ("qe@liu2020", "syn_256x256_blurA_flat"): 2.94e-06,
    ("qe@liu2020", "syn_350x534_max_flat"): 4.12e-06,
    ("qe@liu2020", "syn_64x64_gt_flat"): 4.12e-07,
    ("qe@liu2020", "syn_97x131_halfAB_flat"): 1.35e-06,
    ("qe@liu2020", "tsai03_1024x768_T_blend37"): 6.12e-09,
    ("qe@liu2020", "tsai03_768x1024_avg"): 4.90e-09,
    ("qe@liu2020", "tsai03_768x1024_max"): 8.38e-09,
    ("qy@liu2020", "flower_350x534_flat_avg"): 2.74e-03,
    ("qy@liu2020", "g03_480x640_A"): 4.92e-02,
    ("qy@liu2020", "g03_480x640_avg"): 9.21e-01,
    ("qy@liu2020", "g03_480x640_blend37"): 9.20e-01,
    ("qy@liu2020", "g03_480x640_blurA"): 2.77e-02,
    ("qy@liu2020", "g03_480x640_flat_avg"): 9.21e-01,
    ("qy@liu2020", "g03_480x640_flat_max"): 1.56e-02,
    ("qy@liu2020", "g03_480x640_halfAB"): 4.77e-02,
    ("qy@liu2020", "g03_480x640_max"): 5.15e-02,
    ("qy@liu2020", "g03_480x640_sharpen_avg"): 7.52e-01,
    ("qy@liu2020", "g06_256x256_flat_avg"): 8.63e-03,
    ("qy@liu2020", "tsai03_1024x768_T_blend37"): 5.60e-05,
    ("qy@liu2020", "tsai03_768x1024_avg"): 8.94e-05,
    ("qy@liu2020", "tsai03_768x1024_max"): 8.99e-05,
}
for _key, _measured in _LIU2020_CASES.items():
    FRAGILE[_key] = (1.5 * _measured, _LIU2020_PLATFORM)


def _qe_octave(im):
    from metrics.qe_liu2020 import qe_liu2020_value

    return qe_liu2020_value([im["A"], im["B"]], im["F"], octave_bits=True)


def _qy_octave(im):
    from metrics.qy_liu2020 import qy_liu2020_value

    return qy_liu2020_value(im["A"], im["B"], im["F"], octave_bits=True)


#: golden id -> the reference code evaluated with Octave's filter2 bits (must match every golden value)
OCTAVE_BITS = {"qe@liu2020": _qe_octave, "qy@liu2020": _qy_octave}


#: (golden id, case id) -> measured discrepancy, not explained yet: strict xfail (a fix makes it XPASS,
#: which fails, so the entry must then be removed). Open defects found by the goldens, not tolerances.
KNOWN_FAILURES: dict[tuple[str, str], str] = {}
# Tang's vifp_mscale returns a number below 41 px (its valid filters run on near-empty images); ours refuses.
_SMALL = [c["id"] for c in (DOC or {}).get("cases", []) if min(c.get("shape", [41, 41])[:2]) < 41]
for _c in _SMALL:  # every case under 41 px, from the golden file itself
    for _g in ("VIF_sheikh_AF", "VIF_sheikh_BF", "VIF_sheikh_sum"):
        KNOWN_FAILURES[(_g, _c)] = "ours raises ValueError below 41 px; Octave's vifp_mscale returns a value"
    # CDDFuse's compare_viff sums its scales' terms over whatever its 'valid' maps leave (1x7 at 17x23)
    KNOWN_FAILURES[("cddfuse_VIFF", _c)] = "ours refuses below 41 px; CDDFuse's VIFF returns a value"


#: Harness ids with fewer than 6 sizes so far (a run cut short): none. Re-run ``harness run --cases golden
#: --only ...`` to complete an id listed here.
INCOMPLETE: dict[str, str] = {}

#: ids held to 1e-9 here although the visible set allows more (their larger errors are isolated in FRAGILE)
STRICT = ("IFC_sheikh_",)


def _tolerance(gid: str) -> tuple[float, float]:
    ref = C.reference_root()
    if ref is not None and not gid.startswith(STRICT):
        tol = (
            json.loads((ref / "metrics_reference.json").read_text())["metrics"].get(gid, {}).get("tolerance")
        )
        if tol and float(tol["rel"]) > REL:
            return float(tol["rel"]), float(tol["abs"])
    return REL, ABS


@cache
def _images(case_id: str):
    case = next(c for c in DOC["cases"] if c["id"] == case_id)
    images = C.build_case(case)
    return images, C.pixels_sha256(images) == case["sha256"]


def _needs_data(case: dict) -> bool:
    return "dataset" in case["source"] or "reference_png" in case["source"]


def _params():
    if DOC is None:
        return [pytest.param("", "", marks=pytest.mark.skip(reason=f"{GOLDEN} missing"))]
    out = []
    for case in DOC["cases"]:
        skip = _needs_data(case) and C.data_root() is None
        marks = [] if case["id"] in FAST_CASES else [pytest.mark.slow]
        if skip:
            marks.append(pytest.mark.skip(reason="set MFIF_DATA=../shared/datasets (case built from it)"))
        for gid in DOC["values"].get(case["id"], {}):
            if gid in DOC.get("errors", {}).get(case["id"], {}):
                continue
            m = list(marks)
            if (gid, case["id"]) in KNOWN_FAILURES:
                m.append(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[(gid, case["id"])]))
            out.append(pytest.param(case["id"], gid, id=f"{case['id']}-{gid}", marks=m))
    return out


@pytest.mark.calibration
@pytest.mark.parametrize("case_id, gid", _params())
def test_golden_value(case_id, gid):
    images, same = _images(case_id)
    assert same, f"{case_id}: rebuilt pixels differ from the golden SHA-256 (case builder or decoder changed)"
    metric = metric_for(gid)
    assert metric is not None, f"no registered metric for golden id {gid!r}"
    if metric.info.needs_reference and images["GT"] is None:
        pytest.fail(f"{gid} has a golden value for {case_id} but the case has no ground truth")
    expected = DOC["values"][case_id][gid]
    if expected is None and min(images["F"].shape) < 41 and gid.startswith("VIF"):
        # the reference returns NaN below 41 px (4 scales); ours refuses with a clear error (an error row)
        with pytest.raises(ValueError, match="at least 41x41"):
            our_value(metric, images)
        return
    got = our_value(metric, images)
    if expected is None:
        assert math.isnan(got), f"{gid} on {case_id}: reference is NaN/Inf (null), got {got!r}"
        return
    if gid in OCTAVE_BITS:  # the reference code with Octave's bits must reproduce Octave (see above)
        ob = OCTAVE_BITS[gid](images)
        assert abs(ob - expected) <= ABS + REL * abs(expected), (
            f"{gid} on {case_id}: the survey code with Octave's bits gives {ob!r}, Octave {expected!r}"
        )
    rel, abs_ = _tolerance(gid)
    fragile = FRAGILE.get((gid, case_id))
    if fragile is not None:
        rel = fragile[0]
    assert abs(got - expected) <= abs_ + rel * abs(expected), (
        f"{metric.info.id} ({gid}) on {case_id}: got {got!r}, Octave {expected!r}, "
        f"rel {rel_error(got, expected):.3e} > {rel:g}"
        + (f" [fragile: {fragile[1][:80]}...]" if fragile else "")
    )


#: Reference errors that are refusals (the input is too small for the algorithm): ours must refuse too
#: (ValueError, an error row), never return a number. message prefix -> our message (regex)
REFUSALS = {
    "Cannot build pyramid higher than": "at least 72x72",  # IFC: buildSpyr (4 levels of sp5)
    "ValueError: For 'valid' mode": "at least 41x41",  # CDDFuse's VIFF (scipy convolve2d) at 31x37
}


def _refusal_params():
    out = []
    for case in (DOC or {}).get("cases", []):
        for gid, msg in (DOC or {}).get("errors", {}).get(case["id"], {}).items():
            marks = [] if case["id"] in FAST_CASES else [pytest.mark.slow]
            out.append(pytest.param(case["id"], gid, msg, id=f"{case['id']}-{gid}", marks=marks))
    return out


@pytest.mark.parametrize("case_id, gid, msg", _refusal_params())
def test_golden_refusal(case_id, gid, msg):
    """Every error the reference code raised on a golden case is a known refusal that ours shares."""
    case = next(c for c in DOC["cases"] if c["id"] == case_id)
    if _needs_data(case) and C.data_root() is None:
        pytest.skip("set MFIF_DATA=../shared/datasets (case built from it)")
    ours = [v for k, v in REFUSALS.items() if msg.startswith(k)]
    assert ours, f"{gid} on {case_id}: the reference failed with an unexplained error: {msg}"
    images, _ = _images(case_id)
    with pytest.raises(ValueError, match=ours[0]):
        our_value(metric_for(gid), images)


def _copy_windows(s, f, n: int = 16) -> int:
    """Number of n x n windows where ``f`` equals ``s`` exactly and ``s`` is not flat."""
    d = f - s
    same = flat_windows(d, n) & (d[: d.shape[0] - n + 1, : d.shape[1] - n + 1] == 0)
    return int((same & ~flat_windows(s, n)).sum())


@pytest.mark.parametrize(
    "gid, case_id",
    [pytest.param(g, c, marks=[] if c in FAST_CASES else [pytest.mark.slow]) for g, c in sorted(FRAGILE)],
)
def test_fragile_cases_have_noise_windows(gid, case_id):
    """A case is only called fragile if its noise-determined windows are really there."""
    case = next(c for c in DOC["cases"] if c["id"] == case_id)
    if _needs_data(case) and C.data_root() is None:
        pytest.skip("set MFIF_DATA=../shared/datasets (case built from it)")
    images, _ = _images(case_id)
    a, b, f = images["A"], images["B"], images["F"]
    if gid == "MEF_MS_SSIM_tang":
        from metrics.mef_ssim import noise_windows

        assert sum(noise_windows([a, b])) > 0
    elif gid.startswith("IFC_sheikh_"):
        sides = _IFC_COPY_CASES[case_id] if gid[-2:] in ("um", "vg") else gid[-2]
        assert all(_copy_windows(images[side], f) > 0 for side in sides)
    elif gid == "qy@liu2020":  # 7x7 windows flat in both sources (metricYang's ratios of residues)
        assert int((flat_windows(a, 7) & flat_windows(b, 7)).sum()) > 0
    elif gid == "qe@liu2020":  # 8x8 windows flat in a source, in the images or their Prewitt edge images
        from metrics.qe_liu2020 import _edges

        assert any(flat_windows(x, 8).any() for x in (a, b, _edges(a), _edges(b)))
    else:
        pytest.fail(f"no evidence check for {gid}")


def test_golden_file_provenance_and_coverage():
    """Octave version, upstream commits and case definitions are recorded; every id has >= 6 sizes."""
    assert DOC is not None, f"{GOLDEN} missing"
    assert DOC["octave"]["version"]
    for gname, up in DOC["upstream"].items():
        g = S.GROUPS[gname]
        assert (up["repo"], up["commit"]) == g.repo, gname
    for case in DOC["cases"]:
        assert {"id", "source", "fused", "shape", "sha256"} <= set(case)
    sizes: dict[str, set] = {}
    for case in DOC["cases"]:
        for gid in DOC["values"].get(case["id"], {}):
            if gid not in DOC.get("errors", {}).get(case["id"], {}):
                sizes.setdefault(gid, set()).add(tuple(case["shape"]))
    few = {g: len(s) for g, s in sizes.items() if len(s) < 6 and g not in INCOMPLETE}
    assert not few, f"golden ids with fewer than 6 sizes: {few}"
    missing = sorted(set(S.BY_ID) - set(sizes) - set(INCOMPLETE))
    assert not missing, f"harness ids without golden values: {missing}"
    assert len(DOC["cases"]) >= 40


@pytest.mark.calibration
def test_harness_reproduces_the_visible_set():
    """The harness on the visible set's 32 cases gives the visible set's values within 1e-12 relative."""
    ref_root = C.reference_root()
    if ref_root is None:
        pytest.skip("set MFIF_DATA=../shared/datasets (shared/reference beside it)")
    ref = json.loads((ref_root / "metrics_reference.json").read_text())
    doc = json.loads(VISIBLE.read_text())
    bad, n = [], 0
    for cid, vals in doc["values"].items():
        pair, rule = cid[len("visible_") :].rsplit("_", 1)
        for gid, v in vals.items():
            if gid in doc.get("errors", {}).get(cid, {}):
                continue
            exp = ref["values"][pair][rule].get(gid, "absent")
            if exp == "absent":
                continue
            n += 1
            if (exp is None) != (v is None) or (exp is not None and rel_error(v, exp) > 1e-12):
                bad.append((cid, gid, v, exp))
    assert n > 500
    assert not bad, f"{len(bad)} harness values differ from the visible set by > 1e-12: {bad[:5]}"
