"""The run's progress bar, redrawn every few seconds while a long job runs (issue 14).

tqdm redraws a bar only when it is updated, so a run whose one pending job takes minutes (a 24 MP
``nsct`` fusion) showed a frozen ``0/1``. :func:`progress_bar` adds a daemon thread that refreshes the bar
every ``interval`` seconds: the elapsed time keeps moving, so the user sees the run is alive.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REFRESH_SECONDS = 5.0


@contextmanager
def progress_bar(total: int, enabled: bool, *, interval: float = REFRESH_SECONDS, file=None) -> Iterator:
    """A tqdm bar of ``total`` jobs (disabled when ``enabled`` is false), refreshed every ``interval`` s."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        disable=not enabled,
        file=sys.stderr if file is None else file,
        unit="job",
        dynamic_ncols=True,
        leave=False,
    )
    stop = threading.Event()
    ticker = None
    if enabled:

        def _tick() -> None:
            while not stop.wait(interval):
                bar.refresh()

        ticker = threading.Thread(target=_tick, name="bench-progress", daemon=True)
        ticker.start()
    try:
        yield bar
    finally:
        stop.set()
        if ticker is not None:
            ticker.join()
        bar.close()
