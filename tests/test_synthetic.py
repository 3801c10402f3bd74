"""Synthetic anomalies and corruptions (adbench_dagmm.synthetic): the property that defines each
anomaly type, determinism per seed, shapes, and the errors for bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

from adbench_dagmm.errors import DataError, ParameterError
from adbench_dagmm.synthetic import (
    ANOMALY_TYPES,
    add_irrelevant_features,
    duplicate_anomalies,
    fit_mixture,
    flip_labels,
    synthesize,
)


def blob(n: int = 400, d: int = 4, seed: int = 0, rho: float = 0.0, offset: float = 10.0) -> np.ndarray:
    """One Gaussian blob (equicorrelated ``rho``), away from the origin: one mixture component."""
    rng = np.random.default_rng(seed)
    cov = (1 - rho) * np.eye(d) + rho
    return rng.multivariate_normal(np.zeros(d), cov, size=n) + offset


def two_blobs(n: int = 400, d: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(6, 0.5, (n - n // 2, d))]) + 3


def outside_box(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    return ((Z < X.min(axis=0)) | (Z > X.max(axis=0))).any(axis=1)


# -- shapes, determinism --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ANOMALY_TYPES)
def test_shapes_dtypes_and_finite(kind):
    X = two_blobs()
    normals, anomalies = synthesize(X, kind, 300, 50, np.random.default_rng(0))
    assert normals.shape == (300, 4) and anomalies.shape == (50, 4)
    assert normals.dtype == anomalies.dtype == np.float64
    assert np.isfinite(normals).all() and np.isfinite(anomalies).all()
    empty_n, empty_a = synthesize(X, kind, 0, 0, np.random.default_rng(0))
    assert empty_n.shape == empty_a.shape == (0, 4)


@pytest.mark.parametrize("kind", ANOMALY_TYPES)
def test_deterministic_per_seed_and_global_state_untouched(kind):
    X = two_blobs()
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = synthesize(X, kind, 200, 40, np.random.default_rng(7))
    b = synthesize(X, kind, 200, 40, np.random.default_rng(7))
    c = synthesize(X, kind, 200, 40, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert np.array_equal(np.random.get_state()[1], before)  # no global NumPy randomness used


# -- the property of each type --------------------------------------------------------------------
def _min_mahalanobis(Z: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    out = np.full(len(Z), np.inf)
    for mean, cov in zip(means, covariances):
        diff = Z - mean
        out = np.minimum(out, np.sqrt(np.einsum("ij,ij->i", diff, np.linalg.solve(cov, diff.T).T)))
    return out


def test_local_anomalies_surround_the_normal_clusters():
    """Same centres as the normals, covariance scaled by alpha: far in Mahalanobis terms from
    every fitted component, yet centred where the normals are."""
    X = two_blobs(d=3)
    _, means, covariances = fit_mixture(X, np.random.default_rng(0))
    assert len(means) == 2  # BIC finds the two blobs
    normals, anomalies = synthesize(X, "local", 1000, 1000, np.random.default_rng(0))
    d_normal = np.median(_min_mahalanobis(normals, means, covariances))
    d_anomaly = np.median(_min_mahalanobis(anomalies, means, covariances))
    assert 1.8 < d_anomaly / d_normal < 2.7  # sqrt(5) = 2.24 for alpha 5
    # one blob: the anomalies' covariance is alpha times the normals', the centre the same
    X1 = blob(d=3)
    normals, anomalies = synthesize(X1, "local", 2000, 2000, np.random.default_rng(1), alpha=3.0)
    ratio = np.trace(np.cov(anomalies.T)) / np.trace(np.cov(normals.T))
    assert 2.6 < ratio < 3.4
    assert np.abs(anomalies.mean(axis=0) - normals.mean(axis=0)).max() < 0.2


def test_global_anomalies_are_uniform_over_the_widened_range_and_outside_the_box_mostly():
    X = blob(d=20)
    normals, anomalies = synthesize(X, "global", 300, 2000, np.random.default_rng(0))
    lo, hi = X.min(axis=0), X.max(axis=0)
    assert (anomalies >= lo).all() and (anomalies <= lo + 1.1 * (hi - lo)).all()
    expected = 1 - (1 / 1.1) ** 20  # each feature beyond the max with probability 1 - 1/alpha
    assert abs(outside_box(anomalies, X).mean() - expected) < 0.04
    assert outside_box(anomalies, X).mean() > 0.8
    # uniform: the share of values in the top 10 % of the widened range is about 10 %
    top = anomalies > lo + 0.99 * (hi - lo)
    assert abs(top.mean() - 0.11 / 1.1) < 0.01
    # normals are drawn from the mixture fitted on X (as ADBench's), not copied rows of X
    rows = {tuple(r) for r in X}
    assert not any(tuple(r) in rows for r in normals)
    assert outside_box(normals, X).mean() < 0.5


def test_global_anomalies_do_not_depend_on_the_columns_units():
    """Taken about each column's minimum: an increasing affine map of the data maps the
    anomalies the same way (ADBench's scaling about 0 would not)."""
    X = blob(d=3)
    scale, shift = np.array([2.0, 0.5, 10.0]), np.array([-100.0, 3.0, 1e4])
    _, a = synthesize(X, "global", 10, 500, np.random.default_rng(3))
    _, b = synthesize(X * scale + shift, "global", 10, 500, np.random.default_rng(3))
    np.testing.assert_allclose(b, a * scale + shift, rtol=1e-9, atol=1e-6)


def test_clustered_anomalies_form_a_tight_group_away_from_the_normals():
    X = blob(d=4, offset=10.0)
    normals, anomalies = synthesize(X, "clustered", 1000, 500, np.random.default_rng(0))
    assert outside_box(anomalies, X).mean() > 0.95
    # a group as tight as the normals, not scattered
    spread = anomalies.std(axis=0) / normals.std(axis=0)
    assert (spread > 0.8).all() and (spread < 1.25).all()
    # centred alpha times as far from the columns' minima as the normals' mean
    lo = X.min(axis=0)
    np.testing.assert_allclose(anomalies.mean(axis=0), lo + 5 * (X.mean(axis=0) - lo), atol=0.25)
    # far from every normal: the nearest normal row is farther than the group's own radius
    nearest = np.sqrt(((anomalies[:, None, :] - X[None, :, :]) ** 2).sum(-1)).min(axis=1)
    radius = np.median(np.linalg.norm(anomalies - anomalies.mean(axis=0), axis=1))
    assert np.median(nearest) > 3 * radius


def test_dependency_anomalies_keep_each_marginal_and_lose_the_correlation():
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(0)
    base = blob(n=600, d=2, rho=0.9)
    X = np.column_stack([base, rng.exponential(2.0, 600), rng.integers(0, 5, 600)])  # skewed, discrete
    normals, anomalies = synthesize(X, "dependency", 1500, 1500, np.random.default_rng(1))
    for j in range(3):  # normals and anomalies share each feature's KDE marginal
        assert ks_2samp(anomalies[:, j], normals[:, j]).pvalue > 1e-3, j
    for j in range(2):  # ... which is the data's, up to the KDE's smoothing
        assert ks_2samp(anomalies[:, j], X[:, j]).pvalue > 1e-3, j
    assert ks_2samp(anomalies[:, 2], X[:, 2]).statistic < 0.12  # smoothed across 0, the exponential's edge
    assert abs(anomalies[:, 3].mean() - X[:, 3].mean()) < 0.15  # a discrete column, smoothed
    assert np.corrcoef(X[:, :2].T)[0, 1] > 0.85
    assert np.corrcoef(normals[:, :2].T)[0, 1] > 0.8  # the copula keeps it
    assert abs(np.corrcoef(anomalies[:, :2].T)[0, 1]) < 0.1  # the anomalies lose it


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, alpha, match", [
    ("outlier", None, "unknown anomaly type 'outlier'"),
    ("local", 1.0, "'alpha' of 'local' .* > 1"),
    ("clustered", 0.5, "'alpha' of 'clustered'"),
    ("global", float("nan"), "'alpha' of 'global'"),
    ("global", True, "'alpha' of 'global'"),
    ("local", "5", "'alpha' of 'local'"),
    ("dependency", 2.0, "does not apply to the 'dependency' type"),
], ids=["kind", "alpha-1", "alpha-below-1", "alpha-nan", "alpha-bool", "alpha-str", "alpha-dependency"])
def test_bad_kind_or_alpha(kind, alpha, match):
    with pytest.raises(ParameterError, match=match):
        synthesize(two_blobs(), kind, 10, 10, np.random.default_rng(0), alpha=alpha)


