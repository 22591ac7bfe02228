"""benchmarks/metrics_speed.py end to end on two cheap metrics: every figure in units is paired with a unit
measured right before it, and the JSON carries the paired figures and the peak memory (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _reference() -> Path | None:
    env = os.environ.get("MFIF_REFERENCE")
    data = os.environ.get("MFIF_DATA")
    ref = Path(env) if env else (Path(data).parent / "reference" if data else None)
    return ref if ref is not None and (ref / "metrics_reference.json").is_file() else None


@pytest.mark.skipif(_reference() is None, reason="needs MFIF_DATA=../shared/datasets (reference beside it)")
def test_units_are_paired_with_a_unit_measured_next_to_each_call(tmp_path):
    out = tmp_path / "ms.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "metrics_speed.py"), "--metrics", "sd,sf",
         "--repeats", "3", "--in-pass", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    assert [row["metric"] for row in d["rows"]] == ["sd", "sf"]
    for row in d["rows"]:
        # units = median over repeats of cpu / its paired unit: between the extreme per-repeat ratios, so
        # close to the ratio of the medians (the unit of a 2-core VM moves by far less than 2x in a second)
        assert row["paired_unit_cpu_s"] > 0 and row["units"] > 0
        assert 0.5 < row["units"] * row["paired_unit_cpu_s"] / row["cpu_median_s"] < 2
        assert row["in_pass_units"] > 0 and row["in_scene_pass_units"] > 0
    assert d["together_units"] > 0 and d["scene_pass_units"] > 0 and d["peak_rss_mb"] > 0
    printed = r.stdout
    assert "the unit measured right before it" in printed
    assert f"= {d['together_units']:.0f} units" in printed
    assert "peak resident memory of this process" in printed
