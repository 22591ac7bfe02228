"""Paper tables: mapping, absent rows, side-by-side numbers, JSON shape, and (slow) the full reproduction."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from bench import paper
from bench.cli import main as cli_main


def test_every_paper_row_and_metric_name_exists_in_paper_tables(reference_dir):
    ref = json.loads((reference_dir / "paper_tables.json").read_text())
    for t in paper.TABLES.values():
        vals = paper.paper_values(t, ref)
        assert set(t.rows) <= set(vals), t.id
        for name in t.rows:
            for pm in t.metrics:
                assert pm in vals[name], (t.id, name, pm)
            if t.time_key:
                assert t.time_key in vals[name]
            for col in t.stack_columns:
                assert col in vals[name]


def test_rows_we_lack_or_switches_missing_are_absent(monkeypatch):
    assert paper.resolve_row(None) == (None, "not implemented in mfif-bench")
    assert paper.resolve_row(("no_such_method", {}))[0] is None
    mid, why = paper.resolve_row(("lp", {"no_such_switch": 1}))
    assert mid is None and "no_such_switch" in why
    assert paper.resolve_row(("lp", {"quantize": "truncate"})) == ("lp", "")


def test_compare_means_first_places_and_deltas():
    t = dataclasses.replace(
        paper.TABLES["sesf2020-table2"], rows={"LP": ("lp", {}), "SF": ("average", {}), "DSIFT": None}
    )
    rows = []
    for scene, (lp, sf) in {"a": (0.7, 0.5), "b": (0.6, 0.6), "c": (0.8, 0.4)}.items():
        for m, v in (("LP", lp), ("SF", sf)):
            rows.append(dict(dataset="sesf_gacn", scene=scene, method=m, metric="qg", value=v, status="ok"))
    df = pd.DataFrame(rows)
    pv = {
        "LP": {"Qg": 0.7, "first_place": {"Qg": 8}},
        "SF": {"Qg": 0.5, "first_place": {"Qg": 0}},
        "DSIFT": {"Qg": 0.52, "first_place": {"Qg": 0}},
    }
    out = paper._compare(t, pv, {"Qg": "qg"}, df, {"DSIFT": "not implemented"}, None)
    got = {(r["method"], r["metric"]): r for r in out}
    assert got[("LP", "Qg")]["ours"] == pytest.approx(0.7) and got[("LP", "Qg")]["delta"] == pytest.approx(
        0.0
    )
    assert got[("SF", "Qg")]["ours"] == pytest.approx(0.5)
    assert got[("LP", "first_place:Qg")]["ours"] == 3  # scene b is a tie: both credited
    assert got[("SF", "first_place:Qg")]["ours"] == 1
    assert got[("DSIFT", "Qg")]["ours"] is None and got[("DSIFT", "Qg")]["paper"] == 0.52
    assert all(set(r) == {"method", "metric", "paper", "ours", "delta"} for r in out)


def test_cli_json_small_table(tmp_path, data_dir, reference_dir, monkeypatch, capsys):
    """A cut-down table (2 rows, 2 scenes) through the real runner and CLI."""
    small = dataclasses.replace(
        paper.TABLES["sesf2020-table2"],
        id="sesf2020-table2",
        scenes=("color_lytro_01", "gray_mwg_clock"),
        rows={
            "SF": ("average", {"quantize": "truncate"}),
            "LP": ("lp", {"quantize": "truncate"}),
            "DSIFT": None,
        },
        metrics={"Qg": ("qg",), "Qm": ("no_such_metric",)},
    )
    monkeypatch.setitem(paper.TABLES, "sesf2020-table2", small)
    rc = cli_main(
        [
            "paper",
            "sesf2020-table2",
            "--json",
            "--jobs",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path / "p"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--reference",
            str(reference_dir / "paper_tables.json"),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    rows = {(r["method"], r["metric"]): r for r in out["rows"]}
    assert out["absent"] == ["DSIFT"] and out["metric_ids"] == {"Qg": "qg", "Qm": None}
    assert rows[("LP", "Qg")]["paper"] == 0.6731 and 0.3 < rows[("LP", "Qg")]["ours"] < 1.0
    assert rows[("LP", "Qg")]["delta"] == pytest.approx(rows[("LP", "Qg")]["ours"] - 0.6731)
    assert rows[("LP", "Qm")]["ours"] is None  # metric not registered -> no number, never 0
    res = pd.read_csv(tmp_path / "p" / "results.csv")
    assert set(res["protocol"]) == {"sesf2020"} and set(res["method"]) == {"SF", "LP"}


@pytest.mark.slow
def test_sesf_table2_reproduces_verified_rows(data_dir, reference_dir, tmp_path):
    """Full 38 pairs: the rows verified in shared/docs/methods.md 7.13 match the paper's Qg means."""
    res = paper.regenerate(
        "sesf2020-table2",
        jobs=-1,
        progress=False,
        out=str(tmp_path / "p"),
        reference=str(reference_dir / "paper_tables.json"),
    )
    got = {(r["method"], r["metric"]): r for r in res.rows}
    # tolerance 0.002: methods.md 7.13 reports ours-vs-paper |d| <= 0.0011 for these rows
    for name in ("LP", "RP", "DTCWT", "SF"):
        if name in res.absent:
            continue
        r = got[(name, "Qg")]
        assert abs(r["delta"]) < 2e-3, (name, r)
    # Qm: these rows were evaluated on [0, 1] for gray pairs too (protocol sesf2020_rgb); the records give
    # LP 2.9642, RP 2.9460, DTCWT 2.9583, GF 2.8506, reproduced to < 1e-4 (on plain sesf2020 LP was -0.11 off)
    for name in ("LP", "RP", "DTCWT", "GF"):
        if name not in res.absent:
            assert abs(got[(name, "Qm")]["delta"]) < 1e-3, (name, got[(name, "Qm")])
    if "SESF-Fuse" not in res.absent and "SESF-Fuse" in {k[0] for k in got}:
        assert abs(got[("SESF-Fuse", "Qg")]["delta"]) < 2e-3
    assert np.isfinite([r["ours"] for r in res.rows if r["method"] == "LP" and r["ours"] is not None]).all()


