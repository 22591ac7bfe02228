"""Generic, seeded training loop for the learned methods (``python -m bench train METHOD``).

A method makes itself trainable by registering a :class:`TrainSpec` (``@register_trainer``) next to
its code: a model factory, a per-sample data function and a loss. This module never branches on a
method id.

Determinism
-----------
* Images are the sorted stems of ``train_ecssd``; the last ``val_images`` stems are held out for
  validation (never trained on), and the stems of the ``ecssd_gt`` test set
  (:data:`bench.gtphotos.TEST_STEMS`) are excluded from training explicitly, whatever ``val_images``
  or ``--limit-images`` say. MFIF test sets are never read.
* Sample ``i`` of epoch ``e`` is built from ``numpy.random.default_rng([seed, e, i])`` and the
  epoch order from ``default_rng([seed, e, -1])``, so the data stream is a pure function of
  (seed, epoch) and a resumed run sees exactly the batches an uninterrupted run would.
* The model is initialised after ``torch.manual_seed(seed)``; checkpoints hold model, optimiser and
  the torch RNG state.

Outputs in ``--out``: ``checkpoint.pt`` (every epoch, atomic), ``<id>.pt`` (exported weights of the
last epoch), ``loss_log.csv`` (one row per epoch) and ``loss_curve.png``.
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import UserError

TRAINERS: dict[str, TrainSpec] = {}
#: epoch key of the fixed validation samples (never a training epoch)
VAL_EPOCH = 2**31 - 2


@dataclass(frozen=True)
class TrainSpec:
    """How to train one method.

    Attributes
    ----------
    method_id : str
        Registry id of the method the weights are for.
    build_model : callable
        ``build_model(config: dict) -> torch.nn.Module``.
    make_sample : callable
        ``make_sample(image, mask, rng, config) -> dict[str, ndarray]``; ``image`` is HxW float32
        gray in [0, 1], ``mask`` HxW uint8 {0, 1}. Every array has a leading sample axis (n >= 1),
        batches concatenate along it.
    loss : callable
        ``loss(model, batch: dict[str, Tensor], config) -> (loss, {name: float})``.
    config : dict
        Model and data hyper-parameters (plain Python values; stored with the weights).
    epochs, batch_size, lr : int, int, float
        Defaults for the optimiser (Adam) and the run length.
    val_images : int
        Number of images held out for the validation loss.
    export_dtype : str
        ``"float32"`` or ``"float16"``: storage dtype of the exported weights.
    lr_schedule : callable, optional
        ``lr_schedule(epoch) -> factor``: the learning rate of epoch ``epoch`` (0-based) is
        ``lr * factor``; ``None`` keeps it constant.
    notes : str
        Deviations from the paper's recipe, copied into the model card.
    """

    method_id: str
    build_model: Callable[[dict], Any]
    make_sample: Callable[..., dict]
    loss: Callable[..., tuple]
    config: dict = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-3
    val_images: int = 50
    export_dtype: str = "float32"
    lr_schedule: Callable[[int], float] | None = None
    notes: str = ""


def register_trainer(spec: TrainSpec) -> TrainSpec:
    """Register a :class:`TrainSpec` under ``spec.method_id`` (duplicates raise ``ValueError``)."""
    if spec.method_id in TRAINERS:
        raise ValueError(f"duplicate trainer for {spec.method_id!r}")
    TRAINERS[spec.method_id] = spec
    return spec


def get_trainer(method_id: str) -> TrainSpec:
    """The training spec of a method; raises :class:`UserError` listing the trainable ids."""
    from bench.registry import load_all

    load_all()
    if method_id not in TRAINERS:
        raise UserError(f"method {method_id!r} has no trainer; trainable: {', '.join(sorted(TRAINERS))}")
    return TRAINERS[method_id]


# ----------------------------------------------------------------------------------------- data
@dataclass
class TrainingImages:
    """Gray training images (OpenCV luminance, uint8) and binary masks, held in memory."""

    stems: list[str]
    images: list[np.ndarray]
    masks: list[np.ndarray]

    @classmethod
    def load(cls, root: str | os.PathLike, limit: int | None = None) -> TrainingImages:
        """Read ``root/images/*.jpg`` and ``root/masks/*.png`` (the ``train_ecssd`` layout)."""
        import cv2

        root = Path(root)
        img_dir, mask_dir = root / "images", root / "masks"
        if not img_dir.is_dir() or not mask_dir.is_dir():
            raise UserError(
                f"training data not found: expected {img_dir} and {mask_dir} "
                "(pass --data $MFIF_DATA/train_ecssd)"
            )
        stems = sorted(p.stem for p in img_dir.glob("*.jpg"))
        if limit is not None:
            stems = stems[:limit]
        if not stems:
            raise UserError(f"no *.jpg images in {img_dir}")
        images, masks = [], []
        for s in stems:
            im = cv2.imread(str(img_dir / f"{s}.jpg"), cv2.IMREAD_GRAYSCALE)
            mk = cv2.imread(str(mask_dir / f"{s}.png"), cv2.IMREAD_GRAYSCALE)
            if im is None or mk is None or im.shape != mk.shape:
                raise UserError(f"unreadable or mismatched image/mask pair for stem {s} in {root}")
            images.append(im)
            masks.append((mk > 127).astype(np.uint8))
        return cls(stems, images, masks)

    def without(self, stems) -> TrainingImages:
        """These images minus the given stems (order kept)."""
        drop = set(stems)
        keep = [i for i, s in enumerate(self.stems) if s not in drop]
        return TrainingImages(
            [self.stems[i] for i in keep], [self.images[i] for i in keep], [self.masks[i] for i in keep]
        )

    def split(self, n_val: int) -> tuple[TrainingImages, TrainingImages]:
        """(train, validation): the last ``n_val`` stems are the validation set."""
        if not 0 < n_val < len(self.stems):
            raise ValueError(f"Expected 0 < n_val < {len(self.stems)}, got {n_val}")
        k = len(self.stems) - n_val
        return (
            TrainingImages(self.stems[:k], self.images[:k], self.masks[:k]),
            TrainingImages(self.stems[k:], self.images[k:], self.masks[k:]),
        )


def held_out_removed(train_set: TrainingImages) -> TrainingImages:
    """``train_set`` without the ``ecssd_gt`` test stems; an error if nothing would be left."""
    from bench.gtphotos import TEST_STEMS

    kept = train_set.without(TEST_STEMS)
    if not kept.stems:
        raise UserError("no training images left after excluding the ecssd_gt test stems 0951..1000")
    return kept


def random_crop(
    image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator, augment: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Random ``size`` x ``size`` crop (upscaled first if the image is smaller), flips and rot90.

    Returns the crop as float32 in [0, 1] and the mask crop as uint8.
    """
    import cv2

    h, w = image.shape
    if min(h, w) < size:
        s = size / min(h, w)
        nh, nw = max(size, round(h * s)), max(size, round(w * s))
        image = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
        h, w = nh, nw
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    im = image[y : y + size, x : x + size].astype(np.float32) / np.float32(255.0)
    mk = mask[y : y + size, x : x + size]
    if augment:
        if rng.random() < 0.5:
            im, mk = im[:, ::-1], mk[:, ::-1]
        k = int(rng.integers(0, 4))
        im, mk = np.rot90(im, k), np.rot90(mk, k)
    return np.ascontiguousarray(im), np.ascontiguousarray(mk)


def _batch(spec: TrainSpec, data: TrainingImages, indices: list[int], seed: int, epoch: int) -> dict:
    import torch

    parts: dict[str, list[np.ndarray]] = {}
    for i in indices:
        rng = np.random.default_rng([seed, epoch, i])
        sample = spec.make_sample(data.images[i], data.masks[i], rng, spec.config)
        for k, v in sample.items():
            parts.setdefault(k, []).append(np.asarray(v, dtype=np.float32))
    return {k: torch.from_numpy(np.concatenate(v, axis=0)) for k, v in parts.items()}


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The permutation of the training images used in ``epoch``."""
    return np.random.default_rng([seed, epoch, 2**31 - 1]).permutation(n)


# ----------------------------------------------------------------------------------- checkpoints
def save_checkpoint(
    path: str | os.PathLike, model, optimizer, epoch: int, step: int, history: list[dict]
) -> None:
    """Atomically write model, optimiser, torch RNG state, epoch counter and loss history."""
    import torch

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "epoch": epoch,
            "step": step,
            "history": history,
        },
        tmp,
    )
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, model, optimizer) -> tuple[int, int, list[dict]]:
    """Restore what :func:`save_checkpoint` wrote; returns (epochs done, step, history)."""
    import torch

    ck = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    torch.set_rng_state(ck["torch_rng"])
    return int(ck["epoch"]), int(ck["step"]), list(ck["history"])


def export_weights(path: str | os.PathLike, model, config: dict, dtype: str = "float32") -> str:
    """Write ``{"state_dict", "config"}`` (weights_only-loadable) and return its sha256."""
    import torch

    if dtype not in ("float32", "float16"):
        raise ValueError(f"Expected dtype 'float32' or 'float16', got {dtype!r}")
    tdt = getattr(torch, dtype)
    sd = {
        k: (v.detach().to("cpu", tdt) if v.is_floating_point() else v.detach().cpu())
        for k, v in model.state_dict().items()
    }
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"state_dict": sd, "config": dict(config)}, tmp)
    os.replace(tmp, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_model(spec: TrainSpec, path: str | os.PathLike, device: str = "cpu"):
    """Build ``spec``'s model from exported weights (float32, eval mode) on ``device``."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(
            f"weights for {spec.method_id} not found at {path}; run `python -m bench train {spec.method_id}`"
        )
    blob = torch.load(path, map_location="cpu", weights_only=True)
    model = spec.build_model(dict(blob["config"]))
    model.load_state_dict(
        {k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()}
    )
    return model.to(device).eval()


# ------------------------------------------------------------------------------------- the loop
@dataclass(frozen=True)
class TrainRun:
    """Arguments of one training run (what the CLI parses)."""

    method_id: str
    data: str
    out: str
    epochs: int | None = None
    seed: int = 0
    device: str = "cpu"
    resume: bool = False
    limit_images: int | None = None
    max_steps_per_epoch: int | None = None
    progress: bool = True
    threads: int | None = None


def _evaluate(spec: TrainSpec, model, val: TrainingImages, seed: int, device) -> float:
    import torch

    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        idx = list(range(len(val.stems)))
        for s in range(0, len(idx), spec.batch_size):
            batch = {
                k: v.to(device)
                for k, v in _batch(spec, val, idx[s : s + spec.batch_size], seed, VAL_EPOCH).items()
            }
            loss, _ = spec.loss(model, batch, spec.config)
            total += float(loss) * len(idx[s : s + spec.batch_size])
            n += len(idx[s : s + spec.batch_size])
    model.train()
    return total / max(n, 1)


def _plot(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    ax.plot(ep, [h["train_loss"] for h in history], "o-", label="train")
    ax.plot(ep, [h["val_loss"] for h in history], "s--", label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_log(history: list[dict], path: Path) -> None:
    keys = list(history[0].keys())
    for h in history:
        keys.extend(k for k in h if k not in keys)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(history)


def train(run: TrainRun) -> dict:
    """Train ``run.method_id`` and return a summary (paths, sha256, final losses, time).

    Raises
    ------
    UserError
        Unknown method, missing data, or ``--resume`` without a checkpoint.
    """
    import torch
    from tqdm import tqdm

    spec = get_trainer(run.method_id)
    epochs = run.epochs if run.epochs is not None else spec.epochs
    out = Path(run.out)
    out.mkdir(parents=True, exist_ok=True)
    if run.threads:
        torch.set_num_threads(run.threads)
    device = torch.device(run.device)
    data = TrainingImages.load(run.data, run.limit_images)
    train_set, val_set = data.split(min(spec.val_images, max(1, len(data.stems) // 5)))
    train_set = held_out_removed(train_set)

    torch.manual_seed(run.seed)
    model = spec.build_model(dict(spec.config)).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
    ck_path = out / "checkpoint.pt"
    start, step, history = 0, 0, []
    if run.resume:
        if not ck_path.is_file():
            raise UserError(f"--resume given but no checkpoint at {ck_path}")
        start, step, history = load_checkpoint(ck_path, model, opt)
    elapsed0 = history[-1]["elapsed_s"] if history else 0.0
    t0 = time.perf_counter()
    n_steps = -(-len(train_set.stems) // spec.batch_size)
    if run.max_steps_per_epoch:
        n_steps = min(n_steps, run.max_steps_per_epoch)
    model.train()
    for epoch in range(start, epochs):
        order = epoch_order(len(train_set.stems), run.seed, epoch)
        if spec.lr_schedule is not None:
            for group in opt.param_groups:
                group["lr"] = spec.lr * spec.lr_schedule(epoch)
        bar = tqdm(
            range(n_steps),
            desc=f"{run.method_id} epoch {epoch + 1}/{epochs}",
            file=sys.stderr,
            disable=not run.progress,
            leave=False,
        )
        running, parts_sum = 0.0, {}
        for s in bar:
            idx = order[s * spec.batch_size : (s + 1) * spec.batch_size].tolist()
            batch = {k: v.to(device) for k, v in _batch(spec, train_set, idx, run.seed, epoch).items()}
            loss, parts = spec.loss(model, batch, spec.config)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            running += float(loss.detach())
            for k, v in parts.items():
                parts_sum[k] = parts_sum.get(k, 0.0) + float(v)
            bar.set_postfix(loss=f"{running / (s + 1):.4f}")
        bar.close()
        val_loss = _evaluate(spec, model, val_set, run.seed, device)
        row = {"epoch": epoch + 1, "step": step, "train_loss": running / n_steps, "val_loss": val_loss}
        row.update({f"train_{k}": v / n_steps for k, v in parts_sum.items()})
        row["elapsed_s"] = round(elapsed0 + time.perf_counter() - t0, 1)
        history.append(row)
        save_checkpoint(ck_path, model, opt, epoch + 1, step, history)
        _write_log(history, out / "loss_log.csv")
        _plot(history, out / "loss_curve.png", f"{run.method_id} (seed {run.seed})")
        print(
            f"{run.method_id} epoch {epoch + 1}/{epochs}: train {row['train_loss']:.4f} val {val_loss:.4f} "
            f"({row['elapsed_s']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    weights = out / f"{run.method_id}.pt"
    sha = export_weights(weights, model, spec.config, spec.export_dtype)
    summary = {
        "method": run.method_id,
        "weights": str(weights),
        "sha256": sha,
        "epochs": epochs,
        "steps": step,
        "final": history[-1] if history else {},
        "run": asdict(run),
        "config": dict(spec.config),
        "batch_size": spec.batch_size,
        "lr": spec.lr,
        "train_images": len(train_set.stems),
        "val_images": len(val_set.stems),
        "history": history,
        "commit": git_commit(),
    }
    (out / "model_card.md").write_text(model_card(summary, spec))
    return summary


def git_commit(repo: str | os.PathLike | None = None) -> str:
    """``git rev-parse HEAD`` of the code that trained (``"unknown"`` outside a git checkout)."""
    from bench.provenance import git_commit as _commit

    return _commit(repo, default="unknown")


def model_card(summary: dict, spec: TrainSpec) -> str:
    """Markdown model card: data, config, seed, commit, sha256, final losses, training time."""
    final = summary.get("final", {})
    run = summary.get("run", {})
    lines = [
        f"# Model card: `{summary['method']}` weights (trained by mfif-bench)",
        "",
        f"- **File**: `{Path(summary['weights']).name}`, sha256 `{summary['sha256']}`",
        f"- **Data**: `train_ecssd` (ECSSD, 1000 natural images + masks; research use only), "
        f"{summary['train_images']} training / {summary['val_images']} validation images "
        "(last stems held out); no MFIF test image is used",
        f"- **Config**: `{summary['config']}`, batch {summary['batch_size']} images, "
        f"Adam lr {summary['lr']}, {summary['epochs']} epochs, {summary['steps']} steps, "
        f"weights stored as {spec.export_dtype}",
        f"- **Seed**: {run.get('seed')}; device {run.get('device')}, torch threads {run.get('threads')}",
        f"- **Code commit**: `{summary.get('commit') or git_commit()}` "
        "(plus the working-tree changes of that session)",
        f"- **Final losses** (epoch {final.get('epoch')}): "
        f"train {final.get('train_loss', float('nan')):.5f}, "
        f"validation {final.get('val_loss', float('nan')):.5f}",
        f"- **Training time**: {final.get('elapsed_s', float('nan')):.0f} s wall clock",
        f"- **Command**: `python -m bench train {summary['method']} --seed {run.get('seed')} "
        f"--epochs {summary['epochs']}`",
        f"- **Recipe notes**: {spec.notes}",
        "",
        "Re-implementation from the paper; these are our weights, not the authors'. Loss per epoch:",
        "",
        "| epoch | train | validation | elapsed s |",
        "| --- | --- | --- | --- |",
    ]
    for h in summary.get("history", []):
        lines.append(f"| {h['epoch']} | {h['train_loss']:.5f} | {h['val_loss']:.5f} | {h['elapsed_s']:.0f} |")
    return "\n".join(lines) + "\n"
