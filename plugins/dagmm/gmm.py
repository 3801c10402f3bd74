"""Gaussian-mixture maths of DAGMM as pure functions on tensors (paper §3.3, eqs. 5–7).

Everything here is meant to run in float64: the latent vectors have 3–4 dimensions, so the cost is
nil, while float32 cannot represent a useful diagonal jitter next to covariances of order 1 (the
classic ``1e-12`` jitter of public reimplementations is below float32's resolution and does
nothing).  The functions take dtype and device from their inputs and never move data.

Two paths compute the same mixture.  :func:`gmm_params` + :func:`sample_energy` (+
:func:`cov_diag_penalty`) are plain autograd code: the reference, and what scoring uses (GMM fitted
once on all training rows, energies of any rows).  :func:`batch_energy_and_penalty` is the
training objective's GMM part with a hand-written backward pass, several times cheaper per step;
the tests hold it to the reference with ``gradcheck``.  Mixture weights come from log
responsibilities or logits via ``logsumexp``/softmax, so a component whose weight underflows to
zero keeps a finite ``log φ`` and finite gradients.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor


class GMMParams(NamedTuple):
    """Mixture parameters; ``chol`` is the lower Cholesky factor of ``cov`` (jitter included)."""

    log_phi: Tensor  # (K,)
    mu: Tensor  # (K, D)
    cov: Tensor  # (K, D, D)
    chol: Tensor  # (K, D, D)


class CholeskyError(RuntimeError):
    """A covariance matrix was not positive definite even with the jitter.

    ``component`` is the index of the first failing component; the caller (which knows the epoch
    and batch) turns this into a :class:`~adbench_dagmm.errors.TrainingError` or recovers.
    """

    def __init__(self, component: int, jitter: float) -> None:
        super().__init__(
            f"covariance of GMM component {component} is not positive definite "
            f"(diagonal jitter {jitter:g})"
        )
        self.component = component
        self.jitter = jitter


def gmm_params(
    z: Tensor, log_gamma: Tensor, *, jitter: float, chunk_rows: int = 65536
) -> GMMParams:
    """Estimate mixture weights, means and covariances from soft assignments (eq. 5).

    Parameters
    ----------
    z : Tensor of shape (N, D)
        Latent vectors (float64 recommended).
    log_gamma : Tensor of shape (N, K)
        Log responsibilities, ``log_softmax`` of the estimation network's output.
    jitter : float
        Added to every covariance diagonal; must be > 0 for a guaranteed factorisation.
    chunk_rows : int
        Rows per step of the covariance accumulation (bounds memory, not the result).

    Returns
    -------
    GMMParams
        ``log_phi`` (K,), ``mu`` (K, D), ``cov`` (K, D, D) with the jitter on its diagonal, and
        its Cholesky factor ``chol``.

    Raises
    ------
    CholeskyError
        If a covariance is not positive definite (only possible with non-finite input or a
        jitter of 0).
    """
    n = z.shape[0]
    log_phi = torch.logsumexp(log_gamma, dim=0) - math.log(n)  # (K,)
    # Weights normalised per component: each column of w sums to 1, so the means and
    # covariances are convex combinations and never divide by an underflowed sum.
    w = torch.softmax(log_gamma, dim=0)  # (N, K)
    mu = w.T @ z  # (K, D)
    # Centred two-pass covariance as batched Gram matrices, in row chunks so that the (K, N, D)
    # deviations of a whole training set never exist at once.
    cov = torch.zeros(mu.shape[0], z.shape[1], z.shape[1], dtype=z.dtype, device=z.device)
    for z_part, w_part in zip(torch.split(z, chunk_rows), torch.split(w, chunk_rows)):
        diff = z_part.unsqueeze(0) - mu.unsqueeze(1)  # (K, n, D)
        cov = cov + (diff * w_part.T.unsqueeze(-1)).transpose(1, 2) @ diff  # (K, D, D)
    cov = add_jitter(cov, jitter)
    chol = cholesky(cov, jitter=jitter)
    return GMMParams(log_phi=log_phi, mu=mu, cov=cov, chol=chol)


def add_jitter(cov: Tensor, jitter: float) -> Tensor:
    """Return ``cov + jitter * I`` for a (K, D, D) stack (out of place, differentiable)."""
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    return cov + jitter * eye


def cholesky(cov: Tensor, *, jitter: float) -> Tensor:
    """Lower Cholesky factors of a (K, D, D) stack; raise :class:`CholeskyError` on failure."""
    chol, info = torch.linalg.cholesky_ex(cov)
    # info is a (K,) tensor: 0 where the factorisation succeeded.  Also catch NaN/inf inputs,
    # for which some LAPACK builds report success and return a non-finite factor.
    bad = (info != 0) | ~torch.isfinite(chol).all(dim=(-2, -1))
    if bool(bad.any()):
        raise CholeskyError(int(bad.nonzero()[0, 0]), jitter)
    return chol


def component_log_density(z: Tensor, mu: Tensor, chol: Tensor) -> Tensor:
    """Log density of every row under every Gaussian component.

    Parameters
    ----------
    z : Tensor of shape (N, D)
    mu : Tensor of shape (K, D)
    chol : Tensor of shape (K, D, D)
        Lower Cholesky factors of the covariances.

    Returns
    -------
    Tensor of shape (N, K)
    """
    d = z.shape[-1]
    diff = (z.unsqueeze(0) - mu.unsqueeze(1)).transpose(1, 2)  # (K, D, N)
    # Mahalanobis distance through a triangular solve: never forms Σ⁻¹ explicitly.
    sol = torch.linalg.solve_triangular(chol, diff, upper=False)  # (K, D, N)
    maha = sol.square().sum(dim=1)  # (K, N)
    # log|Σ| = 2 Σ_j log L_jj, exact from the factor (no det() under/overflow).
    half_logdet = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)  # (K,)
    log_norm = half_logdet + 0.5 * d * math.log(2.0 * math.pi)  # (K,)
    return (-0.5 * maha - log_norm.unsqueeze(-1)).T  # (N, K)


def sample_energy(z: Tensor, params: GMMParams) -> Tensor:
    """Sample energy ``E(z) = -log Σ_k φ_k N(z | μ_k, Σ_k)`` (eq. 6), via ``logsumexp``.

    Returns a tensor of shape (N,).  Higher energy means lower density, i.e. more anomalous.
    """
    log_joint = component_log_density(z, params.mu, params.chol) + params.log_phi  # (N, K)
    return -torch.logsumexp(log_joint, dim=1)


def cov_diag_penalty(cov: Tensor) -> Tensor:
    """The singularity penalty ``P(Σ) = Σ_k Σ_j 1 / Σ_kjj`` of eq. 7 (a scalar)."""
    return torch.diagonal(cov, dim1=-2, dim2=-1).reciprocal().sum()


class _BatchGMMLoss(torch.autograd.Function):
    """Mean sample energy and covariance penalty of a batch under its own GMM, fused.

    Forward: the same maths as :func:`gmm_params` + :func:`sample_energy` +
    :func:`cov_diag_penalty`.  Backward: the closed-form gradient with respect to ``z`` and the
    logits, through the batch estimates of φ, μ and Σ (derivation in the comments).  Autograd's
    generic path records about 120 tiny kernels for this (K = 4, D = 3) computation.

    Everything is laid out with the batch dimension last, (K, N) and (K, D, N): on CPU a
    reduction over a size-3 or size-4 *inner* dimension is 10-20x slower than over an outer one
    (softmax over the last dim of a (1024, 4) tensor: 83 µs; over the first of (4, 1024): 10 µs),
    and those reductions dominated this function before.  ``test_dagmm.py`` checks values and
    gradients against the autograd path with ``gradcheck``.
    """

    @staticmethod
    def forward(ctx, z: Tensor, logits: Tensor, jitter: float):  # type: ignore[override]
        n, d = z.shape
        zt = z.T.contiguous()  # (D, N)
        gamma = torch.softmax(logits.T.contiguous(), dim=0)  # (K, N)
        # An empty component (all γ underflow to 0) gets μ = 0, Σ = jitter·I and log φ ≈ -708:
        # it drops out of the mixture instead of dividing by zero.
        n_k = gamma.sum(1).clamp_min(torch.finfo(z.dtype).tiny)  # (K,)
        w = gamma / n_k.unsqueeze(1)  # (K, N), rows sum to 1
        log_phi = n_k.log() - math.log(n)  # (K,)
        mu = w @ z  # (K, D)
        e = zt.unsqueeze(0) - mu.unsqueeze(2)  # (K, D, N)
        cov = add_jitter((e * w.unsqueeze(1)) @ e.mT, jitter)  # (K, D, D)
        chol, info = torch.linalg.cholesky_ex(cov)
        # Only LAPACK's info here (one check per step); a non-finite input gives a non-finite
        # energy, which the training loop catches.
        if bool(info.any()):
            raise CholeskyError(int(info.nonzero()[0, 0]), jitter)
        # Σ⁻¹ from the factor, then v = Σ⁻¹ e by a batched product: a (K, D, N) result in the
        # same layout as e.  (solve_triangular returns LAPACK's column-major layout, on which
        # the reduction below over D is an inner-dimension reduction: 5x slower.)  v is also
        # exactly what the backward pass needs.
        precision = torch.cholesky_inverse(chol)  # (K, D, D)
        v = precision @ e  # (K, D, N)
        half_logdet = torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)  # (K,)
        const = log_phi - half_logdet - 0.5 * d * math.log(2.0 * math.pi)  # (K,)
        a = const.unsqueeze(1) - 0.5 * (e * v).sum(1)  # (K, N) = log φ_k N(z_i | μ_k, Σ_k)
        lse = torch.logsumexp(a, dim=0)  # (N,)
        diag = torch.diagonal(cov, dim1=-2, dim2=-1)  # (K, D)
        ctx.save_for_backward(gamma, n_k, w, e, precision, v, a, lse, diag)
        return -lse.mean(), diag.reciprocal().sum()

    @staticmethod
    def backward(ctx, g_energy: Tensor, g_penalty: Tensor):  # type: ignore[override]
        gamma, n_k, w, e, precision, v, a, lse, diag = ctx.saved_tensors
        n = gamma.shape[1]
        # dL/da_ki = -g_E r_ki / N with r the posterior softmax_k(a).
        A = -(g_energy / n) * (a - lse).exp()  # (K, N)
        g_log_phi = A.sum(1)  # (K,)  (∂a_ki/∂log φ_k = 1)
        # ∂a/∂Σ = ½ v vᵀ - ½ Σ⁻¹; the penalty adds -1/Σ_jj² on its diagonal entries.
        g_cov = 0.5 * (v * A.unsqueeze(1)) @ v.mT  # (K, D, D)
        g_cov = g_cov - 0.5 * g_log_phi[:, None, None] * precision
        torch.diagonal(g_cov, dim1=-2, dim2=-1).sub_(g_penalty / diag.square())
        # Through e = z - μ and Σ = Σ_i w e eᵀ (+ jitter): the μ-terms of dΣ vanish because
        # Σ_i w_ki e_ki = 0, so g_e = -A v + 2 w g_Σ e.
        e_g = g_cov @ e  # (K, D, N), g_cov is symmetric
        g_e = 2.0 * w.unsqueeze(1) * e_g - A.unsqueeze(1) * v  # (K, D, N)
        h = g_e.sum(2)  # (K, D): minus the gradient reaching μ_k
        g_zt = g_e.sum(0) - h.T @ w  # (D, N), since μ_k = Σ_i w_ki z_i
        # Gradient w.r.t. the normalised weights w (per-component constants cancel below).
        g_w = ((e_g - h.unsqueeze(2)) * e).sum(1)  # (K, N)
        # w = γ / n_k and log φ = log n_k - log N give g_γ = (g_w - Σ_j w_j g_w_j + g_log φ) / n_k,
        # and γ = softmax over components gives g_logits = γ g_γ - γ Σ_k γ_k g_γk.  Both use γ g_γ,
        # formed as w (...) so that an empty component (γ = n_k = 0) yields 0, not 0 * inf.
        q = w * (g_w - (g_w * w).sum(1, keepdim=True) + g_log_phi.unsqueeze(1))  # (K, N) = γ g_γ
        g_logits = q - gamma * q.sum(0, keepdim=True)  # (K, N)
        return g_zt.T, g_logits.T, None


def batch_loss_and_grads_numpy(
    zt: np.ndarray, logits_t: np.ndarray, *, jitter: float, g_energy: float, g_penalty: float
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """:class:`_BatchGMMLoss`'s forward and backward in one call, in NumPy: the CPU training step's
    GMM kernel.

    The same maths step for step (see the comments there; Σ⁻¹ is formed from the Cholesky
    factor, as ``cholesky_inverse`` does), for one reason: speed.  The batch GMM
    is some 70 operations on (K, D, N) float64 arrays of a few thousand elements, and a torch
    operator costs 8-12 µs of dispatch per call inside a training step on CPU where NumPy's costs
    2-4 µs: 0.85 ms against 0.45 ms of a ~4 ms KDD99 step (measured in the loop).  Tests hold the
    two to each other (values and gradients) and to the autograd reference.

    Parameters
    ----------
    zt : ndarray of shape (D, N), float64
        Latent vectors, feature-major.
    logits_t : ndarray of shape (K, N), float64
        Estimation-network output before the softmax, component-major.
    jitter : float
        Diagonal jitter of every covariance.
    g_energy, g_penalty : float
        Weights of the mean energy and of the penalty in the loss (the incoming gradients).

    Returns
    -------
    (float, float, ndarray (D, N), ndarray (K, N))
        Mean energy, penalty ``P(Σ)``, and the gradients of ``g_energy * energy + g_penalty * P``
        with respect to ``zt`` and ``logits_t``.

    Raises
    ------
    CholeskyError
        If a covariance does not factorise (naming the first failing component).  A
        non-finite input may instead give a non-finite energy (as with the torch path; LAPACK
        builds differ), which the training loop catches; NumPy's floating-point warnings are
        the caller's to silence (:func:`.fused.loss_and_grads` does).
    """
    d, n = zt.shape
    k = logits_t.shape[0]
    gamma = np.exp(logits_t - logits_t.max(0))
    gamma /= gamma.sum(0)  # (K, N) softmax over components
    n_k = np.maximum(gamma.sum(1), np.finfo(np.float64).tiny)  # (K,)
    w = gamma / n_k[:, None]  # (K, N), rows sum to 1
    mu = w @ zt.T  # (K, D)
    e = zt[None] - mu[:, :, None]  # (K, D, N)
    cov = np.matmul(e * w[:, None, :], e.transpose(0, 2, 1))  # (K, D, D)
    diag = np.einsum("kii->ki", cov)  # (K, D), a writable view of the diagonals
    diag += jitter
    try:
        chol = np.linalg.cholesky(cov)
        chol_inv = np.linalg.inv(chol)  # triangular
    except np.linalg.LinAlgError:
        failing = next((i for i in range(k) if not _factorises(cov[i])), 0)
        raise CholeskyError(failing, jitter) from None
    precision = chol_inv.transpose(0, 2, 1) @ chol_inv  # (K, D, D), Σ⁻¹ from the factor
    v = precision @ e  # (K, D, N)
    half_logdet = np.log(np.einsum("kii->ki", chol)).sum(1)  # (K,)
    const = np.log(n_k) - math.log(n) - half_logdet - 0.5 * d * math.log(2.0 * math.pi)
    a = np.einsum("kdn,kdn->kn", e, v)
    a *= -0.5
    a += const[:, None]  # (K, N) = log φ_k N(z_i | μ_k, Σ_k)
    a_max = a.max(0)
    r = np.exp(a - a_max)
    r_sum = r.sum(0)
    energy = float(-(a_max + np.log(r_sum)).mean())
    penalty = float((1.0 / diag).sum())
    # -- backward, as _BatchGMMLoss.backward ---------------------------------------------------
    A = r * (-(g_energy / n) / r_sum)  # (K, N)
    g_log_phi = A.sum(1)  # (K,)
    g_cov = np.matmul(v * A[:, None, :], v.transpose(0, 2, 1))
    g_cov -= g_log_phi[:, None, None] * precision
    g_cov *= 0.5
    np.einsum("kii->ki", g_cov)[...] -= g_penalty / diag**2
    e_g = g_cov @ e  # (K, D, N)
    g_e = e_g * (2.0 * w)[:, None, :]
    g_e -= A[:, None, :] * v
    h = g_e.sum(2)  # (K, D)
    g_zt = g_e.sum(0) - h.T @ w  # (D, N)
    e_g -= h[:, :, None]
    g_w = np.einsum("kdn,kdn->kn", e_g, e)  # (K, N)
    q = g_w - (g_w * w).sum(1, keepdims=True) + g_log_phi[:, None]
    q *= w  # γ g_γ
    g_logits_t = q - gamma * q.sum(0)
    return energy, penalty, g_zt, g_logits_t


def _factorises(matrix: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def batch_energy_and_penalty(z: Tensor, logits: Tensor, *, jitter: float) -> tuple[Tensor, Tensor]:
    """Mean energy of ``z`` under the GMM estimated from the batch itself, and ``P(Σ)``.

    The GMM part of the training objective (paper eq. 5–7), with a fused backward pass.

    Parameters
    ----------
    z : Tensor of shape (N, D), float64
    logits : Tensor of shape (N, K), float64
        Estimation-network output before the softmax.
    jitter : float
        Diagonal jitter of every covariance.

    Returns
    -------
    (Tensor, Tensor)
        Scalars: the mean sample energy and the covariance-diagonal penalty.

    Raises
    ------
    CholeskyError
        If a covariance does not factorise.
    """
    return _BatchGMMLoss.apply(z, logits, jitter)