def _numbers(node, path=()):
    """Every numeric leaf of a JSON tree as {path: value}."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(_numbers(v, (*path, k)))
        return out
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return {path: node}
    return {}


def test_packaged_transcription_is_the_default_and_has_every_table():
    """`bench paper` needs no reference folder: the published numbers ship in bench/paper_tables.json."""
    assert paper.reference_file() == paper.PACKAGED_TABLES
    ref = json.loads(paper.PACKAGED_TABLES.read_text())
    for t in paper.TABLES.values():
        vals = paper.paper_values(t, ref)
        assert set(t.rows) <= set(vals), t.id
    # every table names the paper it was transcribed from
    for key, node in ref.items():
        if not key.startswith("_"):
            assert isinstance(node.get("paper"), str) and node["paper"], key


def test_packaged_transcription_matches_the_shared_reference(reference_dir):
    ours = _numbers(json.loads(paper.PACKAGED_TABLES.read_text()))
    theirs = _numbers(json.loads((reference_dir / "paper_tables.json").read_text()))
    assert ours == theirs


def test_paper_default_output_is_a_run_folder_not_tracked_files():
    out = paper.default_out_dir("sesf2020-table2")
    assert out.parts[:2] == ("results", "runs") and out.name.endswith("--paper-sesf2020-table2")


def test_missing_reference_file_is_a_user_error(tmp_path):
    from bench.errors import UserError

    with pytest.raises(UserError, match="no such file"):
        paper.reference_file(tmp_path / "nope.json")


def test_reimplemented_seed_table_with_flat_values_runs(tmp_path, capsys):
    """sff-table2 (the paper prints {row: SSIM}) regenerates on the embedded GT set: paper vs ours rows."""
    rc = cli_main(
        [
            "paper",
            "sff-table2",
            "--limit",
            "2",
            "--json",
            "--jobs",
            "1",
            "--no-progress",
            "--out",
            str(tmp_path / "p"),
            "--cache-dir",
            str(tmp_path / "c"),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    rows = {(r["method"], r["metric"]): r for r in out["rows"]}
    assert out["absent"] == ["PCA-Net"] and out["metric_ids"] == {"SSIM": "ssim_gt"}
    r = rows[("Proposed CNN", "SSIM")]
    assert r["paper"] == 0.92 and 0.0 < r["ours"] <= 1.0
    assert r["delta"] == pytest.approx(r["ours"] - 0.92)
    assert rows[("DWT", "SSIM")]["paper"] == 0.79 and rows[("DWT", "SSIM")]["ours"] is not None


def test_markdown_table_for_model_cards():
    """`bench paper --markdown`: one Markdown row per regenerated (row, metric), our ids and parameters."""
    from bench.paper_reimpl import format_markdown

    t = dataclasses.replace(
        paper.TABLES["msrsf-table1"], rows={"SR": ("sr", {"overlap": 6}), "CNN": None, "Ours": ("msrsf", {})}
    )
    rows = [
        paper._row("SR", "QABF", 0.7, 0.71),
        paper._row("SR", "IFC", 9.5, None),
        paper._row("CNN", "QABF", 0.73, None),
        paper._row("Ours", "QABF", 0.7374, 0.7416),
    ]
    res = paper.PaperResult(
        t, rows, {"CNN": "not implemented in mfif-bench"}, {"QABF": "qabf", "IFC": "ifc"}, None
    )
    lines = format_markdown(res).splitlines()
    assert lines[0] == "| row | metric (our id) | paper | ours | delta |"
    assert lines[2] == "| SR (`sr`, overlap=6) | QABF (`qabf`) | 0.7000 | 0.7100 | +0.0100 |"
    assert lines[3] == "| SR (`sr`, overlap=6) | IFC (`ifc`) | 9.5000 | – | – |"
    assert lines[4] == "| Ours (`msrsf`) | QABF (`qabf`) | 0.7374 | 0.7416 | +0.0042 |"
    assert lines[-1] == "absent: CNN (not implemented in mfif-bench)" and len(lines) == 7
