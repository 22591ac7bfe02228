"""Regenerate the classical rows of SESF-Fuse Table 2 (mean Qg on its 38 pairs) - issue 4 acceptance.

Paper: Ma et al., SESF-Fuse, Neural Comput & Applic 2020, doi:10.1007/s00521-020-05358-9, Table 2.
Targets: ``shared/reference/paper_tables.json`` (``sesf_fuse_2020.table2_comparison``); per-image
records: ``shared/reference/sesf_experiment_metrics/per_image_metrics.csv`` (the authors' own .npy
records, Keep-Passion/SESF-Fuse branch Experiment @ 9997299). Protocol ``sesf2020`` then metric ``qg``
(Liu's ``metricXydeas``), exactly as the paper's evaluator did (``shared/docs/methods.md`` section 8).

Each row runs with the reproduction switches that paper's run needs (methods.md 7.13):

* LP, RP: ``quantize="truncate"`` (the SESF experiment cast float results with ``astype(uint8)``);
* DTCWT: the same plus ``resize_to_even=True`` (INTER_AREA resize of odd-sized pairs and back);
* GF: ``sesf2020_call=True`` (GFF.m fed 0..255 doubles: clamped gray, weights collapse to source A);
* FocusStack: ``sesf2020=True`` (SIFT alignment on, 8-bit pipeline, R/B-swapped gray);
* the paper's "SF" row: the ``average`` method with ``quantize="truncate"`` (their SF run was averaging).

The paper's DWT row is not regenerable (methods.md 7.3) and is not tested here.

``test_table2_subset`` compares per image with the authors' records on 4 pairs (one odd-sized, one
gray) with tight tolerances; ``test_table2_means`` runs all 38 pairs and checks the means against
the paper plus per-image agreement statistics. Fused images and scores are cached in memory for the
session, so the module costs one full run: about 30 s of CPU (FocusStack's SIFT alignment and the
DT-CWT are most of it), within the 60 s budget, so it is not marked ``slow``.

Tolerances (observed values with this code, numpy 2.4 / OpenCV 5.0, in brackets):

* means: LP within 0.002 of the paper [+0.0012], the others within 0.005 (issue 4)
  [RP -0.0001, DTCWT +0.0001, GF -0.0000, FocusStack -0.0030, SF/average -0.0003];
* per image, non-FocusStack rows: 1e-3 on the subset [max 1e-4]; over all 38, mean |diff| bounds in
  ``MEAN_ABS_BOUND`` [LP 0.0021, RP 0.0009, DTCWT 0.0012, GF 0.0001, average 0.0005]. The outliers
  (gray_mwg_clock LP +0.055, lytro_18/11) are shared by all toolbox rows, so they come from the
  inputs/records, not from a rule (methods.md 7.13);
* the correct GF (no switch): 0.7038 within 0.001 [0.70378], the value of the independent scratch
  port in methods.md 7.13 - a cross-check of our GFF, since the paper row is a broken run;
* FocusStack per image: 0.015 on the subset [max 0.009]; 0.03 mean |diff| over 38 [0.0205]. Its
  per-image values depend on the SIFT/RANSAC implementation (the authors used OpenCV 3 xfeatures2d),
  so only the mean is a reproduction target.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bench.protocols import prepare
from bench.registry import get_dataset, get_method, get_metric

# paper row name -> (method id, reproduction switches, per-image tolerance on the subset)
ROWS = {
    "LP": ("lp", {"quantize": "truncate"}, 1e-3),
    "RP": ("rp", {"quantize": "truncate"}, 1e-3),
    "DTCWT": ("dtcwt", {"quantize": "truncate", "resize_to_even": True}, 1e-3),
    "GF": ("gf", {"sesf2020_call": True}, 1e-3),
    "FocusStack": ("focusstack", {"sesf2020": True}, 0.015),
    "SF": ("average", {"quantize": "truncate"}, 1e-3),
    # not a paper row: the correct GFF (default switches); see test_clean_gf_matches_independent_port
    "GF (correct)": ("gf", {}, None),
}
PAPER_ROWS = [r for r in ROWS if ROWS[r][2] is not None]
MEAN_TOL = {"LP": 0.002, "RP": 0.005, "DTCWT": 0.005, "GF": 0.005, "FocusStack": 0.005, "SF": 0.005}
MEAN_ABS_BOUND = {"LP": 0.003, "RP": 0.0015, "DTCWT": 0.002, "GF": 0.0005, "FocusStack": 0.03, "SF": 0.001}
SUBSET = ("color_lytro_10", "color_mwg_temple", "color_tid_t5", "gray_mwg_book")
N_PAIRS = 38


@pytest.fixture(scope="session")
def table2(reference_dir: Path) -> dict:
    """Paper values and per-image records for the tested rows."""
    paper = json.loads((reference_dir / "paper_tables.json").read_text())
    methods = paper["sesf_fuse_2020"]["table2_comparison"]["methods"]
    records: dict[str, dict[str, float]] = {}
    with open(reference_dir / "sesf_experiment_metrics" / "per_image_metrics.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["metric"] == "Qg":
                records.setdefault(row["method"], {})[row["image"]] = float(row["value"])
    out = {}
    for name in PAPER_ROWS:
        key = methods[name]["record_key"]
        out[name] = {"paper": methods[name]["Qg"], "records": records[key]}
    return out


@pytest.fixture(scope="session")
def scenes(data_dir: Path) -> dict:
    ds = get_dataset("sesf_gacn")
    found = {s.id: s for s in ds.scenes(data_dir)}
    assert len(found) == N_PAIRS, f"expected the {N_PAIRS} SESF pairs, found {len(found)}"
    return found


@pytest.fixture(scope="session")
def qg_score(scenes):
    """Qg of (row, scene), computed once per session (fused image and score cached in memory)."""
    qg = get_metric("qg").fn
    cache: dict[tuple[str, str], float] = {}
    sources: dict[str, list[np.ndarray]] = {}

    def score(row: str, scene_id: str) -> float:
        if (row, scene_id) not in cache:
            if scene_id not in sources:
                sources[scene_id] = scenes[scene_id].load_sources()
            srcs = sources[scene_id]
            method_id, switches, _ = ROWS[row]
            fused = get_method(method_id).fuse(srcs, **switches).image
            *src_in, fused_in = prepare([*srcs, fused], "sesf2020")
            cache[(row, scene_id)] = float(qg(src_in, fused_in))
        return cache[(row, scene_id)]

    return score


def test_records_reproduce_the_paper_means(table2):
    """Sanity of the reference data: the authors' per-image records average to the printed values."""
    for name, t in table2.items():
        assert len(t["records"]) == N_PAIRS
        assert np.mean(list(t["records"].values())) == pytest.approx(t["paper"], abs=5e-5), name


