"""SESF-Fuse (+ ablations) and GACN on the authors' weights; guided filter, devices, weights.

Reference targets (``shared/reference/official_outputs/README.md``):

* ``sesf_cpu_rerun``: the unmodified official SESF code + weights on CPU (fused PNGs and decision maps);
* ``gacn_first_submit``: the authors' own GACN outputs (GitHub commit 2908ea84).

Acceptance (issue 5): SESF decision maps identical on >= 99.9 % of pixels and fused images within one
grey level on >= 99.9 %; GACN fused within one grey level on >= 99.9 %. A fixed subset runs always;
all 38 / 26 pairs run under ``-m slow``. Measured when written: all 38 SESF pairs bit-identical
(decision maps and fused images); GACN 100 % of pixels within one grey level on all 26 pairs (max
difference 1, >= 99.998 % bit-identical per image). The SESF ablations are checked through Qg against
the authors' per-image records (over 38 pairs: mean |diff| 0.0001, max 0.0006 for sSE and scSE).
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from baselines._guided_filter import (
    box_mean,
    box_sum,
    guided_filter,
    guided_filter_color,
    guided_filter_sesf_color,
)
from bench.errors import UserError
from bench.imageio import read_image

torch = pytest.importorskip("torch")

REPO = Path(__file__).resolve().parent.parent
# acceptance floors from issue 5 (fractions of pixels)
AGREE_FLOOR = 0.999
SESF_FAST = ["color_lytro_01", "color_dsift_flower", "gray_mwg_clock", "color_tid_t80"]
GACN_FAST = ["color_lytro_02", "color_mwg_temple", "gray_mwg_lab", "color_tid_t5"]


def _rng() -> np.random.Generator:
    return np.random.default_rng(20240607)  # fixed seed; no expected value depends on it


# ------------------------------------------------------------------------------- brute-force references
def _win(x: np.ndarray, i: int, j: int, r: int) -> np.ndarray:
    return x[max(0, i - r) : i + r + 1, max(0, j - r) : j + r + 1]


def _brute_mean(x: np.ndarray, r: int) -> np.ndarray:
    out = np.zeros(x.shape)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            w = _win(x, i, j, r)
            out[i, j] = w.reshape(-1, *x.shape[2:]).mean(axis=0)
    return out


def _brute_gray_gf(guide, p, r, eps):
    """He's formula written directly: per-window linear fits, then averaged coefficients."""
    mi, mp = _brute_mean(guide, r), _brute_mean(p, r)
    a = (_brute_mean(guide * p, r) - mi * mp) / (_brute_mean(guide * guide, r) - mi * mi + eps)
    b = mp - a * mi
    return _brute_mean(a, r) * guide + _brute_mean(b, r)


