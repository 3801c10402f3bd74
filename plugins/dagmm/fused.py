"""One DAGMM training step's loss *and* gradients, without the autograd engine.

:meth:`DAGMMObjective.terms` + ``loss.backward()`` records some 60 autograd nodes per step
(eight linear layers, seven tanh, casts, views) and spends about a third of a CPU step on that
bookkeeping rather than on arithmetic.  :func:`loss_and_grads` does the same computation with the
backward pass written out: the matrix products of each linear layer, ``tanh_backward``, and the
closed-form backward functions of the three fused blocks in :mod:`.model` and :mod:`.gmm`
(reconstruction features, estimation network, batch GMM loss).  On CPU the part after the
decoder, all small (N,)- to (K, D, N)-sized arrays, runs in NumPy (:func:`_head_numpy`), whose
per-operation cost there is a third of torch's; elsewhere the blocks' forward and backward are
called directly (:func:`_head_torch`).  The values are the autograd path's to float rounding;
``tests/test_dagmm.py`` compares losses and every parameter gradient on both heads.

Only the plain network is covered (``layer_norm="none"``, tanh MLPs); any other model trains
through autograd (:func:`supports`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from .gmm import _BatchGMMLoss, batch_loss_and_grads_numpy
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


def _grad(param: Tensor) -> Tensor:
    """``param.grad`` to write a gradient into, allocated if missing.  With
    :class:`~.train.FlatAdam` these are views of its flat gradient buffer, which a write in
    place keeps (an assignment would detach the parameter from it)."""
    if param.grad is None:
        param.grad = torch.empty_like(param)
    return param.grad


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
        torch.mm(g.T, acts[i], out=_grad(layer.weight))
        torch.sum(g, 0, out=_grad(layer.bias))
        if i > 0 or input_grad:
            g = g @ layer.weight
    return g if input_grad else None


class _Head(NamedTuple):
    """What the part of a step after the decoder hands back to :func:`loss_and_grads`.

    The three values are 0-d tensors (torch head) or floats (NumPy head)."""

    err_sq_mean: Tensor | float  # mean over rows of ||x - x_hat||²
    energy: Tensor | float  # mean sample energy under the batch GMM
    cov_diag: Tensor | float  # the penalty Σ_k Σ_j 1 / Σ_kjj
    g_x_hat: Tensor  # (N, F) dL/dx_hat, for the decoder
    g_z_c: Tensor  # (N, latent) dL/dz_c through the estimation network, for the encoder


def _head_numpy(model: DAGMM, x: Tensor, z_c: Tensor, x_hat: Tensor, *, jitter: float,
                g_energy: float, g_penalty: float, recon_scale: float) -> _Head:
    """The step from ``(x, z_c, x_hat)`` to the loss terms, the estimation network's gradients
    and the gradients reaching the decoder and encoder, on CPU.  ``g_energy``, ``g_penalty``
    and ``recon_scale`` are dL/d(energy), dL/d(penalty) and dL/d||x_i - x_hat_i||².

    The maths of :class:`.model._ReconstructionFeatures`, :class:`.model._EstimationMLP` and
    :class:`.gmm._BatchGMMLoss` (forward and backward) in NumPy, in the same dtypes: float32
    for the networks (this head is for float32 models), float64 for the mixture.  Torch
    computes what touches ``(N, F)`` arrays (``x - x_hat``, the three row norms, the final
    gradient) and draws the dropout mask (the same draw as the autograd path); everything in
    between is (N,)-, (D, N)- and (K, D, N)-sized, where a torch operator's fixed cost (8-20 µs
    each inside a training step, against 2-5 µs for NumPy) is most of the time.  Side by side
    on KDD99 (198,300 rows, batch 1024, one thread) this took an epoch from 0.80 s to 0.67 s.
    """
    est = model.estimation
    n = x.shape[0]
    latent = z_c.shape[1]
    # -- reconstruction features (as _ReconstructionFeatures.forward) --------------------------
    err = torch.linalg.vector_norm(x - x_hat, dim=1).numpy()  # (N,)
    x_norm = np.maximum(torch.linalg.vector_norm(x, dim=1).numpy(), np.float32(model.norm_eps))
    xh_norm = np.maximum(torch.linalg.vector_norm(x_hat, dim=1).numpy(), np.float32(1e-8))
    err_sq = err * err
    norm_prod = x_norm * xh_norm
    zt = np.empty((latent + 2, n), dtype=np.float32)  # (D, N) = [z_c, relative distance, cosine]
    zt[:latent] = z_c.numpy().T
    np.divide(err, x_norm, out=zt[latent])
    np.divide(0.5 * (x_norm * x_norm + xh_norm * xh_norm - err_sq), norm_prod, out=zt[latent + 1])
    cos = zt[latent + 1]
    # -- estimation network (as _EstimationMLP.forward), the same dropout draw -----------------
    keep = None
    if est.training and est.dropout > 0.0:
        keep_t = torch.rand(est.hidden.out_features, n, dtype=x.dtype) >= est.dropout
        keep = keep_t.numpy().astype(np.float32) * np.float32(1.0 / (1.0 - est.dropout))
    w1, b1, w2, b2 = (p.numpy() for p in (est.hidden.weight, est.hidden.bias, est.out.weight,
                                          est.out.bias))
    h = w1 @ zt
    h += b1[:, None]
    np.tanh(h, out=h)  # (H, N)
    hd = h if keep is None else h * keep
    logits_t = w2 @ hd
    logits_t += b2[:, None]  # (K, N)
    # -- the batch GMM, forward and backward, in float64 ---------------------------------------
    energy, cov_diag, g_zt_gmm, g_logits_t = batch_loss_and_grads_numpy(
        zt.astype(np.float64), logits_t.astype(np.float64), jitter=jitter, g_energy=g_energy,
        g_penalty=g_penalty)
    # -- estimation network backward -----------------------------------------------------------
    g = g_logits_t.astype(np.float32)  # (K, N)
    g_hd = w2.T @ g
    if keep is not None:
        g_hd *= keep
    g_pre = g_hd * (1.0 - h * h)  # tanh backward, (H, N)
    g_zt = w1.T @ g_pre
    g_zt += g_zt_gmm  # (D, N), float32
    np.matmul(g_pre, zt.T, out=_grad(est.hidden.weight).numpy())
    np.sum(g_pre, axis=1, out=_grad(est.hidden.bias).numpy())
    np.matmul(g, hd.T, out=_grad(est.out.weight).numpy())
    np.sum(g, axis=1, out=_grad(est.out.bias).numpy())
    # -- reconstruction features backward (as _ReconstructionFeatures.backward) ----------------
    g_rel, g_cos = g_zt[latent], g_zt[latent + 1]
    g_s = np.float32(recon_scale) + g_rel / (2.0 * x_norm * np.maximum(err, np.float32(1e-12)))
    g_d = g_cos / norm_prod
    g_q = -g_cos * cos / (2.0 * xh_norm * xh_norm)
    c_xhat = torch.from_numpy((2.0 * (g_s + g_q))[:, None])  # (N, 1)
    c_x = torch.from_numpy((g_d - 2.0 * g_s)[:, None])
    g_x_hat = torch.addcmul(x * c_x, x_hat, c_xhat)  # (N, F)
    # Python floats: a 0-d tensor each would cost more than this whole paragraph.
    return _Head(err_sq_mean=float(err_sq.mean()), energy=energy, cov_diag=cov_diag,
                 g_x_hat=g_x_hat, g_z_c=torch.from_numpy(np.ascontiguousarray(g_zt[:latent].T)))


def _head_torch(model: DAGMM, x: Tensor, z_c: Tensor, x_hat: Tensor, *, jitter: float,
                g_energy: float, g_penalty: float, recon_scale: float) -> _Head:
    """:func:`_head_numpy` on any device: the fused blocks' forward and backward called directly."""
    est = model.estimation
    n = x.shape[0]
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
    g_z64, g_logits64, _ = _BatchGMMLoss.backward(
        ctx_gmm, torch.tensor(g_energy, dtype=torch.float64, device=x.device),
        torch.tensor(g_penalty, dtype=torch.float64, device=x.device))  # (N, D), (N, K)
    g_zt, _, gw1, gb1, gw2, gb2 = _EstimationMLP.backward(ctx_est, g_logits64.T.to(zt.dtype))
    for param, value in ((est.hidden.weight, gw1), (est.hidden.bias, gb1),
                         (est.out.weight, gw2), (est.out.bias, gb2)):
        _grad(param).copy_(value)
    g_zt = g_zt + g_z64.T.to(zt.dtype)  # (D, N)
    latent = z_c.shape[1]
    g_err_sq = torch.full((n,), recon_scale, dtype=x.dtype, device=x.device)
    _, g_x_hat, _ = _ReconstructionFeatures.backward(ctx_rec, g_err_sq, g_zt[latent],
                                                     g_zt[latent + 1])
    return _Head(err_sq_mean=err_sq.mean(), energy=energy, cov_diag=cov_diag, g_x_hat=g_x_hat,
                 g_z_c=g_zt[:latent].T)


