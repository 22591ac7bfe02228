"""Dataset layer: declarations, lookup order, sha256 verification, and a real HTTP download."""

from __future__ import annotations

import csv
import functools
import http.server
import shutil
import threading
from pathlib import Path

import pytest

from bench.datasets import DECLARATIONS_DIR, DeclaredDataset
from bench.download import download_dataset, fetch
from bench.errors import UserError
from bench.registry import get_dataset, list_datasets

EXPECTED_SCENES = {
    "lytro": 20, "lytro_triple": 4, "mffw": 13, "mffw3": 6, "mfi_whu": 30, "classic_gray": 10,
    "sesf_gacn": 38, "mfifb": 105, "stacks": 2, "train_ecssd": 1000, "synthetic": 8, "ecssd_gt": 50,
}


def test_all_datasets_declared_with_scene_counts():
    assert set(list_datasets()) == set(EXPECTED_SCENES)
    for k, n in EXPECTED_SCENES.items():
        assert get_dataset(k).info.n_scenes == n, k
    assert get_dataset("train_ecssd").info.training_only
    assert not get_dataset("lytro").info.training_only


def test_every_declared_file_has_hash_url_citation_and_terms():
    for p in DECLARATIONS_DIR.glob("*.toml"):
        ds = DeclaredDataset(p)
        assert ds.info.citation and ds.info.license and ds.info.url, p.name
        for f in ds.files:
            assert len(f.sha256) == 64 and f.url.startswith("https://"), (p.name, f.path)
            # pinned to a commit: a 40-hex path component
            hexdigits = "0123456789abcdef"
            assert any(len(part) == 40 and all(c in hexdigits for c in part) for part in f.url.split("/"))


def test_declarations_match_the_shared_manifests(data_dir):
    for p in DECLARATIONS_DIR.glob("*.toml"):
        ds = DeclaredDataset(p)
        rows = list(csv.DictReader(open(data_dir / ds.info.id / "MANIFEST.csv", newline="")))
        assert {(r["path"], r["sha256"]) for r in rows} == {(f.path, f.sha256) for f in ds.files}


def test_lookup_order_data_dir_then_env_then_cache(tmp_path, monkeypatch, data_dir):
    ds = get_dataset("lytro_triple")
    monkeypatch.setenv("MFIF_DATA", str(data_dir))
    assert ds.root() == data_dir / "lytro_triple"
    other = tmp_path / "mine"
    shutil.copytree(data_dir / "lytro_triple", other / "lytro_triple")
    assert ds.root(other) == other / "lytro_triple"
    monkeypatch.delenv("MFIF_DATA")
    with pytest.raises(UserError, match=r"run `python -m bench download lytro_triple`"):
        ds.root()


def test_loading_verifies_checksums(tmp_path, data_dir):
    root = tmp_path / "d"
    shutil.copytree(data_dir / "lytro_triple", root / "lytro_triple")
    ds = get_dataset("lytro_triple")
    scenes = ds.scenes(root)
    assert len(scenes) == 4 and scenes[0].roles == ("A", "B", "C")
    assert scenes[0].load_sources()[0].shape == (520, 520, 3)
    victim = root / "lytro_triple" / "lytro-triple-02" / "B.jpg"
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(UserError, match=r"B\.jpg: sha256 mismatch"):
        ds.scenes(root)


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """http.server with single-range support, so resumption is exercised for real."""

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802
        rng = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not rng or not path.is_file():
            return super().do_GET()
        start = int(rng.split("=")[1].split("-")[0])
        data = path.read_bytes()[start:]
        self.send_response(206)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_RangeHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.network
def test_real_http_download_of_a_small_dataset(server, tmp_path, data_dir):
    www, url = server
    shutil.copytree(data_dir / "lytro_triple", www / "lytro_triple")
    ds = get_dataset("lytro_triple")
    dest = tmp_path / "cache"
    fetched, present = download_dataset(ds, dest, mirror=url, progress=False)
    assert (fetched, present) == (12, 0)
    assert len(ds.scenes(dest)) == 4  # verifies every sha256
    assert download_dataset(ds, dest, mirror=url, progress=False) == (0, 12)
    assert not list(dest.rglob("*.part"))


@pytest.mark.network
def test_interrupted_download_resumes(server, tmp_path, data_dir):
    www, url = server
    shutil.copytree(data_dir / "lytro_triple", www / "lytro_triple")
    f = get_dataset("lytro_triple").files[0]
    dest = tmp_path / "x" / "A.jpg"
    dest.parent.mkdir()
    full = (www / "lytro_triple" / f.path).read_bytes()
    (dest.parent / "A.jpg.part").write_bytes(full[: len(full) // 3])  # what a killed download leaves
    assert fetch(f"{url}/lytro_triple/{f.path}", dest, f.sha256)
    assert dest.read_bytes() == full and not (dest.parent / "A.jpg.part").exists()


@pytest.mark.network
def test_hash_mismatch_leaves_nothing_behind(server, tmp_path):
    www, url = server
    (www / "f.bin").write_bytes(b"not what was declared")
    dest = tmp_path / "out" / "f.bin"
    with pytest.raises(UserError, match="sha256 mismatch"):
        fetch(f"{url}/f.bin", dest, "0" * 64)
    assert not dest.exists() and not list(dest.parent.iterdir())


@pytest.mark.network
def test_unreachable_server_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="download failed"):
        fetch("http://127.0.0.1:9/nothing", tmp_path / "f", "0" * 64, timeout=2)
