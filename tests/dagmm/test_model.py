"""``adb_plugins.dagmm.model``: the networks and the latent vector of the paper."""

from __future__ import annotations

import re
from pathlib import Path

import torch

from adb_plugins.dagmm.model import DAGMM, init_weights, reconstruction_features

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "dagmm"


def test_latent_features_match_their_definition() -> None:
    torch.manual_seed(0)
    model = DAGMM(n_features=5, hidden=[4], latent_dim=2, n_gmm=3).eval()
    x = torch.rand(16, 5) + 0.1
    out = model(x)
    assert out.z.shape == (16, 4) and out.logits.shape == (16, 3)
    err = torch.linalg.vector_norm(x - out.x_hat, dim=1)
    torch.testing.assert_close(out.z[:, :2], out.z_c)
    torch.testing.assert_close(out.z[:, 2], err / torch.linalg.vector_norm(x, dim=1))
    torch.testing.assert_close(out.z[:, 3], torch.cosine_similarity(x, out.x_hat, dim=1))
    torch.testing.assert_close(out.err_sq, err.square())


def test_all_zero_row_gives_finite_latent() -> None:
    """||x|| = 0 would make the relative distance inf; the epsilon keeps it finite."""
    model = DAGMM(n_features=4, hidden=[3], latent_dim=1, n_gmm=2)
    out = model(torch.zeros(2, 4))
    assert torch.isfinite(out.z).all()


def test_perfect_reconstruction_has_finite_gradients() -> None:
    x = torch.rand(4, 6) + 0.1
    x_hat = x.clone().requires_grad_(True)
    err_sq, dist, rel, cos = reconstruction_features(x, x_hat)
    (err_sq.sum() + dist.sum() + rel.sum() + cos.sum()).backward()
    assert torch.isfinite(x_hat.grad).all()


def test_layer_norm_options() -> None:
    def norms(option: str) -> int:
        model = DAGMM(n_features=6, hidden=[5, 4], latent_dim=1, n_gmm=2, layer_norm=option)
        return sum(isinstance(m, torch.nn.LayerNorm) for m in model.modules())

    assert (norms("none"), norms("input"), norms("hidden"), norms("all"), norms("inner")) == (
        0, 1, 4, 5, 3)
    inner = DAGMM(n_features=6, hidden=[5, 4], latent_dim=1, n_gmm=2, layer_norm="inner")
    # the encoder's first hidden layer sees the raw row's scale; the others are normalised
    assert [type(m).__name__ for m in inner.compression.encoder][:4] == [
        "Linear", "Tanh", "Linear", "LayerNorm"]


def test_abs_distance_joins_the_latent_vector() -> None:
    torch.manual_seed(0)
    model = DAGMM(n_features=5, hidden=[4], latent_dim=2, n_gmm=3, abs_distance=True).eval()
    x = torch.rand(16, 5) + 0.1
    out = model(x)
    err = torch.linalg.vector_norm(x - out.x_hat, dim=1)
    assert out.z.shape == (16, 5) and model.estimation.net[0].in_features == 5
    torch.testing.assert_close(out.z[:, 2], err)
    torch.testing.assert_close(out.z[:, 3], err / torch.linalg.vector_norm(x, dim=1))
    torch.testing.assert_close(out.z[:, 4], torch.cosine_similarity(x, out.x_hat, dim=1))


def test_dropout_is_active_in_training_mode_only() -> None:
    torch.manual_seed(0)
    model = DAGMM(n_features=6, hidden=[5], latent_dim=1, n_gmm=2, dropout=0.5)
    x = torch.rand(64, 6)
    assert not torch.equal(model.train()(x).logits, model(x).logits)
    model.eval()
    assert torch.equal(model(x).logits, model(x).logits)


def test_xavier_init_is_seeded_by_the_generator() -> None:
    def weights(seed: int) -> torch.Tensor:
        model = DAGMM(n_features=6, hidden=[5], latent_dim=1, n_gmm=2)
        init_weights(model, "xavier", generator=torch.Generator().manual_seed(seed))
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    assert torch.equal(weights(1), weights(1)) and not torch.equal(weights(1), weights(2))


def test_the_plugin_uses_no_private_torch_api_and_no_custom_backward() -> None:
    """Issue 12: plain PyTorch only (no torch._*, torch.ops.aten.*, hand-written backward)."""
    banned = re.compile(r"torch\._|torch\.ops\.|autograd\.Function|def backward\(")
    offenders = [f"{path.name}:{i}" for path in sorted(PLUGIN.glob("*.py"))
                 for i, line in enumerate(path.read_text().splitlines(), 1) if banned.search(line)]
    assert sorted(PLUGIN.glob("*.py")) and offenders == []
