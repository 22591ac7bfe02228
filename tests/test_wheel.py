"""An install that works without the checkout: build the wheel, install it into a fresh virtual environment
outside the repository, and use it from a folder that is not the checkout.

The fresh environment gets the project's wheel and nothing else of ours; its third-party dependencies
(numpy, torch, ...) come from the environment running the tests through a ``.pth`` line, so the test
needs no network and does not reinstall torch. An installed plugin package checks the entry-point group.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO, data_path, weights_path

PROJECT_FILES = ("pyproject.toml", "README.md", "bench", "baselines", "methods", "metrics", "datasets")
TOP_LEVEL = {"bench", "baselines", "methods", "metrics"}

PLUGIN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "wheelcheck-plugin"
version = "0.1"

[project.entry-points."mfif_bench.entries"]
wheelcheck = "wheelcheck_plugin"

[tool.setuptools]
py-modules = ["wheelcheck_plugin"]
"""

PLUGIN_MODULE = '''\
"""A plugin that registers one method and one metric (installed through an entry point)."""
import numpy as np

from bench.registry import register_method, register_metric
from bench.types import FusionResult, MethodInfo, MetricInfo


@register_method(MethodInfo(id="wheelcheck_mean", name="Wheel-check mean", source="test", license="MIT"))
def fuse(images, **params):
    return FusionResult(np.mean(np.stack(images), axis=0).astype(np.float32))


@register_metric(MetricInfo(id="wheelcheck_std", name="Wheel-check std", range=(0.0, None)))
def score(sources, fused, *, reference=None, **params):
    return float(np.std(fused))
'''


def _pip(*args: str, cwd: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def _build_wheel(src: Path, dist: Path) -> Path:
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(src), cwd=src)
    (wheel,) = dist.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv holding only our wheel + the plugin, a work folder, the wheel path)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in PROJECT_FILES:  # a copy: building must not need (or write into) the checkout
        p = REPO / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(p, src / name)
    wheel = _build_wheel(src, root / "dist")

    plugin = root / "plugin"
    plugin.mkdir()
    (plugin / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (plugin / "wheelcheck_plugin.py").write_text(PLUGIN_MODULE)
    plugin_wheel = _build_wheel(plugin, root / "plugin_dist")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _pip(
        "--python",
        str(py),
        "install",
        "--no-deps",
        "--no-index",
        "--ignore-installed",
        "-q",
        str(wheel),
        str(plugin_wheel),
        cwd=root,
    )
    # then the third-party dependencies from the running environment (not our packages: an editable
    # install is a finder hook in a .pth file there, and .pth files of an appended folder are not run)
    Path(purelib, "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = root / "elsewhere"
    work.mkdir()
    return py, work, wheel


def _bench(py: Path, work: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MFIF_PLUGINS", "MFIF_REFERENCE")}
    env["MFIF_CACHE"] = str(work / "cache")
    return subprocess.run(
        [str(py), "-m", "bench", *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_wheel_holds_the_packages_declarations_weights_and_tables_only(installed):
    _, _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == TOP_LEVEL
    declared = {p.name for p in (REPO / "datasets").glob("*.toml")}
    assert declared and declared <= {Path(n).name for n in names if n.startswith("bench/_declarations/")}
    for p in (REPO / "methods" / "weights").iterdir():
        if p.suffix in (".pt", ".md"):
            assert f"methods/weights/{p.name}" in names
    assert "bench/paper_tables.json" in names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)


def test_installed_package_runs_outside_the_checkout(installed):
    py, work, _ = installed
    where = subprocess.run(
        [str(py), "-c", "import bench, methods; print(bench.__file__); print(methods.__file__)"],
        cwd=work,
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert where.returncode == 0, where.stderr
    assert str(REPO) not in where.stdout, "the fresh environment imported the checkout"

    r = _bench(py, work, "list", "datasets", "--json")
    assert r.returncode == 0, r.stderr
    listed = {d["id"] for d in json.loads(r.stdout)}
    declared = {p.stem for p in (REPO / "datasets").glob("*.toml")}
    assert declared | {"synthetic"} <= listed

    a = np.zeros((48, 64, 3), np.uint8)
    a[:, :32] = 200
    b = np.full((48, 64, 3), 90, np.uint8)
    import cv2

    cv2.imwrite(str(work / "a.png"), a)
    cv2.imwrite(str(work / "b.png"), b)
    r = _bench(py, work, "fuse", "--method", "fmm", "-o", "fused.png", "a.png", "b.png")
    assert r.returncode == 0, r.stderr
    assert cv2.imread(str(work / "fused.png")).shape == a.shape

    # a run on two synthetic scenes (a few methods and metrics: this checks the install, not the numbers)
    r = _bench(
        py,
        work,
        "run",
        "--dataset",
        "synthetic",
        "--limit",
        "2",
        "--methods",
        "average,lp,fmm",
        "--metrics",
        "qg,ssim_gt",
        "--no-plots",
        "--no-progress",
        "--out",
        "run1",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    import pandas as pd

    res = pd.read_csv(work / "run1" / "results.csv")
    assert (res["status"] == "ok").any() and res["scene"].nunique() == 2


def test_installed_entry_point_plugin_runs_in_workers(installed):
    py, work, _ = installed
    r = _bench(
        py,
        work,
        "run",
        "--dataset",
        "synthetic",
        "--limit",
        "2",
        "--methods",
        "wheelcheck_mean,average",
        "--metrics",
        "wheelcheck_std,qg",
        "--jobs",
        "2",
        "--no-plots",
        "--no-progress",
        "--out",
        "run_plugin",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    import pandas as pd

    res = pd.read_csv(work / "run_plugin" / "results.csv")
    mine = res[(res["method"] == "wheelcheck_mean") & (res["metric"] == "wheelcheck_std")]
    assert len(mine) == 2 and (mine["status"] == "ok").all()
    assert np.isfinite(mine["value"]).all()


@pytest.mark.skipif(
    data_path() is None or weights_path() is None,
    reason="needs MFIF_DATA=../shared/datasets and MFIF_WEIGHTS=../shared/weights",
)
def test_installed_paper_table_without_reference_folder(installed):
    py, work, _ = installed
    # one scene: this checks that the installed package finds its tables and data, not the numbers
    r = _bench(py, work, "paper", "sesf2020-table2", "--limit", "1", "--json", "--no-progress")
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    lp = {row["metric"]: row for row in out["rows"] if row["method"] == "LP"}
    assert lp["Qg"]["paper"] == 0.6731 and lp["Qg"]["ours"] is not None
    assert any(p.name.endswith("--paper-sesf2020-table2") for p in (work / "results" / "runs").iterdir())