@pytest.mark.parametrize("kind", ANOMALY_TYPES)
def test_too_few_normal_rows_or_bad_rows(kind):
    with pytest.raises(ParameterError, match="at least 10 normal rows .* got 9"):
        synthesize(two_blobs()[:9], kind, 10, 10, np.random.default_rng(0))
    X = two_blobs()
    X[3, 1] = np.nan
    with pytest.raises(DataError, match="1 non-finite value"):
        synthesize(X, kind, 10, 10, np.random.default_rng(0))
    with pytest.raises(ParameterError, match="'n_anomaly' of synthesize must be an int >= 0"):
        synthesize(two_blobs(), kind, 10, -1, np.random.default_rng(0))


# -- corruptions -----------------------------------------------------------------------------------
def _labelled(n: int = 100, n_anomaly: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(n * 3, dtype=np.float64).reshape(n, 3)  # unique rows: row identity is traceable
    y = np.zeros(n, dtype=np.int64)
    y[:n_anomaly] = 1
    return X, y


def test_duplicate_anomalies_repeats_each_anomaly_factor_times():
    X, y = _labelled()
    Xd, yd = duplicate_anomalies(X, y, 3, np.random.default_rng(0))
    assert len(Xd) == 90 + 30 and yd.sum() == 30
    ids, counts = np.unique(Xd[:, 0], return_counts=True)
    by_row = dict(zip(ids.tolist(), counts.tolist()))
    assert all(by_row[X[i, 0]] == (3 if y[i] else 1) for i in range(len(X)))
    np.testing.assert_array_equal(yd, (Xd[:, 0] < 30).astype(int))  # labels follow their rows
    Xf, yf = duplicate_anomalies(X, y, 2.5, np.random.default_rng(0))
    counts = np.unique(Xf[yf == 1, 0], return_counts=True)[1]
    assert yf.sum() == 25 and sorted(set(counts.tolist())) == [2, 3]
    again = duplicate_anomalies(X, y, 2.5, np.random.default_rng(0))
    np.testing.assert_array_equal(again[0], Xf)
    same = duplicate_anomalies(X, y, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(same[0], X)


@pytest.mark.parametrize("factor", [0.5, float("inf"), "2", None], ids=["below-1", "inf", "str", "none"])
def test_duplicate_anomalies_bad_factor(factor):
    X, y = _labelled()
    with pytest.raises(ParameterError, match="'factor' of duplicate_anomalies must be a number >= 1"):
        duplicate_anomalies(X, y, factor, np.random.default_rng(0))


def test_add_irrelevant_features_share_and_range():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 10)) * np.arange(1, 11)
    noisy = add_irrelevant_features(X, 0.5, np.random.default_rng(0))
    assert noisy.shape == (200, 20) and noisy.dtype == np.float64
    np.testing.assert_array_equal(noisy[:, :10], X)  # the original columns stay where they were
    noise = noisy[:, 10:]
    assert (noise.min(axis=0) >= X.min() - 1e-12).all() and (noise.max(axis=0) <= X.max() + 1e-12).all()
    assert np.abs(np.corrcoef(noisy.T)[:10, 10:]).max() < 0.3  # unrelated to the data
    assert add_irrelevant_features(X, 0.05, rng).shape == (200, 11)  # 1/11 is the nearest share
    assert add_irrelevant_features(X, 0.0, rng).shape == (200, 10)
    np.testing.assert_array_equal(add_irrelevant_features(X, 0.2, np.random.default_rng(5)),
                                  add_irrelevant_features(X, 0.2, np.random.default_rng(5)))


