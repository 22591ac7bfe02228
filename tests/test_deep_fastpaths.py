"""The CPU inference fast paths of the deep methods (issue 15) give the *same bits* as the plain paths.

Every fast path (per-image encoding into reused buffers, NumPy float64 window sums) claims
bit-identical results, because the 8-bit outputs of msrsf, sesf* and gacn
hang on exact ``SF_A > SF_B`` comparisons. These tests compare with ``array_equal``, not a tolerance,
on random inputs and random (untrained) networks, so they need no weights. The outputs on every lytro
scene were checked by sha256 when the paths were introduced (see the note of issue 15).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _randomise_bn(model: torch.nn.Module, seed: int) -> None:
    """Non-trivial BatchNorm statistics (a fresh module has mean 0 / var 1)."""
    g = torch.Generator().manual_seed(seed)
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g) * 0.1)


@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (12, 17), (40, 33)])
@pytest.mark.parametrize("r", [1, 5])
def test_window_sum_f64_equals_torch(shape, r):
    from methods._sesf_net import window_sum, window_sum_f64

    rng = np.random.default_rng(shape[0] * 100 + r)
    # float32 energies with a wide dynamic range, as SF inputs are, in float64
    g = (rng.random(shape, dtype=np.float32) ** 6 * 10.0 ** rng.integers(-6, 3, shape)).astype(np.float32)
    g = g.astype(np.float64)
    want = window_sum(torch.from_numpy(g)[None, None], r)[0, 0].numpy()
    np.testing.assert_array_equal(window_sum_f64(g, r), want)


@pytest.mark.parametrize("hw", [(145, 151), (20, 1100)])
def test_msrsf_feature_energy_equals_encode(hw):
    """Sizes above msrsf.MKLDNN_MIN_NUMEL (below it msrsf keeps the batch path), not multiples of 64."""
    from methods._msrsf_net import MSRSFNet
    from methods._sesf_net import gradient_energy
    from methods.msrsf import MKLDNN_MIN_NUMEL

    assert hw[0] * hw[1] > MKLDNN_MIN_NUMEL and hw[0] * hw[1] % 64
    torch.manual_seed(3)
    model = MSRSFNet(16, 4).eval()
    x = torch.rand(2, 1, *hw)
    with torch.inference_mode():
        want = gradient_energy(model.encode(x), sum_channels=True)
        for i in range(2):
            torch.testing.assert_close(model.feature_energy(x[i : i + 1]), want[i : i + 1], rtol=0, atol=0)
        with pytest.raises(ValueError, match="one 1x1xHxW"):
            model.feature_energy(x)


@pytest.mark.parametrize("attention", ["cse", "sse", "scse"])
def test_sesf_decision_cpu_path_equals_batch_path(attention):
    from methods._sesf_net import MEAN, STD, SESFNet, spatial_frequency
    from methods.sesf import SF_RADIUS, decision_sf

    torch.manual_seed(11)
    model = SESFNet(attention).eval()
    _randomise_bn(model, 12)
    rng = np.random.default_rng(4)
    a, b = (rng.random((29, 34), dtype=np.float32) for _ in range(2))
    x = torch.from_numpy(np.stack([a, b])[:, None])
    x = (x - torch.tensor(MEAN, dtype=torch.float32)) / torch.tensor(STD, dtype=torch.float32)
    with torch.inference_mode():
        sf = spatial_frequency(model.encode_fast(x), SF_RADIUS)  # the batch path, as before issue 15
    want = (sf[0, 0] > sf[1, 0]).numpy()
    got = decision_sf(a, b, model, "cpu")
    np.testing.assert_array_equal(got, want)
    assert 0 < got.sum() < got.size  # both sources win somewhere: the comparison is exercised


@pytest.mark.parametrize(("hw", "onednn"), [((48, 56), False), ((37, 45), False), ((151, 149), True),
                                           ((160, 203), True)])  # fmt: skip
def test_sff_forward_fast_equals_forward(hw, onednn):
    """Below oneDNN's size limit the strided-view path, above it the oneDNN-layout stream; odd sizes drop
    a row or column in the pools, as ``max_pool2d`` does."""
    from methods._sff_net import SFFNet, onednn_layout

    torch.manual_seed(5)
    model = SFFNet((8, 16, 32), 16, 32).eval()
    a, b = torch.rand(1, 1, *hw), torch.rand(1, 1, *hw)
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip("torch built without oneDNN")
    assert onednn_layout(a, list(model.stream)[0::3]) is onednn
    with torch.inference_mode():
        want = model(a, b)
        got = model.forward_fast(a, b)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_sff_onednn_layout_only_where_aten_uses_onednn():
    """The oneDNN-layout stream is taken only where ATen would run every convolution on oneDNN: float32 on
    the CPU, no gradient, each input above the size limit (or a batch above 1)."""
    from methods._sff_net import MKLDNN_MIN_NUMEL, SFFNet, onednn_layout

    convs = list(SFFNet((8, 16, 32), 16, 32).eval().stream)[0::3]
    side = int(MKLDNN_MIN_NUMEL**0.5) + 1
    assert onednn_layout(torch.zeros(1, 1, side, side), convs)
    assert not onednn_layout(torch.zeros(1, 1, side - 2, side - 2), convs)
    assert onednn_layout(torch.zeros(2, 1, 40, 40), convs)  # batches always run on oneDNN
    assert not onednn_layout(torch.zeros(1, 1, side, side, dtype=torch.float64), convs)
    assert not onednn_layout(torch.zeros(1, 1, side, side, requires_grad=True), convs)
    with torch.backends.mkldnn.flags(enabled=False):
        assert not onednn_layout(torch.zeros(1, 1, side, side), convs)
