"""``sesf``, ``sesf_sse``, ``sesf_scse`` and ``gacn`` run retrained checkpoints (``weights=PATH``).

A couple of optimiser steps of each trainer on tiny in-memory data (as ``tests/test_training.py`` does),
exported with :func:`bench.training.export_weights` -- the ``{"state_dict", "config"}`` file that
``python -m bench train`` writes -- then loaded through the registered method and used to fuse a small
pair. The authors' raw state_dict format must load the same way. Nothing here needs the data sets;
the one comparison with the authors' weights skips without ``MFIF_WEIGHTS``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.errors import UserError  # noqa: E402
from bench.registry import get_method, load_all  # noqa: E402
from bench.training import TrainingImages, _batch, export_weights, get_trainer  # noqa: E402

load_all()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scene(h: int = 72, w: int = 80, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w)) * 255).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    mask = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.uint8)
    return img, mask


def _train_tiny(method_id: str, steps: int = 2):
    """``steps`` Adam steps of ``method_id``'s trainer (small crops) from its seeded initialisation."""
    spec = get_trainer(method_id)
    cfg = dict(spec.config)
    cfg["size"] = min(cfg.get("size", 64), 64)
    if "crop" in cfg:
        cfg["crop"] = min(cfg["crop"], 40)
    spec = dataclasses.replace(spec, config=cfg)
    imgs = [_scene(seed=s) for s in range(2)]
    data = TrainingImages(["a", "b"], [i for i, _ in imgs], [m for _, m in imgs])
    batch = _batch(spec, data, [0, 1], seed=0, epoch=0)
    torch.manual_seed(0)
    model = spec.build_model(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        loss, _ = spec.loss(model, batch, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), spec


def _pair(h: int = 40, w: int = 48) -> list[np.ndarray]:
    """Two colour images, each sharp on one half (8-bit levels)."""
    rng = np.random.default_rng(7)
    sharp = rng.random((h, w, 3))
    soft = (sharp + np.roll(sharp, 1, 0) + np.roll(sharp, 1, 1) + np.roll(sharp, -1, 0)) / 4
    a, b = sharp.copy(), soft.copy()
    a[:, w // 2 :], b[:, w // 2 :] = soft[:, w // 2 :], sharp[:, w // 2 :]
    return [(np.round(x * 255) / 255).astype(np.float32) for x in (a, b)]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """{method id: (trained model, export path, raw state_dict path)}."""
    root = tmp_path_factory.mktemp("retrained")
    out = {}
    for mid in ("gacn", "sesf", "sesf_sse"):
        model, spec = _train_tiny(mid)
        export = root / f"{mid}.pt"
        export_weights(export, model, spec.config, spec.export_dtype)
        raw = root / f"{mid}_raw.pkl"
        torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, raw)  # DataParallel-style
        out[mid] = (model, export, raw)
    return out


@pytest.mark.parametrize("method_id", ["gacn", "sesf", "sesf_sse"])
def test_checkpoint_loads_the_trained_weights(checkpoints, method_id):
    model, export, raw = checkpoints[method_id]
    if method_id == "gacn":
        from methods.gacn import get_model

        loaded = [get_model("cpu", weights=p) for p in (export, raw)]
    else:
        from methods.sesf import get_model

        att = {"sesf": "cse", "sesf_sse": "sse"}[method_id]
        loaded = [get_model(att, "cpu", weights=str(p)) for p in (export, raw)]
    for m in loaded:
        for (k, v), (k2, v2) in zip(model.state_dict().items(), m.state_dict().items(), strict=True):
            assert k == k2
            torch.testing.assert_close(v2, v.float() if v.is_floating_point() else v, rtol=0, atol=0)


@pytest.mark.parametrize("method_id", ["gacn", "sesf", "sesf_sse"])
def test_fuse_with_retrained_weights(checkpoints, method_id):
    _, export, raw = checkpoints[method_id]
    entry = get_method(method_id)
    imgs = _pair()
    res = entry.fuse(imgs, device="cpu", weights=str(export))
    assert res.image.shape == imgs[0].shape and res.image.dtype == np.float32
    assert np.isfinite(res.image).all() and 0.0 <= res.image.min() <= res.image.max() <= 1.0
    # the raw state_dict form of the same weights gives the same result
    res_raw = entry.fuse(imgs, device="cpu", weights=str(raw))
    np.testing.assert_array_equal(res_raw.image, res.image)
    if method_id == "gacn":  # stacks take the parameter too
        three = entry.fuse([imgs[0], imgs[1], imgs[0]], device="cpu", weights=str(export), stack="serial")
        assert three.image.shape == imgs[0].shape


def test_retrained_differs_from_authors_and_authors_file_is_the_default(checkpoints, weights_dir):
    from methods.gacn import WEIGHTS

    _, export, _ = checkpoints["gacn"]
    entry = get_method("gacn")
    imgs = _pair()
    default = entry.fuse(imgs, device="cpu")
    explicit = entry.fuse(imgs, device="cpu", weights=str(weights_dir / WEIGHTS.relpath))
    np.testing.assert_array_equal(explicit.image, default.image)
    ours = entry.fuse(imgs, device="cpu", weights=str(export))
    assert not np.array_equal(ours.decision_map, default.decision_map)


def test_rewritten_file_is_reloaded(checkpoints, tmp_path):
    """The model cache is keyed by the file's sha256, not only its path."""
    from methods.gacn import get_model

    model, _, _ = checkpoints["gacn"]
    path = tmp_path / "w.pt"
    export_weights(path, model, {})
    first = get_model("cpu", weights=path)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    try:
        export_weights(path, model, {})
        second = get_model("cpu", weights=path)
    finally:
        with torch.no_grad():
            for p in model.parameters():
                p.sub_(1.0)
    assert first is not second
    assert not torch.equal(first.decision_path_conv1[0].weight, second.decision_path_conv1[0].weight)


def test_bad_checkpoints_are_user_errors(checkpoints, tmp_path):
    imgs = _pair()
    sse_export = str(checkpoints["sesf_sse"][1])
    with pytest.raises(UserError, match="attention"):  # an sse export used with the cse network
        get_method("sesf").fuse(imgs, device="cpu", weights=sse_export)
    with pytest.raises(UserError, match="GACN"):  # a SESF checkpoint used with GACN
        get_method("gacn").fuse(imgs, device="cpu", weights=str(checkpoints["sesf"][1]))
    with pytest.raises(UserError, match="not found"):
        get_method("sesf_scse").fuse(imgs, device="cpu", weights=str(tmp_path / "nothing.pt"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError):
        get_method("gacn").fuse(imgs, device="cpu", weights=str(junk))


def test_cli_fuse_param_weights(checkpoints, tmp_path):
    from bench.cli import main
    from bench.imageio import read_image, write_png

    imgs = _pair()
    paths = [tmp_path / "A.png", tmp_path / "B.png"]
    for p, im in zip(paths, imgs, strict=True):
        write_png(p, im)
    out = tmp_path / "F.png"
    export = checkpoints["gacn"][1]
    rc = main(
        [
            "fuse",
            "--method",
            "gacn",
            "--device",
            "cpu",
            "--param",
            f"weights={export}",
            "-o",
            str(out),
            *map(str, paths),
        ]
    )
    assert rc == 0 and out.is_file()
    expected = get_method("gacn").fuse([read_image(p) for p in paths], device="cpu", weights=str(export))
    np.testing.assert_allclose(read_image(out), expected.image, atol=0.5 / 255)
