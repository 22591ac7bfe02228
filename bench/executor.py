"""Where run tasks execute: joblib loky processes, or Dask (local cluster or a remote scheduler).

Every task is ``(fn, args)``; :meth:`Executor.map` yields ``(index, result)`` as tasks finish. Before
a task runs in a worker, the run's plugin modules are imported there (:func:`bench.registry.add_plugins`),
so entries registered outside this repository work with any ``--jobs`` and on any Dask worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bench.errors import UserError, one_line  # noqa: F401  (one_line re-exported)
from bench.procenv import allow_worker_growth, match_opencv_threads, set_worker_env, start_parent_watchdog

BACKENDS = ("loky", "dask")




def _call(i: int, fn: Callable, args: tuple, plugins: tuple[str, ...] = ()) -> tuple[int, Any]:
    allow_worker_growth()  # the metric caches are bounded; loky must not restart the worker for them
    start_parent_watchdog()  # a worker exits within ~1 s when the main process dies (no orphans)
    match_opencv_threads()  # OpenCV's pool sized like torch's and BLAS's (cores / workers): same values
    if plugins:
        from bench.registry import add_plugins

        add_plugins(plugins)
    return i, fn(*args)


def is_worker_crash(exc: BaseException) -> bool:
    name = type(exc).__name__
    return "Terminated" in name or "BrokenProcessPool" in name or "KilledWorker" in name


class Executor:
    """Runs ``(fn, args)`` tasks and yields ``(index, result)`` as they finish.

    ``loky`` with ``jobs == 1`` runs in the main process. A crashed worker (segfault, OOM kill)
    breaks the pool; the unfinished tasks are retried once in a fresh pool, then reported as
    errors by the runner. ``plugins``: modules every worker imports before its first task.
    """

    def __init__(
        self,
        backend: str = "loky",
        jobs: int = 1,
        scheduler: str | None = None,
        plugins: tuple[str, ...] = (),
    ) -> None:
        if backend not in BACKENDS:
            raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        self.backend = backend
        self.jobs = jobs if jobs > 0 else max(os.cpu_count() or 1, 1)
        self.scheduler = scheduler
        self.plugins = tuple(plugins)
        self._client = None
        self._cluster = None
        self.info: dict = {"backend": backend, "jobs": self.jobs}
        if self.plugins:
            self.info["plugins"] = list(self.plugins)

    def __enter__(self) -> Executor:
        if not (self.backend == "dask" and self.scheduler):  # local workers, started from here
            self.info["glibc_tunables"] = os.environ.get("GLIBC_TUNABLES", "") if set_worker_env() else ""
        if self.backend == "dask":
            try:
                from dask.distributed import Client, LocalCluster
            except ImportError:
                raise UserError(
                    "--backend dask needs dask[distributed]: pip install 'mfif-bench[dist]'"
                ) from None
            if self.scheduler:
                try:
                    self._client = Client(self.scheduler, timeout="20s")
                except OSError as exc:
                    raise UserError(f"cannot reach Dask scheduler {self.scheduler}: {exc}") from None
            else:
                self._cluster = LocalCluster(
                    n_workers=self.jobs,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
            self.info["scheduler"] = self._client.scheduler.address
            self.info["dask_workers"] = len(self._client.scheduler_info().get("workers", {}))
        return self

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(
        self, tasks: Sequence[tuple[Callable, tuple]], in_process: bool = False
    ) -> Iterator[tuple[int, Any]]:
        if not tasks:
            return
        if in_process or (self.backend == "loky" and self.jobs == 1):
            for i, (fn, args) in enumerate(tasks):
                yield i, fn(*args)
            return
        from joblib import Parallel, delayed, parallel_config

        pending = set(range(len(tasks)))
        for attempt in range(2):
            try:
                cfg = {"backend": "dask"} if self.backend == "dask" else {"backend": "loky"}
                if self.backend == "loky":  # the watchdog starts with each worker, before any task
                    cfg["initializer"] = start_parent_watchdog
                n_jobs = -1 if self.backend == "dask" else min(self.jobs, len(pending))
                with parallel_config(**cfg):
                    gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                        delayed(_call)(i, *tasks[i], self.plugins) for i in sorted(pending)
                    )
                    for i, res in gen:
                        pending.discard(i)
                        yield i, res
                return
            except Exception as exc:  # a worker died; retry what is left once
                if attempt == 1 or not is_worker_crash(exc):
                    raise
        return


class LazyTasks:
    """A sequence of tasks built on access, so large inputs are not all held at once."""

    def __init__(self, items: list, build: Callable) -> None:
        self._items, self._build = items, build

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, i: int):
        return self._build(*self._items[i])

    def __iter__(self):
        return (self[i] for i in range(len(self)))
