"""Python reference codes run by the harness in-process (no Octave): CDDFuse's ``utils/Evaluator.py``.

The harness imports ``Evaluator`` from the developer's upstream folder
(``--upstream DIR/Zhaozixiang1228+MMIF-CDDFuse``, the commit pinned in :mod:`benchmarks.octave.specs`) by
file path, never from this repository, and calls it as CDDFuse's test scripts do: ``float32`` grey images
holding 0..255. One documented adaptation (the visible set's): CDDFuse pinned scikit-image 0.19.2, whose
``structural_similarity`` took ``data_range = 2`` for float input; newer versions require it, so the
module's ``ssim`` is called with ``data_range=2.0``.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.octave import specs as S


def _load_evaluator(upstream: Path, group: S.Group):
    root = upstream / S.folder(group.repo)
    path = root / group.paths[0] / "Evaluator.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (export the pinned commit into --upstream)")
    spec = importlib.util.spec_from_file_location("_mfif_ref_cddfuse_evaluator", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    from skimage.metrics import structural_similarity

    mod.ssim = functools.partial(structural_similarity, data_range=2.0)  # skimage 0.19 default for float
    return mod.Evaluator


def versions() -> dict:
    import scipy
    import skimage
    import sklearn

    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-image": skimage.__version__,
        "scikit-learn": sklearn.__version__,
    }


def run_python_group(
    group: S.Group, pairs: list[tuple[str, S.Spec]], images: dict, upstream: Path
) -> list[tuple[str, str, float, float, str]]:
    """(case id, golden id, value, seconds, error) for every pair, evaluated in this process."""
    ev = _load_evaluator(upstream, group)
    out = []
    for cid, sp in pairs:
        im = images[cid]
        env = {"E": ev, "np": np}
        env.update({k: v.astype(np.float32) for k, v in im.items() if v is not None})
        t0 = time.perf_counter()
        try:
            v = float(eval(sp.call, env))  # noqa: S307 - the call strings are the harness's own specs
            out.append((cid, sp.gid, v, time.perf_counter() - t0, ""))
        except Exception as e:  # noqa: BLE001 - recorded per value, like an Octave error
            out.append((cid, sp.gid, float("nan"), time.perf_counter() - t0, f"{type(e).__name__}: {e}"))
    return out