class TestGuidedFilter:
    def test_box_sum_matches_clipped_windows(self):
        x = _rng().random((9, 13, 2))
        ref = np.zeros_like(x)
        for i in range(9):
            for j in range(13):
                ref[i, j] = _win(x, i, j, 3).sum(axis=(0, 1))
        np.testing.assert_allclose(box_sum(x, 3), ref, rtol=1e-12, atol=1e-12)

    def test_box_mean_counts_true_pixels(self):
        out = box_mean(np.full((7, 8), 2.5), 3)
        np.testing.assert_allclose(out, 2.5, rtol=1e-14)

    def test_gray_matches_brute_force(self):
        rng = _rng()
        guide, p = rng.random((11, 14)) * 255, (rng.random((11, 14)) > 0.5).astype(float)
        np.testing.assert_allclose(
            guided_filter(guide, p, 2, 0.1), _brute_gray_gf(guide, p, 2, 0.1), rtol=1e-9, atol=1e-9
        )

    def test_gray_guide_multichannel_input(self):
        rng = _rng()
        guide, p = rng.random((10, 10)), rng.random((10, 10, 3))
        out = guided_filter(guide, p, 2, 0.01)
        for c in range(3):
            np.testing.assert_allclose(out[:, :, c], guided_filter(guide, p[:, :, c], 2, 0.01), rtol=1e-12)

    def test_sesf_color_matches_formula(self):
        rng = _rng()
        g, p = rng.random((10, 12, 3)) * 255, (rng.random((10, 12)) > 0.4).astype(float)
        r, eps = 2, 0.1
        mg = _brute_mean(g, r)
        mp = _brute_mean(p, r)[:, :, None]
        a = (_brute_mean(g * p[:, :, None], r) - mg * mp) / (_brute_mean(g * g, r) - mg * mg + eps)
        b = mp[:, :, 0] - (a * mg).sum(axis=2)
        ref = (_brute_mean(a, r) * g).sum(axis=2) + _brute_mean(b, r)
        np.testing.assert_allclose(guided_filter_sesf_color(g, p, r, eps), ref, rtol=1e-9, atol=1e-9)

    def test_standard_color_matches_formula(self):
        rng = _rng()
        g, p = rng.random((9, 10, 3)), rng.random((9, 10))
        r, eps = 1, 1e-3
        mg = _brute_mean(g, r)
        mp = _brute_mean(p, r)
        cov = _brute_mean(g * p[:, :, None], r) - mg * mp[:, :, None]
        a = np.zeros_like(g)
        for i in range(9):
            for j in range(10):
                w = _win(g, i, j, r).reshape(-1, 3)
                sig = np.cov(w.T, bias=True) + eps * np.eye(3)
                a[i, j] = np.linalg.solve(sig, cov[i, j])
        b = mp - (a * mg).sum(axis=2)
        ref = (_brute_mean(a, r) * g).sum(axis=2) + _brute_mean(b, r)
        np.testing.assert_allclose(guided_filter_color(g, p, r, eps), ref, rtol=1e-7, atol=1e-9)

    def test_edge_preserving_identity(self):
        g = _rng().random((12, 12))
        np.testing.assert_allclose(guided_filter(g, g, 3, 1e-12), g, atol=1e-5)

    @pytest.mark.parametrize(
        "call",
        [
            lambda: guided_filter(np.zeros((5, 5, 3)), np.zeros((5, 5)), 1, 0.1),
            lambda: guided_filter(np.zeros((5, 5)), np.zeros((5, 6)), 1, 0.1),
            lambda: guided_filter(np.zeros((5, 5)), np.zeros((5, 5)), -1, 0.1),
            lambda: guided_filter_sesf_color(np.zeros((5, 5)), np.zeros((5, 5)), 1, 0.1),
            lambda: guided_filter_color(np.zeros((5, 5, 2)), np.zeros((5, 5)), 1, 0.1),
        ],
    )
    def test_bad_inputs_raise(self, call):
        with pytest.raises(ValueError):
            call()

    def test_radius_type(self):
        with pytest.raises(TypeError):
            box_sum(np.zeros((4, 4)), 1.5)


# ------------------------------------------------------------------------------------------- devices
class TestDevice:
    def test_cpu(self):
        from bench.device import resolve_device

        assert resolve_device("cpu") == "cpu"
        assert resolve_device(" CPU ") == "cpu"

    def test_auto_follows_cuda_availability(self):
        from bench.device import resolve_device

        assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
        assert resolve_device(None) == resolve_device("auto")

    def test_cuda_absent_is_a_clear_user_error(self, monkeypatch):
        from bench import device

        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(UserError, match="--device cpu"):
            device.resolve_device("cuda")
        assert device.resolve_device("auto") == "cpu"

    def test_unknown_device(self):
        from bench.device import resolve_device

        with pytest.raises(UserError, match="unknown device"):
            resolve_device("tpu")

    def test_device_info_metadata(self):
        from bench.device import device_info

        info = device_info("cpu").as_dict()
        assert info["device"] == "cpu"
        assert info["threads"] == torch.get_num_threads()
        assert info["torch_version"] == torch.__version__
        assert info["name"]

    def test_timing_syncs_inside_timed_region(self, monkeypatch):
        from bench import device

        events = []
        monkeypatch.setattr(device, "_sync", lambda dev: events.append(("sync", dev)))
        t = device.time_call(lambda: events.append(("call", None)), device="cuda", repeats=3, warmup=2)
        calls = [i for i, e in enumerate(events) if e[0] == "call"]
        assert len(calls) == 5
        for i in calls[2:]:  # every timed call is followed by a synchronize
            assert events[i + 1] == ("sync", "cuda")
        assert t.n == 3 and t.warmup == 2 and t.q1 <= t.median <= t.q3 and t.iqr >= 0

    def test_timing_rejects_bad_repeats(self):
        from bench.device import time_call

        with pytest.raises(ValueError):
            time_call(lambda: None, repeats=0)


