"""Named DAGMM recipes: the paper's settings per dataset and the project's improved recipes.

A preset fills every recipe parameter the user leaves at ``None``.  The ``paper*`` presets train
exactly as Zong et al. (ICLR 2018, §4) describe; the others change how the networks are trained,
and ``default`` (also Thyroid's recipe, and Arrhythmia's with the paper's network) runs the
KDDCUP encoder with a 2-d code on any data (why, one line per choice, in
:class:`~adb_plugins.dagmm.detector.DAGMMDetector`'s docstring; the measured results in
``benchmarks/RESULTS.md``).  Values are plain Python, so a resolved recipe is JSON-serialisable.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from adbench_dagmm.errors import ParameterError

#: Where ``layer_norm`` puts LayerNorm in the compression network.
LAYER_NORM_CHOICES = ("none", "input", "hidden", "all", "inner")
#: Weight initialisation: PyTorch's default, or Glorot-uniform with tanh's gain.
INIT_CHOICES = ("torch", "xavier")
#: Reconstruction error per row: summed over features (the paper) or averaged.
RECON_CHOICES = ("sum", "mean")
#: Validation quantity that early stopping minimises.
MONITOR_CHOICES = ("loss", "recon", "energy")

#: The recipe keys every preset defines: the detector's constructor parameters other than
#: ``preset``, ``n_threads``, ``device``, ``random_state`` and ``contamination``.
RECIPE_KEYS = (
    "hidden",
    "latent_dim",
    "n_gmm",
    "estimation_hidden",
    "dropout",
    "layer_norm",
    "abs_distance",
    "clip_inputs",
    "init",
    "recon_reduction",
    "lambda_energy",
    "lambda_cov_diag",
    "cov_jitter",
    "lr",
    "lr_decay",
    "lr_decay_start",
    "warmup",
    "batch_size",
    "min_batches",
    "epochs",
    "steps",
    "patience",
    "min_delta",
    "val_fraction",
    "monitor",
    "grad_clip",
)

# The paper's training: Adam with lr 1e-4, λ1 = 0.1, λ2 = 0.005, PyTorch's default init, no
# normalisation, no validation split, a fixed number of epochs.  "Drop(0.5)" is a keep
# probability of 0.5, i.e. a drop probability of 0.5.  The float64 GMM with a real jitter and the
# GMM fitted on all training rows for scoring are not options: they are correctness fixes.
_PAPER: dict[str, Any] = {
    "estimation_hidden": 10,
    "dropout": 0.5,
    "layer_norm": "none",
    "abs_distance": False,
    "clip_inputs": False,
    "init": "torch",
    "recon_reduction": "sum",
    "lambda_energy": 0.1,
    "lambda_cov_diag": 0.005,
    "cov_jitter": 1e-6,
    "lr": 1e-4,
    "lr_decay": 1.0,
    "lr_decay_start": 0,
    "warmup": 0,
    "patience": 0,
    "min_delta": 0.0,
    "val_fraction": 0.0,
    "monitor": "loss",
    "grad_clip": 0.0,
    "min_batches": 1,
    "steps": None,
}

# The improved training (chosen on KDDCUP, zong2018): an energy-led objective (λ1 = 1,
# λ2 = 0.003) after a 5-epoch warm-up, PyTorch's default init (Xavier with tanh gain widened the
# spread of F1 over seeds), lr 1e-4 for 12 epochs then x0.8 per epoch, 20 epochs, early stopping
# on the validation objective as a budget guard.
_IMPROVED: dict[str, Any] = {
    **_PAPER,
    "lambda_energy": 1.0,
    "lambda_cov_diag": 0.003,
    "lr_decay": 0.8,
    "lr_decay_start": 12,
    "warmup": 5,
    "epochs": 20,
    "patience": 5,
    "min_delta": 0.01,
    "val_fraction": 0.1,
}

# The paper's networks (§4.2): hidden sizes of the encoder (the decoder mirrors them), the size of
# the code z_c and the number of mixture components.
_KDDCUP_NET = {"hidden": [60, 30, 10], "latent_dim": 1, "n_gmm": 4}
_THYROID_NET = {"hidden": [12, 4], "latent_dim": 1, "n_gmm": 2}
_ARRHYTHMIA_NET = {"hidden": [10], "latent_dim": 2, "n_gmm": 2}

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {**_PAPER, **_KDDCUP_NET, "batch_size": 1024, "epochs": 200},
    "paper_thyroid": {**_PAPER, **_THYROID_NET, "batch_size": 1024, "epochs": 20000},
    "paper_arrhythmia": {**_PAPER, **_ARRHYTHMIA_NET, "batch_size": 128, "epochs": 10000},
    "kddcup": {**_IMPROVED, **_KDDCUP_NET, "batch_size": 1024},
}
# KDDCUP-Rev trains on all the varied normal traffic: the kddcup recipe plus LayerNorm on the
# input row and before every hidden tanh; without it F1 swung widely from seed to seed (chosen on
# seeds 100-109).
PRESETS["kddcup_rev"] = {**PRESETS["kddcup"], "layer_norm": "all"}
# Any other dataset: the KDDCUP encoder (it takes any input width) with a 2-d code and two
# components, trained for a budget of optimiser steps rather than epochs, with at least 8 batches
# per epoch, so that a few hundred rows get as many updates as a million; the warm-up counts steps
# too.  Reconstruction-led (lambda_1 = 0.003, lambda_2 = 1e-5): on contaminated training data an
# energy-led objective pulls the anomalies into the mixture, and the covariance penalty buys
# variance of the reconstruction features with a worse reconstruction.  lr 2e-3: 1,000 steps at
# 1e-4 leave the autoencoder far from converged (5e-4 and 4e-3 trained worse than 2e-3 too).
# LayerNorm before the inner hidden tanhs (``"inner"``) trains better on files of any width, and
# the absolute distance ||x - x'|| in z keeps what LayerNorm hides, a row's scale: with LayerNorm
# on the input row instead, outliers that differ from the inliers by magnitude (raw, zero-centred
# data) scored at chance.  No early stopping: a fixed budget cannot end on the initial network.
# (Chosen on seeds 100-102 of the ADBench files, never on the reported seeds.)  Scored rows are
# clipped to the training range widened by half its span (``clip_inputs``), so that one feature
# far outside it (a column constant in training, say) cannot alone decide the reconstruction
# error: chosen on Arrhythmia's seeds 100-119, which it lifted, and checked on Thyroid's seeds
# 100-119 and the ADBench files' seeds 100-102, which it left unchanged.
PRESETS["default"] = {**_IMPROVED, "hidden": [60, 30, 10], "latent_dim": 2, "n_gmm": 2,
                      "layer_norm": "inner", "abs_distance": True, "clip_inputs": True,
                      "batch_size": 1024, "min_batches": 8, "steps": 1000, "warmup": 100,
                      "lr": 2e-3, "lambda_energy": 0.003, "lambda_cov_diag": 1e-5,
                      "lr_decay": 1.0, "lr_decay_start": 0, "patience": 0, "min_delta": 0.0,
                      "val_fraction": 0.0}
# Thyroid and Arrhythmia (~1,900 and ~190 training rows): the default recipe, Arrhythmia with
# the paper's network.  Both beat the paper's networks trained 2,000 epochs with the kddcup
# objective (Xavier init, 200-epoch warm-up), and Thyroid's F1 swung less from seed to seed with
# the default's wider network than with the paper's 6-12-4-1 (chosen on seeds 100-129 and
# 100-119).  On Arrhythmia, without ``clip_inputs``, the energy ranked the test rows as the
# squared reconstruction error alone does (and as PCA's with two components), led by the few
# test values far outside the ~190 training rows' range; no other knob of the recipe, nor an L1
# distance in z, moved the mean F1 beyond its seed-to-seed spread (seeds 100-119).
PRESETS["thyroid"] = dict(PRESETS["default"])
PRESETS["arrhythmia"] = {**PRESETS["default"], **_ARRHYTHMIA_NET}

assert all(set(p) == set(RECIPE_KEYS) for p in PRESETS.values()), "incomplete preset"


def fail(owner: str, name: str, requirement: str, value: Any) -> ParameterError:
    """The sklearn-style message: "The 'x' parameter of Owner must be ... Got ... instead."."""
    return ParameterError(
        f"The {name!r} parameter of {owner} must be {requirement}. Got {value!r} instead."
    )


def resolve_recipe(preset: Any, overrides: Mapping[str, Any], *, owner: str) -> dict[str, Any]:
    """The preset's recipe with every non-``None`` override applied, validated and normalised.

    Values arrive as the CLI types them (a JSON/Python literal or a str), so ints are accepted
    for floats, lists or tuples for ``hidden`` and a bool for ``layer_norm`` (``True`` means
    ``"input"``).  Returns plain Python values; raises :class:`ParameterError` naming the first
    bad parameter.
    """
    if not isinstance(preset, str) or preset not in PRESETS:
        raise fail(owner, "preset", f"a str among {sorted(PRESETS)}", preset)
    cfg = dict(PRESETS[preset])
    cfg.update({k: v for k, v in overrides.items() if k in RECIPE_KEYS and v is not None})

    def integer(name: str, low: int) -> None:
        v = cfg[name]
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise fail(owner, name, f"an int >= {low}", v)
        cfg[name] = int(v)

    def real(name: str, low: float, high: float = math.inf, *, closed: str = "left") -> None:
        # closed: which ends of the interval are included ("left", "right" or "neither").
        v = cfg[name]
        lo_in, hi_in = closed == "left", closed == "right"
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (v >= low if lo_in else v > low) and (v <= high if hi_in else v < high)
        if not ok:
            if math.isinf(high):
                interval = f"{'>=' if lo_in else '>'} {low:g}"
            else:
                interval = (f"in the range {'[' if lo_in else '('}{low:g}, {high:g}"
                            f"{']' if hi_in else ')'}")
            raise fail(owner, name, f"a float {interval}", v)
        cfg[name] = float(v)

    def choice(name: str, options: Sequence[str]) -> None:
        if not isinstance(cfg[name], str) or cfg[name] not in options:
            raise fail(owner, name, f"a str among {list(options)}", cfg[name])

    hidden = cfg["hidden"]
    if not isinstance(hidden, (list, tuple)) or not all(
        isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in hidden
    ):
        raise fail(owner, "hidden", "a list or tuple of ints >= 1", hidden)
    cfg["hidden"] = [int(h) for h in hidden]
    for name in ("latent_dim", "n_gmm", "estimation_hidden", "batch_size", "epochs",
                 "min_batches"):
        integer(name, 1)
    if cfg["steps"] is not None:
        integer("steps", 0)
    for name in ("patience", "warmup", "lr_decay_start"):
        integer(name, 0)
    for name in ("min_delta", "lambda_energy", "lambda_cov_diag", "grad_clip"):
        real(name, 0.0)
    real("dropout", 0.0, 1.0)
    real("val_fraction", 0.0, 1.0)
    real("cov_jitter", 0.0, closed="neither")
    real("lr", 0.0, closed="neither")
    real("lr_decay", 0.0, 1.0, closed="right")
    if isinstance(cfg["layer_norm"], bool):
        cfg["layer_norm"] = "input" if cfg["layer_norm"] else "none"
    choice("layer_norm", LAYER_NORM_CHOICES)
    for name in ("abs_distance", "clip_inputs"):
        if not isinstance(cfg[name], bool):
            raise fail(owner, name, "a bool", cfg[name])
    choice("init", INIT_CHOICES)
    choice("recon_reduction", RECON_CHOICES)
    choice("monitor", MONITOR_CHOICES)
    if cfg["patience"] > 0 and cfg["val_fraction"] == 0.0:
        raise ParameterError(
            f"The 'val_fraction' parameter of {owner} must be > 0 when patience="
            f"{cfg['patience']} (early stopping needs validation rows); set patience=0 to train "
            "without early stopping. Got 0.0 instead."
        )
    return cfg
