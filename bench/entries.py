"""Registry entries that carry their own call contract: :class:`Method` and :class:`Metric`.

Every caller (``bench run`` workers, ``bench fuse``, ``bench score``, the paper tables, tests) goes
through these objects, so "does this entry apply to this scene" and "how is it called" are decided in
one place, from the entry's frozen metadata:

* :meth:`Method.skip_reason` / :meth:`Metric.skip_reason`: N sources, ground truth, GPU;
* :meth:`Method.params`: the metadata defaults, overridden by the caller's parameters;
* :meth:`Method.call`: device injection (``device_aware``), scene injection (``scene_aware``), N > 2
  extension for pair-only functions (``extend="serial"``), and the output checks (FusionResult, shape,
  float32, finite, range [0, 1], decision map HxW in [0, 1]);
* :meth:`Metric.call`: reference handling and a float result.

The registered function itself is resolved lazily (``fuse``/``fn``): listing entries and planning a
run read metadata only, and never import the entry's module or its heavy dependencies.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from bench.types import FusionResult, MethodInfo, MetricInfo


class _Entry:
    """Common lazy-function plumbing: ``module`` is imported on first use of the function."""

    __slots__ = ("info", "_fn", "module")
    _kind = "entry"

    def __init__(self, info, fn: Callable | None = None, module: str = "") -> None:
        self.info = info
        self._fn = fn
        self.module = module or (getattr(fn, "__module__", "") or "")

    def _resolve(self) -> Callable:
        if self._fn is None:
            from bench import registry

            importlib.import_module(self.module)
            real = registry.lookup_loaded(self._kind, self.info.id)
            if real is None or real._fn is None:
                raise RuntimeError(f"module {self.module!r} did not register {self._kind} {self.info.id!r}")
            self._fn = real._fn
        return self._fn

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.id!r}, module={self.module!r})"


def _check_image(img, shape: tuple, what: str, dtypes: tuple = ("float32",)):
    import numpy as np

    img = np.asarray(img)
    if img.shape != tuple(shape):
        raise ValueError(f"Expected a {what} of shape {tuple(shape)}, got {img.shape}")
    if img.dtype.name not in dtypes:
        raise TypeError(f"Expected a {' or '.join(dtypes)} {what}, got {img.dtype}")
    if not np.all(np.isfinite(img)):
        raise ValueError(f"{what} contains NaN or infinity")
    lo, hi = float(img.min(initial=0.0)), float(img.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{what} values outside [0, 1] (min {lo:.6g}, max {hi:.6g})")
    return img


class Method(_Entry):
    """A fusion method: metadata plus ``fuse(images, **params) -> FusionResult``."""

    __slots__ = ()
    _kind = "method"

    @property
    def fuse(self) -> Callable[..., Any]:
        """The registered function, exactly as decorated (no contract applied)."""
        return self._resolve()

    def skip_reason(self, n_sources: int, device: str = "cpu") -> str | None:
        """Why the method gives no fusion for a scene of ``n_sources`` on ``device`` (None: it applies)."""
        info = self.info
        if info.max_images is not None and n_sources > info.max_images:
            return f"method handles at most {info.max_images} sources, scene has {n_sources}"
        if info.needs_gpu and not str(device).startswith("cuda"):
            return "method needs a CUDA device"
        return None

    def params(self, overrides: dict | Sequence[tuple[str, Any]] = ()) -> dict:
        """The metadata defaults updated with the caller's ``overrides``."""
        out = dict(self.info.params)
        out.update(dict(overrides))
        return out

    def call(
        self,
        images: Sequence,
        params: dict | None = None,
        *,
        device: str = "cpu",
        dataset: str = "",
        scene: str = "",
        check: bool = True,
    ) -> FusionResult:
        """Fuse ``images`` under the contract; raises on a broken result (the runner makes it an error row).

        ``params`` are the caller's parameters (merged over the metadata defaults here). ``device`` is
        passed to device-aware methods; ``dataset``/``scene`` to scene-aware ones. ``check=False``
        skips :meth:`check_result` (the runner times the call alone, then checks).
        """
        kwargs = self.params(params or {})
        if self.info.device_aware:
            kwargs["device"] = device
        if self.info.scene_aware:
            kwargs["dataset"], kwargs["scene"] = dataset, scene
        fn = self.fuse
        if self.info.extend == "serial" and len(images) > 2:
            res = self._as_result(fn(list(images[:2]), **kwargs))
            for nxt in images[2:]:
                res = self._as_result(fn([res.image, nxt], **kwargs))
            res = FusionResult(res.image, None, res.extras)  # a pairwise map no longer describes N images
        else:
            res = self._as_result(fn(images, **kwargs))
        return self.check_result(res, images) if check else res

    @staticmethod
    def _as_result(res) -> FusionResult:
        import numpy as np

        if isinstance(res, np.ndarray):
            return FusionResult(res)
        if not isinstance(res, FusionResult):
            raise TypeError(f"Expected fuse() to return FusionResult, got {type(res).__name__}")
        return res

    def check_result(self, res, images: Sequence) -> FusionResult:
        """The output checks: image like the sources (float32, finite, [0, 1]), map HxW float in [0, 1]."""
        import numpy as np

        res = self._as_result(res)
        shape = np.shape(images[0])
        _check_image(res.image, shape, "fused image")
        if res.decision_map is not None:
            dm = np.asarray(res.decision_map)
            if dm.ndim == 3 and dm.shape[2] == 1:
                dm = dm[:, :, 0]
            if dm.ndim == 3 and len(shape) == 3 and dm.shape == tuple(shape):
                dm = dm[:, :, 0]  # a per-channel map repeated over channels: the first one
            if dm.dtype == bool:
                dm = dm.astype(np.float32)
            _check_image(dm, tuple(shape[:2]), "decision map", ("float32", "float64"))
            res = FusionResult(res.image, dm, res.extras)
        return res


class Metric(_Entry):
    """A fusion metric: metadata plus ``fn(sources, fused, *, reference=None, **params) -> float``."""

    __slots__ = ()
    _kind = "metric"

    @property
    def fn(self) -> Callable[..., float]:
        """The registered function, exactly as decorated."""
        return self._resolve()

    def skip_reason(self, n_sources: int, has_reference: bool) -> str | None:
        """Why the metric gives no row for a scene (None: it applies)."""
        info = self.info
        if info.needs_reference and not has_reference:
            return "needs a ground-truth reference"
        if info.max_sources is not None and n_sources > info.max_sources:
            return f"defined for at most {info.max_sources} sources"
        return None

    def call(self, sources: Sequence, fused, reference=None, **params) -> float:
        """Compute the metric on protocol-prepared arrays (raises when it fails; see bench.scoring)."""
        if self.info.needs_reference and reference is None and not self.info.needs_decision_map:
            raise ValueError("needs a ground-truth reference and none was given")
        return float(self.fn(sources, fused, reference=reference, **params))


def is_method_info(info: Any) -> bool:
    return isinstance(info, MethodInfo)


def is_metric_info(info: Any) -> bool:
    return isinstance(info, MetricInfo)
