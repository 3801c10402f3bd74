"""DAGMM objective and a generic mini-batch training loop with early stopping and recovery.

The loop keeps the training rows in one tensor and shuffles with a seeded ``torch.Generator``
(``randperm`` + ``index_select``): no ``DataLoader``, no per-sample Python.  It never prints; it
returns a JSON-serialisable history and calls callbacks after every epoch.

Numerical failures (a non-finite loss, a covariance that does not factorise) never propagate as
NaN: the loop restores the last good checkpoint (model and optimiser at the start of the failing
epoch), asks ``on_failure`` whether and how to go on (DAGMM raises its diagonal jitter tenfold),
and replays the epoch; when the recovery budget is spent it raises :class:`TrainingFailure` naming
the epoch, batch and component, which the detector turns into a ``TrainingError``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .gmm import CholeskyError, batch_energy_and_penalty
from .model import DAGMM, DAGMMOutput


class NumericalFailure(RuntimeError):
    """Raised inside a step when a value is not finite; ``component`` is set for Cholesky."""

    def __init__(self, what: str, *, component: int | None = None, batch: int | None = 0) -> None:
        super().__init__(what)
        self.what = what
        self.component = component
        self.batch = batch


class TrainingFailure(RuntimeError):
    """Training could not recover from a numerical failure; carries where it happened."""

    def __init__(self, what: str, *, epoch: int, batch: int | None, component: int | None) -> None:
        # batch None: the failure happened on the validation rows after the epoch's last batch.
        where = f"epoch {epoch}, " + ("validation" if batch is None else f"batch {batch}")
        if component is not None:
            where += f", GMM component {component}"
        super().__init__(f"{what} at {where}")
        self.epoch, self.batch, self.component = epoch, batch, component


@dataclass
class DAGMMObjective:
    """The DAGMM loss (paper eq. 7) evaluated on one batch.

    ``recon`` is the squared L2 reconstruction error of a row averaged over rows
    (``recon_reduction="sum"``, the paper's ``||x - x'||²``) or over all elements (``"mean"``,
    what most public reimplementations do: it weakens the reconstruction term ``n_features``-fold
    against the energy).  The GMM is estimated from the batch itself in float64 with
    ``cov_jitter`` on its diagonal; ``cov_jitter`` is mutable so that recovery can raise it.
    """

    lambda_energy: float
    lambda_cov_diag: float
    cov_jitter: float
    recon_reduction: str = "sum"
    #: Weight of both GMM terms, scheduled by the caller (energy warm-up); 1.0 = as configured.
    gmm_weight: float = 1.0

    def terms(self, out: DAGMMOutput, x: Tensor) -> dict[str, Tensor]:
        """Loss terms for the model outputs ``out`` of batch ``x``: scalar tensors, ``"loss"`` included."""
        recon = out.err_sq.mean()
        if self.recon_reduction == "mean":
            recon = recon / x.shape[1]
        try:
            energy, cov_diag = batch_energy_and_penalty(
                out.z.double(), out.logits.double(), jitter=self.cov_jitter
            )
        except CholeskyError as exc:
            raise NumericalFailure(str(exc), component=exc.component) from None
        gmm_terms = self.lambda_energy * energy + self.lambda_cov_diag * cov_diag
        loss = recon + self.gmm_weight * gmm_terms
        return {"loss": loss, "recon": recon, "energy": energy, "cov_diag": cov_diag}

    def __call__(self, model: DAGMM, x: Tensor) -> dict[str, Tensor]:
        return self.terms(model(x), x)


def make_optimizer(params: Iterable[nn.Parameter], *, lr: float,
                   device: torch.device) -> torch.optim.Adam:
    """``torch.optim.Adam`` with its fused kernel on CPU and CUDA (one kernel for all
    parameters, public since torch 2.4) and the ``foreach`` implementation elsewhere."""
    if device.type in ("cpu", "cuda"):
        return torch.optim.Adam(params, lr=lr, fused=True)
    return torch.optim.Adam(params, lr=lr, foreach=True)


def _snapshot(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Deep copy of model and optimiser state (a few thousand numbers for DAGMM)."""
    return {
        "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "optimizer": copy.deepcopy(optimizer.state_dict()),
    }