# ------------------------------------------------------------------------------------------- weights
class TestWeights:
    def _spec(self, path: Path, sha: str, folder: str = "demo"):
        from bench.weights import WeightsFile

        return WeightsFile(f"{folder}/w.bin", "file://" + urllib.parse.quote(str(path)), sha)

    def test_env_folder_first(self, weights_dir, monkeypatch):
        from bench.weights import resolve
        from methods.gacn import WEIGHTS

        monkeypatch.setenv("MFIF_WEIGHTS", str(weights_dir))
        assert resolve(WEIGHTS, download=False) == weights_dir / "gacn" / "GACN.pkl"

    def test_download_verified_and_atomic(self, tmp_path, monkeypatch):
        from bench.integrity import sha256_file
        from bench.weights import cache_dir, resolve

        monkeypatch.delenv("MFIF_WEIGHTS", raising=False)
        src = tmp_path / "remote.bin"
        src.write_bytes(b"weights" * 100)
        spec = self._spec(src, sha256_file(src))
        got = resolve(spec)
        assert got == cache_dir() / "demo" / "w.bin" and got.read_bytes() == src.read_bytes()
        assert not [p for p in got.parent.iterdir() if p.name.endswith(".part")]
        assert resolve(spec, download=False) == got  # now served from the cache

    def test_download_mismatch_leaves_nothing(self, tmp_path, monkeypatch):
        from bench.weights import cache_dir, resolve

        monkeypatch.delenv("MFIF_WEIGHTS", raising=False)
        src = tmp_path / "remote.bin"
        src.write_bytes(b"tampered")
        with pytest.raises(UserError, match="sha256"):
            resolve(self._spec(src, "0" * 64, folder="demo_bad"))
        folder = cache_dir() / "demo_bad"
        assert not folder.exists() or not any(folder.iterdir())

    def test_unavailable_is_user_error(self, tmp_path, monkeypatch):
        from bench.weights import resolve

        monkeypatch.setenv("MFIF_WEIGHTS", str(tmp_path))
        with pytest.raises(UserError, match="not found"):
            resolve(self._spec(tmp_path / "nowhere.bin", "0" * 64, folder="demo_missing"), download=False)
        with pytest.raises(UserError, match="cannot download"):
            resolve(self._spec(tmp_path / "nowhere.bin", "0" * 64, folder="demo_missing"))

    def test_corrupt_local_copy_rejected(self, tmp_path, monkeypatch):
        from bench.weights import resolve
        from methods.gacn import WEIGHTS

        (tmp_path / "gacn").mkdir()
        (tmp_path / "gacn" / "GACN.pkl").write_bytes(b"not the weights")
        monkeypatch.setenv("MFIF_WEIGHTS", str(tmp_path))
        with pytest.raises(UserError, match="sha256 mismatch"):
            resolve(WEIGHTS, download=False)

    def test_load_strips_dataparallel_prefix(self, weights_dir):
        from bench.weights import load_state_dict

        sd = load_state_dict(weights_dir / "sesf_fuse" / "lp+lssim_se_sf_net_sse_times30.pkl")
        assert "features.0.weight" in sd and not any(k.startswith("module.") for k in sd)


