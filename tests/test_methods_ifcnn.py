"""IFCNN on the authors' weights against the authors' published images, and the method contract.

Reference: ``shared/reference/official_outputs/ifcnn/`` (IFCNN-MAX on Lytro pairs 01-03 and on the
triple-focus series 01-02, from uzeful/IFCNN ``Code/results/``). Acceptance (issue 13): within one grey
level on >= 99.9 % of pixels on all five.

The authors decoded the JPEG sources with IJG libjpeg >= 7 (PIL from conda, libjpeg 9), whose chroma
upsampling (DCT-scaled) differs from libjpeg-turbo's (PIL/OpenCV wheels today) on about a quarter of
the pixels by a level or two. Decoded with libjpeg 9 (``jpeglib``), our IFCNN gives the authors' images
to within one level on 100 % of pixels (99.997-99.999 % bit-identical) on all five; decoded with
libjpeg-turbo it is 93.0-97.0 % within one level. So the tests decode with libjpeg 9b.
Measured when written (libjpeg 9b, CPU, 1 thread): lytro-01/02/03 and triple-01/02 all 100.000 %
within 1 level; max difference 1 level.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
AGREE_FLOOR = 0.999  # issue 13: >= 99.9 % of pixels within one grey level
PAIRS = ["01", "02", "03"]
TRIPLES = ["01", "02"]
H, W = 64, 80


@pytest.fixture
def weights_env(weights_dir, monkeypatch):
    monkeypatch.setenv("MFIF_WEIGHTS", str(weights_dir))
    return weights_dir


def _read_libjpeg9(path: Path) -> np.ndarray:
    """RGB float32 [0, 1] decoded by IJG libjpeg 9b (as the authors' PIL did)."""
    import jpeglib

    with jpeglib.version("9b"):
        return (jpeglib.read_spatial(str(path)).spatial / np.float32(255.0)).astype(np.float32)


def _agreement(fused: np.ndarray, ref_png: Path) -> tuple[float, float]:
    ref = np.asarray(Image.open(ref_png)).astype(np.int16)
    ours = np.rint(fused.astype(np.float64) * 255).astype(np.int16)
    d = np.abs(ours - ref)
    return float(np.mean(d <= 1)), float(np.mean(d == 0))


def _check_official(data_dir: Path, reference_dir: Path, kind: str, k: str) -> None:
    from methods.ifcnn import ifcnn_fuse

    ref_dir = reference_dir / "official_outputs" / "ifcnn"
    if kind == "pair":
        srcs = [_read_libjpeg9(data_dir / "lytro" / f"lytro-{k}" / f"{r}.jpg") for r in "AB"]
        ref = ref_dir / f"IFCNN-MAX-CMF-lytro-{k}.png"
    else:
        srcs = [_read_libjpeg9(data_dir / "lytro_triple" / f"lytro-triple-{k}" / f"{r}.jpg") for r in "ABC"]
        ref = ref_dir / f"IFCNN-MAX-CMF3-lytro-{k}.png"
    within, exact = _agreement(ifcnn_fuse(srcs, device="cpu").image, ref)
    assert within >= AGREE_FLOOR, f"{kind} {k}: within 1 level on {within:.5%} (bit-identical {exact:.5%})"


class TestOfficialOutputs:
    @pytest.mark.calibration
    @pytest.mark.parametrize(("kind", "k"), [("pair", "01"), ("triple", "01")])
    def test_matches_authors_images(self, data_dir, reference_dir, weights_env, one_torch_thread, kind, k):
        _check_official(data_dir, reference_dir, kind, k)

    @pytest.mark.slow
    @pytest.mark.calibration
    def test_matches_all_five_authors_images(self, data_dir, reference_dir, weights_env):
        for k in PAIRS:
            _check_official(data_dir, reference_dir, "pair", k)
        for k in TRIPLES:
            _check_official(data_dir, reference_dir, "triple", k)


# -------------------------------------------------------------------------------------------- contract
def _scene(seed: int, colour: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)  # fixed seed; no expected value depends on it
    img = gaussian_filter(
        rng.random((H, W, 3) if colour else (H, W)), sigma=(1.5, 1.5, 0)[: 3 if colour else 2]
    )
    img = (img - img.min()) / (img.max() - img.min())
    return np.rint((0.1 + 0.8 * img) * 255).astype(np.float32) / np.float32(255)


def _pair(colour: bool, n: int = 2) -> list[np.ndarray]:
    base = _scene(1234, colour)
    blurred = gaussian_filter(base, sigma=(3.0, 3.0, 0)[: base.ndim])
    mask = np.zeros((H, W), bool)
    mask[:, : W // 2] = True
    m = mask[:, :, None] if colour else mask
    out = [np.where(m, base, blurred), np.where(m, blurred, base)]
    if n == 3:
        out.append(gaussian_filter(base, sigma=(1.0, 1.0, 0)[: base.ndim]))
    return [np.rint(o * 255).astype(np.float32) / np.float32(255) for o in out]


@pytest.mark.usefixtures("weights_env", "one_torch_thread")
class TestContract:
    @pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
    @pytest.mark.parametrize("n", [2, 3])
    def test_shape_dtype_range_on_8bit_grid(self, colour, n):
        from bench.registry import get_method

        srcs = _pair(colour, n)
        res = get_method("ifcnn").fuse(srcs, device="cpu")
        img = res.image
        assert img.shape == srcs[0].shape and img.dtype == np.float32
        assert np.isfinite(img).all() and img.min() >= 0.0 and img.max() <= 1.0
        assert np.allclose(img * 255, np.rint(img * 255), atol=1e-3)  # official uint8 output
        assert res.decision_map is None

    def test_deterministic(self):
        from methods.ifcnn import ifcnn_fuse

        srcs = _pair(True)
        a = ifcnn_fuse(srcs, device="cpu").image
        b = ifcnn_fuse([s.copy() for s in srcs], device="cpu").image
        assert a.tobytes() == b.tobytes()

    def test_sharper_source_wins(self):
        """Each half of the result is closer to the source that is sharp there (MAX rule)."""
        from methods.ifcnn import ifcnn_fuse

        a, b = _pair(True)
        f = ifcnn_fuse([a, b], device="cpu").image
        left, right = (slice(None), slice(4, W // 2 - 4)), (slice(None), slice(W // 2 + 4, W - 4))
        assert np.abs(f[left] - a[left]).mean() < 0.5 * np.abs(f[left] - b[left]).mean()
        assert np.abs(f[right] - b[right]).mean() < 0.5 * np.abs(f[right] - a[right]).mean()

    def test_identical_sources_close_to_the_source(self):
        """A learned reconstruction, not an identity: measured when written, PSNR 46.4 dB (MAX) on a
        Lytro crop; the synthetic scene here gives more than 40 dB."""
        from methods.ifcnn import ifcnn_fuse

        a = _pair(True)[0]
        f = ifcnn_fuse([a, a.copy()], device="cpu").image
        psnr = 10 * np.log10(1.0 / np.mean((f.astype(np.float64) - a) ** 2))
        assert psnr > 35.0, psnr

    def test_native_n_equals_module_forward(self):
        """N = 3 is one network pass with the rule folded over three feature maps (official forward)."""
        from methods._ifcnn_net import forward_fast
        from methods.ifcnn import get_model

        xs = [torch.from_numpy(np.moveaxis(s, -1, 0)[None].copy()) for s in _pair(True, 3)]
        for rule in ("max", "mean", "sum"):
            model = get_model(rule, "cpu")
            with torch.inference_mode():
                ref = model(*[x.clone() for x in xs])
                feats = [model.features(x) for x in xs]
                if rule == "max":
                    acc = torch.maximum(torch.maximum(feats[0], feats[1]), feats[2])
                else:
                    acc = feats[0] + feats[1] + feats[2]
                    acc = acc / 3 if rule == "mean" else acc
                torch.testing.assert_close(model.reconstruct(acc), ref, rtol=0, atol=0)
                torch.testing.assert_close(
                    forward_fast(model, [x.clone() for x in xs]), ref, rtol=1e-5, atol=1e-5
                )

    def test_rules_use_their_own_weights(self):
        from methods.ifcnn import ifcnn_fuse

        srcs = _pair(True)
        outs = {
            r: ifcnn_fuse(srcs, rule=r, device="cpu", official_rounding=False).image
            for r in ("max", "mean", "sum")
        }
        assert np.abs(outs["max"] - outs["mean"]).mean() > 1e-3
        assert np.abs(outs["sum"] - outs["mean"]).mean() > 1e-3
        assert (
            ifcnn_fuse(srcs, rule="MAX", device="cpu").image.tobytes()
            == ifcnn_fuse(srcs, device="cpu").image.tobytes()
        )

    def test_gray_path_is_opencv_gray_of_the_rgb_output(self):
        """Gray sources: three equal channels, no normalisation, uint8 RGB -> OpenCV gray (official IV/MD)."""
        import cv2

        from methods.ifcnn import ifcnn_fuse

        g = _pair(False)
        rgb = [np.repeat(x[:, :, None], 3, axis=2) for x in g]
        gray = ifcnn_fuse(g, device="cpu").image
        # the colour path normalises with ImageNet statistics; rebuild the gray path by hand instead
        from methods._ifcnn_net import forward_fast
        from methods.ifcnn import get_model

        with torch.inference_mode():
            out = forward_fast(
                get_model("max", "cpu"), [torch.from_numpy(np.moveaxis(x, -1, 0)[None].copy()) for x in rgb]
            )[0]
        u8 = np.ascontiguousarray((out.clamp(0, 1) * 255).numpy().astype(np.uint8).transpose(1, 2, 0))
        np.testing.assert_array_equal(
            np.rint(gray * 255).astype(np.uint8), cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY)
        )

    @pytest.mark.parametrize("colour", [False, True], ids=["gray", "colour"])
    def test_tiles_equal_whole_image(self, colour):
        from methods.ifcnn import ifcnn_fuse

        srcs = [np.tile(s, (2, 2, 1) if colour else (2, 2)) for s in _pair(colour, 3)]  # 128 x 160
        whole = ifcnn_fuse(srcs, device="cpu", tile=0).image
        tiled = ifcnn_fuse(srcs, device="cpu", tile=48).image
        d = np.abs(np.rint(whole * 255) - np.rint(tiled * 255))
        assert d.max() <= 1 and np.mean(d == 0) >= 0.999, (d.max(), np.mean(d == 0))

    def test_metadata_params_match_signature(self):
        from bench.registry import get_method

        entry = get_method("ifcnn")
        sig = inspect.signature(entry.fuse)
        for name, default in entry.info.params:
            assert sig.parameters[name].default == default

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [({"rule": "median"}, "rule"), ({"tile": -3}, "tile"), ({"tile": "big"}, "tile")],
    )
    def test_bad_params(self, kwargs, match):
        from methods.ifcnn import ifcnn_fuse

        with pytest.raises(ValueError, match=match):
            ifcnn_fuse(_pair(False), device="cpu", **kwargs)

    def test_bad_sources(self):
        from methods.ifcnn import ifcnn_fuse

        a, b = _pair(False)
        with pytest.raises(ValueError, match="at least 2"):
            ifcnn_fuse([a], device="cpu")
        with pytest.raises(ValueError, match="equal shape"):
            ifcnn_fuse([a, b[:-2]], device="cpu")


class TestWeights:
    @pytest.mark.parametrize("rule", ["max", "mean", "sum"])
    def test_shared_copies_verify(self, weights_env, rule):
        from bench.weights import resolve
        from methods.ifcnn import WEIGHTS

        spec = WEIGHTS[rule]
        assert spec.url.endswith(f"Code/snapshots/IFCNN-{rule.upper()}.pth")
        assert resolve(spec, download=False) == weights_env / "ifcnn" / f"IFCNN-{rule.upper()}.pth"

    def test_wrong_checkpoint_is_user_error(self, weights_env):
        from bench.errors import UserError
        from methods.ifcnn import ifcnn_fuse

        other = weights_env / "gacn" / "GACN.pkl"
        with pytest.raises(UserError, match="not an IFCNN checkpoint"):
            ifcnn_fuse(_pair(False), device="cpu", weights=other)

    def test_registration_needs_no_torch(self):
        code = (
            "import sys; sys.modules['torch'] = None\n"
            "from bench.registry import get_method\n"
            "info = get_method('ifcnn').info\n"
            "assert info.device_aware and info.family == 'learned' and info.weights_sha256\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]


# ----------------------------------------------------------------------- tiled sesf / gacn (issue 14)
def _crop_pair(data_dir: Path, scene: str, h: int = 160, w: int = 200) -> list[np.ndarray]:
    from bench.imageio import read_image

    d = data_dir / "sesf_gacn" / scene
    return [read_image(d / f"{r}.png")[100 : 100 + h, 120 : 120 + w] for r in "AB"]


@pytest.mark.usefixtures("weights_env", "one_torch_thread")
@pytest.mark.parametrize("method", ["sesf", "gacn"])
def test_tiled_network_equals_whole_image(data_dir, method):
    """Tiles (with whole-image cSE weights) give the untiled decision and image: measured when written,
    identical decision maps and 100 % bit-identical images on lytro_01 at 520x520 (tile 200) too."""
    from bench.registry import get_method

    srcs = _crop_pair(data_dir, "color_lytro_01")
    fuse = get_method(method).fuse
    whole = fuse(srcs, device="cpu", tile=0)
    tiled = fuse(srcs, device="cpu", tile=64)
    np.testing.assert_allclose(tiled.decision_map, whole.decision_map, rtol=0, atol=1e-3)
    d = np.abs(np.rint(whole.image * 255) - np.rint(tiled.image * 255))
    assert d.max() <= 1 and np.mean(d == 0) >= 0.999, (d.max(), np.mean(d == 0))


@pytest.mark.usefixtures("weights_env", "one_torch_thread")
def test_tiled_gacn_stack_modes(data_dir):
    from methods.gacn import gacn_fuse

    a, b = _crop_pair(data_dir, "color_lytro_02", 96, 128)
    srcs = [a, b, (0.5 * (a + b)).astype(np.float32)]
    for stack in ("serial", "calibration"):
        whole = gacn_fuse(srcs, stack=stack, device="cpu", tile=0).image
        tiled = gacn_fuse(srcs, stack=stack, device="cpu", tile=48).image
        d = np.abs(np.rint(whole * 255) - np.rint(tiled * 255))
        assert d.max() <= 1 and np.mean(d == 0) >= 0.999, (stack, d.max(), np.mean(d == 0))


def test_tile_setting():
    from methods._tiling import plan, resolve_tile

    assert resolve_tile("auto", 2000, 2000, 3_000_000) == 1024
    assert resolve_tile("auto", 1000, 1000, 3_000_000) == 0
    assert resolve_tile(0, 5000, 5000, 1) == 0 and resolve_tile(None, 5000, 5000, 1) == 0
    assert resolve_tile(300, 200, 250, 1) == 0  # one tile is the whole image
    assert resolve_tile("512", 1000, 1000, 10**9) == 512
    tiles = plan(100, 130, 48, 5)
    cover = np.zeros((100, 130), int)
    for t in tiles:
        cover[t.core] += 1
        assert t.outer[0].start == max(0, t.core[0].start - 5) and t.outer[1].stop == min(
            130, t.core[1].stop + 5
        )
    assert (cover == 1).all()