def _is_finite(value: Tensor | float) -> bool:
    return bool(torch.isfinite(value)) if isinstance(value, Tensor) else math.isfinite(value)


def _all_finite(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def train(
    model: nn.Module,
    objective: Callable[[nn.Module, Tensor], dict[str, Any]],
    x_train: Tensor,
    *,
    rows: Tensor | None = None,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    validate: Callable[[nn.Module], dict[str, float]] | None = None,
    monitor: str = "val_loss",
    patience: int = 0,
    min_delta: float = 0.0,
    min_epochs: int = 0,
    grad_clip: float | None = None,
    lr_decay: float = 1.0,
    lr_decay_start: int = 0,
    on_epoch_start: Callable[[int], None] | None = None,
    on_failure: Callable[[NumericalFailure], bool] | None = None,
    max_recoveries: int = 3,
    callbacks: Sequence[Callable[[int, nn.Module, dict[str, Any]], None]] = (),
) -> dict[str, Any]:
    """Train ``model`` by mini-batch gradient descent on ``objective``.

    Parameters
    ----------
    model : nn.Module
        Trained in place; on return it holds the best checkpoint when early stopping is on.
    objective : callable
        ``objective(model, x_batch) -> dict`` of scalars (0-d tensors or floats) with a
        ``"loss"`` key.
    x_train : Tensor of shape (N, F)
        The data, already on the model's device and dtype.
    rows : Tensor of int64, optional
        Indices of the rows to train on (default: all).  Passing indices instead of a sliced
        copy keeps a held-out split free of a second copy of the data.
    optimizer : torch.optim.Optimizer
    epochs : int
        Maximum number of passes over ``x_train``.
    batch_size : int
        Target batch size.  The shuffled rows are split into ``ceil(N / batch_size)`` nearly
        equal batches, so no epoch ends with a tiny batch (a batch of a few rows gives a
        degenerate covariance and a huge penalty gradient).
    generator : torch.Generator
        Source of the shuffling permutations (seeded by the caller).
    validate : callable, optional
        ``validate(model) -> dict`` of floats, called in eval mode after every epoch; its keys
        are stored in the history prefixed with ``"val_"``.
    monitor : str
        History key that early stopping minimises (e.g. ``"val_loss"``).
    patience : int
        Stop after this many epochs without an improvement of ``monitor`` larger than
        ``min_delta`` and restore the best epoch's weights; 0 turns early stopping off and keeps
        the last epoch's weights.
    min_epochs : int
        Early stopping only watches epochs after the first ``min_epochs`` (e.g. a warm-up):
        it can neither stop before then nor restore an earlier epoch.
    grad_clip : float, optional
        Clip the global gradient norm to this value.
    lr_decay : float
        Multiply every learning rate by this factor after each epoch from ``lr_decay_start`` on
        (1.0: constant).
    lr_decay_start : int
        Number of epochs trained at the initial learning rate before the decay begins.
    on_epoch_start : callable, optional
        ``on_epoch_start(epoch)`` (1-based) before every epoch, e.g. to schedule loss weights.
    on_failure : callable, optional
        Called after a numerical failure once the last good checkpoint is restored; return True
        to replay the epoch (after, e.g., raising a jitter), False to give up.
    max_recoveries : int
        Replays allowed over the whole run.
    callbacks : sequence of callables
        ``callback(epoch, model, history)`` after every epoch (1-based), model in eval mode.

    Returns
    -------
    dict
        JSON-serialisable history: per-epoch lists (``epoch``, ``loss``, the other objective terms,
        ``val_*``, ``seconds``) and ``epochs_run``, ``best_epoch``, ``stop_reason``,
        ``recoveries``, ``train_seconds``.

    Raises
    ------
    TrainingFailure
        When a numerical failure cannot be recovered from.
    """
    if rows is None:
        rows = torch.arange(x_train.shape[0], device=x_train.device)
    n = rows.shape[0]
    n_batches = max(1, math.ceil(n / batch_size))
    history: dict[str, Any] = {"epoch": [], "seconds": []}
    recoveries: list[dict[str, Any]] = []
    early_stopping = patience > 0 and validate is not None
    best_value, best_epoch, best_state = math.inf, 0, None
    good = _snapshot(model, optimizer)  # state at the start of the current epoch
    stop_reason = "max_epochs"
    t_start = time.perf_counter()
    epoch = 0
    while epoch < epochs:
        t_epoch = time.perf_counter()
        if on_epoch_start is not None:
            on_epoch_start(epoch + 1)
        model.train()
        perm = rows[torch.randperm(n, generator=generator).to(rows.device)]
        steps: list[tuple[int, dict[str, Any]]] = []  # (batch size, terms), summed per epoch
        try:
            for b, idx in enumerate(torch.tensor_split(perm, n_batches)):
                xb = x_train.index_select(0, idx)  # (B, F)
                optimizer.zero_grad(set_to_none=True)
                try:
                    terms = objective(model, xb)
                except NumericalFailure as exc:
                    exc.batch = b + 1
                    raise
                if not _is_finite(terms["loss"]):
                    raise NumericalFailure("non-finite loss", batch=b + 1)
                terms["loss"].backward()
                if grad_clip:
                    nn.utils.clip_grad_norm_(model.parameters(), grad_clip, foreach=True)
                optimizer.step()
                steps.append((xb.shape[0], {k: v.detach() for k, v in terms.items()}))
            if not _all_finite(model):
                raise NumericalFailure("non-finite weights", batch=n_batches)
            model.eval()
            try:
                val = validate(model) if validate is not None else {}
            except NumericalFailure as exc:
                exc.batch = None  # it happened on the validation rows
                raise
            if not all(math.isfinite(v) for v in val.values()):
                raise NumericalFailure("non-finite validation loss", batch=None)
        except NumericalFailure as exc:
            model.load_state_dict(good["model"])
            optimizer.load_state_dict(good["optimizer"])
            recoveries.append({"epoch": epoch + 1, "batch": exc.batch,
                               "component": exc.component, "what": exc.what})
            if len(recoveries) > max_recoveries or on_failure is None or not on_failure(exc):
                raise TrainingFailure(exc.what, epoch=epoch + 1, batch=exc.batch,
                                      component=exc.component) from None
            continue  # replay the epoch from the restored checkpoint
        epoch += 1
        if lr_decay != 1.0 and epoch >= lr_decay_start:
            for group in optimizer.param_groups:
                group["lr"] *= lr_decay
        history["epoch"].append(epoch)
        # Row-weighted means of the terms over the epoch (tensors: one stack per epoch).
        for key in steps[0][1]:
            values = [t[key] for _, t in steps]
            if isinstance(values[0], Tensor):
                values = torch.stack([v.double() for v in values]).tolist()
            mean = math.fsum(size * v for (size, _), v in zip(steps, values)) / n
            history.setdefault(key, []).append(mean)
        for key, value in val.items():
            history.setdefault(f"val_{key}", []).append(value)
        history["seconds"].append(round(time.perf_counter() - t_epoch, 4))
        good = _snapshot(model, optimizer)
        for callback in callbacks:
            callback(epoch, model, history)
        if early_stopping and epoch > min_epochs:
            value = history[monitor][-1]
            if value < best_value - min_delta:
                best_value, best_epoch, best_state = value, epoch, good["model"]
            elif epoch - best_epoch >= patience:
                stop_reason = "early_stopping"
                break
    if early_stopping and best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = epoch
    model.eval()
    history.update(
        epochs_run=epoch,
        best_epoch=best_epoch,
        stop_reason=stop_reason,
        monitor=monitor if early_stopping else None,
        recoveries=recoveries,
        train_seconds=round(time.perf_counter() - t_start, 3),
    )
    return history
