"""Shared fixtures: locations of the third-party data (never copied into the repo).

``MFIF_DATA`` and ``MFIF_WEIGHTS`` point at ``../shared/datasets`` and ``../shared/weights`` in CI.
The reference values live next to them (``$MFIF_REFERENCE``, else ``$MFIF_DATA/../reference``).
A test that needs one of these folders skips, saying which variable to set, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _dir_from_env(var: str, fallback: Path | None = None) -> Path | None:
    v = os.environ.get(var)
    if v and Path(v).is_dir():
        return Path(v)
    return fallback if fallback is not None and fallback.is_dir() else None


def data_path() -> Path | None:
    return _dir_from_env("MFIF_DATA")


def weights_path() -> Path | None:
    return _dir_from_env("MFIF_WEIGHTS")


def reference_path() -> Path | None:
    d = data_path()
    return _dir_from_env("MFIF_REFERENCE", d.parent / "reference" if d else None)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = data_path()
    if d is None:
        pytest.skip("needs the offline datasets: set MFIF_DATA=../shared/datasets")
    return d


@pytest.fixture(scope="session")
def weights_dir() -> Path:
    d = weights_path()
    if d is None:
        pytest.skip("needs the authors' weights: set MFIF_WEIGHTS=../shared/weights")
    return d


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    d = reference_path()
    if d is None:
        pytest.skip("needs the reference values: set MFIF_DATA=../shared/datasets (reference is its sibling)")
    return d


@pytest.fixture
def one_torch_thread():
    """One torch thread: the CI machine is shared, and two threads on a busy core run ~10x slower."""
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a private user cache, so nothing leaks into ~/.cache."""
    monkeypatch.setenv("MFIF_CACHE", str(tmp_path_factory.getbasetemp() / "mfif-cache"))
