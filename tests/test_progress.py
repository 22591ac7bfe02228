"""The run's progress bar keeps moving while one long job runs (issue 14: progress for long work)."""

from __future__ import annotations

import io
import time

from bench.progress import progress_bar


def test_bar_redraws_while_no_job_finishes():
    out = io.StringIO()
    with progress_bar(1, True, interval=0.05, file=out) as bar:
        time.sleep(0.6)
        draws_while_pending = out.getvalue().count("\r")
        bar.update(1)
    # tqdm draws once at start; the ticker must have redrawn the 0/1 bar several times meanwhile
    assert draws_while_pending >= 4
    assert "0/1" in out.getvalue()


def test_disabled_bar_writes_nothing_and_starts_no_thread():
    import threading

    out = io.StringIO()
    before = {t.name for t in threading.enumerate()}
    with progress_bar(3, False, interval=0.01, file=out) as bar:
        time.sleep(0.05)
        assert "bench-progress" not in {t.name for t in threading.enumerate()} - before
        bar.update(3)
    assert out.getvalue() == ""


def test_ticker_stops_when_the_bar_closes():
    import threading

    with progress_bar(1, True, interval=0.01, file=io.StringIO()):
        pass
    assert not any(t.name == "bench-progress" for t in threading.enumerate())
