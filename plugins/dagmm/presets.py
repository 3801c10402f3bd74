"""Named DAGMM recipes: the paper's settings per dataset and the project's improved defaults.

A preset fills every recipe parameter the user leaves at ``None``.  ``paper*`` presets train
exactly as Zong et al. (ICLR 2018, §4.2) describe; the others keep the paper's architecture and
change how it is trained (see :class:`~adb_plugins.dagmm.detector.DAGMMDetector` for the measured
reasons).  Values are plain Python so that a resolved recipe is JSON-serialisable.
"""

from __future__ import annotations

from typing import Any

#: The recipe keys every preset defines (the detector's constructor parameters minus
#: ``preset``, ``device``, ``random_state`` and ``contamination``).
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
    "batch_size",
    "epochs",
    "patience",
    "val_fraction",
    "monitor",
    "grad_clip",
    "detach_features",
    "penalize",
    "lr_decay",
    "lr_decay_start",
    "warmup",
)

# The paper's training (§4.2): Adam, lr 1e-4, λ1 = 0.1, λ2 = 0.005, PyTorch-default init, no
# normalisation, no validation, a fixed number of epochs.  "Drop(0.5)" is a keep probability of
# 0.5, i.e. a drop probability of 0.5.
_PAPER_TRAINING: dict[str, Any] = {
    "estimation_hidden": 10,
    "dropout": 0.5,
    "layer_norm": "none",
    "init": "torch",
    "recon_reduction": "sum",
    "lambda_energy": 0.1,
    "lambda_cov_diag": 0.005,
    "cov_jitter": 1e-6,
    "lr": 1e-4,
    "patience": 0,
    "val_fraction": 0.0,
    "monitor": "loss",
    "grad_clip": 0.0,
    "detach_features": False,
    "penalize": "all",
    "lr_decay": 1.0,
    "lr_decay_start": 0,
    "warmup": 0,
}

# The project's training recipe on top of the paper's architectures.
_IMPROVED_TRAINING: dict[str, Any] = {
    "estimation_hidden": 10,
    "dropout": 0.5,
    "layer_norm": "none",
    "init": "xavier",
    "recon_reduction": "sum",
    "lambda_energy": 0.1,
    "lambda_cov_diag": 0.005,
    "cov_jitter": 1e-6,
    "lr": 1e-4,
    "patience": 5,
    "val_fraction": 0.1,
    "monitor": "loss",
    "grad_clip": 0.0,
    "detach_features": False,
    "penalize": "all",
    "lr_decay": 1.0,
    "lr_decay_start": 0,
    "warmup": 0,
}

_KDDCUP_NET = {"hidden": [60, 30, 10], "latent_dim": 1, "n_gmm": 4}
_THYROID_NET = {"hidden": [12, 4], "latent_dim": 1, "n_gmm": 2}
_ARRHYTHMIA_NET = {"hidden": [10], "latent_dim": 2, "n_gmm": 2}

PRESETS: dict[str, dict[str, Any]] = {
    # Paper, exactly (§4.2 and appendix): epochs, batch sizes and networks per data set.
    "paper": {**_PAPER_TRAINING, **_KDDCUP_NET, "batch_size": 1024, "epochs": 200},
    "paper_thyroid": {**_PAPER_TRAINING, **_THYROID_NET, "batch_size": 1024, "epochs": 20000},
    "paper_arrhythmia": {**_PAPER_TRAINING, **_ARRHYTHMIA_NET, "batch_size": 128, "epochs": 10000},
    # Improved recipes with the paper's networks.
    "kddcup": {**_IMPROVED_TRAINING, **_KDDCUP_NET, "batch_size": 1024, "epochs": 200},
    "thyroid": {**_IMPROVED_TRAINING, **_THYROID_NET, "batch_size": 1024, "epochs": 20000},
    "arrhythmia": {**_IMPROVED_TRAINING, **_ARRHYTHMIA_NET, "batch_size": 128, "epochs": 10000},
}
# Any other data set: the KDDCUP network (it takes any input width) with the improved recipe.
PRESETS["default"] = dict(PRESETS["kddcup"])

assert all(set(p) == set(RECIPE_KEYS) for p in PRESETS.values())
