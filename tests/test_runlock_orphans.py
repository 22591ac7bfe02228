"""One run per run folder (a second run into the same --out refuses with a clear message), and no
orphans: after ``kill -9`` of ``bench run`` its worker processes exit within a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.errors import UserError
from bench.runlock import run_lock

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("MFIF_DATA", "/nonexistent"))


def _bench(*args):
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=300)


def test_lock_is_exclusive_across_processes_and_reentrant(tmp_path):
    out = tmp_path / "run"
    with run_lock(out):
        with run_lock(out):  # re-entrant in one process (run_cmd locks, then the runner)
            pass
        cp = _bench("run", "--methods", "average", "--metrics", "en", "--limit", "1", "--no-plots",
                    "--out", str(out), "--cache-dir", str(tmp_path / "c"))
        assert cp.returncode == 2 and "Traceback" not in cp.stderr
        line = cp.stderr.strip()
        assert line.startswith("error: ") and "\n" not in line
        assert "another run is writing into this folder (pid" in line and str(out) in line
        assert not (out / "results.csv").exists()
    cp = _bench("run", "--methods", "average", "--metrics", "en", "--limit", "1", "--no-plots",
                "--out", str(out), "--cache-dir", str(tmp_path / "c"))
    assert cp.returncode == 0, cp.stderr  # released with the holder


def test_lock_waits_then_refuses(tmp_path):
    import threading

    out = tmp_path / "run"
    errors: list = []
    with run_lock(out):
        def second():
            try:
                # the same process holds it re-entrantly, so test the waiting path with a fresh fd:
                import fcntl

                fd = os.open(out / ".run.lock", os.O_RDWR)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    errors.append("held")
                finally:
                    os.close(fd)
            except Exception as exc:  # pragma: no cover
                errors.append(exc)

        t = threading.Thread(target=second)
        t.start()
        t.join()
    assert errors == ["held"]
    with run_lock(out, wait=0.1):
        pass


def test_refusal_is_a_user_error(tmp_path):
    # simulate another holder with an independent open file description
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    fd = os.open(out / ".run.lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"pid 12345 on host, since then\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        t0 = time.monotonic()
        with pytest.raises(UserError, match=r"pid 12345 on host"):
            with run_lock(out, wait=1.0):
                pass
        assert time.monotonic() - t0 >= 0.9  # it waited before refusing
    finally:
        os.close(fd)


def _children(pid: int) -> set[int]:
    out = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(x) for x in (task / "children").read_text().split()}
        except OSError:
            pass
    return out


GRACE_S = 10  # the watchdog polls every second; the rest is slack for a heavily loaded machine


def _n_fused(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM fused").fetchone()[0]
    except sqlite3.Error:
        return 0


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.split(")")[-1].split()[0] != "Z"


def _descendants(pid: int) -> set[int]:
    out = set()
    for k in _children(pid):
        out |= {k} | _descendants(k)
    return out


WORKER_MARKS = {"loky": b"popen_loky_posix", "dask": b"spawn_main"}


@pytest.mark.skipif(not (DATA / "lytro").is_dir(), reason="lytro not in $MFIF_DATA")
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_workers_exit_after_kill_9_of_run(tmp_path, backend):
    if backend == "dask":
        pytest.importorskip("dask.distributed", reason="the dask extra is not installed")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--methods", "lp,rp,dwt,gf", "--dataset", "lytro", "--metrics",
         "none", "--jobs", "2", "--repeats", "3", "--no-plots", "--no-progress", "--out", str(tmp_path / "o"),
         "--cache-dir", str(tmp_path / "c"), "--backend", backend],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: set[int] = set()
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        # the workers are the descendants started through the backend's entry point (loky's popen, Dask's
        # multiprocessing spawn); wait until they are up and working (a fused image committed), so the test
        # is about running workers, not half-started ones
        workers = set()
        for k in _descendants(proc.pid):
            try:
                if WORKER_MARKS[backend] in Path(f"/proc/{k}/cmdline").read_bytes():
                    workers.add(k)
            except OSError:
                pass
        if len(workers) >= 2 and _n_fused(tmp_path / "c" / "index.sqlite") >= 2:
            break
        time.sleep(0.2)
    if proc.poll() is not None or not workers:
        pytest.fail("run finished (or started no workers) before it could be killed")
    everything = _descendants(proc.pid)  # workers and helpers (resource tracker, nannies)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    t0 = time.time()
    while time.time() - t0 < GRACE_S and any(_alive(w) for w in everything):
        time.sleep(0.2)
    left = [w for w in everything if _alive(w)]
    for w in left:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert not left, f"processes still alive {time.time() - t0:.1f} s after kill -9 of the run: {left}"
