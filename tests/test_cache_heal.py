"""A result cache that verifies itself: a truncated cached image, a cached image swapped for another
valid one, a score row changed behind our back and a corrupt index all heal on the next run with the
values of a clean run; four runs sharing one cache at once stay correct."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import registry
from bench.cache import ResultCache, array_sha256
from bench.datasets import Scene
from bench.runner import MethodSpec, RunConfig, run
from bench.types import DatasetInfo

REPO = Path(__file__).resolve().parent.parent


def _scene(sid: str, seed: int) -> Scene:
    rng = np.random.default_rng(seed)  # fixture only
    imgs = [rng.random((24, 32), dtype=np.float32) for _ in range(2)]
    return Scene("healfake", sid, ("A", "B"), (f"{sid}-a-{seed}", f"{sid}-b-{seed}"),
                 load_sources=lambda: [i.copy() for i in imgs])


class _Fake:
    info = DatasetInfo(id="healfake", name="healfake", n_scenes=2)

    def scenes(self, data_dir=None, *, verify=True):
        return [_scene("s1", 1), _scene("s2", 2)]


@pytest.fixture
def fake(monkeypatch):
    registry.load_all()
    monkeypatch.setitem(registry.DATASETS._entries, "healfake", _Fake())


def _cfg(tmp_path: Path, out: str, cache: str = "cache") -> RunConfig:
    return RunConfig(methods=(MethodSpec("average"), MethodSpec("max")), datasets=("healfake",),
                     metrics=("en", "sd"), jobs=1, out=str(tmp_path / out), cache_dir=str(tmp_path / cache),
                     progress=False)


def _values(df: pd.DataFrame) -> pd.DataFrame:
    d = df[~df.metric.str.startswith("time_")].sort_values(["scene", "method", "metric"])
    return d[["scene", "method", "metric", "value", "status"]].reset_index(drop=True)


def _fused_files(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "fused").glob("*/*.png") if not p.name.endswith(".dm.png"))


def _damage_truncate(cache: Path) -> None:
    p = _fused_files(cache)[0]
    p.write_bytes(p.read_bytes()[:40])


def _damage_swap(cache: Path) -> None:
    a, b = _fused_files(cache)[:2]
    a.write_bytes(b.read_bytes())  # a valid PNG, but of another fused image


def _damage_index(cache: Path) -> None:
    db = cache / "index.sqlite"
    data = bytearray(db.read_bytes())
    data[:100] = b"\x00garbage" * 12 + b"\x00" * 4
    db.write_bytes(bytes(data))


def _damage_score(cache: Path) -> None:
    with sqlite3.connect(cache / "index.sqlite") as con:
        con.execute("UPDATE scores SET value = value + 1 WHERE metric = 'en'")


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_swap, _damage_index, _damage_score],
                         ids=["truncated-image", "swapped-image", "corrupt-index", "changed-score"])
def test_damaged_cache_heals_with_correct_values(tmp_path, fake, capfd, damage):
    clean = _values(run(_cfg(tmp_path, "clean", "clean_cache")).results)
    first = run(_cfg(tmp_path, "o1"))
    pd.testing.assert_frame_equal(_values(first.results), clean)
    damage(tmp_path / "cache")
    capfd.readouterr()
    second = run(_cfg(tmp_path, "o2"))
    err = capfd.readouterr().err
    assert "Traceback" not in err
    pd.testing.assert_frame_equal(_values(second.results), clean)  # healed: the clean run's values
    assert (second.results.status == "ok").all()
    assert second.counts["computed"] > 0  # the damaged entry was recomputed, not reused
    lines = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert len(lines) >= 1 and all("\n" not in ln for ln in lines)
    if damage is _damage_index:
        assert "moved aside to" in lines[0] and list((tmp_path / "cache").glob("index.sqlite.corrupt-*"))
    else:
        assert "dropped, recomputing" in lines[0]
    third = run(_cfg(tmp_path, "o3"))  # and the healed cache is a clean cache again
    assert third.counts["computed"] == 0
    pd.testing.assert_frame_equal(_values(third.results), clean)


def test_get_fused_verifies_pixels(tmp_path):
    c = ResultCache(tmp_path)
    img = (np.arange(48, dtype=np.uint8).reshape(6, 8))
    e = c.put_fused("k" * 64, img, img, time_median=1.0, time_iqr=0.0, repeats=1,
                    n_threads=1, device="cpu", method="m", created="")
    assert c.get_fused("k" * 64).sha256 == array_sha256(img)
    e.dm_path.write_bytes(e.path.read_bytes()[:30])  # a damaged decision map is damage too
    assert c.get_fused("k" * 64) is None
    assert c.get_fused("k" * 64) is None and c.dropped == 1  # reported once, row gone
    c.close()


def test_unreadable_index_file_is_moved_aside(tmp_path, capfd):
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database" * 100)
    c = ResultCache(tmp_path)
    err = capfd.readouterr().err
    assert err.count("\n") == 1 and "moved aside to" in err and "index.sqlite.corrupt-" in err
    assert c.get_scores(["x"]) == {}
    c.close()


_WORKER = """
import sys
from bench import registry
sys.path.insert(0, {tests!r})
from test_cache_heal import _Fake, _cfg
from pathlib import Path
registry.load_all()
registry.DATASETS._entries["healfake"] = _Fake()
from bench.runner import run
s = run(_cfg(Path({tmp!r}), sys.argv[1]))
"""


def test_four_processes_share_one_cache(tmp_path, fake):
    clean = _values(run(_cfg(tmp_path, "clean", "clean_cache")).results)
    script = tmp_path / "w.py"
    script.write_text(_WORKER.format(tests=str(REPO / "tests"), tmp=str(tmp_path)))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([sys.executable, str(script), f"p{i}"], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "warning: result cache" not in err
    for i in range(4):
        df = pd.read_csv(tmp_path / f"p{i}" / "results.csv", keep_default_na=False, na_values=[""])
        pd.testing.assert_frame_equal(_values(df), clean, check_dtype=False)
    with sqlite3.connect(tmp_path / "cache" / "index.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT COUNT(*) FROM fused").fetchone()[0] == 4  # 2 scenes x 2 methods, once


_OPENER = """
import sys, time
import numpy as np
from bench.cache import ResultCache
t = float(sys.argv[2])
while time.time() < t:  # all openers start together
    pass
