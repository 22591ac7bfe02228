"""Three small flat registries (methods, metrics, datasets), filled by decorators at import time.

Entries live in the packages ``baselines``, ``methods`` and ``metrics`` (each ``__init__`` imports its
modules by name) and in the declaration files under ``datasets/``. ``load_all()`` imports those
packages; every public lookup calls it, so a user never sees a half-filled registry.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.errors import UserError
from bench.types import DatasetInfo, MethodInfo, MetricInfo


class UnknownEntryError(KeyError, UserError):
    """An id that is not registered; the message carries close-match suggestions."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s.lower())]


class Registry:
    """A dict from id to entry with duplicate checks, glob listing and close-match errors."""

    def __init__(self, kind: str, expand: Callable[[str], list[str]] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._expand = expand  # ``@name`` tokens of list() (metric suites); None: no such tokens

    def add(self, key: str, entry: Any) -> None:
        if key in self._entries:
            raise ValueError(f"duplicate {self.kind} id {key!r}")
        self._entries[key] = entry

    def get(self, key: str) -> Any:
        load_all()
        try:
            return self._entries[key]
        except KeyError:
            close = difflib.get_close_matches(key, list(self._entries), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise UnknownEntryError(
                f"unknown {self.kind} {key!r}{hint} (see `python -m bench list {self.kind}s`)"
            ) from None

    def list(self, pattern: str | list[str] = "*") -> list[str]:
        """Ids matching one or more shell-style globs (comma-separated allowed), naturally sorted.

        A pattern without glob characters must name an entry exactly (else ``KeyError`` with
        suggestions), so a typo never silently selects nothing.
        """
        load_all()
        patterns = pattern if isinstance(pattern, list) else [p for p in pattern.split(",") if p]
        out: list[str] = []
        for pat in patterns:
            pat = pat.strip()
            if pat == "all":
                pat = "*"
            if pat.startswith("@") and self._expand is not None:
                hits = self._expand(pat[1:])
            elif not any(c in pat for c in "*?["):
                self.get(pat)
                hits = [pat]
            else:
                hits = [k for k in self._entries if fnmatch.fnmatchcase(k, pat)]
            out.extend(h for h in hits if h not in out)
        return sorted(out, key=_natural_key)

    def __contains__(self, key: str) -> bool:
        load_all()
        return key in self._entries

    def values(self) -> list[Any]:
        load_all()
        return [self._entries[k] for k in sorted(self._entries, key=_natural_key)]


@dataclass(frozen=True)
class Method:
    info: MethodInfo
    fuse: Callable[..., Any]


@dataclass(frozen=True)
class Metric:
    info: MetricInfo
    fn: Callable[..., float]


METHODS = Registry("method")


def _expand_metric_suite(name: str) -> list[str]:
    from metrics.suites import suite_members  # ``--metrics @core,@gt`` (metric suites)

    return suite_members(name)


METRICS = Registry("metric", expand=_expand_metric_suite)
DATASETS = Registry("dataset")


def register_method(info: MethodInfo) -> Callable:
    """Decorator: register ``fuse(images, **params) -> FusionResult`` under ``info.id``."""

    def deco(fn: Callable) -> Callable:
        METHODS.add(info.id, Method(info, fn))
        return fn

    return deco


def register_metric(info: MetricInfo) -> Callable:
    """Decorator: register ``fn(sources, fused, *, reference=None, **params) -> float``."""

    def deco(fn: Callable) -> Callable:
        METRICS.add(info.id, Metric(info, fn))
        return fn

    return deco


def register_dataset(info: DatasetInfo, entry: Any) -> None:
    DATASETS.add(info.id, entry)


_LOADED = False


def load_all() -> None:
    """Import every entry package once (explicit imports inside each package)."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    import baselines  # noqa: F401
    import methods  # noqa: F401
    import metrics  # noqa: F401
    from bench import datasets

    datasets.register_all()


list_methods = METHODS.list
list_metrics = METRICS.list
list_datasets = DATASETS.list


def get_method(key: str) -> Method:
    return METHODS.get(key)


def get_metric(key: str) -> Metric:
    return METRICS.get(key)


def get_dataset(key: str) -> Any:
    return DATASETS.get(key)
