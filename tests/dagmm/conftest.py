"""Fixtures and small data for the DAGMM plugin's tests (``tests/dagmm/``)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

#: A small, fast recipe for synthetic-data tests (the KDDCUP network would be overkill).
FAST = {"preset": "kddcup", "hidden": [16, 8], "latent_dim": 1, "n_gmm": 2, "batch_size": 64,
        "epochs": 5}


def mixture(rng: np.random.Generator, n: int = 300, d: int = 3, k: int = 3):
    """Random latent vectors and log-responsibilities."""
    z = rng.normal(size=(n, d))
    logits = rng.normal(size=(n, k))
    log_gamma = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    return z, log_gamma


def manifold(rng: np.random.Generator, n: int, noise: float = 0.02):
    """Inliers on a 1-D curve in 12-D, outliers uniform in the same box (y = 1)."""
    t = rng.uniform(-1, 1, size=(n, 1))
    freqs = np.arange(1, 13)[None, :]
    inliers = np.sin(freqs * t) + noise * rng.normal(size=(n, 12))
    outliers = rng.uniform(inliers.min(), inliers.max(), size=(n // 10, 12))
    X = np.vstack([inliers, outliers]).astype(np.float32)
    y = np.r_[np.zeros(n, dtype=np.int64), np.ones(n // 10, dtype=np.int64)]
    return X, y


def line_data(rng: np.random.Generator, n_in: int, n_out: int):
    """Inliers near a line in 12-D; outliers pushed 0.4 off it, within the inliers' range."""
    v = np.random.default_rng(42).normal(size=12)
    v /= np.linalg.norm(v)
    t = rng.uniform(-2, 2, size=(n_in + n_out, 1))
    X = t * v + 1.0 + 0.01 * rng.normal(size=(n_in + n_out, 12))
    off = rng.normal(size=(n_out, 12))
    off -= (off @ v)[:, None] * v
    X[n_in:] += 0.4 * off / np.linalg.norm(off, axis=1, keepdims=True)
    return X.astype(np.float32), np.r_[np.zeros(n_in), np.ones(n_out)].astype(np.int64)


@pytest.fixture(scope="session")
def synthetic():
    """(X_train inliers, X_test, y_test) on the 12-D curve."""
    rng = np.random.default_rng(0)
    X_train, _ = manifold(rng, 2000)
    X_test, y_test = manifold(rng, 1000)
    return X_train[:2000], X_test, y_test


@pytest.fixture(scope="session")
def line_task():
    rng = np.random.default_rng(0)
    X_train, _ = line_data(rng, 2000, 0)
    X_test, y_test = line_data(rng, 1000, 100)
    return X_train, X_test, y_test
