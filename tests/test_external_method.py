"""Stored results as a method (``run --external LABEL=DIR``): scored like the method that made them, no fusion
time, a missing file is an error row that is never cached."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from bench.commands.run_cmd import add_arguments, config_from_args
from bench.runner import run


def _cfg(tmp_path, *argv):
    import argparse

    p = argparse.ArgumentParser()
    add_arguments(p)
    args = p.parse_args(["--dataset", "synthetic", "--limit", "2", "--metrics", "en,qg", "--jobs", "1",
                         "--no-progress", "--cache-dir", str(tmp_path / "cache"), *argv])
    return config_from_args(args)


def test_stored_images_score_like_their_method(tmp_path):
    first = run(_cfg(tmp_path, "--methods", "average", "--out", str(tmp_path / "a")))
    arts = pd.read_csv(first.out / "artifacts.csv", dtype=str)
    store = tmp_path / "store" / "synthetic"
    store.mkdir(parents=True)
    for _, r in arts.iterrows():
        shutil.copy(r["fused"], store / f"{r['scene']}.png")
    second = run(_cfg(tmp_path, "--methods", "none", "--external", f"mine={tmp_path / 'store'}",
                      "--out", str(tmp_path / "b")))
    a, b = first.results, second.results
    assert set(b["method"]) == {"mine"}
    assert not b["metric"].str.startswith("time_").any()  # no fusion time for stored results
    got = b.set_index(["scene", "metric"])["value"]
    want = a[a.metric.isin(["en", "qg"])].set_index(["scene", "metric"])["value"]
    pd.testing.assert_series_equal(got.sort_index(), want.sort_index(), check_exact=True, check_names=False)
    import json

    assert json.loads((second.out / "run.json").read_text())["methods"]["mine"]["family"] == "external"


def test_missing_file_is_an_error_row_not_cached(tmp_path):
    (tmp_path / "empty").mkdir()
    res = run(_cfg(tmp_path, "--methods", "none", "--external", f"gone={tmp_path / 'empty'}",
                   "--out", str(tmp_path / "c"))).results
    assert (res["status"] == "error").all() and res["message"].str.contains("no fused image").all()
    assert res["value"].isna().all()


def test_bad_external_option_is_a_user_error(tmp_path):
    from bench.errors import UserError

    with pytest.raises(UserError, match="LABEL=DIR"):
        _cfg(tmp_path, "--external", "nolabel")
    with pytest.raises(UserError, match="not a folder"):
        _cfg(tmp_path, "--external", f"x={tmp_path / 'nope'}")
    with pytest.raises(UserError, match="stored results"):
        _cfg(tmp_path, "--methods", "external")
