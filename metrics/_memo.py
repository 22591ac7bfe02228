"""Content-keyed memo caches of the metric package (private): the one home for them in ``metrics/``.

A scoring pass (``bench run`` scores every fused image of a scene against the same sources; ``bench
score`` runs dozens of metrics on the same images) asks again and again for the same per-image work.
Everything here is keyed by *content* (shape + SHA-1 of the float64 bytes), so it works for any image,
ours or external/published, whatever the array object. Values are returned as computed the first time
(read-only), so memoisation never changes a number.

* :func:`freeze` -- make a metric input read-only (``bench.protocols.prepare`` does it): the content key
  of a frozen array is hashed once for the life of the object (:func:`array_key`).
* :func:`memoize_images` -- LRU cache of a pure function of image arrays, optionally within a byte
  budget and only from the second request on (``on_repeat``: for precomputations that pay off only
  when a source comes back).
* :func:`source_memo` -- a :func:`memoize_images` cache of *source-side* work (feature maps, window
  statistics, phase congruency) that shares one per-process byte budget (:data:`SOURCE_BUDGET`,
  ``MFIF_SOURCE_MEMO_MB``) with every other source memo. :func:`clear_memos` empties every cache (the
  determinism tests use it to defeat memoisation).
* :func:`flat_windows` -- the map of exactly-constant k x k windows (memoised for frozen inputs), which
  :class:`metrics._matlab.OctaveWindow` needs (compiled: one pass for any k; NumPy: dilation == erosion).
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

_FROZEN_KEYS: dict[int, tuple[weakref.ref, tuple]] = {}


def _frozen_owner(a) -> bool:
    """A float64 C-contiguous array that owns its memory and is read-only: its content cannot change."""
    return (
        isinstance(a, np.ndarray)
        and a.base is None
        and not a.flags.writeable
        and a.dtype == np.float64
        and a.flags.c_contiguous
    )


def array_key(a: np.ndarray) -> tuple:
    """(shape, SHA-1 of the float64 bytes): the content key of the memoised functions.

    Hashing costs ~1.5 ms per 520x520 image and a scoring pass asks for the same inputs' keys dozens of
    times, so the key of a *frozen* array (:func:`_frozen_owner`: read-only, owning its memory, as the
    runner and ``bench score`` pass their prepared images) is remembered for the life of that object.
    Writable arrays are hashed on every call.
    """
    if _frozen_owner(a):
        hit = _FROZEN_KEYS.get(id(a))
        if hit is not None and hit[0]() is a:
            return hit[1]
    arr = np.ascontiguousarray(a, dtype=np.float64)
    key = arr.shape, hashlib.sha1(arr.data, usedforsecurity=False).digest()  # fastest stdlib digest here
    if _frozen_owner(a):
        ident = id(a)
        _FROZEN_KEYS[ident] = (weakref.ref(a, lambda _r, i=ident: _FROZEN_KEYS.pop(i, None)), key)
    return key


def derived_key(out: np.ndarray, tag: str, *parents: np.ndarray) -> np.ndarray:
    """Give the frozen array ``out``, a pure function ``tag`` of the frozen ``parents``, the content key
    ``(shape, (tag, parents' keys))`` instead of hashing its bytes (a cold metric call would hash a
    normalised image or a pyramid level only to find it absent). Equal parents give equal outputs, so the
    key names the content; the same content reached another way merely gets another key (a memo miss).
    Returns ``out``; does nothing unless ``out`` and every parent are frozen owners."""
    if _frozen_owner(out) and all(_frozen_owner(p) for p in parents) and id(out) not in _FROZEN_KEYS:
        key = out.shape, (tag, *(array_key(p) for p in parents))
        ident = id(out)
        _FROZEN_KEYS[ident] = (weakref.ref(out, lambda _r, i=ident: _FROZEN_KEYS.pop(i, None)), key)
    return out


def freeze(a: np.ndarray) -> np.ndarray:
    """Make a metric input read-only (in place if it owns its memory, else a frozen copy); see _array_key."""
    a = np.asarray(a)
    if a.dtype != np.float64 or not a.flags.c_contiguous or a.base is not None:
        a = np.array(a, dtype=np.float64, order="C")
    a.setflags(write=False)
    return a


def read_only_results(fn):
    """``fn`` with every array it returns (a tuple of arrays) made read-only, for memoised results."""

    def wrapper(img: np.ndarray) -> tuple:
        out = fn(img)
        for arr in out:
            arr.setflags(write=False)
        return out

    wrapper.__name__ = wrapper.__qualname__ = f"{fn.__name__}_frozen"
    wrapper.__module__ = fn.__module__
    return wrapper


_ALL_MEMOS: list = []  # (cache, seen) of every memo, for clear_memos()


class _SharedBudget:
    """One byte budget shared by several memo caches: the least recently used entry of any of them goes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.lru: OrderedDict = OrderedDict()  # (id(cache), key) -> (cache, size)
        self.total = 0
        self.lock = threading.Lock()

    def touch(self, cache: OrderedDict, key) -> None:
        with self.lock:
            k = (id(cache), key)
            if k in self.lru:
                self.lru.move_to_end(k)

    def add(self, cache: OrderedDict, key, size: int) -> None:
        with self.lock:
            k = (id(cache), key)
            if k in self.lru:
                self.total -= self.lru.pop(k)[1]
            self.lru[k] = (cache, size)
            self.total += size
            while self.total > self.limit and self.lru:
                (_, old_key), (old_cache, old_size) = self.lru.popitem(last=False)
                self.total -= old_size
                old_cache.pop(old_key, None)

    def drop(self, cache: OrderedDict, key) -> None:
        with self.lock:
            hit = self.lru.pop((id(cache), key), None)
            if hit is not None:
                self.total -= hit[1]

    def clear(self) -> None:
        with self.lock:
            self.lru.clear()
            self.total = 0


def value_nbytes(val: Any) -> int:
    """Bytes held by a memoised value: an array, an object with ``nbytes``, or a tuple/list of those."""
    if isinstance(val, (tuple, list)):
        return sum(value_nbytes(v) for v in val)
    return int(getattr(val, "nbytes", 0))


def memoize_images(
    fn: Callable[..., Any],
    maxsize: int = 32,
    *,
    max_bytes: int | None = None,
    nbytes: Callable | None = None,
    on_repeat: bool = False,
    budget: _SharedBudget | None = None,
) -> Callable[..., Any]:
    """Cache a pure function of image arrays returning an immutable value, keyed by the arrays' bytes.

    The key is (shape, SHA-1 of the float64 bytes) of every argument, so equal content hits the
    cache whatever the array object; the least recently used of ``maxsize`` entries is evicted. With
    ``max_bytes`` (and ``nbytes(value)`` giving a value's size) the entries also stay within that many
    bytes; a value larger than the whole budget is returned without being kept. With ``budget`` the
    entries count against a byte budget shared with other memos (:func:`source_memo`). With ``on_repeat``
    the first call with a key returns None without calling ``fn`` (the caller works without the value),
    and the value is computed and kept from the second call on: for precomputations that only pay off
    when the same input comes back.
    """
    cache: OrderedDict = OrderedDict()
    sizes: dict = {}
    seen: OrderedDict = OrderedDict()
    lock = threading.Lock()
    if budget is not None and nbytes is None:
        nbytes = value_nbytes
    limit = max_bytes if budget is None else budget.limit
    _ALL_MEMOS.append((cache, seen, sizes))

    inflight: dict = {}  # key -> Event of the thread computing it (threads asking for it wait)

    def lookup(key):
        """(hit, value) under the lock; the LRU and the budget learn of the use."""
        if key in cache:
            cache.move_to_end(key)
            if budget is not None:
                budget.touch(cache, key)
            return True, cache[key]
        return False, None

    @functools.wraps(fn)
    def wrapper(*arrays: np.ndarray):
        key = tuple(array_key(a) for a in arrays)
        with lock:
            hit, val = lookup(key)
            if hit:
                return val
            if on_repeat and key not in seen:
                seen[key] = None
                while len(seen) > 4 * maxsize:
                    seen.popitem(last=False)
                return None
            busy = inflight.get(key)
            if busy is None:
                inflight[key] = threading.Event()
        if busy is not None:  # another thread is computing it (threaded scoring): wait, then take it
            busy.wait()
            with lock:
                hit, val = lookup(key)
            if hit:
                return val
            return fn(*arrays)  # it failed there or was too large to keep: compute here
        try:
            val = fn(*arrays)
            size = nbytes(val) if limit is not None and nbytes is not None else 0
            if limit is not None and size > limit:
                return val
            with lock:
                cache[key] = val
                sizes[key] = size
                while len(cache) > maxsize or (max_bytes is not None and sum(sizes.values()) > max_bytes):
                    old, _ = cache.popitem(last=False)
                    sizes.pop(old, None)
                    if budget is not None:
                        budget.drop(cache, old)
            if budget is not None:
                budget.add(cache, key, size)
            return val
        finally:
            with lock:
                inflight.pop(key).set()

    wrapper.cache = cache  # type: ignore[attr-defined]
    return wrapper


#: Bytes that all source-side memos of one process may hold together (``MFIF_SOURCE_MEMO_MB``, default
#: 512 MB): enough for every source-side precomputation of one 520x520 pair (about 300 MB), so that all
#: fused images of a scene share them; larger scenes keep what fits (least recently used goes first).
SOURCE_BUDGET = _SharedBudget(int(float(os.environ.get("MFIF_SOURCE_MEMO_MB", "512")) * 2**20))


def source_memo(
    fn: Callable[..., Any], *, maxsize: int = 8, on_repeat: bool = False, nbytes: Callable | None = None
) -> Callable[..., Any]:
    """Memoise source-side work ``fn(*images)`` by content within the shared :data:`SOURCE_BUDGET`.

    Use it for anything computed from a source image alone (feature maps, window statistics, phase
    congruency, gradients): the runner scores every fused image of a scene against the same sources, and
    external or published result sets do the same, so the second and later fused images reuse it.
    ``fn`` must be pure and return read-only arrays (or an object whose ``nbytes`` gives its size).
    """
    return memoize_images(fn, maxsize, on_repeat=on_repeat, nbytes=nbytes, budget=SOURCE_BUDGET)


def clear_memos() -> None:
    """Empty every memo cache of the package (tests use it so that a second call recomputes)."""
    for cache, seen, sizes in _ALL_MEMOS:
        cache.clear()
        seen.clear()
        sizes.clear()
    SOURCE_BUDGET.clear()
    _FLAT_CACHE.clear()


_FLAT_CACHE: OrderedDict = OrderedDict()


def flat_windows(img: np.ndarray, k: int) -> np.ndarray:
    """Boolean map (valid size) of the k x k windows over which ``img`` is exactly constant.

    For frozen inputs (see :func:`array_key`; every metric of a pass asks again for the same images and
    window sizes) the read-only map is kept, a few at a time.
    """
    if not _frozen_owner(img):
        return _flat_windows(img, k)
    key = (array_key(img), k)
    hit = _FLAT_CACHE.get(key)
    if hit is None:
        hit = _flat_windows(img, k)
        hit.setflags(write=False)
        _FLAT_CACHE[key] = hit
        while len(_FLAT_CACHE) > 64:  # a pass asks for ~40 (image, k) maps (vif/ms-ssim scales)
            _FLAT_CACHE.popitem(last=False)
    return hit


def _flat_windows(img: np.ndarray, k: int) -> np.ndarray:
    h, w = img.shape
    a = np.ascontiguousarray(img, dtype=np.float64)
    from metrics._jit import kernels

    compiled = kernels("structural")
    if compiled is not None and 1 <= k <= min(h, w):  # one pass, O(1) per pixel for any k: the same map
        return compiled.flat_windows(a, k, np.empty((h - k + 1, w - k + 1), dtype=bool))
    return _flat_windows_morph(a, k)


def _flat_windows_morph(a: np.ndarray, k: int) -> np.ndarray:
    """The NumPy path: a window is constant where its k x k dilation equals its erosion."""
    h, w = a.shape
    ker = np.ones((k, k), np.uint8)
    mx = cv2.dilate(a, ker, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    mn = cv2.erode(a, ker, anchor=(0, 0), borderType=cv2.BORDER_REPLICATE)
    return (mx == mn)[: h - k + 1, : w - k + 1]
