"""The regression gate: tolerance, direction-aware improvements, missing rows, versions, --update."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from bench.check import compare, format_report, read_baseline, update
from bench.cli import main as cli_main
from bench.errors import UserError


def _run_dir(tmp_path, name, values: dict, versions=None):
    """A minimal run folder: results.csv rows for (scene, method, metric) -> value (NaN = error)."""
    d = tmp_path / name
    d.mkdir()
    rows = []
    for (scene, method, metric), v in values.items():
        st = "error" if isinstance(v, float) and math.isnan(v) else "ok"
        rows.append(
            dict(
                dataset="lytro",
                scene=scene,
                method=method,
                metric=metric,
                value=v,
                status=st,
                message="",
                protocol="standard",
                device="cpu",
            )
        )
        rows.append(
            dict(
                dataset="lytro",
                scene=scene,
                method=method,
                metric="time_fuse_s",
                value=0.123,
                status="ok",
                message="",
                protocol="standard",
                device="cpu",
            )
        )
    pd.DataFrame(rows).drop_duplicates(["scene", "method", "metric"]).to_csv(d / "results.csv", index=False)
    (d / "run.json").write_text(json.dumps({"metrics": versions or {"en": "1"}}))
    return d


BASE = {("s1", "lp", "en"): 7.0, ("s2", "lp", "en"): 6.5, ("s1", "max", "en"): 7.2}


@pytest.fixture
def baseline(tmp_path):
    path = tmp_path / "base.csv"
    c = update(_run_dir(tmp_path, "base_run", BASE), path)
    assert c == {"added": 3, "changed": 0, "unchanged": 0, "kept": 0}
    return path


def test_baseline_has_no_timing_rows_and_dates(baseline):
    b = read_baseline(baseline)
    assert set(b["metric"]) == {"en"} and len(b) == 3 and b["updated"].str.len().eq(10).all()


def test_identical_and_within_tolerance_pass(tmp_path, baseline):
    r = _run_dir(tmp_path, "r", {**BASE, ("s1", "lp", "en"): 7.0 + 1e-9})
    res = compare(r, baseline)
    assert not res.failed and res.counts() == {"ok": 3}


def test_regression_fails_improvement_passes(tmp_path, baseline):
    r = _run_dir(tmp_path, "r", {**BASE, ("s1", "lp", "en"): 6.9, ("s2", "lp", "en"): 6.6})
    res = compare(r, baseline)
    v = res.table.set_index(["scene", "method"])["verdict"]
    assert v[("s1", "lp")] == "regressed" and v[("s2", "lp")] == "improved"
    assert res.failed
    text = format_report(res)
    assert "regressed" in text and "FAIL" in text and "-0.1" in text
    # looser tolerance accepts it
    assert not compare(r, baseline, atol=0.2).failed


def test_missing_row_and_error_fail_new_rows_pass(tmp_path, baseline):
    vals = {k: v for k, v in BASE.items() if k != ("s2", "lp", "en")}
    vals[("s1", "avg", "en")] = 5.0
    res = compare(_run_dir(tmp_path, "r", vals), baseline)
    c = res.counts()
    assert c["missing"] == 1 and c["new"] == 1 and res.failed
    res2 = compare(_run_dir(tmp_path, "r2", {**BASE, ("s1", "max", "en"): float("nan")}), baseline)
    assert res2.counts().get("regressed") == 1


def test_metric_version_change_asks_for_update(tmp_path, baseline):
    r = _run_dir(tmp_path, "r", BASE, versions={"en": "2"})
    res = compare(r, baseline)
    assert res.counts() == {"version": 3} and "--update" in format_report(res)


def test_update_keeps_dates_of_unchanged_rows(tmp_path, baseline):
    b = read_baseline(baseline)
    b.loc[:, "updated"] = "2000-01-01"
    b.to_csv(baseline, index=False)
    c = update(_run_dir(tmp_path, "r", {**BASE, ("s1", "lp", "en"): 6.0, ("s9", "lp", "en"): 1.0}), baseline)
    assert c == {"added": 1, "changed": 1, "unchanged": 2, "kept": 0}
    b2 = read_baseline(baseline).set_index(["scene", "method"])
    assert b2.loc[("s1", "max"), "updated"] == "2000-01-01"
    assert b2.loc[("s1", "lp"), "updated"] != "2000-01-01" and b2.loc[("s1", "lp"), "value"] == 6.0


def test_cli_exit_codes(tmp_path, baseline, capsys):
    ok = _run_dir(tmp_path, "ok", BASE)
    bad = _run_dir(tmp_path, "bad", {**BASE, ("s1", "lp", "en"): 1.0})
    assert cli_main(["check", str(ok), "--baseline", str(baseline)]) == 0
    assert cli_main(["check", str(bad), "--baseline", str(baseline)]) == 1
    assert "regressed" in capsys.readouterr().out
    assert cli_main(["check", str(ok), "--baseline", str(tmp_path / "nope.csv")]) == 2


def test_missing_baseline_is_user_error(tmp_path):
    with pytest.raises(UserError, match="--update"):
        read_baseline(tmp_path / "none.csv")


def test_committed_baseline_is_well_formed():
    """The committed CI baseline parses, has no timing rows, and only known metrics/methods."""
    from pathlib import Path

    from bench.registry import METHODS, METRICS

    files = sorted((Path(__file__).resolve().parent.parent / "results" / "baselines").glob("*.csv"))
    assert files, "results/baselines/*.csv is committed"
    for f in files:
        b = read_baseline(f)
        assert len(b) > 0 and not b["metric"].str.startswith("time_").any()
        assert not b.duplicated(["dataset", "scene", "method", "metric", "protocol"]).any()
        assert set(b["metric"]) <= set(METRICS._entries), f
        assert set(b["method"]) <= set(METHODS._entries), f


def test_fast_subset_matches_committed_baseline(tmp_path, data_dir):
    """Always-on smoke version of the CI gate: 1 scene x 2 methods x 4 metrics against the committed
    baseline rows (the full gate, 4 scenes x classical methods x all metrics, runs in .ci/run)."""
    from pathlib import Path

    from bench.runner import MethodSpec, RunConfig, run

    committed = Path(__file__).resolve().parent.parent / "results" / "baselines" / "lytro4_classical.csv"
    assert committed.is_file()
    metrics = ("en", "qg", "qcb", "ssim")
    s = run(
        RunConfig(
            methods=(MethodSpec("average"), MethodSpec("lp")),
            datasets=("lytro",),
            metrics=metrics,
            limit=1,
            jobs=1,
            out=str(tmp_path / "r"),
            cache_dir=str(tmp_path / "c"),
            progress=False,
        )
    )
    base = read_baseline(committed)
    sub = base[(base.scene == "lytro-01") & base.method.isin(["average", "lp"]) & base.metric.isin(metrics)]
    assert len(sub) == 8
    sub.to_csv(tmp_path / "sub.csv", index=False)
    res = compare(s.out, tmp_path / "sub.csv")
    assert res.counts() == {"ok": 8}, format_report(res)