# ---------------------------------------------------------------------------------------------- SESF
def _load_pair(data_dir: Path, scene: str) -> tuple[np.ndarray, np.ndarray]:
    d = data_dir / "sesf_gacn" / scene
    return read_image(d / "A.png"), read_image(d / "B.png")


def _levels(img: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(img, dtype=np.float64) * 255).astype(np.int16)


def _png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path)).astype(np.int16)


@pytest.fixture
def weights_env(weights_dir, monkeypatch):
    monkeypatch.setenv("MFIF_WEIGHTS", str(weights_dir))
    return weights_dir


def _check_sesf_scene(data_dir, reference_dir, scene):
    from methods.sesf import sesf_fuse

    a, b = _load_pair(data_dir, scene)
    res = sesf_fuse([a, b], device="cpu")
    ref_dir = reference_dir / "official_outputs" / "sesf_cpu_rerun"
    dm_ref = _png(ref_dir / "decision_maps" / f"{scene}_dm.png") > 127
    fused_ref = _png(ref_dir / "fused" / f"{scene}.png")
    dm_agree = np.mean((res.decision_map > 0.5) == ~dm_ref)  # official map: white = A; ours: 0 = A
    fused_agree = np.mean(np.abs(_levels(res.image) - fused_ref) <= 1)
    assert dm_agree >= AGREE_FLOOR, f"{scene}: decision maps agree on {dm_agree:.5%}"
    assert fused_agree >= AGREE_FLOOR, f"{scene}: fused within 1 level on {fused_agree:.5%}"