@pytest.mark.parametrize("ratio", [1.0, -0.1, float("nan")], ids=["one", "negative", "nan"])
def test_add_irrelevant_features_bad_ratio(ratio):
    with pytest.raises(ParameterError, match=r"'ratio' of add_irrelevant_features must be a number in \[0, 1\)"):
        add_irrelevant_features(np.ones((5, 2)), ratio, np.random.default_rng(0))


def test_flip_labels_flips_exactly_round_rate_n():
    _, y = _labelled(n=101)
    flipped = flip_labels(y, 0.1, np.random.default_rng(0))
    assert (flipped != y).sum() == 10 and flipped.dtype == y.dtype
    assert set(np.unique(flipped)) <= {0, 1}
    np.testing.assert_array_equal(flipped, flip_labels(y, 0.1, np.random.default_rng(0)))
    np.testing.assert_array_equal(flip_labels(y, 0.0, np.random.default_rng(0)), y)
    np.testing.assert_array_equal(flip_labels(y, 1.0, np.random.default_rng(0)), 1 - y)


@pytest.mark.parametrize("rate", [1.5, -0.01, float("nan")], ids=["above-1", "negative", "nan"])
def test_flip_labels_bad_rate(rate):
    with pytest.raises(ParameterError, match=r"'rate' of flip_labels must be a number in \[0, 1\]"):
        flip_labels(np.zeros(10, dtype=int), rate, np.random.default_rng(0))
