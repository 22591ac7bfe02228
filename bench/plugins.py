"""Which modules fill the registries, and a metadata index so listing and lookups import little.

Entry modules come from, in this order (duplicates dropped):

1. the entry-point group ``mfif_bench.entries`` of every installed distribution (each entry point names
   a module imported for its registration side effects; this project declares ``baselines``,
   ``methods`` and ``metrics`` there, and they are also added when the checkout is not installed),
   plus :mod:`bench.external_method` (results read from files);
2. ``$MFIF_PLUGINS`` (comma-separated module names);
3. ``--plugin MODULE`` (repeatable) on ``run``, ``fuse``, ``score``, ``list`` and ``paper``
   (:func:`add_plugins`).

Run workers (loky or Dask) receive the explicit plugin list with every task and call
:func:`add_plugins` themselves, so a user's method works with any ``--jobs``.

**Lazy packages.** A package whose ``__init__`` defines ``ENTRY_MODULES`` (names of its submodules,
each registering entries) is not imported wholesale: an index (ids, kinds, submodule and the frozen
metadata of every entry) is kept in ``<cache>/registry/`` under a key made from the size and mtime of
every ``.py`` file of the package (and of ``bench/types.py``), and rebuilt by importing everything
when any of them changes. ``bench list methods`` then imports no entry module, and ``bench fuse
--method lp`` imports ``baselines.laplacian_pyramid`` only. Any other module is imported eagerly.
``MFIF_REGISTRY_INDEX=0`` turns the index off (everything is imported).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import pickle
import sys
from pathlib import Path

from bench.errors import UserError

GROUP = "mfif_bench.entries"
BUILTIN = ("baselines", "methods", "metrics", "bench.external_method")
ENV = "MFIF_PLUGINS"
INDEX_VERSION = "1"

_explicit: list[str] = []  # --plugin modules (and MFIF_PLUGINS), in order


class PluginError(UserError):
    """A plugin module that cannot be imported (never cached as a result)."""


def _valid_name(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))


def import_plugin(name: str) -> object:
    """Import ``name``; any failure is a one-line :class:`PluginError` naming the module."""
    if not _valid_name(name):
        raise PluginError(f"plugin {name!r} is not a module name (expected e.g. mypkg.fusion)")
    try:
        return importlib.import_module(name)
    except UserError:
        raise
    except Exception as exc:  # ImportError, SyntaxError, or anything the module raised
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        raise PluginError(f"plugin {name!r} failed to import: {text}") from None


def env_plugins() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def explicit_plugins() -> tuple[str, ...]:
    """The plugin modules given through ``$MFIF_PLUGINS`` and ``--plugin`` (passed to run workers)."""
    return tuple(dict.fromkeys([*env_plugins(), *_explicit]))


def _path_key() -> str:
    """sys.path folders and their mtimes (installing or removing a distribution changes its folder's mtime).

    The working directory (``''``, or the script folder) is left out: commands write their outputs
    there, and distributions are installed elsewhere.
    """
    parts = []
    skip = {"", ".", os.getcwd()}
    for p in sys.path:
        if p in skip:
            continue
        try:
            parts.append(f"{p}:{os.stat(p or '.').st_mtime_ns}")
        except OSError:
            parts.append(p)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


def entry_point_modules() -> list[str]:
    """Module names declared in the ``mfif_bench.entries`` group (cached by the sys.path folders' mtimes)."""
    folder = _index_dir()
    cache = folder / f"entry-points-{_path_key()}.txt" if folder else None
    if cache is not None and cache.is_file():
        try:
            return [x for x in cache.read_text().splitlines() if x]
        except OSError:
            pass
    from importlib.metadata import entry_points

    mods = [ep.value.split(":", 1)[0].strip() for ep in entry_points(group=GROUP)]
    if cache is not None:
        _atomic_write(cache, ("\n".join(mods) + "\n").encode())
    return mods


def configured_modules() -> list[str]:
    """Every entry module: our packages, then entry points, ``$MFIF_PLUGINS`` and ``--plugin``."""
    mods = list(BUILTIN)  # the fallback for a checkout that is not (re-)installed
    try:
        mods += entry_point_modules()
    except Exception:  # a broken distribution's metadata must not break the tool
        pass
    mods += explicit_plugins()
    return list(dict.fromkeys(mods))


# --------------------------------------------------------------------------------------------
# the metadata index of lazy packages
# --------------------------------------------------------------------------------------------
def _index_dir() -> Path | None:
    if os.environ.get("MFIF_REGISTRY_INDEX", "1") == "0":
        return None
    from bench.userdirs import cache_root

    return cache_root() / "registry"


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs importing everything


def lazy_submodules(name: str) -> tuple[str, ...] | None:
    """``ENTRY_MODULES`` of package ``name`` (full module names), or None for an eager module."""
    mod = import_plugin(name)
    subs = getattr(mod, "ENTRY_MODULES", None)
    if subs is None or not hasattr(mod, "__path__"):
        return None
    return tuple(f"{name}.{s}" for s in subs)


def _signature(name: str, subs: tuple[str, ...]) -> str | None:
    mod = sys.modules[name]
    h = hashlib.sha256(f"{INDEX_VERSION}|{sys.version}|{name}|{','.join(subs)}".encode())
    here = Path(__file__).resolve().parent
    files = [here / "types.py", here / "entries.py"]
    for folder in mod.__path__:
        files += sorted(Path(folder).rglob("*.py"))
    for f in files:
        try:
            st = f.stat()
        except OSError:
            return None
        h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def read_index(name: str, subs: tuple[str, ...]) -> list[tuple] | None:
    """The cached ``[(kind, id, module, info)]`` of lazy package ``name``, or None when stale/absent."""
    folder = _index_dir()
    sig = _signature(name, subs) if folder else None
    if sig is None:
        return None
    path = folder / f"{name}-{sig}.pkl"
    try:
        with open(path, "rb") as fh:
            rows = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return rows if isinstance(rows, list) else None


def write_index(name: str, subs: tuple[str, ...], rows: list[tuple]) -> None:
    folder = _index_dir()
    sig = _signature(name, subs) if folder else None
    if sig is None:
        return
    for old in folder.glob(f"{name}-*.pkl") if folder.is_dir() else ():
        try:
            old.unlink()
        except OSError:
            pass
    _atomic_write(folder / f"{name}-{sig}.pkl", pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