#: The head for (device type, dtype); anything else gets :func:`_head_torch`.
HEADS = {("cpu", torch.float32): _head_numpy}


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
) -> dict[str, Tensor | float]:
    """The objective's terms on batch ``x`` (as :meth:`DAGMMObjective.terms`, but as floats on
    CPU), with every parameter's ``.grad`` overwritten (in place where it exists) by the
    gradient of ``"loss"``.  Model in training mode.

    Raises :class:`~.gmm.CholeskyError` as the autograd path does.
    """
    encoder = _linears(model.compression.encoder)
    decoder = _linears(model.compression.decoder)
    assert encoder is not None and decoder is not None, "use supports() first"
    enc_acts = _mlp_forward(encoder, x)
    dec_acts = _mlp_forward(decoder, enc_acts[-1])
    n, n_features = x.shape
    per_element = recon_reduction == "mean"  # recon = mean ||x - x_hat||² (/ n_features)
    head = HEADS.get((x.device.type, x.dtype), _head_torch)
    # A diverging step's overflow or NaN reaches the loss (checked by the training loop) and
    # the weights (checked after the epoch); NumPy is not to warn about it on the way.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = head(model, x, enc_acts[-1], dec_acts[-1], jitter=jitter,
                   g_energy=gmm_weight * lambda_energy, g_penalty=gmm_weight * lambda_cov_diag,
                   recon_scale=1.0 / (n * n_features) if per_element else 1.0 / n)
    g_z_c = _mlp_backward(decoder, dec_acts, out.g_x_hat, input_grad=True)
    assert g_z_c is not None
    _mlp_backward(encoder, enc_acts, g_z_c + out.g_z_c, input_grad=False)
    recon = out.err_sq_mean / n_features if per_element else out.err_sq_mean
    loss = recon + gmm_weight * (lambda_energy * out.energy + lambda_cov_diag * out.cov_diag)
    return {"loss": loss, "recon": recon, "energy": out.energy, "cov_diag": out.cov_diag}
