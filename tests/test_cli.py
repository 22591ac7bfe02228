"""The CLI end to end: user errors are one line on stderr, non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent


def bench(*args: str, cwd: Path | None = None, drop_env: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in drop_env}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True,
                          cwd=cwd or REPO, env=env, timeout=300)


def _pair(tmp_path: Path, shape=(32, 40, 3)) -> list[str]:
    rng = np.random.default_rng(7)  # fixture only
    paths = []
    for n in "AB":
        p = tmp_path / f"{n}.png"
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def _assert_user_error(cp: subprocess.CompletedProcess, *needles: str) -> None:
    assert cp.returncode != 0
    assert "Traceback" not in cp.stderr
    lines = [ln for ln in cp.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, cp.stderr
    for n in needles:
        assert n in lines[0], cp.stderr


def test_list_datasets_shows_all():
    cp = bench("list", "datasets")
    assert cp.returncode == 0, cp.stderr
    assert "(12 datasets)" in cp.stdout
    for name in ["lytro", "lytro_triple", "mffw", "mffw3", "mfi_whu", "classic_gray", "sesf_gacn", "mfifb",
                 "stacks", "train_ecssd", "synthetic", "ecssd_gt"]:
        assert f"\n{name} " in cp.stdout


def test_list_json_is_metadata():
    cp = bench("list", "metrics", "--json")
    rows = json.loads(cp.stdout)
    assert all({"id", "higher_is_better", "reference_id", "version"} <= set(r) for r in rows)


def test_fuse_and_score_roundtrip(tmp_path):
    a, b = _pair(tmp_path, (32, 40))  # gray: `max` has a decision map on gray input
    out = tmp_path / "F.png"
    cp = bench("fuse", "--method", "max", "-o", str(out), "--decision-map", str(tmp_path / "dm.png"), a, b)
    assert cp.returncode == 0, cp.stderr
    assert out.exists() and (tmp_path / "dm.png").exists()
    cp = bench("score", "--fused", str(out), "--metrics", "en", "--json", a, b)
    assert cp.returncode == 0, cp.stderr
    vals = json.loads(cp.stdout)
    assert set(vals) == {"en"} and 0 < vals["en"] <= 8


def test_unknown_method_suggests(tmp_path):
    a, b = _pair(tmp_path)
    cp = bench("fuse", "--method", "averag", "-o", str(tmp_path / "o.png"), a, b)
    _assert_user_error(cp, "did you mean")


@pytest.mark.parametrize("case", ["missing", "not_image", "truncated", "sizes", "one_source"])
def test_bad_inputs_give_one_line_errors(tmp_path, case):
    a, b = _pair(tmp_path)
    out = str(tmp_path / "o.png")
    if case == "missing":
        cp, needle = bench("fuse", "-m", "average", "-o", out, a, str(tmp_path / "ghost.png")), "ghost.png"
    elif case == "not_image":
        (tmp_path / "t.jpg").write_text("text")
        cp, needle = bench("fuse", "-m", "average", "-o", out, a, str(tmp_path / "t.jpg")), "t.jpg"
    elif case == "truncated":
        data = Path(b).read_bytes()
        (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
        cp, needle = bench("fuse", "-m", "average", "-o", out, a, str(tmp_path / "cut.png")), "cut.png"
    elif case == "sizes":
        (tmp_path / "x").mkdir()
        c = _pair(tmp_path / "x", (20, 40, 3))[0]
        cp, needle = bench("fuse", "-m", "average", "-o", out, a, c), "size"
    else:
        cp, needle = bench("fuse", "-m", "average", "-o", out, a), "at least two"
    _assert_user_error(cp, needle)


def test_score_bad_fused_size(tmp_path):
    a, b = _pair(tmp_path)
    (tmp_path / "small").mkdir()
    f = _pair(tmp_path / "small", (10, 10, 3))[0]
    _assert_user_error(bench("score", "--fused", f, a, b), "differs")


def test_dataset_not_found_says_how_to_download(tmp_path):
    cp = bench("run", "--methods", "average", "--dataset", "lytro", "--metrics", "none",
               "--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "run"), drop_env=("MFIF_DATA",))
    _assert_user_error(cp, "bench download lytro")
