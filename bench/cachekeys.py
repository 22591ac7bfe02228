"""Content keys of the result cache: a fused image is keyed by method id, version, weights sha256,
parameters, device and the sources' sha256; a score by metric id, version, protocol, the fused image's
sha256 and the reference's (see :mod:`bench.cache`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

import numpy as np


def canonical_key(doc: Mapping) -> str:
    """sha256 of ``doc`` serialised as sorted, compact JSON (values must be JSON-able)."""
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def _json_default(obj):
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    raise TypeError(f"Expected a JSON-able cache-key value, got {type(obj).__name__}")


def array_sha256(img: np.ndarray) -> str:
    """sha256 of an 8-bit image's shape and row-major bytes."""
    a = np.ascontiguousarray(img)
    if a.dtype != np.uint8:
        raise TypeError(f"Expected a uint8 image, got dtype {a.dtype}")
    h = hashlib.sha256(("x".join(map(str, a.shape)) + ":").encode())
    h.update(a.tobytes())
    return h.hexdigest()


def fused_key(
    method_id: str,
    version: str,
    weights_sha256: str,
    params: Mapping,
    device: str,
    input_sha256: Iterable[str],
) -> str:
    """Cache key of one fused image (see module docstring)."""
    return canonical_key(
        {
            "kind": "fused",
            "method": method_id,
            "version": str(version),
            "weights": weights_sha256 or "",
            "params": dict(params),
            "device": device,
            "inputs": list(input_sha256),
        }
    )


def score_key(
    metric_id: str, version: str, protocol: str, fused_sha256: str, reference_sha256: str = ""
) -> str:
    """Cache key of one score (see module docstring)."""
    return canonical_key(
        {
            "kind": "score",
            "metric": metric_id,
            "version": str(version),
            "protocol": protocol,
            "fused": fused_sha256,
            "reference": reference_sha256 or "",
        }
    )