class TestSESF:
    @pytest.mark.calibration
    @pytest.mark.parametrize("scene", SESF_FAST)
    def test_matches_official_rerun(self, data_dir, reference_dir, weights_env, scene):
        _check_sesf_scene(data_dir, reference_dir, scene)

    @pytest.mark.slow
    @pytest.mark.calibration
    def test_matches_official_rerun_all_38(self, data_dir, reference_dir, weights_env):
        scenes = sorted(p.name for p in (data_dir / "sesf_gacn").iterdir() if p.is_dir())
        assert len(scenes) == 38
        for scene in scenes:
            _check_sesf_scene(data_dir, reference_dir, scene)

    @pytest.mark.calibration
    @pytest.mark.parametrize(
        ("method", "record", "scene"),
        [("sesf_sse", "sse_sf_dm", "color_lytro_03"), ("sesf_scse", "scse_sf_dm", "color_lytro_05")],
    )
    def test_ablations_match_authors_qg_record(
        self, data_dir, reference_dir, weights_env, method, record, scene
    ):
        """Ablation checkpoints: Qg of our fused image vs the authors' per-image record (Experiment branch).

        Tolerance 0.002: the records come from the authors' GPU run; on the released model the CPU rerun
        differs from its record by 0.0004 on average (max 0.0035).
        """
        import pandas as pd

        from bench.protocols import prepare
        from bench.registry import get_method
        from metrics.qg import qg_liu

        a, b = _load_pair(data_dir, scene)
        fused = get_method(method).fuse([a, b], device="cpu").image
        pa, pb, pf = prepare([a, b, fused], "sesf2020")
        ours = qg_liu([pa, pb], pf)
        recs = pd.read_csv(reference_dir / "sesf_experiment_metrics" / "per_image_metrics.csv")
        want = recs.query("method == @record and image == @scene and metric == 'Qg'").value.iloc[0]
        assert abs(ours - want) <= 0.002, f"{method} {scene}: Qg {ours:.4f} vs record {want:.4f}"

    def test_identical_sources_give_the_source(self, data_dir, weights_env):
        from methods.sesf import sesf_fuse

        a, _ = _load_pair(data_dir, "gray_mwg_clock")
        res = sesf_fuse([a, a], device="cpu")
        assert res.decision_map.all()  # exact ties go to B (strict >): index 1 everywhere
        np.testing.assert_array_equal(_levels(res.image), _levels(a))

    def test_three_sources_serial_and_float_output(self, data_dir, weights_env):
        from methods.sesf import sesf_fuse

        a, b = _load_pair(data_dir, "color_lytro_01")
        a, b = a[:96, :128], b[:96, :128]
        res = sesf_fuse([a, b, a], device="cpu", official_rounding=False)
        assert res.image.shape == a.shape and res.image.dtype == np.float32
        assert 0.0 <= res.image.min() and res.image.max() <= 1.0
        assert res.decision_map is None

    def test_bad_inputs(self, weights_env):
        from methods.sesf import sesf_fuse

        with pytest.raises(ValueError, match="at least 2"):
            sesf_fuse([np.zeros((32, 32), np.float32)], device="cpu")
        with pytest.raises(ValueError, match="equal shape"):
            sesf_fuse([np.zeros((32, 32), np.float32), np.zeros((32, 33), np.float32)], device="cpu")

    def test_cuda_request_without_cuda(self, weights_env, monkeypatch):
        from methods.sesf import sesf_fuse

        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(UserError, match="CUDA is not available"):
            sesf_fuse([np.zeros((32, 32), np.float32)] * 2, device="cuda")

    def test_fast_encoder_equals_module_forward(self, weights_env):
        from methods.sesf import get_model

        model = get_model("scse", "cpu")
        x = torch.from_numpy(_rng().standard_normal((2, 1, 40, 52)).astype(np.float32))
        with torch.inference_mode():
            torch.testing.assert_close(model.encode_fast(x), model.encode(x), rtol=1e-5, atol=1e-5)

    def test_registration_needs_no_torch(self):
        code = (
            "import sys; sys.modules['torch'] = None\n"
            "from bench.registry import get_method, list_methods\n"
            "assert {'sesf', 'sesf_sse', 'sesf_scse', 'gacn'} <= set(list_methods())\n"
            "info = get_method('gacn').info\n"
            "assert info.device_aware and info.family == 'learned' and info.weights_sha256\n"
        )
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]


# ---------------------------------------------------------------------------------------------- GACN
def _check_gacn_scene(data_dir, reference_dir, scene):
    from methods.gacn import gacn_fuse

    a, b = _load_pair(data_dir, scene)
    res = gacn_fuse([a, b], device="cpu")
    ref = _png(reference_dir / "official_outputs" / "gacn_first_submit" / f"{scene}.png")
    agree = np.mean(np.abs(_levels(res.image) - ref) <= 1)
    assert agree >= AGREE_FLOOR, f"{scene}: within 1 level on {agree:.5%}"


def _stack_crop(data_dir: Path, n: int = 3) -> list[np.ndarray]:
    """``n`` evenly spaced frames of the chip stack, cropped to 160x200 (keeps the test fast)."""
    frames = sorted((data_dir / "stacks" / "gacn_V-4").glob("S*.jpg"))
    picks = [frames[i] for i in np.linspace(0, len(frames) - 1, n).round().astype(int)]
    return [read_image(p)[500:660, 600:800] for p in picks]


