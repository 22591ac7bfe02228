"""Training machinery: defocus synthesis, per-method trainers, checkpoint/resume, the CLI.

Everything runs on small fake data written to ``tmp_path`` (the ``train_ecssd`` layout) or built in
memory from a seeded generator (``default_rng(1234)``), so nothing here needs the real data set.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.errors import UserError  # noqa: E402
from bench.registry import load_all  # noqa: E402
from bench.training import (  # noqa: E402
    TRAINERS,
    TrainingImages,
    TrainRun,
    _batch,
    epoch_order,
    export_weights,
    get_trainer,
    load_model,
    train,
)
from methods._defocus import DefocusConfig, blurred_patch_pair, gaussian_blur, synthesize_pair  # noqa: E402

load_all()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _scene(h: int = 100, w: int = 120, seed: int = 1234) -> tuple[np.ndarray, np.ndarray]:
    """Textured uint8 gray image and a binary disc mask (seeded)."""
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.0)
    img = np.clip((img - img.mean()) * 3 + 128, 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:h, :w]
    mask = ((yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.uint8)
    return img, mask


def _write_fake_dataset(root, n: int = 12) -> None:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        img, mask = _scene(seed=i)
        cv2.imwrite(str(root / "images" / f"{i + 1:04d}.jpg"), cv2.merge([img, img, img]))
        cv2.imwrite(str(root / "masks" / f"{i + 1:04d}.png"), mask * 255)


# ------------------------------------------------------------------------------------ defocus synthesis
class TestDefocus:
    def test_deterministic_for_a_seed(self):
        img, mask = _scene()
        x = img.astype(np.float32) / 255
        a1 = synthesize_pair(x, mask, np.random.default_rng([0, 3, 7]))
        a2 = synthesize_pair(x, mask, np.random.default_rng([0, 3, 7]))
        b = synthesize_pair(x, mask, np.random.default_rng([0, 3, 8]))
        for u, v in zip(a1, a2, strict=True):
            np.testing.assert_array_equal(u, v)
        assert any(not np.array_equal(u, v) for u, v in zip(a1, b, strict=True))

    def test_near_far_model_without_noise_shift_swap(self):
        img, mask = _scene()
        x = img.astype(np.float32) / 255
        cfg = DefocusConfig(p_shift=0.0, max_noise_std=0.0, p_swap=0.0, blur_radii=(3,))
        near, far, target = synthesize_pair(x, mask, np.random.default_rng(0), cfg)
        blurred = gaussian_blur(x, 2.0, 3)
        m = mask.astype(bool)
        # near focus: the object is sharp (exactly the input) and the background blurred
        np.testing.assert_allclose(near[m], 0.95 * x[m], atol=1e-6)
        np.testing.assert_allclose(near[~m], 0.95 * blurred[~m], atol=1e-6)
        np.testing.assert_array_equal(target, m.astype(np.float32))
        # far focus: the object is blurred, the blur spreads over the boundary (soft mask > 0 outside)
        soft = gaussian_blur(mask.astype(np.float32), 8.0, 45)
        np.testing.assert_allclose(far, 0.95 * ((1 - soft) * x + soft * blurred), atol=1e-6)
        ring = (~m) & (soft > 0.2)
        assert ring.any() and np.abs(far[ring] - 0.95 * x[ring]).mean() > 1e-3

    def test_swap_inverts_target(self):
        img, mask = _scene()
        x = img.astype(np.float32) / 255
        cfg = DefocusConfig(p_shift=0.0, max_noise_std=0.0, p_swap=1.0)
        a, b, target = synthesize_pair(x, mask, np.random.default_rng(0), cfg)
        np.testing.assert_array_equal(target, 1.0 - mask)
        np.testing.assert_allclose(b[mask > 0], 0.95 * x[mask > 0], atol=1e-6)

    def test_blur_padding_modes(self):
        x = np.ones((20, 20), np.float32)
        np.testing.assert_allclose(gaussian_blur(x, 2.0, 3, "reflect"), 1.0, atol=1e-6)
        zero_pad = gaussian_blur(x, 2.0, 3, "constant")
        assert zero_pad[0, 0] < 0.5 and abs(zero_pad[10, 10] - 1.0) < 1e-6
        with pytest.raises(ValueError, match="padding"):
            gaussian_blur(x, 2.0, 3, "wrap")

    def test_patch_pair_label(self):
        img, _ = _scene()
        patch = img[:48, :48].astype(np.float32) / 255
        for seed in range(6):
            a, b, label = blurred_patch_pair(patch, np.random.default_rng(seed), margin=8)
            sharp = patch[8:40, 8:40]
            np.testing.assert_array_equal(a if label == 1.0 else b, sharp)
            assert a.shape == b.shape == (32, 32)

    def test_shape_mismatch_raises(self):
        with pytest.raises(ValueError, match="same shape"):
            synthesize_pair(np.zeros((8, 8)), np.zeros((8, 9)), np.random.default_rng(0))


def test_epoch_order_is_a_seeded_permutation():
    o = epoch_order(50, 0, 3)
    np.testing.assert_array_equal(o, epoch_order(50, 0, 3))
    assert sorted(o.tolist()) == list(range(50))
    assert not np.array_equal(o, epoch_order(50, 0, 4))


# ---------------------------------------------------------------------------------- per-method trainers
def _tiny_spec(spec):
    """Same model and loss, small crops (only for keys that exist in the spec's config)."""
    cfg = dict(spec.config)
    if "crop" in cfg:
        cfg["crop"] = min(cfg["crop"], 48)
    if "size" in cfg:  # whole-image resize (SESF, GACN)
        cfg["size"] = min(cfg["size"], 64)
    return dataclasses.replace(spec, config=cfg)


@pytest.mark.parametrize("method_id", sorted(TRAINERS))
def test_a_few_steps_lower_the_loss(method_id):
    spec = _tiny_spec(get_trainer(method_id))
    imgs = [_scene(seed=s) for s in range(2)]
    data = TrainingImages(["a", "b"], [i for i, _ in imgs], [m for _, m in imgs])
    batch = _batch(spec, data, [0, 1], seed=0, epoch=0)
    torch.manual_seed(0)
    model = spec.build_model(spec.config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(6):
        loss, _ = spec.loss(model, batch, spec.config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        final, _ = spec.loss(model, batch, spec.config)
    assert np.isfinite(losses).all()
    assert float(final) < losses[0], f"{method_id}: loss {losses[0]:.5f} -> {float(final):.5f}"


@pytest.mark.parametrize("method_id", ["fmm", "msrsf", "sff"])
def test_export_and_load_roundtrip(method_id, tmp_path):
    spec = get_trainer(method_id)
    torch.manual_seed(0)
    model = spec.build_model(dict(spec.config))
    sha = export_weights(tmp_path / "w.pt", model, spec.config, spec.export_dtype)
    assert len(sha) == 64
    loaded = load_model(spec, tmp_path / "w.pt")
    tol = 1e-3 if spec.export_dtype == "float16" else 0.0  # float16 storage rounds to ~3 digits
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2
        torch.testing.assert_close(v2.to(v.dtype), v, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------- checkpoint/resume
def _run(tmp_path, out, epochs, resume=False):
    return TrainRun(
        method_id="sff",
        data=str(tmp_path / "data"),
        out=str(tmp_path / out),
        epochs=epochs,
        seed=3,
        device="cpu",
        resume=resume,
        max_steps_per_epoch=2,
        progress=False,
    )


def test_resume_gives_identical_state(tmp_path):
    _write_fake_dataset(tmp_path / "data")
    straight = train(_run(tmp_path, "straight", 2))
    train(_run(tmp_path, "split", 1))
    resumed = train(_run(tmp_path, "split", 2, resume=True))
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=0)
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values(), strict=True):
        for k in sa:
            torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0)
    torch.testing.assert_close(a["torch_rng"], b["torch_rng"], rtol=0, atol=0)
    assert a["epoch"] == b["epoch"] == 2 and a["step"] == b["step"] == 4
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]
    assert straight["sha256"] == resumed["sha256"]
    out = tmp_path / "split"
    log = (out / "loss_log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,step,train_loss,val_loss") and len(log) == 3
    assert (out / "loss_curve.png").stat().st_size > 1000
    card = (out / "model_card.md").read_text()
    assert resumed["sha256"] in card and "seed" in card.lower()


