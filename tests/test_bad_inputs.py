"""One-line errors everywhere: a table of bad inputs for fuse, score, run, report, check and paper.

Each case must exit with status 2 and print exactly one stderr line starting with ``error:`` that
names the file or parameter, and no traceback. The table runs in process through ``bench.cli.main``
(an exception escaping it fails the test just as a traceback would); a few cases also run as real
subprocesses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from bench.cli import main

REPO = Path(__file__).resolve().parent.parent
HAVE_LYTRO = (Path(os.environ.get("MFIF_DATA", "/nonexistent")) / "lytro").is_dir()


def _img(path: Path, shape, seed=1) -> str:
    rng = np.random.default_rng(seed)  # fixture only
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return str(path)


def _results(run: Path, rows: list[list]) -> Path:
    run.mkdir(parents=True, exist_ok=True)
    cols = ["dataset", "scene", "method", "metric", "value", "status", "message", "protocol", "device"]
    pd.DataFrame(rows, columns=cols).to_csv(run / "results.csv", index=False)
    return run


def _ok_rows():
    return [["d", "s1", "m", "en", 7.0, "ok", "", "standard", "cpu"],
            ["d", "s2", "m", "en", 6.5, "ok", "", "standard", "cpu"]]


def _case(name: str, t: Path):  # -> (argv, needle)
    a, b = _img(t / "a.png", (24, 32)), _img(t / "b.png", (24, 32), 2)
    tiny = [_img(t / f"t{k}.png", (1, 1), k) for k in (1, 2)]
    small = [_img(t / f"s{k}.png", (3, 3), k) for k in (1, 2)]
    out = str(t / "o.png")
    if name == "fuse_1x1":
        return ["fuse", "-m", "lp", "-o", out, *tiny], "too small"
    if name == "fuse_3x3":
        return ["fuse", "-m", "dwt", "-o", out, *small], "3x3"
    if name == "fuse_nan_pixels":
        import tifffile

        v = np.full((24, 32), 0.5, np.float32)
        v[3, 4] = np.nan
        tifffile.imwrite(t / "nan.tif", v)
        return ["fuse", "-m", "average", "-o", out, a, str(t / "nan.tif")], "nan.tif"
    if name == "fuse_float_range":
        import tifffile

        tifffile.imwrite(t / "f255.tif", np.full((24, 32), 200.0, np.float32))
        return ["fuse", "-m", "average", "-o", out, a, str(t / "f255.tif")], "--input-range"
    if name == "fuse_param_abc":
        return ["fuse", "-m", "lp", "--param", "levels=abc", "-o", out, a, b], "levels"
    if name == "fuse_param_50":
        return ["fuse", "-m", "lp", "--param", "levels=50", "-o", out, a, b], "levels=50"
    if name == "fuse_param_unknown":
        return ["fuse", "-m", "lp", "--param", "level=3", "-o", out, a, b], "'level'"
    if name == "fuse_param_choice":
        return ["fuse", "-m", "lp", "--param", "quantize=up", "-o", out, a, b], "quantize"
    if name == "fuse_out_is_dir":
        (t / "outdir").mkdir()
        return ["fuse", "-m", "average", "-o", str(t / "outdir"), a, b], "outdir"
    if name == "fuse_out_not_writable":
        (t / "afile").write_text("x")
        return ["fuse", "-m", "average", "-o", str(t / "afile" / "o.png"), a, b], "o.png"
    if name == "fuse_out_unknown_format":
        return ["fuse", "-m", "average", "-o", str(t / "o.gif"), a, b], "o.gif"
    if name == "fuse_no_decision_map":
        return ["fuse", "-m", "average", "-o", out, "--decision-map", str(t / "dm.png"), a, b], "decision map"
    if name == "fuse_bad_input_range":
        return ["fuse", "-m", "average", "--input-range", "9,1", "-o", out, a, b], "--input-range"
    if name == "score_metrics_none":
        return ["score", "--fused", a, "--metrics", "none", a, b], "--metrics"
    if name == "score_nan_fused":
        import tifffile

        tifffile.imwrite(t / "fn.tif", np.full((24, 32), np.inf, np.float32))
        return ["score", "--fused", str(t / "fn.tif"), "--metrics", "en", a, b], "fn.tif"
    if name == "run_jobs_0":
        return ["run", "--methods", "average", "--metrics", "en", "--jobs", "0", "--out", str(t / "r")], \
            "--jobs 0"
    if name == "run_jobs_neg5":
        return ["run", "--methods", "average", "--metrics", "en", "--jobs", "-5", "--out", str(t / "r")], \
            "--jobs -5"
    if name == "run_gt_metric_without_gt":
        return ["run", "--methods", "average", "--dataset", "lytro", "--metrics", "psnr_gt", "--out",
                str(t / "r")], "psnr_gt"
    if name == "report_non_numeric":
        rows = _ok_rows()
        rows[1][4] = "abc"
        return ["report", str(_results(t / "run", rows)), "--no-plots"], "line 3"
    if name == "report_duplicates":
        rows = _ok_rows() + [["d", "s1", "m", "en", 9.0, "ok", "", "standard", "cpu"]]
        return ["report", str(_results(t / "run", rows)), "--no-plots"], "lines 2, 4"
    if name == "report_jobs_0":
        return ["report", str(_results(t / "run", _ok_rows())), "--jobs", "0"], "--jobs 0"
    if name == "report_missing":
        return ["report", str(t / "nowhere")], "nowhere"
    if name == "check_non_numeric":
        rows = _ok_rows()
        rows[0][4] = "n/a"
        run = _results(t / "run", rows)
        return ["check", str(run), "--baseline", str(t / "base.csv")], "results.csv"
    if name == "check_missing_baseline":
        run = _results(t / "run", _ok_rows())
        return ["check", str(run), "--baseline", str(t / "nobase.csv")], "nobase.csv"
    if name == "paper_jobs_0":
        return ["paper", "sesf2020-table2", "--jobs", "0"], "--jobs 0"
    raise AssertionError(name)


CASES = ["fuse_1x1", "fuse_3x3", "fuse_nan_pixels", "fuse_float_range", "fuse_param_abc", "fuse_param_50",
         "fuse_param_unknown", "fuse_param_choice", "fuse_out_is_dir", "fuse_out_not_writable",
         "fuse_out_unknown_format", "fuse_no_decision_map", "fuse_bad_input_range",
         "score_metrics_none",
         "score_nan_fused", "run_jobs_0", "run_jobs_neg5", "run_gt_metric_without_gt", "report_non_numeric",
         "report_duplicates", "report_jobs_0", "report_missing", "check_non_numeric",
         "check_missing_baseline", "paper_jobs_0"]


@pytest.mark.parametrize("name", CASES)
def test_bad_input_is_one_line_error(tmp_path, capsys, name):
    if name == "run_gt_metric_without_gt" and not HAVE_LYTRO:
        pytest.skip("lytro not in $MFIF_DATA")
    argv, needle = _case(name, tmp_path)
    capsys.readouterr()
    rc = main(argv)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0], lines[0]
    if name.startswith("fuse"):
        assert not (tmp_path / "o.png").exists()  # nothing written before the error


@pytest.mark.parametrize("name", ["fuse_param_abc", "fuse_1x1", "report_non_numeric"])
def test_bad_input_subprocess(tmp_path, name):
    argv, needle = _case(name, tmp_path)
    cp = subprocess.run([sys.executable, "-m", "bench", *argv], capture_output=True, text=True, cwd=REPO,
                        env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)
    assert cp.returncode == 2 and "Traceback" not in cp.stderr
    assert cp.stderr.strip().startswith("error: ") and cp.stderr.strip().count("\n") == 0, cp.stderr
    assert needle in cp.stderr


def test_report_no_plots_names_only_written_files(tmp_path, capsys):
    run = _results(tmp_path / "run", _ok_rows())
    assert main(["report", str(run), "--no-plots"]) == 0
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if ln.startswith("report:")][0]
    assert "report.html" not in line and "figures" not in line and "tables.md" in line
    assert not (run / "report" / "report.html").exists()


def test_exact_duplicates_are_dropped_quietly(tmp_path):
    from bench.runner import read_results

    run = _results(tmp_path / "run", _ok_rows() + [_ok_rows()[0]])
    assert len(read_results(run)) == 2
