"""The ``dagmm`` detector: parameter checks, fitting, scoring, save/load.

The only module of the plugin that touches numpy; the networks are in :mod:`.model`, the mixture
maths in :mod:`.gmm`, the objective and training loop in :mod:`.train`, the recipes in
:mod:`.presets`.  torch is imported inside the methods, so importing this module (and listing
detectors) stays cheap.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adbench_dagmm.detector import BaseDetector
from adbench_dagmm.errors import DataError, NotFittedError, ParameterError, TrainingError

from .presets import RECIPE_KEYS, fail, resolve_recipe

if TYPE_CHECKING:
    import torch
    from torch import Tensor, nn

    from .model import DAGMM
    from .train import DAGMMObjective

#: Rows per forward pass when validating, scoring or estimating the GMM: bounds the activations
#: held at once without costing speed.
SCORE_CHUNK = 8192
#: How many times a numerical failure may raise the jitter and replay an epoch.
MAX_RECOVERIES = 3
#: With ``clip_inputs``, how far beyond the training range a scored feature may go, in units of
#: that feature's training span (a column constant in training: in its own units).
CLIP_MARGIN = 0.5
#: Save-file format version.
FORMAT_VERSION = 1


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Use ``n`` intra-op threads inside the block and restore the previous count after."""
    import torch

    previous = torch.get_num_threads()
    if n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != previous:
            torch.set_num_threads(previous)


def training_schedule(cfg: dict[str, Any], n_rows: int) -> dict[str, int]:
    """Batch size, epochs, warm-up and decay start (in epochs) for ``n_rows`` training rows.

    The batch size is lowered so that an epoch has at least ``min_batches`` batches; with a
    ``steps`` budget, epochs, ``warmup`` and ``lr_decay_start`` are converted from optimiser
    steps to whole epochs, so that a few hundred rows get as many updates as a million.
    """
    batch_size = max(1, min(cfg["batch_size"], math.ceil(n_rows / cfg["min_batches"])))
    n_batches = max(1, math.ceil(n_rows / batch_size))
    schedule = {"batch_size": batch_size, "batches_per_epoch": n_batches, "epochs": cfg["epochs"],
                "warmup": cfg["warmup"], "lr_decay_start": cfg["lr_decay_start"]}
    if cfg["steps"] is not None:
        schedule.update(
            epochs=math.ceil(cfg["steps"] / n_batches),
            warmup=round(cfg["warmup"] / n_batches),
            lr_decay_start=round(cfg["lr_decay_start"] / n_batches),
        )
    return schedule


