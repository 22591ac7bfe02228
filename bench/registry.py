"""Three small flat registries (methods, metrics, datasets), filled by decorators at import time.

Entries live in the packages ``baselines``, ``methods`` and ``metrics``, in plugin modules (entry-point
group ``mfif_bench.entries``, ``$MFIF_PLUGINS``, ``--plugin``: see :mod:`bench.plugins`) and in the
declaration files under ``datasets/``. Every public lookup loads what it needs first, so a user never
sees a half-filled registry; metadata comes from an index where it can, so listing imports no entry
module and a lookup imports only the module of that entry (:class:`bench.entries.Method` resolves its
function on first use). :func:`load_all` imports everything.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from collections.abc import Callable
from typing import Any

from bench import plugins
from bench.entries import Method, Metric
from bench.errors import EnvironmentFailure, UserError
from bench.types import DatasetInfo, MethodInfo, MetricInfo

__all__ = [
    "METHODS", "METRICS", "DATASETS", "Method", "Metric", "Registry", "UnknownEntryError", "add_plugins",
    "get_dataset", "get_method", "get_metric", "list_datasets", "list_methods", "list_metrics", "load_all",
    "method_info", "metric_info", "register_dataset", "register_method", "register_metric",
]


class UnknownEntryError(KeyError, EnvironmentFailure):
    """An id that is not registered; the message carries close-match suggestions."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateEntryError(ValueError, UserError):
    """Two modules register the same id (e.g. a plugin re-using a built-in id): a one-line user error."""


def _is_placeholder_of(old: Any, new: Any) -> bool:
    """True when ``old`` is the index placeholder of ``new`` (same module, function not imported yet)."""
    return getattr(old, "_fn", 1) is None and bool(old.module) and old.module == getattr(new, "module", None)


def _natural_key(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s.lower())]


class Registry:
    """A dict from id to entry with duplicate checks, glob listing and close-match errors.

    An entry may be a lazy placeholder (a :class:`Method`/:class:`Metric` from the index whose function
    is not imported yet); registering the real entry from the same module replaces it.
    """

    def __init__(self, kind: str, expand: Callable[[str], list[str]] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}
        self._expand = expand  # ``@name`` tokens of list() (metric suites); None: no such tokens

    def _load(self) -> None:
        if self in _KINDS.values():
            _ensure(self.kind)

    def add(self, key: str, entry: Any) -> None:
        old = self._entries.get(key)
        if old is not None and not _is_placeholder_of(old, entry):
            raise DuplicateEntryError(f"duplicate {self.kind} id {key!r}")
        self._entries[key] = entry

    def get(self, key: str) -> Any:
        self._load()
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
        self._load()
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
        self._load()
        return key in self._entries

    def values(self) -> list[Any]:
        self._load()
        return [self._entries[k] for k in sorted(self._entries, key=_natural_key)]


METHODS = Registry("method")


def _expand_metric_suite(name: str) -> list[str]:
    from metrics.suites import suite_members  # ``--metrics @core,@gt`` (metric suites)

    return suite_members(name)


METRICS = Registry("metric", expand=_expand_metric_suite)
DATASETS = Registry("dataset")
_KINDS = {"method": METHODS, "metric": METRICS, "dataset": DATASETS}


def register_method(info: MethodInfo) -> Callable:
    """Decorator: register ``fuse(images, **params) -> FusionResult`` under ``info.id``."""

    def deco(fn: Callable) -> Callable:
        entry = Method(info, fn, module=_registering_module(fn))
        _record("method", info, entry.module)
        METHODS.add(info.id, entry)
        return fn

    return deco


def register_metric(info: MetricInfo) -> Callable:
    """Decorator: register ``fn(sources, fused, *, reference=None, **params) -> float``."""

    def deco(fn: Callable) -> Callable:
        entry = Metric(info, fn, module=_registering_module(fn))
        _record("metric", info, entry.module)
        METRICS.add(info.id, entry)
        return fn

    return deco


def register_dataset(info: DatasetInfo, entry: Any) -> None:
    _record("dataset", info, _registering_module(None))
    DATASETS.add(info.id, entry)


def lookup_loaded(kind: str, key: str) -> Any:
    """The entry registered under ``key`` now (no loading); used by lazy entries to find their function."""
    return _KINDS[kind]._entries.get(key)


