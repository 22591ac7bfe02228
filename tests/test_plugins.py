"""Plugins: a method and a metric in a module outside the repository, through --plugin, $MFIF_PLUGINS and an
installed entry point, with worker processes (--jobs 2); failures are one-line user errors, never cached."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# the README's worked example ("Extending"), verbatim in spirit: one method, one metric
PLUGIN = '''
"""mymod: a plugin for mfif-bench with one method and one metric."""
import numpy as np

from bench.registry import register_method, register_metric
from bench.types import FusionResult, MethodInfo, MetricInfo


@register_method(MethodInfo(id="mymax", name="My max", family="classical", version="1",
                            n_image_rule="native: per-pixel maximum of N sources"))
def fuse(images, gain=1.0):
    stack = np.stack([np.asarray(im, dtype=np.float32) for im in images])
    index = stack.argmax(axis=0)
    if index.ndim == 3:
        index = index[..., 0]
    fused = np.clip(stack.max(axis=0) * np.float32(gain), 0.0, 1.0).astype(np.float32)
    return FusionResult(fused, decision_map=(index / (len(images) - 1)).astype(np.float32))


@register_metric(MetricInfo(id="mybright", name="Mean brightness", higher_is_better=True, range=(0, 255)))
def mybright(sources, fused, *, reference=None):
    return float(np.mean(fused))
'''


def _bench(args, cwd: Path, extra_env: dict | None = None, pythonpath: list[Path] = ()):
    env = {k: v for k, v in os.environ.items() if k != "MFIF_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in [*pythonpath, REPO])
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )


@pytest.fixture
def plugin_dir(tmp_path):
    d = tmp_path / "outside"
    d.mkdir()
    (d / "mymod.py").write_text(textwrap.dedent(PLUGIN))
    return d


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _run_args(tmp_path: Path, name: str) -> list[str]:
    return ["run", "--methods", "mymax,average", "--metrics", "mybright,en", "--dataset", "synthetic",
            "--limit", "2", "--jobs", "2", "--no-plots", "--no-progress",
            "--out", str(tmp_path / name), "--cache-dir", str(tmp_path / f"cache-{name}")]


def _assert_ok(rows: list[dict]) -> None:
    mine = [r for r in rows if r["method"] == "mymax"]
    assert {r["metric"] for r in mine} >= {"time_fuse_s", "mybright", "en"}
    assert mine and all(r["status"] == "ok" for r in mine), [r for r in mine if r["status"] != "ok"]
    ours = [r for r in rows if r["method"] == "average" and r["metric"] == "mybright"]
    assert ours and all(r["status"] == "ok" for r in ours)


def test_plugin_option_with_two_workers(tmp_path, plugin_dir):
    cp = _bench([*_run_args(tmp_path, "a"), "--plugin", "mymod"], cwd=plugin_dir, pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    _assert_ok(_rows(tmp_path / "a"))


def test_plugin_env_with_two_workers(tmp_path, plugin_dir):
    cp = _bench(_run_args(tmp_path, "b"), cwd=plugin_dir, extra_env={"MFIF_PLUGINS": "mymod"},
                pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    _assert_ok(_rows(tmp_path / "b"))


def test_plugin_through_an_installed_entry_point(tmp_path, plugin_dir):
    """A distribution on the path declaring ``[mfif_bench.entries]`` is found by every process."""
    dist = plugin_dir / "mymod_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mymod-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mfif_bench.entries]\nmymod = mymod\n")
    cp = _bench(["list", "methods", "my*"], cwd=tmp_path, pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    assert "mymax" in cp.stdout
    cp = _bench(_run_args(tmp_path, "c"), cwd=tmp_path, pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    _assert_ok(_rows(tmp_path / "c"))


def test_fuse_and_score_take_plugins(tmp_path, plugin_dir):
    srcs = [str(p) for p in sorted((REPO / "tests").glob("*.png"))][:2]
    if len(srcs) < 2:  # make a pair
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(3)  # fixture only
        srcs = []
        for n in "AB":
            p = tmp_path / f"{n}.png"
            Image.fromarray(rng.integers(0, 256, (24, 30), dtype=np.uint8)).save(p)
            srcs.append(str(p))
    out = tmp_path / "f.png"
    cp = _bench(["fuse", "--plugin", "mymod", "--method", "mymax", "-o", str(out), *srcs], cwd=plugin_dir,
                pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    cp = _bench(["score", "--plugin", "mymod", "--metrics", "mybright", "--json", "-f", str(out), *srcs],
                cwd=plugin_dir, pythonpath=[plugin_dir])
    assert cp.returncode == 0, cp.stderr
    assert '"mybright"' in cp.stdout


def _one_line_error(cp, *needles):
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert "Traceback" not in cp.stderr
    lines = [ln for ln in cp.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), cp.stderr
    for n in needles:
        assert n in lines[0], cp.stderr


def test_unknown_method_is_a_user_error_before_any_work(tmp_path, plugin_dir):
    cp = _bench(_run_args(tmp_path, "d"), cwd=plugin_dir, pythonpath=[plugin_dir])  # no --plugin
    _one_line_error(cp, "unknown method 'mymax'")
    assert not (tmp_path / "d").exists() and not (tmp_path / "cache-d").exists()


def test_plugin_that_fails_to_import_names_the_module(tmp_path, plugin_dir):
    (plugin_dir / "broken.py").write_text("import no_such_package_xyz\n")
    cp = _bench(["list", "methods", "--plugin", "broken"], cwd=plugin_dir, pythonpath=[plugin_dir])
    _one_line_error(cp, "plugin 'broken'", "no_such_package_xyz")
    cp = _bench(["list", "methods"], cwd=plugin_dir, extra_env={"MFIF_PLUGINS": "nowhere_mod"})
    _one_line_error(cp, "plugin 'nowhere_mod'")


def test_entry_point_group_is_declared_for_our_packages():
    text = (REPO / "pyproject.toml").read_text()
    assert '[project.entry-points."mfif_bench.entries"]' in text
    for mod in ("baselines", "methods", "metrics"):
        assert f'{mod} = "{mod}"' in text


def test_plugin_reusing_a_builtin_id_is_a_user_error(tmp_path, plugin_dir):
    (plugin_dir / "duplp.py").write_text(
        "from bench.registry import register_method\nfrom bench.types import MethodInfo\n"
        "@register_method(MethodInfo(id='lp', name='x'))\ndef fuse(images):\n    return images[0]\n"
    )
    cp = _bench(["list", "methods", "--plugin", "duplp"], cwd=plugin_dir, pythonpath=[plugin_dir])
    _one_line_error(cp, "duplicate method id 'lp'")