class DAGMMDetector(BaseDetector):
    """Deep Autoencoding Gaussian Mixture Model (Zong et al., ICLR 2018).

    A compression network (tanh MLP autoencoder) maps each row x to ``z = [z_c, ||x - x'|| /
    ||x||, cos(x, x')]``; an estimation network (z -> 10 -> tanh -> dropout -> K, softmax) gives
    soft mixture memberships; the loss is reconstruction error + ``lambda_energy`` * mean sample
    energy + ``lambda_cov_diag`` * sum_k sum_j 1/Sigma_kjj, with the mixture estimated from each
    batch.  After training, phi, mu and Sigma are estimated once over *all* training rows (not the
    last mini-batch), and the score of a row is its sample energy ``-log sum_k phi_k N(z | mu_k,
    Sigma_k)``: higher = more anomalous.

    Any parameter left at ``None`` comes from ``preset``.  The mixture maths is float64 with a
    real diagonal jitter (``cov_jitter``), Cholesky factors from ``cholesky_ex``, log-determinants
    from the factor and energies from ``logsumexp``; dropout is off when scoring.  A non-finite
    loss or a failed factorisation restores the last good checkpoint (model and optimiser at the
    start of the epoch) and replays the epoch with ten times the jitter, at most three times;
    then fit raises :class:`~adbench_dagmm.errors.TrainingError` naming epoch, batch and
    component.  ``history_`` holds every loss term per epoch, the validation terms, epochs run,
    why training stopped, the best epoch, recoveries and seconds (JSON-serialisable).

    Parameters
    ----------
    preset : str
        ``"paper"``, ``"paper_thyroid"``, ``"paper_arrhythmia"``: exactly the paper's settings;
        ``"kddcup"``, ``"kddcup_rev"``: the paper's KDDCUP network, improved training;
        ``"default"`` (any other dataset): a recipe that adapts to the data (see Notes);
        ``"thyroid"``: the default recipe; ``"arrhythmia"``: it with the paper's network.
    hidden : list or tuple of int
        Encoder hidden sizes (the decoder mirrors them).
    latent_dim, n_gmm, estimation_hidden : int
        Size of the code z_c, number of mixture components, estimation-network width.
    dropout : float
        Drop probability in the estimation network (the paper's "Drop(0.5)" keeps half).
    layer_norm : {"none", "input", "hidden", "all", "inner"}
        Where the compression network has LayerNorm (``True`` means ``"input"``): on the input
        row, before every hidden tanh, both, or before every hidden tanh but the encoder's first.
    abs_distance : bool
        Also feed the absolute Euclidean distance ``||x - x'||`` to the estimation network (the
        paper's §3.1 lists it; its experiments use the relative distance and cosine only).
    clip_inputs : bool
        Clip every scored row, feature by feature, to the training rows' range widened by
        ``CLIP_MARGIN`` (half the feature's span) on each side.  Training rows are never changed.
    init : {"torch", "xavier"}
        Weight initialisation: PyTorch's default or Glorot-uniform with tanh's gain.
    recon_reduction : {"sum", "mean"}
        Squared error summed over features per row (the paper's ||x - x'||^2) or averaged over
        features (public reimplementations: an ``n_features``-fold weaker term).
    lambda_energy, lambda_cov_diag : float
        The paper's lambda_1 and lambda_2.
    cov_jitter : float
        Diagonal jitter of every covariance.
    lr, lr_decay, lr_decay_start
        Adam's learning rate, multiplied by ``lr_decay`` after each epoch once
        ``lr_decay_start`` epochs are done.
    warmup : int
        Epochs over which the weight of both mixture terms ramps from 0 to 1.
    batch_size, epochs : int
    min_batches : int
        The batch size is lowered, if needed, so that an epoch has at least this many batches.
    steps : int, optional
        Training budget in optimiser steps; when set it replaces ``epochs`` (``ceil(steps /
        batches per epoch)`` epochs), and ``warmup`` and ``lr_decay_start`` count optimiser steps
        too (rounded to whole epochs).  ``steps=0`` fits the GMM on the untrained network.
    patience, min_delta, val_fraction, monitor
        Early stopping on ``val_fraction`` of the training rows: stop when the validation
        ``monitor`` (``"loss"``, ``"recon"``, ``"energy"``) has not improved by more than
        ``min_delta`` for ``patience`` epochs and restore the best epoch; ``patience=0``: off.
    grad_clip : float
        Gradient-norm clipping (0: off).
    n_threads : int, optional
        torch intra-op threads in fit and scoring (default: leave torch's setting, see Notes).
    device : str
        ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    random_state : int, optional
    contamination : float
        Fraction of training rows above ``threshold_`` (PyOD's ``predict``).

    Notes
    -----
    Why the recipes are as they are, one line each (their measured results are in
    ``benchmarks/RESULTS.md``, written by ``benchmarks/bench_dagmm.py``):

    - *Energy-led objective on clean training data* (``kddcup``: ``lambda_energy=1``,
      ``lambda_cov_diag=0.003``): the paper's weights let the covariance penalty reward a worse
      reconstruction, and the latent distribution keeps sharpening; F1 drifts down with training.
    - *Reconstruction-led objective on contaminated training data* (``default``:
      ``lambda_energy=0.003``, ``lambda_cov_diag=1e-5``): there the energy term pulls the
      training set's anomalies into the mixture too, and the penalty costs reconstruction.
    - *Warm-up* of both mixture terms: at full weight from the first step the energy can stall
      the autoencoder.
    - *PyTorch's default init* for KDD: Xavier with tanh's gain widens the spread over seeds.
    - *lr decay after a plateau*: freezes the model where it is good, so longer training cannot
      drift.
    - *Early stopping* is a budget guard, not a model selector (no validation quantity tracks
      F1), and it never watches the warm-up epochs, so it cannot keep an untrained network.
    - *The default recipe* budgets optimiser steps (``steps``) and bounds the batch size by the
      training rows (``min_batches``), so a dataset of a few hundred rows gets as many updates as
      a large one and the network always trains.  Its LayerNorm (``"inner"``) leaves the
      encoder's first layer raw and its z carries ``||x - x'||``, so it still sees a row's scale.
    - *Clipped inputs* (``default``): outside its training range the network saturates while
      ``||x - x'||`` keeps growing with x, so on small data one feature far outside that range
      (a column constant in training, say) would alone decide a row's energy.  The price: a row
      far out on one feature scores as one half a span out.
    - *Threads follow the caller* by default: ``adb run --jobs N`` gives each worker cores/N
      torch threads, so parallel fits never oversubscribe the cores, and one fit in the driver
      uses them all.

    Training is plain autograd (``loss.backward()``) with ``torch.optim.Adam`` (fused kernel); the
    training rows stay in one tensor, shuffled by ``randperm`` (no ``DataLoader``).
    """

    name = "dagmm"
    #: torch is imported in fit (listing detectors never imports it); workers import it once
    preload_modules = ("torch",)

    def __init__(
        self,
        preset: str = "default",
        hidden: Sequence[int] | None = None,
        latent_dim: int | None = None,
        n_gmm: int | None = None,
        estimation_hidden: int | None = None,
        dropout: float | None = None,
        layer_norm: str | None = None,
        abs_distance: bool | None = None,
        clip_inputs: bool | None = None,
        init: str | None = None,
        recon_reduction: str | None = None,
        lambda_energy: float | None = None,
        lambda_cov_diag: float | None = None,
        cov_jitter: float | None = None,
        lr: float | None = None,
        lr_decay: float | None = None,
        lr_decay_start: int | None = None,
        warmup: int | None = None,
        batch_size: int | None = None,
        min_batches: int | None = None,
        epochs: int | None = None,
        steps: int | None = None,
        patience: int | None = None,
        min_delta: float | None = None,
        val_fraction: float | None = None,
        monitor: str | None = None,
        grad_clip: float | None = None,
        n_threads: int | None = None,
        device: str = "auto",
        random_state: int | None = None,
        contamination: float = 0.1,
    ) -> None:
        self.preset = preset
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.n_gmm = n_gmm
        self.estimation_hidden = estimation_hidden
        self.dropout = dropout
        self.layer_norm = layer_norm
        self.abs_distance = abs_distance
        self.clip_inputs = clip_inputs
        self.init = init
        self.recon_reduction = recon_reduction
        self.lambda_energy = lambda_energy
        self.lambda_cov_diag = lambda_cov_diag
        self.cov_jitter = cov_jitter
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_decay_start = lr_decay_start
        self.warmup = warmup
        self.batch_size = batch_size
        self.min_batches = min_batches
        self.epochs = epochs
        self.steps = steps
        self.patience = patience
        self.min_delta = min_delta
        self.val_fraction = val_fraction
        self.monitor = monitor
        self.grad_clip = grad_clip
        self.n_threads = n_threads
        self.device = device
        self.random_state = random_state
        self.contamination = contamination

    # -- parameters ----------------------------------------------------------------------------
    def _fail(self, name: str, requirement: str, value: Any) -> ParameterError:
        return fail(type(self).__name__, name, requirement, value)

    def effective_params(self) -> dict[str, Any]:
        """:meth:`get_params` with every recipe parameter the preset filled in: what ran (once
        fitted or loaded, the recipe of that fit, whatever the preset says today)."""
        fitted = getattr(self, "config_", None)
        return {**self.get_params(), **(fitted if fitted is not None else self._resolve_config())}

    def check_params(self) -> None:
        """The recipe, the other parameters and the device, checked without data."""
        self._resolve_config()
        if self.device != "auto":  # always valid; checking it would import torch in the driver
            self._resolve_device()

    def _resolve_config(self) -> dict[str, Any]:
        """The resolved recipe (see :func:`.presets.resolve_recipe`); also checks the
        parameters outside the recipe.  Raises :class:`ParameterError` naming the parameter."""
        cfg = resolve_recipe(
            self.preset, {k: getattr(self, k) for k in RECIPE_KEYS}, owner=type(self).__name__
        )
        rs = self.random_state
        if rs is not None and (
            isinstance(rs, bool) or not isinstance(rs, numbers.Integral) or rs < 0
        ):
            raise self._fail("random_state", "None or an int >= 0", rs)
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0.0 < c <= 0.5:
            raise self._fail("contamination", "a float in the range (0, 0.5]", c)
        t = self.n_threads
        if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1):
            raise self._fail("n_threads", "None or an int >= 1", t)
        return cfg

    def _resolve_device(self) -> torch.device:
        import torch

        if not isinstance(self.device, str):
            raise self._fail("device", "a str such as 'auto', 'cpu' or 'cuda'", self.device)
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except (RuntimeError, ValueError):
            raise self._fail(
                "device", "'auto' or a torch device such as 'cpu' or 'cuda:0'", self.device
            ) from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise self._fail("device", "'auto' or 'cpu' on this machine (no CUDA)", self.device)
        return device

    def _threads(self) -> int:
        """Intra-op threads: ``n_threads``, else the count torch already has.

        The caller owns the machine's cores: the runner gives each worker process cores/jobs
        threads, and a fit in the driver gets torch's own default.
        """
        import torch

        return torch.get_num_threads() if self.n_threads is None else int(self.n_threads)

    @staticmethod
    def _build_model(cfg: dict[str, Any], n_features: int) -> DAGMM:
        from .model import DAGMM

        return DAGMM(
            n_features=n_features,
            hidden=cfg["hidden"],
            latent_dim=cfg["latent_dim"],
            n_gmm=cfg["n_gmm"],
            estimation_hidden=cfg["estimation_hidden"],
            dropout=cfg["dropout"],
            layer_norm=cfg["layer_norm"],
            abs_distance=cfg["abs_distance"],
        )

    # -- fitting -------------------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        *,
        callbacks: Sequence[Callable[[int, DAGMMDetector], None]] = (),
    ) -> DAGMMDetector:
        """Train the networks on ``X`` (inliers, ideally), then fit the GMM on all of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; float32 stays float32 and is not copied.
        y : ignored
        callbacks : sequence of callables, optional
            ``callback(epoch, detector)`` after every epoch, with the detector ready to score
            (its GMM re-estimated on all training rows first); the benchmark tracks F1 along
            training this way.  Not a parameter: it is not part of a run's identity.

        Returns
        -------
        self

        Raises
        ------
        ParameterError
            A parameter has a bad value (the message names it).
        TrainingError
            Training failed numerically even after recovery (names epoch, batch, component).
        """
        X = self._validate_data(X, reset=True)
        cfg = self._resolve_config()
        device = self._resolve_device()
        if X.shape[0] < 4:
            raise DataError(
                f"{type(self).__name__} needs at least 4 training rows; got {X.shape[0]}."
            )
        import torch

        seed = (
            int(np.random.SeedSequence().generate_state(1)[0])
            if self.random_state is None
            else int(self.random_state)
        )
        t0 = time.perf_counter()
        self.config_, self.device_ = cfg, device
        forked = [device.index or 0] if device.type == "cuda" else []
        # fork_rng keeps the global RNG (PyTorch-default init, dropout masks) local to this fit.
        with _torch_threads(self._threads()), torch.random.fork_rng(devices=forked):
            torch.manual_seed(seed)
            # float32 network; from_numpy shares the caller's float32 buffer (no copy).
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)
            self.input_bounds_ = self._input_bounds(x) if cfg["clip_inputs"] else None
            history = self._train(x, cfg, seed, callbacks)
            self.decision_scores_ = self._fit_gmm(x, self.cov_jitter_)
        self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - self.contamination))
        history.update(seed=seed, cov_jitter=self.cov_jitter_,
                       fit_seconds=round(time.perf_counter() - t0, 3))
        self.history_ = history
        self.notes_ = self._training_notes(history)
        return self

    def _train(
        self,
        x: Tensor,
        cfg: dict[str, Any],
        seed: int,
        callbacks: Sequence[Callable[[int, DAGMMDetector], None]],
    ) -> dict[str, Any]:
        """Split off validation rows, build model and optimiser, run the training loop."""
        import torch

        from .model import DAGMMOutput
        from .train import TrainingFailure, train

        gen = torch.Generator().manual_seed(seed)
        n = x.shape[0]
        perm = torch.randperm(n, generator=gen).to(x.device)
        n_val = int(round(cfg["val_fraction"] * n))
        if cfg["val_fraction"] > 0 and not 2 <= n_val <= n - 2:
            raise ParameterError(
                f"The 'val_fraction' parameter of {type(self).__name__} leaves {n_val} "
                f"validation rows out of {n}; it must leave at least 2 on each side. "
                f"Got {cfg['val_fraction']!r} instead."
            )
        val_rows, train_rows = perm[:n_val], perm[n_val:]
        schedule = training_schedule(cfg, train_rows.shape[0])
        model, objective, optimizer = self._training_setup(cfg, x.shape[1], x.device, gen)

        def validate(m: nn.Module) -> dict[str, float]:
            # The objective on all validation rows (one GMM over them), computed chunk by chunk:
            # only the per-row outputs (N x (D + K + 1)) are kept, never the activations.
            parts = []
            with torch.inference_mode():
                for idx in torch.split(val_rows, SCORE_CHUNK):
                    out = m(x.index_select(0, idx))
                    parts.append((out.err_sq, out.z, out.logits))
                err_sq, z, logits = (torch.cat(p) for p in zip(*parts))
                out = DAGMMOutput(z_c=z[:, : cfg["latent_dim"]], x_hat=None, err_sq=err_sq, z=z,
                                  logits=logits)
                terms = objective.terms(out, x)
            return {k: float(v) for k, v in terms.items()}

        def warm_up(epoch: int) -> None:
            # The GMM terms' weight ramps 0 -> 1 over the warm-up: the autoencoder first learns
            # to reconstruct, so the energy term shapes a representation, not noise.
            objective.gmm_weight = min(1.0, (epoch - 1) / schedule["warmup"])

        def on_failure(exc: Exception) -> bool:
            # Documented recovery: the loop has restored the last good checkpoint (model and
            # optimiser at the start of the failing epoch); replay it with 10x the jitter.
            objective.cov_jitter *= 10.0
            return True

        def epoch_callback(epoch: int, m: nn.Module, history: dict[str, Any]) -> None:
            self.model_, self.history_ = m, history
            self.cov_jitter_ = objective.cov_jitter
            self._fit_gmm(x, objective.cov_jitter)
            for callback in callbacks:
                callback(epoch, self)

        try:
            history = train(
                model,
                objective,
                x,
                rows=train_rows,
                optimizer=optimizer,
                epochs=schedule["epochs"],
                batch_size=schedule["batch_size"],
                generator=gen,
                validate=validate if n_val else None,
                monitor=f"val_{cfg['monitor']}",
                patience=cfg["patience"],
                min_delta=cfg["min_delta"],
                min_epochs=schedule["warmup"],
                grad_clip=cfg["grad_clip"] or None,
                lr_decay=cfg["lr_decay"],
                lr_decay_start=schedule["lr_decay_start"],
                on_epoch_start=warm_up if schedule["warmup"] else None,
                on_failure=on_failure,
                max_recoveries=MAX_RECOVERIES,
                callbacks=[epoch_callback] if callbacks else (),
            )
        except TrainingFailure as exc:
            raise TrainingError(
                f"{type(self).__name__}: training failed: {exc}, after {MAX_RECOVERIES} "
                "recoveries that each restored the last good checkpoint and raised cov_jitter "
                f"tenfold (last {objective.cov_jitter:g}). Try a smaller lr, a larger "
                "cov_jitter or grad_clip."
            ) from None
        model.zero_grad(set_to_none=True)  # the last batch's gradients are of no further use
        self.model_ = model.eval()
        self.cov_jitter_ = objective.cov_jitter
        history["schedule"] = schedule
        return history

    @classmethod
    def _training_setup(
        cls, cfg: dict[str, Any], n_features: int, device: torch.device, gen: torch.Generator
    ) -> tuple[DAGMM, DAGMMObjective, torch.optim.Optimizer]:
        """Model (initialised, on ``device``), objective and optimiser of a training run.

        The one place they are built: ``fit`` and ``benchmarks/bench_dagmm.py`` both call it,
        so the benchmark times the detector's own training path.
        """
        from .model import init_weights
        from .train import DAGMMObjective, make_optimizer

        model = cls._build_model(cfg, n_features)
        init_weights(model, cfg["init"], generator=gen)
        model.to(device)
        objective = DAGMMObjective(
            lambda_energy=cfg["lambda_energy"],
            lambda_cov_diag=cfg["lambda_cov_diag"],
            cov_jitter=cfg["cov_jitter"],
            recon_reduction=cfg["recon_reduction"],
        )
        return model, objective, make_optimizer(model.parameters(), lr=cfg["lr"], device=device)

    def run_artifacts(self, X_test: np.ndarray) -> dict[str, Any]:
        """Per-run artifacts for the runner: ``history``, ``latent`` and ``notes``.

        ``"latent"`` is :meth:`latent_sample` of the test rows; ``"notes"`` is ``notes_``, which
        says when training ended on its initial epoch (the scores then come from a network that
        barely trained, and the table prints the note as a footnote).
        """
        return {"history": self.history_, "latent": self.latent_sample(X_test),
                "notes": list(self.notes_)}

    def latent_sample(self, X: np.ndarray, n: int = 2000) -> dict[str, Any]:
        """Latent vectors of at most ``n`` rows of ``X``, drawn with the fit's seed.

        Returns ``{"rows": sorted row indices into X, "z": latent vectors rounded to 6 digits,
        "latent_dim": the number of z_c columns}``; whoever holds the labels adds ``"y"`` for
        those rows.
        """
        X = self._validate_data(X, reset=False)
        rng = np.random.default_rng(self.history_["seed"])
        rows = np.sort(rng.choice(X.shape[0], size=min(n, X.shape[0]), replace=False))
        z = self.latent(X[rows])
        return {"rows": rows.tolist(), "z": np.round(z, 6).tolist(),
                "latent_dim": int(self.config_["latent_dim"])}

    def _training_notes(self, history: dict[str, Any]) -> list[str]:
        """Footnotes for the run: training that ended on (or never left) its initial epoch."""
        if history["epochs_run"] == 0:
            return [f"{self.name}: not trained (a budget of 0 steps); the GMM is fitted on the "
                    "initial network."]
        if history["best_epoch"] <= 1:
            return [f"{self.name}: training ended on its initial epoch (kept epoch "
                    f"{history['best_epoch']} of {history['epochs_run']}, stop: "
                    f"{history['stop_reason']}); the scores come from a barely trained network. "
                    "Try a larger 'steps' or 'patience', or a smaller 'batch_size'."]
        return []

    def latent(self, X: np.ndarray) -> np.ndarray:
        """The latent representation z = [z_c, (absolute distance,) relative distance, cosine].

        Returns a float64 array of shape (n_samples, latent_dim + 2), one column more with
        ``abs_distance``; the runner stores it for a sample of test rows so that reports can
        draw the latent space.
        """
        X = self._validate_data(X, reset=False)
        import torch

        with _torch_threads(self._threads()):
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.device_)
            return torch.cat([z for z, _ in self._latent(x)]).cpu().numpy()

    @staticmethod
    def _input_bounds(x: Tensor) -> tuple[Tensor, Tensor]:
        """``clip_inputs``' per-feature bounds: the range of ``x``'s rows widened by
        ``CLIP_MARGIN`` spans (a constant column's span counts as 1, as in min-max scaling)."""
        low, high = x.amin(dim=0), x.amax(dim=0)
        span = high - low
        span = span.masked_fill(span == 0, 1.0)
        return low - CLIP_MARGIN * span, high + CLIP_MARGIN * span

    def _latent(self, x: Tensor) -> Iterator[tuple[Tensor, Tensor]]:
        """Yield ``(z, log_gamma)`` in float64, (B, D) and (B, K), chunk by chunk, eval mode;
        with ``clip_inputs`` each chunk is clipped to the training bounds first."""
        import torch

        model = self.model_.eval()
        with torch.inference_mode():
            for xb in torch.split(x, SCORE_CHUNK):
                if self.input_bounds_ is not None:
                    xb = torch.clamp(xb, *self.input_bounds_)
                out = model(xb)
                yield out.z.double(), torch.log_softmax(out.logits.double(), dim=1)

    def _fit_gmm(self, x: Tensor, jitter: float) -> np.ndarray:
        """Estimate φ, μ, Σ on *all* training rows (not the last batch); return their energies."""
        import torch

        from .gmm import CholeskyError, gmm_params, sample_energy

        # The latent vectors of all rows are small (N x (D + K) float64, far less than X), so
        # the exact two-pass estimate runs once on all of them.  Chunks are written into one
        # tensor each: kept chunks between the freed activations would fragment the C heap.
        n, start = x.shape[0], 0
        for zb, lgb in self._latent(x):
            if start == 0:
                z, log_gamma = zb.new_empty(n, zb.shape[1]), lgb.new_empty(n, lgb.shape[1])
            z[start : start + len(zb)], log_gamma[start : start + len(zb)] = zb, lgb
            start += len(zb)
        for _ in range(MAX_RECOVERIES + 1):
            try:
                params = gmm_params(z, log_gamma, jitter=jitter)
                break
            except CholeskyError as exc:
                failure, jitter = exc, jitter * 10.0
        else:
            raise TrainingError(
                f"{type(self).__name__}: the GMM fitted on all training rows is singular even "
                f"with a diagonal jitter of {jitter / 10:g}: {failure}."
            )
        self.gmm_ = dict(params._asdict())
        with torch.inference_mode():
            energy = torch.cat([sample_energy(zb, params) for zb in torch.split(z, SCORE_CHUNK)])
        return self._check_scores(energy.cpu().numpy())

    # -- scoring -------------------------------------------------------------------------------
    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Sample energy of each row under the training-set GMM; higher = more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), float64
        """
        X = self._validate_data(X, reset=False)
        import torch

        from .gmm import GMMParams, sample_energy

        params = GMMParams(**self.gmm_)
        with _torch_threads(self._threads()), torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(self.device_)
            energy = torch.cat([sample_energy(z, params) for z, _ in self._latent(x)])
        return self._check_scores(energy.cpu().numpy())

    # -- persistence ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write parameters, resolved recipe, weights, GMM and threshold to ``path``.

        The file holds only tensors and plain Python values, so :meth:`load` reads it with
        ``torch.load(..., weights_only=True)``.
        """
        import torch

        if not hasattr(self, "model_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        torch.save(
            {
                "format": FORMAT_VERSION,
                "params": self.get_params(),
                "config": self.config_,
                "n_features_in": self.n_features_in_,
                "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
                "gmm": {k: v.cpu() for k, v in self.gmm_.items()},
                "input_bounds": None if self.input_bounds_ is None
                else [b.cpu() for b in self.input_bounds_],
                "threshold": self.threshold_,
                "cov_jitter": self.cov_jitter_,
                "history": self.history_,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> DAGMMDetector:
        """Rebuild a fitted detector written by :meth:`save`.

        Parameters
        ----------
        path : str or Path
        device : str, optional
            Where to put the model (default: the saved ``device`` parameter, resolved here).
        """
        import torch

        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
            raise DataError(f"{path}: not a {cls.__name__} file of format {FORMAT_VERSION}.")
        det = cls(**blob["params"])
        if device is not None:
            det.device = device
        det.device_ = det._resolve_device()
        bounds = blob.get("input_bounds")
        # Recipe keys added after a file was saved were off in its fit.
        det.config_ = {"abs_distance": False, "clip_inputs": bounds is not None, **blob["config"]}
        model = cls._build_model(det.config_, blob["n_features_in"])
        model.load_state_dict(blob["state_dict"])
        det.model_ = model.to(det.device_).eval()
        det.gmm_ = {k: v.to(det.device_) for k, v in blob["gmm"].items()}
        det.input_bounds_ = None if bounds is None else tuple(b.to(det.device_) for b in bounds)
        det.n_features_in_ = blob["n_features_in"]
        det.threshold_ = blob["threshold"]
        det.cov_jitter_ = blob["cov_jitter"]
        det.history_ = blob["history"]
        return det