def test_resume_without_checkpoint_is_a_user_error(tmp_path):
    _write_fake_dataset(tmp_path / "data", n=6)
    with pytest.raises(UserError, match="no checkpoint"):
        train(_run(tmp_path, "none", 1, resume=True))


def test_unknown_method_and_missing_data(tmp_path):
    with pytest.raises(UserError, match="no trainer"):
        get_trainer("average")
    with pytest.raises(UserError, match="training data not found"):
        TrainingImages.load(tmp_path / "nothing")


def test_cli_train_runs(tmp_path, capsys):
    from bench.cli import main

    _write_fake_dataset(tmp_path / "data", n=6)
    rc = main(
        [
            "train",
            "msrsf",
            "--data",
            str(tmp_path / "data"),
            "--epochs",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--device",
            "cpu",
            "--steps-per-epoch",
            "1",
            "--no-progress",
        ]
    )
    assert rc == 0
    assert (tmp_path / "o" / "msrsf.pt").is_file() and (tmp_path / "o" / "summary.json").is_file()
    assert main(["train", "nosuch", "--data", str(tmp_path / "data")]) == 2


def test_ecssd_gt_test_stems_are_never_trained_on():
    """The ecssd_gt test photographs (stems 0951..1000) are removed from any training split explicitly."""
    from bench.gtphotos import TEST_STEMS
    from bench.training import TrainingImages, held_out_removed

    stems = [f"{k:04d}" for k in range(940, 1001)]
    img = np.zeros((4, 4), np.uint8)
    data = TrainingImages(stems, [img] * len(stems), [img] * len(stems))
    # a validation share smaller than the test set: without the explicit exclusion 0951..0990 would train
    train, val = data.split(10)
    kept = held_out_removed(train)
    assert not set(kept.stems) & set(TEST_STEMS)
    assert kept.stems == [f"{k:04d}" for k in range(940, 951)]
    with pytest.raises(UserError, match="ecssd_gt"):
        held_out_removed(TrainingImages(list(TEST_STEMS[:3]), [img] * 3, [img] * 3))
