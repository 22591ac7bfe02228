"""Result sets: declarations, ``list results``, ``download NAME --mirror`` from a local HTTP server.

The mirror is a folder the test builds from the survey images in shared (``<mirror>/yuliu2020/<upstream
path>``, symlinks to the 90 files present), served on 127.0.0.1. Decision (documented in the README): a file
the mirror does not have is reported as unavailable (one line each, a count, exit status 1) and the others
are still fetched and verified; ``--scenes``/``--methods`` select a subset that the mirror has completely.
"""

from __future__ import annotations

import csv
import functools
import http.server
import threading

import pytest

from bench.cli import main
from bench.resultsets import all_sets, get_set, parse_spec

PRESENT = ["lytro-01", "g_05", "g_06", "g_09", "g_10"]


def test_declarations_are_complete():
    sets = all_sets()
    assert set(sets) >= {"yuliu2020", "mfifb"}
    y, m = sets["yuliu2020"], sets["mfifb"]
    assert (
        y.info.n_files == 540
        and len(y.info.methods) == 18
        and set(y.info.datasets) == {"lytro", "classic_gray"}
    )
    assert m.info.n_files == 3150 and len(m.info.methods) == 30 and m.info.datasets == ("mfifb",)
    for rs in (y, m):
        assert rs.info.citation and rs.info.license and len(rs.info.commit) == 40
        for f in rs.files:
            assert len(f.sha256) == 64 and rs.info.commit in f.url and f.url.startswith("https://")
    assert {f.method for f in m.files if f.scene == "lytro_01"} == set(m.info.methods)


def test_parse_spec_labels_and_errors():
    rs, methods = parse_spec("mfifb:ifcnn,DSIFT")
    assert methods == ["IFCNN", "DSIFT"] and rs.label("IFCNN") == "mfifb:IFCNN"
    assert parse_spec("yuliu2020")[1] is None
    with pytest.raises(Exception, match="no method 'nope'"):
        parse_spec("yuliu2020:nope")
    with pytest.raises(Exception, match="unknown result set"):
        get_set("yuliu")


def test_list_results(capsys):
    assert main(["list", "results"]) == 0
    out = capsys.readouterr().out
    assert "yuliu2020" in out and "mfifb" in out and "540" in out and "3150" in out


@pytest.fixture()
def mirror(tmp_path, reference_dir):
    y = reference_dir / "yuliu2020"
    if not (y / "MANIFEST.csv").is_file():
        pytest.skip("needs shared/reference/yuliu2020")
    root = tmp_path / "mirror"
    n = 0
    for r in csv.DictReader(open(y / "MANIFEST.csv", newline="")):
        if r["kind"] == "fused" and r["in_shared"]:
            dst = root / "yuliu2020" / r["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.symlink_to(y / r["in_shared"])
            n += 1
    assert n == 90
    handler = functools.partial(_QuietHandler, directory=str(root))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", root
    srv.shutdown()
    srv.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def test_download_subset_from_mirror_verifies_every_file(mirror, tmp_path, capsys):
    url, _ = mirror
    dest = tmp_path / "dest"
    args = ["download", "yuliu2020", "--mirror", url, "--dest", str(dest), "--scenes", ",".join(PRESENT),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    assert "90 downloaded, 0 already present" in capsys.readouterr().out
    files = [f for f in get_set("yuliu2020").files if f.scene in PRESENT]
    from bench.integrity import sha256_file

    assert all(sha256_file(dest / "yuliu2020" / f.path) == f.sha256 for f in files)
    assert not list(dest.rglob("*.part"))
    assert main(args) == 0  # second run: nothing transferred
    assert "0 downloaded, 90 already present" in capsys.readouterr().out


def test_download_reports_unavailable_files(mirror, tmp_path, capsys):
    url, _ = mirror
    dest = tmp_path / "dest"
    rc = main(["download", "yuliu2020", "--mirror", url, "--dest", str(dest), "--methods", "dsift",
               "--no-progress"])  # fmt: skip
    assert rc == 1
    cap = capsys.readouterr()
    assert "5 downloaded" in cap.out and "25 unavailable" in cap.out
    assert (
        "unavailable: Results/" in cap.err
        and "25 of 30 files of 'yuliu2020' could not be downloaded" in cap.err
    )
    assert len(list((dest / "yuliu2020").rglob("*.tif"))) == 5


def test_corrupt_mirror_file_is_not_kept(mirror, tmp_path, capsys):
    url, root = mirror
    bad = root / "yuliu2020" / "Results/grayscale/g_09_dsift.tif"
    data = bad.read_bytes()
    bad.unlink()
    bad.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    dest = tmp_path / "dest"
    rc = main(["download", "yuliu2020", "--mirror", url, "--dest", str(dest), "--methods", "dsift",
               "--scenes", "g_09", "--no-progress"])  # fmt: skip
    assert rc == 1
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not list(dest.rglob("*.tif")) and not list(dest.rglob("*.part"))


def test_download_results_flag_for_names_that_are_also_datasets(mirror, tmp_path, capsys):
    url, _ = mirror  # serves only yuliu2020: the MFIFB file is unavailable, reported, nothing kept
    rc = main(["download", "--results", "mfifb", "--methods", "IFCNN", "--scenes", "lytro_01",
               "--mirror", url, "--dest", str(tmp_path / "d"), "--no-progress"])  # fmt: skip
    assert rc == 1
    cap = capsys.readouterr()
    assert "mfifb: 0 downloaded, 0 already present (sha256-verified), 1 unavailable" in cap.out
    assert "fused_images/lytro_01_IFCNN" in cap.err
