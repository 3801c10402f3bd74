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
    z: Tensor  # (N, latent_dim + 2) [z_c, relative distance, cosine], a view of a (D, N) tensor
    logits: Tensor  # (N, n_gmm) estimation network output before softmax


def _mlp(sizes: Sequence[int], *, norm_hidden: bool) -> nn.Sequential:
    """Linear layers with tanh between them and no activation after the last one."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            if norm_hidden:
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
    layer_norm : {"none", "input", "hidden", "all"}
        ``"input"`` normalises the encoder's input row (the reconstruction target stays raw),
        ``"hidden"`` adds LayerNorm before every hidden tanh, ``"all"`` does both.
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
        norm_hidden = layer_norm in ("hidden", "all")
        self.input_norm = (
            nn.LayerNorm(n_features) if layer_norm in ("input", "all") else nn.Identity()
        )
        self.encoder = _mlp([n_features, *hidden, latent_dim], norm_hidden=norm_hidden)
        self.decoder = _mlp([latent_dim, *reversed(hidden), n_features], norm_hidden=norm_hidden)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z_c = self.encoder(self.input_norm(x))
        return z_c, self.decoder(z_c)


class _ReconstructionFeatures(torch.autograd.Function):
    """``(x, x') -> (||x - x'||², ||x - x'|| / ||x||, cos(x, x'))`` in one autograd node.

    Written out because autograd's generic path (``square`` -> ``PowBackward``, norms, cosine
    similarity, a dozen small (N,) ops) costs ten passes over the (batch, n_features) tensors
    and some thirty kernel launches per step; the closed-form gradient below needs three passes.
    It was the largest cost of a CPU training step after the matrix products.  ``||x||`` is
    clamped at ``norm_eps`` and ``||x'||`` at 1e-8 so that all-zero rows stay finite.
    """

    @staticmethod
    def forward(ctx, x: Tensor, x_hat: Tensor, norm_eps: float):  # type: ignore[override]
        # vector_norm reduces without materialising x², so only x - x' is a (N, F) temporary.
        err = torch.linalg.vector_norm(x - x_hat, dim=1)  # (N,)
        x_norm = torch.linalg.vector_norm(x, dim=1).clamp_min(norm_eps)  # (N,)
        xh_norm = torch.linalg.vector_norm(x_hat, dim=1).clamp_min(1e-8)  # (N,)
        # x·x' from the three norms: as precise in float32 as a direct dot product, one pass less.
        dot = 0.5 * (x_norm.square() + xh_norm.square() - err.square())  # (N,)
        rel = err / x_norm
        cos = dot / (x_norm * xh_norm)
        ctx.save_for_backward(x, x_hat, err, x_norm, xh_norm, cos)
        return err.square(), rel, cos

    @staticmethod
    def backward(ctx, g_err_sq: Tensor, g_rel: Tensor, g_cos: Tensor):  # type: ignore[override]
        x, x_hat, err, x_norm, xh_norm, cos = ctx.saved_tensors
        # Gradients w.r.t. the three row statistics s = ||x - x'||², q = ||x'||², d = x·x':
        #   rel = sqrt(s) / ||x||         -> d rel / d s = 1 / (2 ||x|| sqrt(s))
        #   cos = d / (||x|| sqrt(q))     -> d cos / d d = 1 / (||x|| ||x'||), d cos / d q = -cos / (2q)
        g_s = g_err_sq + g_rel / (2.0 * x_norm * err.clamp_min(1e-12))
        g_d = g_cos / (x_norm * xh_norm)
        g_q = -g_cos * cos / (2.0 * xh_norm.square())
        # ds/dx' = 2(x' - x), dq/dx' = 2x', dd/dx' = x: one coefficient per row for x' and for x.
        c_xhat = (2.0 * (g_s + g_q)).unsqueeze(1)  # (N, 1)
        c_x = (g_d - 2.0 * g_s).unsqueeze(1)  # (N, 1)
        grad_x_hat = x_hat * c_xhat + x * c_x  # (N, F)
        # x is data; its gradient is only needed if a caller differentiates w.r.t. the input.
        grad_x = None
        if ctx.needs_input_grad[0]:
            # ds/dx = 2(x - x'), dd/dx = x', and ||x|| enters rel and cos directly.
            g_xn = -(g_rel * err + g_cos * cos * x_norm) / x_norm.square()  # d/d||x||
            grad_x = x * (2.0 * g_s + g_xn / x_norm).unsqueeze(1) + x_hat * (
                g_d - 2.0 * g_s
            ).unsqueeze(1)
        return grad_x, grad_x_hat, None


class _EstimationMLP(torch.autograd.Function):
    """``z -> tanh(W1 z + b1) * keep -> W2 (.) + b2`` in one autograd node, feature-major.

    The estimation network does almost no arithmetic (3 -> 10 -> 4 units) but, as separate
    modules, cost as much per training step as the GMM (about 0.7 ms on CPU: eight autograd nodes
    and their bookkeeping).  Inputs and outputs are laid out (features, batch) so that the GMM
    loss, which reduces over components, receives its logits without a transpose.
    ``keep`` is the scaled dropout mask (0 or 1/(1-p)), or None in eval mode.
    """

    @staticmethod
    def forward(ctx, zt: Tensor, keep: Tensor | None, w1: Tensor, b1: Tensor, w2: Tensor,  # type: ignore[override]
                b2: Tensor) -> Tensor:
        h = torch.tanh(torch.addmm(b1.unsqueeze(1), w1, zt))  # (H, N)
        hd = h if keep is None else h * keep  # (H, N)
        ctx.save_for_backward(zt, keep, w1, w2, h, hd)
        return torch.addmm(b2.unsqueeze(1), w2, hd)  # (K, N)

    @staticmethod
    def backward(ctx, g: Tensor):  # type: ignore[override]
        zt, keep, w1, w2, h, hd = ctx.saved_tensors
        g_hd = w2.T @ g  # (H, N)
        g_pre = torch.ops.aten.tanh_backward(g_hd if keep is None else g_hd * keep, h)  # (H, N)
        g_zt = w1.T @ g_pre if ctx.needs_input_grad[0] else None  # (D, N)
        return g_zt, None, g_pre @ zt.T, g_pre.sum(1), g @ hd.T, g.sum(1)


class EstimationNetwork(nn.Module):
    """MLP ``z -> hidden (tanh) -> dropout -> n_gmm`` returning logits (softmax is the caller's).

    ``dropout`` is the *drop* probability; the paper's "Drop(0.5)" keeps half the units, i.e. 0.5.
    Dropout is active in training mode only.  The mask is ``rand >= p`` (``nn.Dropout``'s
    ``bernoulli_`` costs four times as much on CPU here).
    """

    def __init__(self, *, in_features: int, hidden: int, n_gmm: int, dropout: float) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, n_gmm)
        self.dropout = dropout

    def forward(self, z: Tensor) -> Tensor:
        """Logits of shape (N, n_gmm) for ``z`` of shape (N, D); both may be transposed views."""
        zt = z.T  # (D, N), contiguous when z is the transposed view DAGMM builds
        keep = None
        if self.training and self.dropout > 0.0:
            keep = torch.rand(self.hidden.out_features, zt.shape[1], dtype=zt.dtype,
                              device=zt.device) >= self.dropout  # (H, N)
            keep = keep.to(zt.dtype) * (1.0 / (1.0 - self.dropout))
        logits_t = _EstimationMLP.apply(zt, keep, self.hidden.weight, self.hidden.bias,
                                        self.out.weight, self.out.bias)  # (K, N)
        return logits_t.T  # (N, K) view

    def extra_repr(self) -> str:
        return f"dropout={self.dropout}"


class DAGMM(nn.Module):
    """Compression network + reconstruction features + estimation network.

    The latent vector is ``z = [z_c, ||x - x'|| / ||x||, cos(x, x')]`` (paper eq. 3–4).  The
    relative distance divides by ``max(||x||, norm_eps)`` so that an all-zero row gives a large
    but finite feature rather than inf/NaN.
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
        norm_eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.compression = CompressionNetwork(
            n_features=n_features, hidden=hidden, latent_dim=latent_dim, layer_norm=layer_norm
        )
        self.estimation = EstimationNetwork(
            in_features=latent_dim + 2, hidden=estimation_hidden, n_gmm=n_gmm, dropout=dropout
        )
        self.norm_eps = norm_eps

    def forward(self, x: Tensor) -> DAGMMOutput:
        z_c, x_hat = self.compression(x)
        err_sq, rel_dist, cos = _ReconstructionFeatures.apply(x, x_hat, self.norm_eps)  # 3 x (N,)
        # Built feature-major, (D, N), and returned as the (N, D) view: the estimation network and
        # the GMM reduce over features and components, which is fast with the batch innermost.
        zt = torch.cat([z_c.T, rel_dist.unsqueeze(0), cos.unsqueeze(0)], dim=0)  # (latent + 2, N)
        z = zt.T  # (N, latent + 2)
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
