"""Synthetic anomalies of four types and the corruptions of ADBench's robustness study.

Han, Hu, Huang, Jiang and Zhao, "ADBench: Anomaly Detection Benchmark", NeurIPS 2022
Datasets and Benchmarks, §3.2 ("realistic synthetic datasets") and §4.4 (robustness), and the
``DataGenerator`` of their repository (``generate_realistic_synthetic``,
``add_duplicated_anomalies``, ``add_irrelevant_features``, ``add_label_contamination``).

Every function is pure NumPy/scikit-learn/SciPy and deterministic given the
``np.random.Generator`` it takes: it never touches NumPy's global state, and scikit-learn's
``random_state`` is drawn from that generator.  The generative models are fitted on the rows
given (the normal training rows), never on anomalies.

The four types (:func:`synthesize`):

* **local**: a Gaussian mixture fitted on the normal rows (full covariances, the number of
  components, 1 to 9, chosen by BIC as ADBench does); normals are sampled from it, anomalies
  from the same mixture with every covariance multiplied by ``alpha`` (default 5).  They
  surround the normal clusters: far in Mahalanobis terms, mostly within the data's range.
* **clustered**: the same mixture with every mean moved ``alpha`` times (default 5) as far from
  the reference point (see below) and the covariances kept: tight groups away from the normals.
* **global**: uniform per feature over the normal rows' range widened by ``alpha`` (default 1.1);
  the normals are sampled from the mixture, as for local.
* **dependency**: normals from a Gaussian copula fitted on the normal rows with Gaussian-KDE
  marginals; anomalies draw every feature independently from the same KDE marginal, so each
  feature's distribution is kept and the dependence between features is broken.  ADBench fits
  a C-vine copula (``copulas.VineCopula('center')``) and, because that is slow, keeps only a
  random 50 of the features; a Gaussian copula is cheap, so every feature is kept here.  A vine
  copula can express tail dependence that a Gaussian one cannot; the anomalies, the point of
  the type, are the same (independent KDE marginals).

Where ADBench scales about the origin, and what is done here.  ADBench's clustered anomalies
scale the means by ``alpha`` (``means_ = alpha * means_``) and its global anomalies are uniform
over ``[alpha * min, alpha * max]`` of each raw column (the repository writes
``(1 + percentage)`` with percentage 0.1, the paper ``alpha`` = 1.1).  Both depend on where a
column's zero lies: a column in [5, 6] gets global anomalies in [5.5, 6.6], half of them
*inside* the normal range and none below it; a column in [-3, -1] gets [-3.3, -1.1], shrunk at
the top; a zero-mean column's clustered anomalies land on the normals.  The same data in other
units would get other anomalies.  Here both scalings are taken about each column's minimum over
the normal rows (``lo``): means become ``lo + alpha * (mean - lo)`` and global anomalies are
uniform over ``[lo, lo + alpha * (max - lo)]``.  That is ADBench's rule applied after min-max
scaling of the normal rows, identical to ADBench's wherever a column's minimum is 0 (count and
indicator features, min-max scaled data), and it gives the same anomalies, in the same units,
whatever affine map (per column, increasing) the data went through first.  Global anomalies
therefore lie beyond each column's maximum with probability ``1 - 1 / alpha`` per feature
(9 % at 1.1), as ADBench's do on a column whose minimum is 0.

Corruptions (ADBench §4.4): :func:`duplicate_anomalies`, :func:`add_irrelevant_features`,
:func:`flip_labels`; where they differ from ADBench's code, their docstrings say how and why.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import DataError, ParameterError

ANOMALY_TYPES = ("local", "global", "dependency", "clustered")
#: ADBench's default ``alpha`` per type (the dependency type has none).
DEFAULT_ALPHA = {"local": 5.0, "clustered": 5.0, "global": 1.1}
#: Numbers of mixture components tried, the one with the lowest BIC kept (ADBench: 1..9).
N_COMPONENTS = range(1, 10)
#: Fewer normal rows than this give no usable mixture, copula or range.
MIN_NORMAL_ROWS = 10


def synthesize(X_normal: np.ndarray, kind: str, n_normal: int, n_anomaly: int, rng: np.random.Generator,
               *, alpha: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic normal rows and anomalies of type ``kind`` from the normal rows ``X_normal``.

    Parameters
    ----------
    X_normal : (n, d) array
        The rows the generative model is fitted on: normal rows only (the training normals).
    kind : {"local", "global", "dependency", "clustered"}
    n_normal, n_anomaly : int
        How many synthetic normal rows and anomalies to return.
    rng : numpy.random.Generator
        The only source of randomness.
    alpha : float > 1, optional
        The type's scale (local: covariance factor; clustered: mean distance factor; global:
        range factor); None gives ADBench's default (5, 5, 1.1).  The dependency type has none.

    Returns
    -------
    (X_synthetic_normal, X_synthetic_anomalies) : float64 arrays of shape (n_normal, d) and
    (n_anomaly, d).  As in ADBench, the normals of every type are sampled from the fitted model
    (the mixture; the copula for dependency), so that normals and anomalies share its artefacts:
    real rows beside uniform global anomalies would give the anomalies away on discrete data
    (real rows on an integer grid, anomalies off it), whatever their distance.

    Raises
    ------
    ParameterError
        Unknown ``kind``; ``alpha`` not a finite number > 1, or given for "dependency";
        negative ``n_normal``/``n_anomaly``; fewer than :data:`MIN_NORMAL_ROWS` normal rows.
    DataError
        ``X_normal`` not a finite 2-D array.
    """
    if kind not in ANOMALY_TYPES:
        raise ParameterError(f"unknown anomaly type {kind!r}; choose from {', '.join(ANOMALY_TYPES)}.")
    alpha = _check_alpha(kind, alpha)
    n_normal = _check_count("n_normal", n_normal)
    n_anomaly = _check_count("n_anomaly", n_anomaly)
    X = _check_rows(X_normal, kind)
    if kind == "dependency":
        return _dependency(X, n_normal, n_anomaly, rng)
    lo = X.min(axis=0)
    weights, means, covariances = fit_mixture(X, rng)
    normals = sample_mixture(weights, means, covariances, n_normal, rng)
    if kind == "global":  # the range of the rows the mixture was fitted on
        hi = lo + alpha * (X.max(axis=0) - lo)
        anomalies = lo + (hi - lo) * rng.random((n_anomaly, X.shape[1]))
    elif kind == "local":
        anomalies = sample_mixture(weights, means, alpha * covariances, n_anomaly, rng)
    else:  # clustered
        anomalies = sample_mixture(weights, lo + alpha * (means - lo), covariances, n_anomaly, rng)
    return normals, anomalies


