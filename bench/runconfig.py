"""What a run is: its configuration, and the resolution of the user's names into registry entries.

Everything here reads registry metadata only (no entry module is imported to plan a run). An unknown
method, metric or dataset is a one-line user error raised here, before any work starts.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import UserError
from bench.plugins import explicit_plugins
from bench.registry import get_dataset, list_datasets, list_methods, list_metrics, method_info


@dataclass(frozen=True)
class MethodSpec:
    """One column of a run: a registered method with fixed parameters, shown under ``label``."""

    id: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.id


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on (built by the CLI, or by ``bench.paper``).

    ``plugins``: modules imported in the main process and in every worker before any entry is used
    (default: those given so far through ``--plugin``/``add_plugins`` and ``$MFIF_PLUGINS``; entry
    points are found by every process itself).
    """

    methods: tuple[MethodSpec, ...]
    datasets: tuple[str, ...] = ("synthetic",)
    metrics: tuple[str, ...] = ()
    data_dir: str | None = None
    limit: int | None = None
    scenes: tuple[str, ...] | None = None
    max_sources: int | None = None
    jobs: int = 1
    out: str | None = None
    repeats: int = 1
    protocol: str = "standard"
    device: str = "auto"
    backend: str = "loky"
    scheduler: str | None = None
    progress: bool = True
    cache_dir: str | None = None
    retry_errors: bool = False
    argv: tuple[str, ...] = ()
    plugins: tuple[str, ...] = field(default_factory=explicit_plugins)


def resolve_methods(spec: str) -> tuple[MethodSpec, ...]:
    """``all``, ids, globs and ``@family`` (``@classical``, ``@learned``), comma-separated -> specs."""
    ids: list[str] = []
    for tok in [t.strip() for t in spec.split(",") if t.strip()]:
        if tok.startswith("@"):
            fam = [m for m in list_methods("*") if method_info(m).family == tok[1:]]
            if not fam or tok[1:] == "external":
                raise UserError(f"no method of family {tok[1:]!r} (families: classical, learned)")
            ids.extend(fam)
        else:
            hits = list_methods(tok)
            ext = [m for m in hits if method_info(m).family == "external"]
            if ext and not any(c in tok for c in "*?[") and tok != "all":
                raise UserError(f"method {tok!r} reads stored results: use --external LABEL=DIR or --results")
            ids.extend(m for m in hits if m not in ext)  # external results come from --external/--results
    if not ids:
        raise UserError(f"--methods {spec!r} selects no method")
    return tuple(MethodSpec(m) for m in dict.fromkeys(ids))


def external_specs(external: Sequence[str] = (), results: Sequence[str] = (), datasets: Sequence[str] = ()):
    """Method columns for stored results: ``--external LABEL=DIR`` and ``--results NAME[:METHOD,...]``.

    ``--results`` needs :func:`bench.external.resolve_external` (published result sets), which returns
    ``[(label, folder)]``; both become the registered method ``external`` with ``root=folder``.
    """
    from bench.external_method import METHOD_ID, parse_external

    pairs = parse_external(list(external))
    for spec in results:
        try:
            from bench.external import resolve_external
        except ImportError:
            raise UserError(f"--results {spec!r}: published result sets are not available here") from None
        pairs += [(str(label), str(folder)) for label, folder in resolve_external(spec, tuple(datasets))]
    return tuple(MethodSpec(METHOD_ID, (("root", folder),), label) for label, folder in pairs)


def resolve_metrics(spec: str) -> tuple[str, ...]:
    """``all``, ``none``, ids and globs (comma-separated) -> metric ids."""
    if spec.strip() == "none":
        return ()
    return tuple(list_metrics(spec))


def resolve_datasets(spec: str | Sequence[str]) -> tuple[str, ...]:
    names = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    out = []
    for n in names:
        for d in list_datasets(n):
            info = get_dataset(d).info
            if info.training_only:
                raise UserError(f"dataset {d!r} is a training set and cannot be used as a test set")
            out.append(d)
    return tuple(dict.fromkeys(out))


def resolve_run_device(device: str, methods: Sequence[MethodSpec]) -> str:
    """The device for device-aware methods (``bench.device.resolve_device``); ``cpu`` when none is."""
    from bench.device import resolve_device

    if not any(method_info(m.id).device_aware for m in methods):
        if device not in ("auto", "cpu"):
            resolve_device(device)  # still validate an explicit request
        return "cpu"
    if device == "auto" and not _nvidia_driver_present():
        return "cpu"  # no driver, no CUDA: skip the slow torch import (keeps cached runs fast)
    return resolve_device(device)


def _nvidia_driver_present() -> bool:
    return (
        Path("/proc/driver/nvidia").exists()
        or Path("/dev/nvidia0").exists()
        or Path("/dev/nvidiactl").exists()
    )


def default_cache_dir() -> Path:
    from bench.userdirs import cache_root

    return cache_root() / "results"


def default_out_dir(datasets: Sequence[str], device: str) -> Path:
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Path("results") / "runs" / f"{stamp}--{'+'.join(datasets)}--{device}"


def select_scenes(dataset: str, cfg: RunConfig) -> list:
    """The scenes of ``dataset`` a run uses (``scenes``, ``limit``, ``max_sources`` applied)."""
    scenes = get_dataset(dataset).scenes(cfg.data_dir)
    if cfg.scenes is not None:
        wanted = set(cfg.scenes)
        scenes = [s for s in scenes if s.id in wanted]
    if cfg.limit is not None:
        scenes = scenes[: cfg.limit]
    if cfg.max_sources is not None:
        scenes = [first_sources(s, cfg.max_sources) for s in scenes]
    return scenes


def first_sources(scene, n: int):
    """The scene restricted to its first ``n`` sources (a focus stack's first frames)."""
    if n < 2:
        raise UserError(f"a scene needs at least 2 sources, asked for {n}")
    if len(scene.sha256) <= n:
        return scene
    if scene.paths:
        from bench.imageio import read_sources

        paths = tuple(scene.paths[:n])
        load = lambda p=paths: read_sources(p)  # noqa: E731
    else:
        full = scene.load_sources
        load = lambda f=full, k=n: f()[:k]  # noqa: E731
        paths = ()
    return dataclasses.replace(
        scene,
        id=f"{scene.id}[:{n}]",
        roles=scene.roles[:n],
        sha256=scene.sha256[:n],
        load_sources=load,
        paths=paths,
    )
