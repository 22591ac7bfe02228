"""Ranked tables, significance, figures and the HTML report (rendered in headless Chromium)."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from test_runner import _cfg, fake  # noqa: F401  (fixture re-used)

from bench import registry
from bench.registry import Metric
from bench.report import summarize, summarize_dataset, to_latex, to_markdown
from bench.significance import bootstrap_ci, holm, paired_wilcoxon, versus_leader
from bench.types import MetricInfo


def _long(values: dict[str, list[float]], metric: str = "en", status: dict | None = None) -> pd.DataFrame:
    rows = []
    for m, vals in values.items():
        for k, v in enumerate(vals):
            st = (status or {}).get((m, k), "ok")
            rows.append(
                dict(
                    dataset="d",
                    scene=f"s{k}",
                    method=m,
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
                    dataset="d",
                    scene=f"s{k}",
                    method=m,
                    metric="time_fuse_s",
                    value=0.1 * (1 + k),
                    status="ok",
                    message="",
                    protocol="standard",
                    device="cpu",
                )
            )
    return pd.DataFrame(rows)


class TestTables:
    def test_first_place_ties_credit_every_tied_method(self):
        df = _long({"a": [1.0, 0.5, 0.7], "b": [1.0, 0.6, 0.2], "c": [0.2, 0.6, 0.1]})
        s = summarize_dataset(df, "d")
        fp = s.cells.set_index("method")["first_place"].to_dict()
        assert fp == {"a": 2, "b": 2, "c": 1}  # scene 0: a,b tie; scene 1: b,c tie; scene 2: a

    def test_rank_direction_follows_metric_metadata(self, monkeypatch):
        registry.load_all()
        info = MetricInfo(id="lowfake", name="low", higher_is_better=False)
        monkeypatch.setitem(
            registry.METRICS._entries, "lowfake", Metric(info, lambda s, f, reference=None: 0.0)
        )
        df = _long({"a": [1.0, 2.0], "b": [3.0, 4.0]}, metric="lowfake")
        s = summarize_dataset(df, "d")
        c = s.cells.set_index("method")
        assert c.loc["a", "rank"] == 1 and c.loc["b", "rank"] == 2 and bool(c.loc["a", "leader"])
        assert c.loc["a", "first_place"] == 2
        assert list(s.methods["method"]) == ["a", "b"]

    def test_failures_are_excluded_and_counted(self):
        df = _long({"a": [1.0, np.nan, 3.0], "b": [0.5, 0.5, 0.5]}, status={("a", 1): "error"})
        s = summarize_dataset(df, "d")
        c = s.cells.set_index("method")
        assert (
            c.loc["a", "mean"] == pytest.approx(2.0) and c.loc["a", "n"] == 2 and c.loc["a", "n_failed"] == 1
        )
        md = to_markdown([s])
        assert "[1 failed]" in md
        assert s.methods.set_index("method").loc["a", "metric_failures"] == 1

    def test_mean_std_time_values(self):
        df = _long({"a": [1.0, 2.0, 4.0], "b": [0.0, 0.0, 0.0]})
        s = summarize_dataset(df, "d")
        a = s.cells.set_index("method").loc["a"]
        assert a["mean"] == pytest.approx(7 / 3) and a["std"] == pytest.approx(np.std([1, 2, 4], ddof=1))
        assert s.methods.set_index("method").loc["a", "time_mean_s"] == pytest.approx(0.2)
        md = to_markdown([s])
        assert "**2.3333** ± 1.5275 (3) #1" in md

    def test_latex_and_markdown_render(self):
        df = _long({"m_1": [1.0, 2.0], "b": [0.5, 0.1]})
        tex = to_latex(summarize(df))
        assert r"\begin{tabular}" in tex and r"m\_1" in tex and r"\textbf{1.5000}" in tex
        assert "| 1 | m_1 |" in to_markdown(summarize(df))


class TestSignificance:
    def test_holm_matches_hand_computation(self):
        # sorted p: 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04)=0.06
        np.testing.assert_allclose(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
        assert np.isnan(holm([np.nan, 0.2])[0]) and holm([np.nan, 0.2])[1] == pytest.approx(0.2)

    def test_wilcoxon_exact_values(self):
        # 10 positive paired differences: exact one-sided p = 2**-10
        a, b = np.arange(10.0) + 1.0, np.zeros(10)
        assert paired_wilcoxon(a, b, True) == pytest.approx(2.0**-10)
        assert paired_wilcoxon(a, b, False) == pytest.approx(1.0)
        assert math.isnan(paired_wilcoxon(a, a, True))

    def test_leader_marks(self):
        rng = np.random.default_rng(0)  # fixed seed; the assertion holds for any seed (differences are +1)
        base = rng.random(12)
        res = versus_leader(
            {"lead": base + 1.0, "close": base + 1.0 - 1e-3 * (np.arange(12) % 2 - 0.5), "far": base},
            "lead",
            True,
        )
        assert res["far"][1] < 0.05  # clearly worse on every scene
        assert res["close"][1] >= 0.05  # indistinguishable

    def test_bootstrap_ci(self):
        x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
        lo, hi = bootstrap_ci(x)
        assert lo < 3.0 < hi and 1.0 <= lo and hi <= 5.0
        assert bootstrap_ci(x) == (lo, hi)  # seeded
        assert all(math.isnan(v) for v in bootstrap_ci(np.array([1.0])))


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _render(path) -> str:
    exe = _chromium()
    if exe is None:
        pytest.skip("headless Chromium not installed (apt-get install -y chromium)")
    cp = subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--window-size=1400,900",
            "--dump-dom",
            path.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return cp.stdout


def test_report_files_and_html_renders(tmp_path, fake):  # noqa: F811
    from bench.runner import run
    from bench.views import make_report

    s = run(_cfg(tmp_path, metrics=("en", "en@vifb")))
    md = make_report(s.out, plots=True)
    rep = s.out / "report"
    assert "### fake (3 scenes, 2 metrics): headline" in md
    for name in ("tables.md", "tables.tex", "summary.csv", "report.html"):
        assert (rep / name).is_file()
    summ = pd.read_csv(rep / "summary.csv")
    assert {"ci95_low", "ci95_high", "p_holm", "first_place", "avg_rank", "time_mean_s"} <= set(summ.columns)
    assert (rep / "cells.csv").is_file()
    for stem in ("bars_fake", "per_image_fake", "pareto_fake", "grid_fake"):
        assert (rep / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (rep / "figures" / f"{stem}.pdf").stat().st_size > 1000
    dom = _render(rep / "report.html")
    assert 'data-images="4"' in dom and 'data-broken-images="0"' in dom
    assert 'data-hscroll="false"' in dom  # no horizontal scroll at 1400 px
    # the check can fail: a missing figure is reported as broken
    (rep / "figures" / "bars_fake.png").unlink()
    assert 'data-broken-images="1"' in _render(rep / "report.html")


def test_printed_table_is_the_headline():
    frames = [_long({"a": [1.0, 2.0], "b": [0.5, 0.1]}, metric=m) for m in ("en", "en@vifb", "en@cddfuse")]
    df = pd.concat(frames).drop_duplicates(["scene", "method", "metric"])
    s = summarize(df)
    full = to_markdown(s)
    short = to_markdown(s, max_metrics=13)
    assert "| 1 | a | **1.5000** ± 0.7071 (2) #1" in full and "headline" in short
    assert "| a | **1.5000** | **1.5000** | **1.5000** | 1.00 |" in short  # a wins all three, one family


def test_figures_drawn_in_parallel_are_the_same_set(tmp_path, fake):  # noqa: F811
    from bench.plots import write_figures
    from bench.runner import run

    s = run(_cfg(tmp_path, metrics=("en", "en@vifb", "sd")))
    one = write_figures(s.out, tmp_path / "f1", jobs=1)
    two = write_figures(s.out, tmp_path / "f2", jobs=2)
    names = [(f.title, f.png.name, f.pdf.name) for f in one]
    assert names == [(f.title, f.png.name, f.pdf.name) for f in two]
    for f in two:
        assert f.png.stat().st_size > 1000 and f.pdf.stat().st_size > 1000