# -- the Gaussian mixture (local, clustered) -----------------------------------------------------
def fit_mixture(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(weights (k,), means (k, d), covariances (k, d, d))`` of the full-covariance Gaussian
    mixture with the lowest BIC over 1..9 components (at most one per row), fitted on ``X``.

    One ``random_state`` drawn from ``rng`` serves every candidate, as ADBench's one seed does.
    The fits run on one BLAS/OpenMP thread: their matrices are tiny, and with more threads the
    k-means initialisation's OpenMP workers made them tens of times slower on a 2-core machine.
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    seed = int(rng.integers(2**31 - 1))
    best, best_bic = None, math.inf
    with threadpool_limits(limits=1):
        for k in N_COMPONENTS:
            if k > len(X):
                break
            gm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed).fit(X)
            bic = gm.bic(X)
            if bic < best_bic:
                best, best_bic = gm, bic
    assert best is not None  # len(X) >= MIN_NORMAL_ROWS
    return best.weights_, best.means_, best.covariances_


def sample_mixture(weights: np.ndarray, means: np.ndarray, covariances: np.ndarray, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``n`` rows from a Gaussian mixture, in random order (counts per component multinomial)."""
    counts = rng.multinomial(n, weights / weights.sum())
    parts = [rng.multivariate_normal(mean, cov, size=c, method="eigh")
             for mean, cov, c in zip(means, covariances, counts) if c]
    rows = np.concatenate(parts) if parts else np.empty((0, means.shape[1]))
    return rows[rng.permutation(n)].astype(np.float64, copy=False)


# -- the copula (dependency) --------------------------------------------------------------------
def _dependency(X: np.ndarray, n_normal: int, n_anomaly: int,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Normals from a Gaussian copula with KDE marginals; anomalies from the marginals alone."""
    from scipy.special import ndtr, ndtri
    from scipy.stats import rankdata

    n, d = X.shape
    # the copula: normal scores of the ranks, their correlation
    z = ndtri(rankdata(X, axis=0) / (n + 1))  # (n, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(z, rowvar=False).reshape(d, d)
    constant = np.ptp(X, axis=0) == 0
    corr[constant, :] = 0.0
    corr[:, constant] = 0.0
    np.fill_diagonal(corr, 1.0)
    corr = np.nan_to_num(corr)
    w, v = np.linalg.eigh(corr)  # a correlation matrix estimated from ranks may be slightly indefinite
    root = v * np.sqrt(np.clip(w, 0.0, None))  # (d, d): corr ~= root @ root.T
    u_normal = ndtr(rng.standard_normal((n_normal, d)) @ root.T)  # (n_normal, d), correlated
    u_anomaly = rng.random((n_anomaly, d))  # (n_anomaly, d), independent
    normals = np.empty((n_normal, d))
    anomalies = np.empty((n_anomaly, d))
    for j in range(d):
        normals[:, j] = kde_draw(X[:, j], u_normal[:, j], rng)
        anomalies[:, j] = kde_draw(X[:, j], u_anomaly[:, j], rng)
    return normals, anomalies


def kde_draw(column: np.ndarray, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw from the Gaussian KDE of ``column`` per uniform ``u``: the empirical quantile at
    ``u`` plus Gaussian noise of the KDE's bandwidth (Scott's rule, as ``scipy.stats.gaussian_kde``
    and the ``copulas`` package's ``GaussianKDE`` use).

    The KDE is the empirical distribution convolved with N(0, h²), so for uniform ``u`` the draw
    is exactly KDE-distributed, with no grid or root finding; and it increases with ``u`` up to
    the noise, so the dependence a copula puts into ``u`` carries through (blurred by noise of
    about a fifth of the column's spread).  A constant column's draws are its value.
    """
    n = len(column)
    h = float(np.std(column, ddof=1)) * n ** (-1 / 5)
    values = np.sort(column)
    picked = values[np.clip(np.ceil(u * n).astype(np.int64) - 1, 0, n - 1)]  # inverse empirical CDF
    return picked + h * rng.standard_normal(len(u)) if h > 0 else picked.astype(np.float64)


# -- corruptions ---------------------------------------------------------------------------------
def duplicate_anomalies(X: np.ndarray, y: np.ndarray, factor: float,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Repeat the anomalies (``y == 1``) so that each appears ``factor`` times in all.

    An integer ``factor`` repeats every anomaly exactly that often; a fractional one repeats
    each ``floor(factor)`` times and a random ``round(n_anomaly * factor) - floor(factor) *
    n_anomaly`` of them once more.  Normal rows are kept once; the rows come back shuffled (as
    ADBench's do).  ``factor`` 1 returns copies of ``X`` and ``y`` unchanged.

    ADBench's ``add_duplicated_anomalies`` draws ``int(n_anomaly * factor)`` anomalies *with
    replacement*, so some anomalies vanish while others repeat more than ``factor`` times; the
    study is about repeated anomalies, so every anomaly is kept here.  ADBench applies it to the
    training and the test rows separately, after the split; so should a caller.
    """
    if not _is_real(factor) or not math.isfinite(factor) or factor < 1:
        raise ParameterError(f"The 'factor' of duplicate_anomalies must be a number >= 1 (how many "
                             f"times each anomaly appears). Got {factor!r} instead.")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"duplicate_anomalies: X has {len(X)} rows but y has {len(y)} labels.")
    if factor == 1:
        return X.copy(), y.copy()
    anomalies = np.flatnonzero(y == 1)
    whole = int(math.floor(factor))
    extra = int(round(len(anomalies) * factor)) - whole * len(anomalies)
    picked = rng.choice(anomalies, size=extra, replace=False) if extra > 0 else anomalies[:0]
    index = np.concatenate([np.flatnonzero(y != 1), np.repeat(anomalies, whole), picked])
    index = index[rng.permutation(len(index))]
    return X[index], y[index]


def add_irrelevant_features(X: np.ndarray, ratio: float, rng: np.random.Generator) -> np.ndarray:
    """Append uniform-noise columns so that a share ``ratio`` of the columns is noise.

    ``k = round(ratio * d / (1 - ratio))`` columns are added (the share after adding,
    ``k / (d + k)``, as close to ``ratio`` as whole columns allow; ADBench truncates with
    ``int``, which adds none to a 10-column dataset at ratio 0.05).  Each noise column is
    uniform over the range (min to max over the rows of ``X``) of an original column drawn at
    random, ADBench's range rule, so noise columns are on the scale of the data.  They are
    appended after the original columns (ADBench shuffles the columns; no detector here depends
    on column order, and appending keeps the original columns where a caller expects them).
    """
    if not _is_real(ratio) or not 0 <= ratio < 1:
        raise ParameterError(f"The 'ratio' of add_irrelevant_features must be a number in [0, 1) "
                             f"(the share of columns that are noise after adding). Got {ratio!r} instead.")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(f"add_irrelevant_features needs a 2-D array with at least one column; "
                        f"got shape {X.shape}.")
    k = int(round(ratio * X.shape[1] / (1 - ratio)))
    if k == 0:
        return X.copy()
    source = rng.integers(X.shape[1], size=k)
    lo, hi = X.min(axis=0)[source], X.max(axis=0)[source]
    noise = lo + (hi - lo) * rng.random((len(X), k))  # (n, k)
    return np.hstack([X, noise])


def flip_labels(y: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of the binary labels ``y`` with ``round(rate * len(y))`` of them, drawn without
    replacement, flipped (0 <-> 1): ADBench's annotation errors (which truncate with ``int``).
    ADBench flips training labels only; so should a caller."""
    if not _is_real(rate) or not 0 <= rate <= 1:
        raise ParameterError(f"The 'rate' of flip_labels must be a number in [0, 1] (the share of "
                             f"labels flipped). Got {rate!r} instead.")
    y = np.asarray(y)
    if not np.isin(y, (0, 1)).all():
        raise DataError("flip_labels needs binary labels (0 = normal, 1 = anomaly); got values "
                        f"{sorted(set(np.unique(y).tolist()) - {0, 1})[:5]}.")
    out = y.copy()
    flip = rng.choice(len(y), size=int(round(rate * len(y))), replace=False)
    out[flip] = out[flip] == 0  # 0 <-> 1, in y's own dtype (int or bool)
    return out


# -- checks -------------------------------------------------------------------------------------
def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_alpha(kind: str, alpha: float | None) -> float:
    if kind == "dependency":
        if alpha is not None:
            raise ParameterError("The 'alpha' of synthetic anomalies does not apply to the "
                                 f"'dependency' type (it has no scale). Got {alpha!r}; leave it unset.")
        return float("nan")
    if alpha is None:
        return DEFAULT_ALPHA[kind]
    if not _is_real(alpha) or not math.isfinite(alpha) or alpha <= 1:
        raise ParameterError(f"The 'alpha' of {kind!r} synthetic anomalies must be a finite number > 1 "
                             f"(1 would give anomalies like the normals; ADBench uses "
                             f"{DEFAULT_ALPHA[kind]:g}). Got {alpha!r} instead.")
    return float(alpha)


def _check_count(name: str, value: int) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ParameterError(f"The '{name}' of synthesize must be an int >= 0. Got {value!r} instead.")
    return int(value)


def _check_rows(X: np.ndarray, kind: str) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        raise DataError(f"synthetic {kind!r} anomalies need the normal rows as a 2-D array with at "
                        f"least one column; got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise DataError(f"synthetic {kind!r} anomalies: the normal rows hold "
                        f"{int((~np.isfinite(X)).sum())} non-finite value(s); clean the data first.")
    if len(X) < MIN_NORMAL_ROWS:
        raise ParameterError(f"synthetic {kind!r} anomalies need at least {MIN_NORMAL_ROWS} normal rows to "
                        f"fit their generator; got {len(X)}. Use a dataset (or training split) with "
                        "more normal rows.")
    return X
