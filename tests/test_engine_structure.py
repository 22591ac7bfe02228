"""The engine's module boundaries (issue 10): views never import the executor or the result cache, no command
calls another command, modules stay small, and listing entries imports no entry module."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _imports_after(code: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_views_import_no_executor_and_no_cache():
    views = "bench.report, bench.plots, bench.html, bench.check, bench.views, bench.rundir"
    mods = _imports_after(f"import {views}")
    assert not {"bench.cache", "bench.executor", "bench.runner", "bench.workers"} & mods


def test_no_command_imports_another_command():
    for path in (REPO / "bench" / "commands").glob("*_cmd.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bench.commands."):
                assert node.module == "bench.commands._options", f"{path.name} imports {node.module}"


def test_modules_stay_small():
    big = {p.name: n for p in (REPO / "bench").rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not big, f"modules over 500 lines: {big}"
    assert len((REPO / "bench" / "runner.py").read_text().splitlines()) <= 450


def test_listing_and_help_import_no_entry_module_nor_heavy_dependency():
    code = (
        "import contextlib, io\n"
        "from bench.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list', 'methods']); main(['list', 'metrics'])\n"
    )
    _imports_after(code)  # the first process (re)builds the registry's metadata index (bench/plugins.py)
    mods = _imports_after(code)
    heavy = {"numpy", "pandas", "scipy", "torch", "cv2"} & mods
    entries = {m for m in mods if m.startswith(("baselines.", "methods.", "metrics."))}
    assert not heavy and not entries, (heavy, sorted(entries))


def test_fuse_imports_only_the_method_it_runs():
    code = (
        "from bench.registry import get_method\n"
        "import numpy as np\n"
        "a = np.zeros((64, 64), np.float32); b = np.ones((64, 64), np.float32)\n"
        "get_method('lp').call([a, b])\n"
    )
    _imports_after(code)  # builds the index
    mods = _imports_after(code)
    entries = {m for m in mods if m.startswith(("baselines.", "methods.", "metrics."))}
    others = {e for e in entries if not e.startswith("baselines._mst")}  # _mst and its role modules
    assert others <= {"baselines.laplacian_pyramid"}, sorted(entries)
    assert not {"pandas", "torch", "bench.report", "bench.check"} & mods


def test_index_built_after_a_direct_import_is_complete(tmp_path):
    """A submodule imported before the index is built (e.g. by a test) must still be in the index."""
    code = (
        "import baselines.guided_filtering, metrics.qg\n"
        "from bench.registry import list_methods, list_metrics\n"
        "print('COUNTS', len(list_methods()), len(list_metrics()))\n"
    )

    def counts(src: str, **env) -> list[str]:
        e = dict(os.environ, PYTHONPATH=str(REPO), MFIF_CACHE=str(tmp_path / "cache"), **env)
        cp = subprocess.run([sys.executable, "-c", src], capture_output=True, text=True, env=e, timeout=300)
        assert cp.returncode == 0, cp.stderr
        return [ln for ln in cp.stdout.splitlines() if ln.startswith("COUNTS")]

    want = counts(code, MFIF_REGISTRY_INDEX="0")  # everything imported, no index
    assert counts(code) == want  # builds the index after two direct imports
    assert counts(code.split("\n", 1)[1]) == want  # a fresh process reads that index
