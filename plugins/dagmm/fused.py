"""One DAGMM training step's loss *and* gradients, without the autograd engine.

:meth:`DAGMMObjective.terms` + ``loss.backward()`` records some 60 autograd nodes per step
(eight linear layers, seven tanh, casts, views) and spends about a third of a CPU step on that
bookkeeping rather than on arithmetic.  :func:`loss_and_grads` does the same computation with the
backward pass written out: the matrix products of each linear layer, ``tanh_backward``, and the
closed-form backward functions of the three fused blocks in :mod:`.model` and :mod:`.gmm`
(reconstruction features, estimation network, batch GMM loss), called directly.  The values are
the autograd path's to float rounding; ``tests/test_dagmm.py`` compares losses and every
parameter gradient.

Only the plain network is covered (``layer_norm="none"``, tanh MLPs); any other model trains
through autograd (:func:`supports`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .gmm import _BatchGMMLoss
from .model import DAGMM, _EstimationMLP, _ReconstructionFeatures


class _Ctx:
    """Stands in for autograd's ``ctx`` when a Function's forward/backward are called directly."""

    def __init__(self, *needs_input_grad: bool) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple[Tensor, ...] = ()

    def save_for_backward(self, *tensors: Any) -> None:
        self.saved_tensors = tensors


def _linears(seq: nn.Sequential) -> list[nn.Linear] | None:
    """The Linear layers of a ``Linear, Tanh, ..., Linear`` stack, or None for anything else."""
    mods = list(seq)
    ok = len(mods) % 2 == 1 and all(
        isinstance(m, nn.Linear) if i % 2 == 0 else type(m) is nn.Tanh for i, m in enumerate(mods)
    )
    return [m for m in mods if isinstance(m, nn.Linear)] if ok else None


def supports(model: nn.Module) -> bool:
    """Whether :func:`loss_and_grads` can train ``model`` (a plain DAGMM without LayerNorm)."""
    return (
        type(model) is DAGMM
        and isinstance(model.compression.input_norm, nn.Identity)
        and _linears(model.compression.encoder) is not None
        and _linears(model.compression.decoder) is not None
    )


def _mlp_forward(layers: list[nn.Linear], x: Tensor) -> list[Tensor]:
    """Activations ``[x, h_1, ..., out]``: tanh after every layer but the last."""
    acts = [x]
    for i, layer in enumerate(layers):
        h = torch.addmm(layer.bias, acts[-1], layer.weight.T)
        acts.append(h.tanh_() if i < len(layers) - 1 else h)
    return acts


def _mlp_backward(layers: list[nn.Linear], acts: list[Tensor], g: Tensor, *,
                  input_grad: bool) -> Tensor | None:
    """Set each layer's ``.grad`` from ``g`` = dL/d(output); return dL/d(input) if asked."""
    for i in range(len(layers) - 1, -1, -1):
        if i < len(layers) - 1:
            g = torch.ops.aten.tanh_backward(g, acts[i + 1])
        layer = layers[i]
        layer.weight.grad = g.T @ acts[i]
        layer.bias.grad = g.sum(0)
        if i > 0 or input_grad:
            g = g @ layer.weight
    return g if input_grad else None


@torch.no_grad()
def loss_and_grads(
    model: DAGMM,
    x: Tensor,
    *,
    lambda_energy: float,
    lambda_cov_diag: float,
    gmm_weight: float,
    jitter: float,
    recon_reduction: str,
) -> dict[str, Tensor]:
    """The objective's terms on batch ``x`` (as :meth:`DAGMMObjective.terms`), with every
    parameter's ``.grad`` set to the gradient of ``"loss"``.  Model in training mode.

    Raises :class:`~.gmm.CholeskyError` as the autograd path does.
    """
    encoder = _linears(model.compression.encoder)
    decoder = _linears(model.compression.decoder)
    assert encoder is not None and decoder is not None, "use supports() first"
    est = model.estimation
    n, n_features = x.shape

    # -- forward ---------------------------------------------------------------------------
    enc_acts = _mlp_forward(encoder, x)
    z_c = enc_acts[-1]  # (N, latent)
    dec_acts = _mlp_forward(decoder, z_c)
    x_hat = dec_acts[-1]  # (N, F)
    ctx_rec = _Ctx(False, True, False)
    err_sq, rel, cos = _ReconstructionFeatures.forward(ctx_rec, x, x_hat, model.norm_eps)
    zt = torch.cat([z_c.T, rel.unsqueeze(0), cos.unsqueeze(0)], dim=0)  # (D, N)
    keep = None
    if est.training and est.dropout > 0.0:  # the same draw as EstimationNetwork.forward
        keep = torch.rand(est.hidden.out_features, n, dtype=zt.dtype,
                          device=zt.device) >= est.dropout
        keep = keep.to(zt.dtype) * (1.0 / (1.0 - est.dropout))
    ctx_est = _Ctx(True, False, True, True, True, True)
    logits_t = _EstimationMLP.forward(ctx_est, zt, keep, est.hidden.weight, est.hidden.bias,
                                      est.out.weight, est.out.bias)  # (K, N)
    ctx_gmm = _Ctx(True, True, False)
    energy, cov_diag = _BatchGMMLoss.forward(ctx_gmm, zt.T.double(), logits_t.T.double(), jitter)
    recon_scale = 1.0 / n if recon_reduction == "sum" else 1.0 / (n * n_features)
    recon = err_sq.mean() if recon_reduction == "sum" else err_sq.mean() / n_features
    loss = recon + gmm_weight * (lambda_energy * energy + lambda_cov_diag * cov_diag)

    # -- backward --------------------------------------------------------------------------
    g_e = torch.tensor(gmm_weight * lambda_energy, dtype=torch.float64, device=x.device)
    g_p = torch.tensor(gmm_weight * lambda_cov_diag, dtype=torch.float64, device=x.device)
    g_z64, g_logits64, _ = _BatchGMMLoss.backward(ctx_gmm, g_e, g_p)  # (N, D), (N, K)
    g_zt, _, gw1, gb1, gw2, gb2 = _EstimationMLP.backward(ctx_est, g_logits64.T.to(zt.dtype))
    est.hidden.weight.grad, est.hidden.bias.grad = gw1, gb1
    est.out.weight.grad, est.out.bias.grad = gw2, gb2
    g_zt = g_zt + g_z64.T.to(zt.dtype)  # (D, N)
    latent = z_c.shape[1]
    g_err_sq = torch.full((n,), recon_scale, dtype=x.dtype, device=x.device)
    _, g_x_hat, _ = _ReconstructionFeatures.backward(ctx_rec, g_err_sq, g_zt[latent],
                                                     g_zt[latent + 1])
    g_zc = _mlp_backward(decoder, dec_acts, g_x_hat, input_grad=True)
    assert g_zc is not None
    _mlp_backward(encoder, enc_acts, g_zc + g_zt[:latent].T, input_grad=False)
    return {"loss": loss, "recon": recon, "energy": energy, "cov_diag": cov_diag}
