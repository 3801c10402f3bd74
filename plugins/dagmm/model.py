"""The DAGMM networks (paper §3.1–3.2): compression network, estimation network, and both joined.

Small ``nn.Module`` s with keyword-only constructors and no device or dtype code: they live
wherever the caller moves them.  The Gaussian-mixture maths is in :mod:`.gmm`; the loss and the
training loop are in :mod:`.train`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .presets import INIT_CHOICES, LAYER_NORM_CHOICES


class DAGMMOutput(NamedTuple):
    """What one forward pass produces."""

    z_c: Tensor  # (N, latent_dim) low-dimensional code
    x_hat: Tensor  # (N, n_features) reconstruction
    err_sq: Tensor  # (N,) squared reconstruction error ||x - x_hat||², reused by the loss
    z: Tensor  # (N, latent_dim + 2 or 3) [z_c, (absolute distance,) relative distance, cosine]
    logits: Tensor  # (N, n_gmm) estimation network output before softmax


def _mlp(sizes: Sequence[int], *, norm: Sequence[bool]) -> nn.Sequential:
    """Linear layers with tanh between them and no activation after the last one.

    ``norm[i]`` puts LayerNorm before the i-th hidden tanh.
    """
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if norm[i]:
                layers.append(nn.LayerNorm(b))
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class CompressionNetwork(nn.Module):
    """Deep autoencoder ``x -> z_c -> x_hat`` with tanh hidden layers and a mirrored decoder.

    Parameters
    ----------
    n_features : int
        Input dimension.
    hidden : sequence of int
        Encoder hidden sizes, e.g. ``(60, 30, 10)`` for the paper's KDDCUP network.
    latent_dim : int
        Size of the code ``z_c``.
    layer_norm : {"none", "input", "hidden", "all", "inner"}
        ``"input"`` normalises the encoder's input row (the reconstruction target stays raw),
        ``"hidden"`` adds LayerNorm before every hidden tanh, ``"all"`` does both; ``"inner"`` is
        ``"hidden"`` without the LayerNorm after the encoder's first layer, so that layer still
        sees the row's scale.
    """

    def __init__(
        self,
        *,
        n_features: int,
        hidden: Sequence[int],
        latent_dim: int,
        layer_norm: str = "none",
    ) -> None:
        super().__init__()
        if layer_norm not in LAYER_NORM_CHOICES:
            raise ValueError(f"layer_norm must be one of {LAYER_NORM_CHOICES}, got {layer_norm!r}")
        norm = [layer_norm in ("hidden", "all", "inner")] * len(hidden)
        self.input_norm = (
            nn.LayerNorm(n_features) if layer_norm in ("input", "all") else nn.Identity()
        )
        first = [False] if layer_norm == "inner" else norm[:1]
        self.encoder = _mlp([n_features, *hidden, latent_dim], norm=first + norm[1:])
        self.decoder = _mlp([latent_dim, *reversed(hidden), n_features], norm=norm)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z_c = self.encoder(self.input_norm(x))  # (N, latent_dim)
        return z_c, self.decoder(z_c)  # (N, latent_dim), (N, n_features)


def reconstruction_features(
    x: Tensor, x_hat: Tensor, *, norm_eps: float = 1e-6
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(||x - x'||², ||x - x'||, ||x - x'|| / ||x||, cos(x, x'))`` per row (paper §3.1 and
    eq. 3-4), each (N,).

    ``||x||`` is clamped at ``norm_eps`` and ``||x'||`` at 1e-8, so an all-zero row gives a
    large but finite relative distance and a cosine of 0 instead of inf/NaN.
    """
    err_sq = (x - x_hat).square().sum(dim=1)  # (N,)
    x_norm = torch.linalg.vector_norm(x, dim=1).clamp_min(norm_eps)  # (N,)
    xh_norm = torch.linalg.vector_norm(x_hat, dim=1).clamp_min(1e-8)  # (N,)
    # sqrt'(0) is inf: the clamp keeps the gradient of a perfect reconstruction finite.
    dist = err_sq.clamp_min(1e-24).sqrt()  # (N,)
    rel = dist / x_norm  # (N,)
    cos = (x * x_hat).sum(dim=1) / (x_norm * xh_norm)  # (N,)
    return err_sq, dist, rel, cos


class EstimationNetwork(nn.Module):
    """MLP ``z -> hidden (tanh) -> dropout -> n_gmm`` returning logits (softmax is the caller's).

    ``dropout`` is the *drop* probability; the paper's "Drop(0.5)" keeps half the units, i.e. 0.5.
    Dropout is active in training mode only.
    """

    def __init__(self, *, in_features: int, hidden: int, n_gmm: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_features, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, n_gmm)
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (N, n_gmm)


class DAGMM(nn.Module):
    """Compression network + reconstruction features + estimation network.

    The latent vector is ``z = [z_c, ||x - x'|| / ||x||, cos(x, x')]`` (paper eq. 3–4); with
    ``abs_distance`` the absolute distance ``||x - x'||`` comes before the relative one, as
    §3.1 lists it among the reconstruction features.
    """

    def __init__(
        self,
        *,
        n_features: int,
        hidden: Sequence[int],
        latent_dim: int,
        n_gmm: int,
        estimation_hidden: int = 10,
        dropout: float = 0.5,
        layer_norm: str = "none",
        abs_distance: bool = False,
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.compression = CompressionNetwork(
            n_features=n_features, hidden=hidden, latent_dim=latent_dim, layer_norm=layer_norm
        )
        self.estimation = EstimationNetwork(
            in_features=latent_dim + 2 + int(abs_distance), hidden=estimation_hidden, n_gmm=n_gmm,
            dropout=dropout,
        )
        self.abs_distance = abs_distance
        self.norm_eps = norm_eps

    def forward(self, x: Tensor) -> DAGMMOutput:
        z_c, x_hat = self.compression(x)
        err_sq, dist, rel, cos = reconstruction_features(x, x_hat, norm_eps=self.norm_eps)
        z_r = [dist, rel, cos] if self.abs_distance else [rel, cos]  # each (N,)
        z = torch.cat([z_c, torch.stack(z_r, dim=1)], dim=1)  # (N, latent_dim + len(z_r))
        return DAGMMOutput(z_c=z_c, x_hat=x_hat, err_sq=err_sq, z=z, logits=self.estimation(z))


def init_weights(model: nn.Module, scheme: str, *, generator: torch.Generator | None) -> None:
    """Re-initialise every ``nn.Linear`` in ``model``.

    ``"xavier"`` draws weights from Glorot's uniform distribution with tanh's gain (5/3) and zeroes
    the biases; ``"torch"`` keeps PyTorch's default (uniform in +-1/sqrt(fan_in), about a third
    of Xavier's scale here), drawn from the global RNG, which the detector seeds and forks.
    """
    if scheme not in INIT_CHOICES:
        raise ValueError(f"init must be one of {INIT_CHOICES}, got {scheme!r}")
    if scheme == "torch":
        return
    gain = nn.init.calculate_gain("tanh")
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight, gain=gain, generator=generator)
            nn.init.zeros_(module.bias)