class TestGACN:
    @pytest.mark.calibration
    @pytest.mark.parametrize("scene", GACN_FAST)
    def test_matches_authors_outputs(self, data_dir, reference_dir, weights_env, scene):
        _check_gacn_scene(data_dir, reference_dir, scene)

    @pytest.mark.slow
    @pytest.mark.calibration
    def test_matches_authors_outputs_all_26(self, data_dir, reference_dir, weights_env):
        refs = sorted((reference_dir / "official_outputs" / "gacn_first_submit").glob("*.png"))
        assert len(refs) == 26
        for ref in refs:
            _check_gacn_scene(data_dir, reference_dir, ref.stem)

    def test_stack_calibration_close_to_serial(self, data_dir, weights_env):
        from methods.gacn import gacn_fuse

        imgs = _stack_crop(data_dir)
        cal = gacn_fuse(imgs, stack="calibration", device="cpu")
        ser = gacn_fuse(imgs, stack="serial", device="cpu")
        assert cal.image.shape == ser.image.shape == imgs[0].shape
        # calibration copies source pixels: every output pixel is the selected source's pixel
        levels = np.stack([_levels(i) for i in imgs])
        idx = np.rint(cal.decision_map * (len(imgs) - 1)).astype(int)
        np.testing.assert_array_equal(
            _levels(cal.image), np.take_along_axis(levels, idx[None, ..., None], 0)[0]
        )
        # the two strategies agree closely on this crop (measured when written: PSNR 41.9 dB)
        mse = np.mean((cal.image.astype(np.float64) - ser.image) ** 2)
        assert 10 * np.log10(1.0 / mse) > 35.0

    def test_calibration_with_repeated_frame_is_the_hard_pair_decision(self, data_dir, weights_env):
        """For [A, B, B] the decision volume reduces to v_1 = m, v_2 = 1 - m, v_3 = m (1 - m) / (m + 1e-4)
        < v_2, so calibration must pick A exactly where the pair's weight map D exceeds 1 - D."""
        from methods.gacn import gacn_fuse

        a, b = _load_pair(data_dir, "color_lytro_09")
        a, b = a[200:328, 180:340], b[200:328, 180:340]
        d = gacn_fuse([a, b], device="cpu").decision_map
        cal = gacn_fuse([a, b, b], stack="calibration", device="cpu")
        idx = np.rint(cal.decision_map * 2).astype(int)
        assert set(np.unique(idx)) <= {0, 1}
        assert 0.05 < np.mean(idx == 0) < 0.95  # the crop straddles the focus boundary
        agree = np.mean((idx == 0) == (1.0 - d >= d))  # d = 1 - weight of A
        assert agree >= 0.9999, f"index map agrees with the pair map on {agree:.5%}"
        expected = np.where((idx == 0)[..., None], _levels(a), _levels(b))
        np.testing.assert_array_equal(_levels(cal.image), expected)

    def test_identical_sources(self, data_dir, weights_env):
        from methods.gacn import gacn_fuse

        a, _ = _load_pair(data_dir, "color_lytro_07")
        a = a[:128, :160]
        res = gacn_fuse([a, a], device="cpu")
        assert np.abs(_levels(res.image) - _levels(a)).max() <= 1

    def test_bad_stack_mode(self, weights_env):
        from methods.gacn import gacn_fuse

        with pytest.raises(ValueError, match="stack"):
            gacn_fuse([np.zeros((32, 32), np.float32)] * 3, stack="pyramid", device="cpu")

    def test_fast_paths_equal_module_forward(self, weights_env):
        from methods._gacn_net import soft_decision
        from methods.gacn import get_model

        model = get_model("cpu")
        x = torch.from_numpy(_rng().random((2, 1, 48, 60)).astype(np.float32))
        with torch.inference_mode():
            torch.testing.assert_close(model.encode_fast(x), model.encode(x), rtol=1e-5, atol=1e-5)
            s = soft_decision(torch.rand(1, 64, 48, 60), torch.rand(1, 64, 48, 60))
            torch.testing.assert_close(model.decide_fast(s.clone()), model.decide(s), rtol=1e-4, atol=1e-5)

    def test_registry_device_keyword(self, data_dir, weights_env):
        from bench.registry import get_method

        entry = get_method("gacn")
        assert entry.info.device_aware
        a, b = _load_pair(data_dir, "gray_mwg_clock")
        res = entry.fuse([a[:64, :64], b[:64, :64]], device="cpu")
        assert res.image.shape == (64, 64) and res.decision_map.shape == (64, 64)
