"""Named DAGMM recipes: the paper's settings per dataset and the project's improved recipes.

A preset fills every recipe parameter the user leaves at ``None``.  The ``paper*`` presets train
exactly as Zong et al. (ICLR 2018, §4) describe; the others keep the paper's networks and change
how they are trained (the measurements behind each change are in
:class:`~adb_plugins.dagmm.detector.DAGMMDetector`'s docstring).  Values are plain Python, so a
resolved recipe is JSON-serialisable.
"""

from __future__ import annotations

from typing import Any

#: The recipe keys every preset defines: the detector's constructor parameters other than
#: ``preset``, ``n_threads``, ``device``, ``random_state`` and ``contamination``.
RECIPE_KEYS = (
    "hidden",
    "latent_dim",
    "n_gmm",
    "estimation_hidden",
    "dropout",
    "layer_norm",
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
    "epochs",
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
}

# The improved training (measured on KDDCUP, zong2018): an energy-led objective (λ1 = 1,
# λ2 = 0.003) after a 5-epoch warm-up, Xavier init, lr 1e-4 for 12 epochs then x0.8 per epoch,
# 20 epochs with early stopping on the validation objective.
_IMPROVED: dict[str, Any] = {
    **_PAPER,
    "init": "xavier",
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

# Thyroid and Arrhythmia have ~1,700 and ~180 training rows, i.e. 2 optimiser steps per epoch:
# the improved objective and init with a 200-epoch warm-up, 2,000 epochs at a constant lr and no
# early stopping (their validation split would hold a few dozen rows).  Measured, 3 seeds, 2,000
# epochs: Thyroid F1 0.22 (paper recipe) -> 0.51; Arrhythmia 0.47 -> 0.51.
_SMALL_DATA = {**_IMPROVED, "lr_decay": 1.0, "lr_decay_start": 0, "warmup": 200,
               "epochs": 2000, "patience": 0, "min_delta": 0.0, "val_fraction": 0.0}

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {**_PAPER, **_KDDCUP_NET, "batch_size": 1024, "epochs": 200},
    "paper_thyroid": {**_PAPER, **_THYROID_NET, "batch_size": 1024, "epochs": 20000},
    "paper_arrhythmia": {**_PAPER, **_ARRHYTHMIA_NET, "batch_size": 128, "epochs": 10000},
    "kddcup": {**_IMPROVED, **_KDDCUP_NET, "batch_size": 1024},
    "thyroid": {**_SMALL_DATA, **_THYROID_NET, "batch_size": 1024},
    "arrhythmia": {**_SMALL_DATA, **_ARRHYTHMIA_NET, "batch_size": 128},
}
# Any other dataset: the KDDCUP network (it takes any input width) with the improved recipe.
PRESETS["default"] = dict(PRESETS["kddcup"])

assert all(set(p) == set(RECIPE_KEYS) for p in PRESETS.values()), "incomplete preset"
