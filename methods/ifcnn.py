"""IFCNN (Zhang et al. 2020) on the authors' weights, reproducing the official inference script.

Port of uzeful/IFCNN ``Code/IFCNN_Main.py`` (inference, sections 2-4), ``Code/model.py`` and
``Code/utils/myTransforms.py`` (``denorm``) @ 8fe59c2b1553e52acc793986208ca479d134a8da
(https://github.com/uzeful/IFCNN). **The repository has no licence file**: this is our own code,
written from a reading of those files; the weights (``Code/snapshots/IFCNN-{MAX,SUM,MEAN}.pth``) are
downloaded by the user from the official URL and checked by sha256, never redistributed.

What the official code does, reproduced here:

* sources are read with PIL ``convert("RGB")`` (a gray image becomes three equal channels), then
  torchvision ``ToTensor`` (``u8 / 255`` in float32) and ``Normalize``: ImageNet mean/std
  (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) for colour (the CMF multi-focus set), mean 0 / std 1
  for gray (the script's gray data sets, IV and MD);
* the network (:mod:`methods._ifcnn_net`): replicate padding, ResNet-101's 7x7 conv1 at stride 1 (its
  weights are stored in the snapshot), conv2, the element-wise rule over the N feature maps (MAX, SUM
  or MEAN: one snapshot per rule), conv3, conv4;
* output: ``denorm`` (``x * std + mean`` per channel, float32), ``clamp(0, 1) * 255``, **truncation** to
  uint8 (``astype('uint8')``); gray results go through OpenCV ``COLOR_RGB2GRAY`` on that uint8 image.

N >= 2 natively: the official ``forward(*tensors)`` folds the rule over any number of sources (the
authors' triple-focus Lytro results use it). Big images run on overlapping tiles (``tile``), exactly:
every output pixel depends on its 11x11 input window only.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import numpy as np

from bench.registry import register_method
from bench.types import FusionResult, MethodInfo
from bench.weights import WeightsFile

SOURCE_REPO = "https://github.com/uzeful/IFCNN"
SOURCE_COMMIT = "8fe59c2b1553e52acc793986208ca479d134a8da"
PAPER = (
    "Zhang Y., Liu Y., Sun P., Yan H., Zhao X., Zhang L., IFCNN: A general image fusion framework based "
    "on convolutional neural network, Information Fusion 54 (2020) 99-118. doi:10.1016/j.inffus.2019.07.011"
)
_SHA = {
    "max": "6022b44c88a2f0367ba9b08fcdf0d663745d9a966fca0ee1f41867797b6ff53f",
    "sum": "a8c1d293f1bf16a93e6244a4bf8f7a7bd300dc10555c8597ad7ef3320b0410cb",
    "mean": "fd2ee9361f1d428fc9749e28e8a2c5c5ef6ce6528ab6f5ad8ef5def42e7ffa4b",
}
WEIGHTS = {
    rule: WeightsFile(
        f"ifcnn/IFCNN-{rule.upper()}.pth",
        f"{SOURCE_REPO}/raw/{SOURCE_COMMIT}/Code/snapshots/IFCNN-{rule.upper()}.pth",
        sha,
    )
    for rule, sha in _SHA.items()
}
RULES = ("max", "mean", "sum")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
GRAY_MEAN = (0.0, 0.0, 0.0)
GRAY_STD = (1.0, 1.0, 1.0)
#: OpenCV COLOR_RGB2GRAY weights (the official gray output), used for the float (non-rounded) output
BT601 = np.array([0.299, 0.587, 0.114])
#: ``tile="auto"`` runs on tiles above this many pixels (about 1 GB of activations per megapixel)
AUTO_TILE_PIXELS = 3_000_000
VERSION = "1"


# ------------------------------------------------------------------------------------------ the model
@functools.lru_cache(maxsize=6)
def _load_model(path: str, device: str, rule: str, sha256: str = ""):
    """Eval-mode model for ``rule`` from ``path`` (``sha256`` only keys the cache)."""
    import torch

    from bench.errors import UserError
    from bench.weights import load_state_dict
    from methods._ifcnn_net import IFCNNNet, load_official_state

    state = load_state_dict(path, device="cpu", strip_prefix="module.")
    if set(state) == {"state_dict", "config"} and isinstance(state["state_dict"], dict):
        state = state["state_dict"]  # a bench-style export of the same network
    model = IFCNNNet(rule)
    try:
        load_official_state(model, state)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not an IFCNN checkpoint ({first})") from None
    model = model.to(torch.device(device)).eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return model


def get_model(rule: str = "max", device: str = "cpu", weights: str | os.PathLike | None = None):
    """IFCNN for ``rule`` on ``device`` (cached): the authors' snapshot for that rule (resolved through
    ``$MFIF_WEIGHTS``, the cache or the official URL, sha256-checked) or the file ``weights``."""
    from methods.sesf import resolve_weights

    path, sha = resolve_weights(weights, WEIGHTS[rule])
    return _load_model(path, device, rule, sha)


# ---------------------------------------------------------------------------------------- conversion
def _is_quantised(img: np.ndarray) -> bool:
    """True when ``img`` (float [0, 1]) holds ``u / 255`` values (an 8-bit image as our loader gives)."""
    x = np.asarray(img, dtype=np.float32) * np.float32(255.0)
    return bool(np.max(np.abs(x - np.rint(x)), initial=0.0) < 1e-3)


def to_tensor01(img: np.ndarray, quantised: bool) -> np.ndarray:
    """HxW[x3] float [0, 1] -> 3xHxW float32 as ``ToTensor`` gives it (``u8 / 255`` in float32).

    Gray images are repeated to three channels (PIL ``convert("RGB")``).
    """
    x = np.asarray(img, dtype=np.float32)
    if quantised:
        x = np.rint(x * np.float32(255.0)) / np.float32(255.0)
    x = np.repeat(x[None], 3, axis=0) if x.ndim == 2 else np.moveaxis(x, -1, 0)
    return np.ascontiguousarray(x, dtype=np.float32)


def _normalise(t, mean, std):
    """torchvision ``Normalize``: ``(x - mean) / std`` per channel, float32, in place."""
    import torch

    m = torch.tensor(mean, dtype=torch.float32, device=t.device).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=t.device).view(-1, 1, 1)
    return t.sub_(m).div_(s)


def _output(out, mean, std, gray: bool, official_rounding: bool) -> np.ndarray:
    """Network output (3xhxw tensor) -> HxW[x3] float32 in [0, 1] (official denorm/clamp/truncate)."""
    import torch

    for c in range(3):  # myTransforms.denorm: t.mul_(s).add_(m)
        out[c].mul_(std[c]).add_(mean[c])
    res = out.clamp_(0, 1).mul_(255).cpu().numpy()
    if official_rounding:
        rgb = np.ascontiguousarray(res.astype(np.uint8).transpose(1, 2, 0))
        if gray:
            import cv2

            return (cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) / np.float32(255.0)).astype(np.float32)
        return (rgb / np.float32(255.0)).astype(np.float32)
    del torch
    img = res.transpose(1, 2, 0).astype(np.float64) / 255.0
    if gray:
        img = img @ BT601
    return np.clip(img, 0.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------------------- inference
def _run(model, pieces: list[np.ndarray], device: str, mean, std):
    """The network on N normalised 3xhxw pieces -> 3xhxw output tensor (CPU or ``device``)."""
    import torch

    from methods._ifcnn_net import forward_fast

    xs = (_normalise(torch.from_numpy(p).to(device)[None], mean, std) for p in pieces)
    return forward_fast(model, xs)[0]


def _check(images: Sequence[np.ndarray]) -> tuple[int, ...]:
    if len(images) < 2:
        raise ValueError(f"Expected at least 2 source images, got {len(images)}")
    shape = np.shape(images[0])
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
        raise ValueError(f"Expected HxW or HxWx3 sources, got shape {shape}")
    for k, img in enumerate(images[1:], start=2):
        if np.shape(img) != shape:
            raise ValueError(f"Expected sources of equal shape, got {shape} and {np.shape(img)} (source {k})")
    return shape


def ifcnn_fuse(
    images: Sequence[np.ndarray],
    *,
    rule: str = "max",
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """Fuse N >= 2 images with IFCNN (element-wise rule over the N feature maps).

    Parameters
    ----------
    images : sequence of ndarray
        float [0, 1], all HxW or all HxWx3.
    rule : {"max", "mean", "sum"}
        Fusion rule and snapshot (``IFCNN-MAX.pth`` ...); MAX is the authors' choice for multi-focus.
    device : str or None
        ``auto``, ``cpu``, ``cuda``.
    official_rounding : bool
        Truncate to uint8 levels (and OpenCV gray for gray sources) like the official script; else
        the clamped float result (gray = BT.601 luma of the three output channels).
    weights : path or None
        Another checkpoint of the same network; None = the authors' snapshot for ``rule``.
    tile : "auto", 0 or int
        Overlapping tiles of this core size (0 = whole image; ``auto``: 1024-pixel tiles above
        3 MP). The result is the whole-image result (halo = the network's receptive field).

    Returns
    -------
    FusionResult
        ``decision_map`` is None (IFCNN fuses features, it has no decision map).
    """
    import torch

    from bench.device import resolve_device
    from methods._ifcnn_net import HALO
    from methods._tiling import plan, progress, resolve_tile

    rule = str(rule).strip().lower()
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    shape = _check(images)
    h, w = shape[:2]
    size = resolve_tile(tile, h, w, AUTO_TILE_PIXELS)
    gray = len(shape) == 2
    mean, std = (GRAY_MEAN, GRAY_STD) if gray else (IMAGENET_MEAN, IMAGENET_STD)
    dev = resolve_device(device)
    model = get_model(rule, dev, weights)
    quant = [_is_quantised(img) for img in images]
    with torch.inference_mode():
        if size == 0:
            out = _run(
                model, [to_tensor01(im, q) for im, q in zip(images, quant, strict=True)], dev, mean, std
            )
            return FusionResult(_output(out, mean, std, gray, official_rounding), None)
        fused = np.empty(shape, np.float32)
        for t in progress(plan(h, w, size, HALO), "ifcnn"):
            pieces = [to_tensor01(im[t.outer], q) for im, q in zip(images, quant, strict=True)]
            out = _run(model, pieces, dev, mean, std)[:, t.inner[0], t.inner[1]]
            fused[t.core] = _output(out, mean, std, gray, official_rounding)
    return FusionResult(fused, None)


@register_method(
    MethodInfo(
        id="ifcnn",
        name="IFCNN",
        family="learned",
        paper=PAPER,
        source=f"{SOURCE_REPO} Code/IFCNN_Main.py, Code/model.py @ {SOURCE_COMMIT}",
        license="none stated upstream (no licence file); our code, weights downloaded by the user",
        n_image_rule="native: element-wise MAX/MEAN/SUM over the N feature maps (official forward)",
        device_aware=True,
        deterministic=True,
        version=VERSION,
        weights_url=WEIGHTS["max"].url,
        weights_sha256=WEIGHTS["max"].sha256,
        notes=(
            "authors' snapshots (rule=max default, mean, sum: one file each); official inference "
            "reproduced: PIL RGB input (gray repeated), ImageNet mean/std for colour, none for gray, "
            "replicate padding, ResNet-101 conv1 at stride 1 from the snapshot, denorm + clamp + uint8 "
            "truncation, OpenCV RGB2GRAY for gray results (official_rounding=False keeps floats); "
            "big images on exact overlapping tiles (tile='auto' above 3 MP, 0 = off). Agreement with "
            "the authors' IFCNN-MAX images (Lytro 01-03 pairs, triple 01-02): see tests/test_methods_ifcnn.py"
        ),
        params=(("rule", "max"), ("official_rounding", True), ("tile", "auto")),
    )
)
def fuse(
    images: Sequence[np.ndarray],
    *,
    rule: str = "max",
    device: str | None = "auto",
    official_rounding: bool = True,
    weights: str | os.PathLike | None = None,
    tile: int | str | None = "auto",
) -> FusionResult:
    """IFCNN on the authors' weights (see :func:`ifcnn_fuse`)."""
    return ifcnn_fuse(
        images, rule=rule, device=device, official_rounding=official_rounding, weights=weights, tile=tile
    )