c = ResultCache(sys.argv[1])
c.put_fused(sys.argv[3] * 64, np.full((4, 4), ord(sys.argv[3]), np.uint8), None, time_median=1.0,
            time_iqr=0.0, repeats=1, n_threads=1, device="cpu", method="m", created="")
c.close()
"""


def _open_together(root: Path, n: int = 6) -> list[str]:
    import time

    start = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, "-c", _OPENER, str(root), start, "abcdefgh"[i]],
                              env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * n, errs
    return errs


def test_processes_creating_one_index_at_once(tmp_path):
    """Six processes open a cache folder that has no index yet at the same instant, four times: the schema
    is set up once (it used to race on ALTER TABLE, was taken for damage and moved aside, and the others
    then failed with 'readonly database' / 'disk I/O error')."""
    for round_ in range(4):
        root = tmp_path / f"c{round_}"
        errs = _open_together(root)
        assert not any(errs), errs
        assert not list(root.glob("index.sqlite.corrupt-*"))
        with sqlite3.connect(root / "index.sqlite") as con:
            assert con.execute("SELECT COUNT(*) FROM fused").fetchone()[0] == 6


def test_damaged_index_found_by_many_is_moved_aside_once(tmp_path):
    (tmp_path / "index.sqlite").write_bytes(b"this is not a database" * 100)
    errs = _open_together(tmp_path)
    warnings = [ln for e in errs for ln in e.splitlines()]
    assert all(ln.startswith("warning: result cache index") for ln in warnings), warnings
    assert sum("moved aside to" in ln for ln in warnings) == 1  # once, by one of them
    assert len(list(tmp_path.glob("index.sqlite.corrupt-*"))) == 1
    with sqlite3.connect(tmp_path / "index.sqlite") as con:  # and every write landed in the one fresh index
        assert con.execute("SELECT COUNT(*) FROM fused").fetchone()[0] == 6


def test_index_of_an_older_version_gains_the_new_columns(tmp_path):
    with sqlite3.connect(tmp_path / "index.sqlite") as con:
        con.execute("CREATE TABLE fused (key TEXT PRIMARY KEY, sha256 TEXT NOT NULL, shape TEXT NOT NULL, "
                    "has_dm INTEGER NOT NULL, time_median REAL, time_iqr REAL, repeats INTEGER, n_threads "
                    "INTEGER, device TEXT, method TEXT, created TEXT, status TEXT NOT NULL DEFAULT 'ok', "
                    "message TEXT NOT NULL DEFAULT '')")
        con.execute("CREATE TABLE scores (key TEXT PRIMARY KEY, metric TEXT NOT NULL, value REAL, "
                    "status TEXT NOT NULL, message TEXT, created TEXT)")
        con.execute("INSERT INTO scores VALUES ('k', 'en', 1.5, 'ok', '', '')")
    c = ResultCache(tmp_path)
    assert c.get_scores(["k"])["k"][:3] == (1.5, "ok", "")  # the old row is still there
    c.put_scores([("k2", "en", 2.5, "ok", "", 0.1)], created="")
    assert c.get_scores(["k2"])["k2"][:3] == (2.5, "ok", "")
    c.close()
    with sqlite3.connect(tmp_path / "index.sqlite") as con:
        assert {r[1] for r in con.execute("PRAGMA table_info(scores)")} >= {"seconds", "checksum"}
        assert "dm_sha256" in {r[1] for r in con.execute("PRAGMA table_info(fused)")}


def test_only_damage_counts_as_damage():
    from bench.cacheindex import IndexDamaged, is_damage

    assert is_damage(IndexDamaged("integrity check failed: x"))
    assert is_damage(sqlite3.DatabaseError("file is not a database"))
    assert not is_damage(sqlite3.OperationalError("database is locked"))
    assert not is_damage(sqlite3.OperationalError("attempt to write a readonly database"))
    assert not is_damage(sqlite3.OperationalError("duplicate column name: checksum"))
