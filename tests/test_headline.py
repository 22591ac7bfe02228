"""Metric suites and families, the headline table, the counts line, LaTeX, label placement, meta-evaluation
helpers and the rendered ground-truth photo set."""

from __future__ import annotations

import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from bench.errors import UserError
from bench.registry import METRICS, get_metric, list_metrics


class TestSuites:
    def test_fixed_suites_name_registered_ids(self):
        from metrics.suites import SUITES, suite_members

        for sid, s in SUITES.items():
            members = suite_members(sid)
            assert members, sid
            assert all(m in METRICS for m in members), sid
            if s.rule is None:
                assert len(set(members)) == len(members), f"@{sid} lists an id twice"

    def test_mfifb_lists_its_twenty_metrics(self):
        from metrics.suites import get_suite

        s = get_suite("mfifb")
        assert len(s.members) + len(s.absent) == 20

    def test_core_is_one_id_per_family_and_about_a_dozen(self):
        from metrics.suites import metric_family, suite_members

        core = suite_members("core")
        assert 10 <= len(core) <= 16
        assert len({metric_family(m) for m in core}) == len(core)
        assert not any(get_metric(m).info.needs_reference for m in core)

    def test_gt_and_nr_partition_the_registry(self):
        gt, nr = set(list_metrics("@gt")), set(list_metrics("@nr"))
        assert gt and nr and not gt & nr and gt | nr == set(list_metrics("all"))
        assert {"ssim_gt", "psnr_gt"} <= gt

    def test_metrics_option_mixes_suites_ids_and_globs(self):
        ids = list_metrics("@sesf2020,ssim_gt,fmi_*")
        assert {"qg", "qm", "qcb", "ssim_gt", "fmi_edge", "fmi_w"} <= set(ids)
        assert len(ids) == len(set(ids))

    def test_unknown_suite_is_a_user_error(self):
        with pytest.raises(UserError, match="unknown metric suite '@nope'"):
            list_metrics("@nope")

    def test_cli_unknown_suite_exits_2(self, capsys):
        from bench.cli import main

        assert main(["run", "--metrics", "@nope", "--no-plots", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: unknown metric suite '@nope'") and "Traceback" not in err

    def test_run_default_is_core_plus_gt(self):
        from bench.cli import build_parser

        args = build_parser().parse_args(["run"])
        assert args.metrics == "@core,@gt"


class TestFamilies:
    def test_variants_share_a_family(self):
        from metrics.suites import metric_family

        assert {metric_family(m) for m in ("en", "en@vifb", "en@cddfuse")} == {"en"}
        assert {metric_family(m) for m in ("qy", "qy@liu", "qy@mefb", "qy@sesf")} == {"qy"}
        assert metric_family("viff@cddfuse") == "vif" != metric_family("viff")
        assert metric_family("mse") == metric_family("psnr@vifb") == "psnr"
        assert metric_family("fmi_w") == metric_family("fmi_edge")

    def test_family_rank_counts_a_definition_once(self):
        from bench.headline import family_rank

        # a wins en (computed under 3 ids) and loses sd and qg: per id a would average 5/3 < b's 4/3?
        # no: per id a = (1+1+1+2+2)/5 = 1.4, b = 1.6; per family a = (1+2+2)/3 = 1.67, b = 1.33
        rows = []
        for metric, ra in (("en", 1), ("en@vifb", 1), ("en@cddfuse", 1), ("sd", 2), ("qg", 2)):
            rows += [
                {"method": "a", "metric": metric, "rank": float(ra)},
                {"method": "b", "metric": metric, "rank": float(3 - ra)},
            ]
        cells = pd.DataFrame(rows)
        r = family_rank(cells, list(dict.fromkeys(cells["metric"])), ["a", "b"])
        assert r["a"] == pytest.approx(5 / 3) and r["b"] == pytest.approx(4 / 3)


def _long(metric_values: dict, scenes=3, status: dict | None = None) -> pd.DataFrame:
    rows = []
    for (method, metric), vals in metric_values.items():
        for k in range(scenes):
            st = (status or {}).get((method, metric, k), "ok")
            rows.append(
                dict(
                    dataset="d",
                    scene=f"s{k}",
                    method=method,
                    metric=metric,
                    value=vals[k],
                    status=st,
                    message="",
                    protocol="standard",
                    device="cpu",
                )
            )
    for method in {m for m, _ in metric_values}:
        for k in range(scenes):
            rows.append(
                dict(
                    dataset="d",
                    scene=f"s{k}",
                    method=method,
                    metric="time_fuse_s",
                    value=0.1,
                    status="ok",
                    message="",
                    protocol="standard",
                    device="cpu",
                )
            )
    return pd.DataFrame(rows)


class TestHeadline:
    def test_many_metrics_give_gt_first_then_core_within_16_columns(self):
        from bench.headline import MAX_METRICS, headline_metrics
        from metrics.suites import metric_family, suite_members

        all_ids = list_metrics("all")
        h = headline_metrics(all_ids)
        assert h[:3] == ["ssim_gt", "psnr_gt", "dm_acc"]  # at most 3 ground-truth families
        assert len(h) <= MAX_METRICS and MAX_METRICS + 3 <= 16
        assert len({metric_family(m) for m in h}) == len(h)
        assert h[3:] == suite_members("core")[: len(h) - 3]

    def test_few_metrics_are_all_shown_gt_first(self):
        from bench.headline import headline_metrics

        assert headline_metrics(["en", "en@vifb", "ssim_gt"]) == ["ssim_gt", "en", "en@vifb"]

    def test_headline_table_and_summary_csv(self):
        from bench.report import headline_frame, summarize, summary_csv, to_markdown

        vals = {
            ("a", "ssim_gt"): [0.9, 0.8, 0.95],
            ("b", "ssim_gt"): [0.5, 0.6, 0.4],
            ("a", "en"): [1.0, 2.0, 3.0],
            ("b", "en"): [3.0, 4.0, 5.0],
        }
        s = summarize(_long(vals))
        t = headline_frame(s[0])
        assert list(t.columns) == ["method", "ssim_gt ↑", "en ↑", "rank", "time (s)"]
        md = to_markdown(s, max_metrics=13)
        assert "headline" in md and "**0.8833**" in md
        csv = summary_csv(s)
        assert list(csv["metric"].unique()) == ["ssim_gt", "en"] and {
            "ci95_low",
            "p_holm",
            "avg_rank",
        } <= set(csv)

    def test_counts_separate_errors_nan_and_cached(self):
        from bench.headline import counts, counts_line

        vals = {("a", "en"): [1.0, np.nan, np.nan], ("b", "en"): [1.0, 2.0, 3.0]}
        df = _long(vals, status={("a", "en", 1): "error"})
        c = counts(df, {"score_errors": 0, "fuse_errors_cached": 0})
        assert c == {
            "fusion_errors": 0,
            "fusion_skipped": 0,
            "metric_errors": 1,
            "nan_values": 1,
            "cached_errors": 1,
        }
        assert "metric errors 1" in counts_line(df) and "NaN values 1" in counts_line(df)


class TestLatex:
    def test_escapes_specials(self):
        from bench.report import _tex_escape

        assert _tex_escape("a_b #1 50% x&y") == r"a\_b \#1 50\% x\&y"
        assert _tex_escape("**0.5** ± 0.1†") == r"\textbf{0.5} $\pm$ 0.1$^\dagger$"

    def test_tables_tex_compiles(self, tmp_path):
        from bench.report import summarize, to_latex

        if shutil.which("pdflatex") is None:
            pytest.skip(
                "pdflatex not installed (apt-get install texlive-latex-base texlive-latex-recommended)"
            )
        vals = {
            ("m_1#", "en"): [1.0, 2.0, 3.0],
            ("b%&", "en"): [0.5, 0.1, 0.2],
            ("m_1#", "qy@liu"): [np.nan, 0.2, 0.3],
            ("b%&", "qy@liu"): [0.1, 0.1, 0.1],
        }
        tex = to_latex(summarize(_long(vals)))
        (tmp_path / "t.tex").write_text(tex)
        cp = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert cp.returncode == 0, cp.stdout[-2000:]
        assert (tmp_path / "t.pdf").stat().st_size > 1000


def test_pareto_labels_do_not_overlap():
    from bench.plots import place_labels

    rng = np.random.default_rng(3)  # the property must hold for these scattered points
    pts = rng.uniform([20, 20], [300, 200], size=(12, 2))
    sizes = np.tile([30.0, 7.0], (12, 1))
    off = place_labels(pts, sizes, (400.0, 300.0))
    boxes = []
    for (px, py), (dx, dy), (w, h) in zip(pts, off, sizes, strict=True):
        x0 = px + dx if dx >= 0 else px + dx - w
        boxes.append((x0, py + dy, x0 + w, py + dy + h))
    overlaps = sum(
        not (a[2] <= b[0] or a[0] >= b[2] or a[3] <= b[1] or a[1] >= b[3])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
    )
    assert overlaps == 0


class TestMeta:
    def test_kendall_b_and_orientation(self):
        from bench.meta import _oriented, kendall_b

        assert kendall_b(np.array([1, 2, 3, 4.0]), np.array([4, 3, 2, 1.0])) == pytest.approx(-1.0)
        assert math.isnan(kendall_b(np.array([1, 1, 1.0]), np.array([1, 2, 3.0])))
        assert kendall_b(_oriented("mse", np.array([1, 2, 3.0])), np.array([3, 2, 1.0])) == pytest.approx(1.0)

    def test_degradations_lower_ssim_gt_monotonically(self):
        from bench.meta import DEGRADATIONS, degrade
        from bench.scoring import score_images
        from bench.synthetic import SPECS, render

        r = render(SPECS[0])
        gt, srcs = r["reference"], r["sources"]
        avg = np.mean(srcs, axis=0).astype(np.float32)
        for kind, levels in DEGRADATIONS.items():
            v = [
                score_images(srcs, degrade(gt, kind, lv, avg, seed=1), ["ssim_gt"], reference=gt)[0].value
                for lv in levels
            ]
            assert np.all(np.diff(v) < 0), (kind, v)

    def test_agreement_and_verdicts(self):
        from bench.meta import agreement, trust_table

        rows = []
        for k in range(6):
            for j, m in enumerate("abcd"):
                for metric, v in (("ssim_gt", j), ("psnr_gt", j), ("qg", j + 0.1 * k), ("mse", j)):
                    rows.append(
                        dict(dataset="d", scene=f"s{k}", method=m, metric=metric, value=float(v), status="ok")
                    )
        agree = agreement(pd.DataFrame(rows), ["qg", "mse"])
        t = trust_table(agree, pd.DataFrame(), ["qg", "mse"]).set_index("metric")
        assert t.loc["qg", "tau_ssim_gt"] == pytest.approx(1.0) and t.loc["qg", "win_rate"] == 1.0
        assert t.loc["mse", "tau_ssim_gt"] == pytest.approx(-1.0)  # lower is better: reversed ranking
        assert t.loc["mse", "verdict"] == "avoid" and t.loc["qg", "verdict"] == "partial"  # no degradations

    def test_meta_command_end_to_end(self, tmp_path, capsys):
        import json

        from bench.cli import main

        rc = main(
            [
                "meta",
                "--dataset",
                "synthetic",
                "--methods",
                "average,max,lp",
                "--metrics",
                "sf,en,mse",
                "--limit",
                "3",
                "--degradation-scenes",
                "1",
                "--jobs",
                "1",
                "--no-progress",
                "--json",
                "--out",
                str(tmp_path / "m"),
                "--cache-dir",
                str(tmp_path / "c"),
            ]
        )
        assert rc == 0
        out = json.loads(capsys.readouterr().out)
        assert set(out["metrics"]) == {"sf", "en", "mse"}
        sf = out["metrics"]["sf"]
        assert sf["n_scenes"] == 3 and -1 <= sf["tau_ssim_gt"]["mean"] <= 1
        assert sf["degradations"]["blur"]["rho"] == pytest.approx(1.0)  # blur lowers SF at every step
        for name in ("meta.md", "meta.csv", "meta.png", "meta.json"):
            assert (tmp_path / "m" / name).is_file()

    def test_meta_refuses_dataset_without_ground_truth(self, capsys):
        from bench.cli import main

        assert main(["meta", "--dataset", "lytro", "--no-progress"]) == 2
        assert "needs a dataset with ground truth" in capsys.readouterr().err


class TestGtPhotos:
    def test_render_keeps_the_focused_layer_exact(self):
        from bench.gtphotos import render_photo

        rng = np.random.default_rng(0)  # any photo: the property holds by construction
        img = rng.random((40, 50, 3))
        mask = np.zeros((40, 50))
        mask[10:30, 15:35] = 1
        r = render_photo(img, mask, 2, seed=1)
        q = np.floor(img * 255 + 0.5) / 255
        np.testing.assert_allclose(r["reference"], q, atol=1e-6)
        fg = mask > 0.5
        np.testing.assert_allclose(r["sources"][1][fg], q[fg], atol=1e-6)  # near source: object sharp
        assert np.abs(r["sources"][0][fg] - q[fg]).mean() > 0.02  # far source: object blurred
        np.testing.assert_array_equal(r["focus_maps"][0] + r["focus_maps"][1], np.ones((40, 50)))
        r3 = render_photo(img, mask, 3, seed=1)
        assert len(r3["sources"]) == 3 and np.all(sum(r3["focus_maps"]) == 1)

    def test_test_stems_are_held_out_by_every_trainer(self):
        from bench.gtphotos import TEST_STEMS
        from bench.registry import load_all
        from bench.training import TRAINERS

        load_all()
        assert TEST_STEMS == tuple(f"{k:04d}" for k in range(951, 1001))
        for spec in TRAINERS.values():  # training holds out the last val_images of the 1000 sorted stems
            assert spec.val_images >= len(TEST_STEMS), spec.method_id

    def test_dataset_scenes(self, tmp_path, monkeypatch):
        import os

        if (
            not os.environ.get("MFIF_DATA")
            or not (__import__("pathlib").Path(os.environ["MFIF_DATA"]) / "train_ecssd").is_dir()
        ):
            pytest.skip("train_ecssd not found: set MFIF_DATA to the folder holding train_ecssd/")
        from bench import gtphotos
        from bench.registry import get_dataset

        monkeypatch.setenv("MFIF_CACHE", str(tmp_path))
        gtphotos.rendered.cache_clear()
        ds = get_dataset("ecssd_gt")
        assert ds.info.has_ground_truth and not ds.info.training_only
        scenes = ds.scenes()
        assert len(scenes) == 50 and sum(len(s.roles) == 3 for s in scenes) == gtphotos.N_TRIPLES
        first = scenes[0].sha256
        gtphotos.rendered.cache_clear()
        assert ds.scenes()[0].sha256 == first  # read back from the PNG cache: same bytes
        assert any((tmp_path / "rendered" / "ecssd_gt").rglob("GT.png"))


class TestDecisionMapMetrics:
    def test_hand_made_maps(self):
        from metrics.dm_quality import accuracy, boundary_f, labels_from_decision_map, mean_iou

        gt = np.zeros((20, 20), dtype=np.int64)
        gt[:, 10:] = 1
        assert accuracy(gt, gt) == 1.0 and mean_iou(gt, gt, 2) == 1.0 and boundary_f(gt, gt) == 1.0
        shifted = np.roll(gt, 1, axis=1)  # boundary one pixel off: inside the 2 px tolerance
        shifted[:, 0] = 0
        assert accuracy(shifted, gt) == pytest.approx(0.95)
        assert mean_iou(shifted, gt, 2) == pytest.approx((10 / 11 + 9 / 10) / 2)
        assert boundary_f(shifted, gt) == 1.0
        far = np.zeros_like(gt)
        far[:, 16:] = 1  # 6 px off: no boundary pixel matches
        assert boundary_f(far, gt) == 0.0
        assert boundary_f(np.zeros_like(gt), gt) == 0.0  # no boundary predicted where there is one
        inverted = 1 - gt  # sources swapped: everything wrong, the boundary right
        assert accuracy(inverted, gt) == 0.0 and mean_iou(inverted, gt, 2) == 0.0
        # the decision-map convention: index / (N - 1), soft maps rounded to the nearest index
        assert labels_from_decision_map(np.array([[0.0, 0.24, 0.26, 0.74, 1.0]]), 3).tolist() == [
            [0, 0, 1, 1, 2]
        ]

    def test_registered_in_gt_suite_and_score_one_needs_the_maps(self):
        from bench.scoring import score_one

        assert {"dm_acc", "dm_iou", "dm_bf"} <= set(list_metrics("@gt"))
        img = np.zeros((8, 8))
        s = score_one("dm_acc", [img, img], img, img)
        assert s.status == "error" and math.isnan(s.value) and "decision map" in s.message
        dm = np.zeros((8, 8))
        fm = [np.ones((8, 8)), np.zeros((8, 8))]
        assert score_one("dm_acc", [img, img], img, img, decision_map=dm, focus_maps=fm).value == 1.0

    def test_runner_gives_rows_only_for_methods_with_a_map(self, tmp_path):
        from bench.runner import MethodSpec, RunConfig, run

        cfg = RunConfig(
            methods=(MethodSpec("average"), MethodSpec("focusstack")),
            datasets=("synthetic",),
            metrics=("dm_acc", "dm_bf", "en"),
            limit=2,
            jobs=1,
            out=str(tmp_path / "o"),
            cache_dir=str(tmp_path / "c"),
            progress=False,
        )
        df = run(cfg).results
        dm = df[df["metric"].str.startswith("dm_")]
        assert set(dm["method"]) == {"focusstack"} and (dm["status"] == "ok").all() and len(dm) == 4
        assert ((dm["value"] >= 0.0) & (dm["value"] <= 1.0)).all()
        assert (dm[dm["metric"] == "dm_acc"]["value"] > 0.6).all()  # a focus measure picks mostly right
