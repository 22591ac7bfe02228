"""``bench paper liu2020-table6/7``: offline on the survey images in shared, paper vs ours, missing listed."""

from __future__ import annotations

import json

import pytest

from bench.cli import main


@pytest.fixture()
def survey(data_dir, reference_dir):
    if not (reference_dir / "yuliu2020" / "per_image_values.json").is_file():
        pytest.skip("needs shared/reference/yuliu2020")
    return reference_dir


def test_table6_subset_json(survey, capsys):
    rc = main(["paper", "liu2020-table6", "--json", "--scenes", "g_09", "--survey-methods", "dsift,gff",
               "--ours", "gf", "--jobs", "1"])  # fmt: skip
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    rows = {(r["method"], r["metric"]): r for r in out["rows"]}
    assert {m for m, _ in rows} == {"dsift", "gff", "ours:gf"}
    assert {c for _, c in rows} == {"QMI", "QNCIE", "QG", "QP", "QE", "QY", "QCB", "QCV"}
    values = json.loads((survey / "yuliu2020" / "per_image_values.json").read_text())["values"]["grayscale"]
    for (m, c), r in rows.items():
        assert set(r) >= {"method", "metric", "paper", "ours", "delta"}
        if m.startswith("ours:"):
            assert r["paper"] is None and r["delta"] is None and r["ours"] is not None
            continue
        assert r["paper"] == values[m][c][8]  # g_09 is image 9: mean over one image = the authors' value
        assert abs(r["delta"]) <= 1e-9 * abs(r["paper"]), (m, c, r)
        assert r["delta"] == r["ours"] - r["paper"]
    assert out["images"] == ["g_09"] and out["partial"]


def test_table7_text_says_what_is_missing(survey, capsys):
    rc = main(["paper", "liu2020-table7", "--limit", "1", "--survey-methods", "gff", "--ours", "none",
               "--jobs", "1"])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "images scored: 1 of 20 (lytro-01)" in text
    assert "lytro-20" in text.split("MISSING")[1]  # the 19 colour scenes without published images here
    assert "gff" in text and "QCV" in text


def test_unknown_survey_method_is_a_user_error(survey, capsys):
    assert main(["paper", "liu2020-table6", "--survey-methods", "nope", "--ours", "none"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown survey method")
