"""``train METHOD [--data DIR] [--epochs N] [--out DIR] [--resume] [--device D] [--seed N]``."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

NAME = "train"
HELP = "Train a learned method on synthetic multi-focus data made from train_ecssd (never a test set)."


def _default_data() -> str:
    root = os.environ.get("MFIF_DATA")
    return str(Path(root) / "train_ecssd") if root else "train_ecssd"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("method", help="method id with a trainer (fmm, msrsf, sff, ...)")
    p.add_argument(
        "--data",
        default=None,
        help="training folder with images/ and masks/ (default $MFIF_DATA/train_ecssd)",
    )
    p.add_argument("--epochs", type=int, default=None, help="number of epochs (default: the method's own)")
    p.add_argument("--out", default=None, help="output folder (default runs/train/<method>)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="compute device")
    p.add_argument("--seed", type=int, default=0, help="seed of the data stream and the initialisation")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    p.add_argument("--limit-images", type=int, default=None, help="use only the first N training images")
    p.add_argument("--steps-per-epoch", type=int, default=None, help="cap the batches per epoch")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(args: argparse.Namespace) -> int:
    from bench.device import resolve_device
    from bench.errors import UserError
    from bench.training import TrainRun, train

    if args.epochs is not None and args.epochs < 1:
        raise UserError(f"--epochs must be >= 1, got {args.epochs}")
    run = TrainRun(
        method_id=args.method,
        data=args.data or _default_data(),
        out=args.out or str(Path("runs") / "train" / args.method),
        epochs=args.epochs,
        seed=args.seed,
        device=resolve_device(args.device),
        resume=args.resume,
        limit_images=args.limit_images,
        max_steps_per_epoch=args.steps_per_epoch,
        progress=not args.no_progress,
        threads=args.threads,
    )
    summary = train(run)
    Path(run.out, "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"wrote {summary['weights']} (sha256 {summary['sha256']})")
    return 0