@pytest.mark.calibration
@pytest.mark.parametrize("row", PAPER_ROWS)
def test_table2_subset(row, table2, qg_score):
    """Per-image Qg on 4 pairs matches the authors' records."""
    tol = ROWS[row][2]
    for sid in SUBSET:
        ours, rec = qg_score(row, sid), table2[row]["records"][sid]
        assert abs(ours - rec) <= tol, f"{row} {sid}: ours {ours:.4f} vs record {rec:.4f} (tol {tol})"


@pytest.mark.calibration
@pytest.mark.parametrize("row", PAPER_ROWS)
def test_table2_means(row, table2, qg_score):
    """Mean Qg over the 38 pairs matches SESF Table 2; per-image agreement with the records."""
    recs = table2[row]["records"]
    ours = {sid: qg_score(row, sid) for sid in sorted(recs)}
    mean = float(np.mean(list(ours.values())))
    diffs = np.array([ours[s] - recs[s] for s in sorted(recs)])
    paper = table2[row]["paper"]
    assert abs(mean - paper) <= MEAN_TOL[row], (
        f"{row}: mean Qg {mean:.4f} vs paper {paper:.4f} (delta {mean - paper:+.4f}, tol {MEAN_TOL[row]})"
    )
    assert np.abs(diffs).mean() <= MEAN_ABS_BOUND[row], (
        f"{row}: mean |per-image diff| {np.abs(diffs).mean():.4f} > {MEAN_ABS_BOUND[row]}"
    )


@pytest.mark.calibration
def test_clean_gf_matches_independent_port(scenes, qg_score):
    """The correct GFF (no reproduction switch) scores 0.7038 mean Qg on the 38 pairs with the
    independent scratch port written from the same spec (methods.md 7.13); far from the paper's 0.5631.
    Tolerance 0.001: both ports differ only in float rounding of the 8-bit weight quantisation."""
    mean = float(np.mean([qg_score("GF (correct)", sid) for sid in sorted(scenes)]))
    assert abs(mean - 0.7038) <= 1e-3, f"correct GF mean Qg {mean:.4f} vs 0.7038"