# --------------------------------------------------------------------------------------------
# loading: lazy packages through the index, everything else by import
# --------------------------------------------------------------------------------------------
_LOADED = False  # everything imported
_READY: set[str] = set()  # kinds whose registry is filled (lazily or not)
_DONE_MODULES: set[str] = set()  # entry modules handled (indexed or imported)
_DATASET_MODULES: set[str] = set()  # indexed submodules that register datasets (imported for datasets)
_RECORDING: list | None = None


def _registering_module(fn: Callable | None) -> str:
    """The module whose import is running this registration (the innermost module-level frame)."""
    import sys

    f = sys._getframe(1)
    while f is not None:
        if f.f_code.co_name == "<module>":
            return f.f_globals.get("__name__", "")
        f = f.f_back
    return getattr(fn, "__module__", "") or ""


def _record(kind: str, info: Any, module: str) -> None:
    if _RECORDING is not None:
        _RECORDING.append((kind, info.id, module, info))


def _load_module(name: str) -> None:
    """Fill the registries from entry module ``name``: through its index if it is a lazy package."""
    global _RECORDING
    if name in _DONE_MODULES:
        return
    _DONE_MODULES.add(name)
    subs = plugins.lazy_submodules(name)
    if subs is None:
        return  # imported (eager): its registrations happened on import
    rows = plugins.read_index(name, subs)
    if rows is None:  # build it: import every submodule, then read what the package's modules registered
        recorded, _RECORDING = [], []
        try:
            for sub in subs:
                plugins.import_plugin(sub)
            recorded = _RECORDING
        finally:
            _RECORDING = None
        # from the registries, not from the recording: a submodule imported before this build (a test
        # importing it directly) registered its entries then, and importing it again records nothing
        prefix = name + "."
        rows = [
            (kind, key, e.module, e.info)
            for kind in ("method", "metric")
            for key, e in _KINDS[kind]._entries.items()
            if getattr(e, "module", "").startswith(prefix)
        ]
        rows += [r for r in recorded if r[0] == "dataset"]
        plugins.write_index(name, subs, rows)
        return
    import sys

    for kind, key, module, info in rows:
        if kind == "dataset":
            _DATASET_MODULES.add(module)
            continue
        reg = _KINDS[kind]
        have = reg._entries.get(key)
        if have is not None:
            if getattr(have, "module", None) != module:
                other = getattr(have, "module", "?")
                raise DuplicateEntryError(f"duplicate {kind} id {key!r} (registered by {module} and {other})")
            continue  # already registered for real
        if module not in sys.modules:
            reg._entries[key] = (Method if kind == "method" else Metric)(info, None, module=module)


def _ensure(kind: str) -> None:
    if kind in _READY:
        return
    for name in plugins.configured_modules():
        _load_module(name)
    if kind == "dataset":
        for module in sorted(_DATASET_MODULES):
            plugins.import_plugin(module)
        from bench import datasets

        datasets.register_all()
    _READY.add(kind)


def add_plugins(modules: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """Import plugin modules (``--plugin``, and ``$MFIF_PLUGINS``) now; return the explicit plugin list.

    Idempotent; a module that fails to import is a one-line :class:`bench.plugins.PluginError`.
    """
    for m in modules:
        if m not in plugins._explicit:
            plugins._explicit.append(m)
    for m in plugins.explicit_plugins():
        _load_module(m)
    return plugins.explicit_plugins()


def load_all() -> None:
    """Import every entry module (every lazy package's submodules too) and fill every registry."""
    global _LOADED
    if _LOADED:
        return
    for name in plugins.configured_modules():
        _load_module(name)
        subs = plugins.lazy_submodules(name)
        for sub in subs or ():
            plugins.import_plugin(sub)
    _ensure("dataset")
    _READY.update(_KINDS)
    _LOADED = True


list_methods = METHODS.list
list_metrics = METRICS.list
list_datasets = DATASETS.list


def get_method(key: str) -> Method:
    return METHODS.get(key)


def get_metric(key: str) -> Metric:
    return METRICS.get(key)


def get_dataset(key: str) -> Any:
    return DATASETS.get(key)


def method_info(key: str) -> MethodInfo:
    """Metadata only (imports no entry module when the index has it)."""
    return METHODS.get(key).info


def metric_info(key: str) -> MetricInfo:
    return METRICS.get(key).info
