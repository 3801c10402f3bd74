"""Exact k-nearest-neighbour search for large tabular data, and PyOD's KNN and LOF on it.

PyOD's ``KNN`` asks scikit-learn for each scored row's k nearest training rows: a KD-tree below
16 features, brute force above it (one distance per training row and scored row).  On KDD99 (198k
training rows, 118 features, 247k scored rows) that is minutes of work, although most rows there
are repeats.  :class:`ExactNeighbors` does the same search in three steps:

1. Duplicate rows are collapsed, with their counts (``np.unique``), on both sides: distances are
   computed between distinct rows only, and a distinct training row counts as many neighbours
   as it has copies.
2. Squared distances of a block of query rows come from one BLAS product
   (``|u|² - 2 q·u`` on centred data; ``|q|²`` is constant along a row and does not change the
   order).  An upper bound of each row's k-th smallest value is the k-th smallest of the minima
   of ``GROUPS`` interleaved groups of columns (k distinct entries are at most that large): one
   elementwise-minimum pass and a partial sort of a matrix ``GROUPS`` times smaller, instead of
   a partial sort of the whole block, which cost more than the BLAS product.
3. The product loses precision (its rounding error grows with the squared norms), so every
   distinct training row whose approximate value lies within twice a rounding bound of that
   upper bound is a candidate; the candidates' distances are recomputed directly (square root of
   the summed squared differences, as a KD-tree does) and the k smallest are taken counting
   copies.  The rounding bound holds for any data, so the result is the exact sorted distances
   to the k nearest neighbours, whatever the ties and duplicates.

:class:`KNN` and :class:`LOF` are PyOD's ``KNN`` and ``LOF`` with this search when the metric is
Euclidean: they inherit PyOD's parameters, scoring and threshold; any other metric goes through
PyOD's own code.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyod.models.knn import KNN as PyODKNN
from pyod.models.lof import LOF as PyODLOF
from sklearn.utils import check_array

#: Query rows per block: at most this many float64 squared distances (64 MiB) at once.
BLOCK_VALUES = 2**23
#: Candidate pairs whose exact distances are computed at once (each pair holds a row of d floats).
CANDIDATE_VALUES = 2**22
#: Column groups whose minima bound each row's k-th smallest value (step 2 of the docstring).
GROUPS = 16


class ExactNeighbors:
    """Exact Euclidean k-nearest-neighbour distances to the rows of ``X`` (see the module docstring).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The training rows (any float dtype; distances are computed in float64).
    """

    def __init__(self, X: np.ndarray) -> None:
        X = np.asarray(X, dtype=np.float64)
        self.n_samples_fit_ = int(X.shape[0])
        # unique rows, how many times each occurs, and where each training row went
        self.rows_, self.inverse_, self.counts_ = _unique_rows(X)
        self.center_ = self.rows_.mean(axis=0)
        centred = self.rows_ - self.center_
        self.norms_ = np.einsum("ij,ij->i", centred, centred)  # (m,) squared norms
        # (d + 1, m), the BLAS operand: [q, 1] @ [-2 u; |u|²] = |u|² - 2 q.u in one product
        self.operand_ = np.ascontiguousarray(np.vstack([-2.0 * centred.T, self.norms_]))

    def kneighbors(self, X: np.ndarray | None, n_neighbors: int) -> np.ndarray:
        """Sorted distances, shape (n, n_neighbors), from each row of ``X`` to its neighbours.

        ``X=None`` queries the training rows themselves, each without itself (one copy of a
        duplicated row is itself, the others are neighbours at distance 0), as scikit-learn's
        ``kneighbors()`` does.
        """
        dist, _, inverse = self.kneighbors_distinct(X, n_neighbors)
        return dist[inverse]

    def kneighbors_distinct(self, X: np.ndarray | None, n_neighbors: int
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The search of :meth:`kneighbors`, once per distinct query row.

        Returns ``(dist, ind, inverse)``: the sorted distances and the indices into ``rows_``
        (the distinct training rows; a row with copies fills as many neighbour slots as it
        has copies) of each distinct row of ``X``, and for each row of ``X`` its distinct row.
        With ``X=None`` the distinct rows are ``rows_`` and ``inverse`` is ``inverse_``.
        """
        exclude_self = X is None
        k = int(n_neighbors) + int(exclude_self)
        if not 1 <= k <= self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors {'<' if exclude_self else '<='} n_samples_fit, but "
                f"n_neighbors = {n_neighbors}, n_samples_fit = {self.n_samples_fit_}")
        if exclude_self:
            queries, inverse = self.rows_, self.inverse_
        else:
            queries, inverse, _ = _unique_rows(np.asarray(X, dtype=np.float64))
        dist = np.empty((queries.shape[0], k), dtype=np.float64)
        ind = np.empty((queries.shape[0], k), dtype=np.intp)
        block = max(1, BLOCK_VALUES // max(self.rows_.shape[0], 1))
        for start in range(0, queries.shape[0], block):
            stop = start + block
            dist[start:stop], ind[start:stop] = self._block(queries[start:stop], k)
        if exclude_self:  # the row itself (one copy of it): distance exactly 0, the smallest
            dist, ind = dist[:, 1:], ind[:, 1:]
        return dist, ind, inverse

    def _block(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k smallest exact distances (counting copies) of each row of Q, sorted, and the
        distinct training rows they belong to."""
        m, d = self.rows_.shape
        centred = np.empty((Q.shape[0], d + 1), dtype=np.float64)  # (b, d + 1): [q - center, 1]
        np.subtract(Q, self.center_, out=centred[:, :d])
        centred[:, d] = 1.0
        q_norms = np.einsum("ij,ij->i", centred[:, :d], centred[:, :d])  # (b,)
        partial = centred @ self.operand_  # (b, m): |u|² - 2 q.u = |q - u|² - |q|², up to rounding
        # an upper bound of the k-th smallest over distinct rows: at least k neighbours
        # (counting copies) are that close
        width = m // GROUPS
        if width >= k:  # the minima of GROUPS interleaved groups, then their k-th smallest
            minima = partial[:, :width * GROUPS].reshape(-1, GROUPS, width).min(axis=1)  # (b, width)
            kth = np.partition(minima, k - 1, axis=1)[:, k - 1]
        else:
            kth = np.partition(partial, min(k, m) - 1, axis=1)[:, min(k, m) - 1]
        # |error| of each entry <= (d + 5) eps (|q|² + |u|²) (dot products and centring); x8 margin
        bound = 8 * (d + 5) * np.finfo(np.float64).eps * (q_norms + self.norms_.max())
        # flat indices: many times faster than a 2-D nonzero on a mostly-False mask
        rows, cols = np.divmod(np.flatnonzero(partial <= (kth + 2 * bound)[:, None]), m)
        del partial
        exact = np.empty(rows.size, dtype=np.float64)
        step = max(1, CANDIDATE_VALUES // max(d, 1))
        for s in range(0, rows.size, step):
            diff = Q[rows[s:s + step]] - self.rows_[cols[s:s + step]]  # (pairs, d)
            exact[s:s + step] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        # per query row: candidates by distance, each repeated by its count (at most k times)
        order = np.lexsort((exact, rows))
        copies = np.minimum(self.counts_[cols[order]], k)
        rep_rows = np.repeat(rows[order], copies)
        rep_dist = np.repeat(exact[order], copies)
        rep_cols = np.repeat(cols[order], copies)
        first = np.searchsorted(rep_rows, np.arange(Q.shape[0]))  # (b,) start of each row
        position = np.arange(rep_rows.size) - first[rep_rows]
        keep = position < k
        dist = np.empty((Q.shape[0], k), dtype=np.float64)
        ind = np.empty((Q.shape[0], k), dtype=np.intp)
        dist[rep_rows[keep], position[keep]] = rep_dist[keep]
        ind[rep_rows[keep], position[keep]] = rep_cols[keep]
        return dist, ind


def _unique_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of X, the index of each row of X among them, and their counts.

    Rows are told apart by a 64-bit hash of their bytes (pandas' ``hash_array`` per column,
    combined), which is many times faster than ``np.unique(X, axis=0)``; the grouping is then
    checked row by row, and a hash collision (never seen, but possible) falls back to
    ``np.unique``.  -0.0 and 0.0 may end up as two distinct rows; both are candidates at
    distance 0, so the distances are the same.
    """
    if X.shape[0] == 0:
        return X, np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    from pandas.util import hash_array

    hashes = np.zeros(X.shape[0], dtype=np.uint64)
    for j in range(X.shape[1]):  # boost-style combination, wrapping uint64 arithmetic
        hashes ^= hash_array(np.ascontiguousarray(X[:, j])) + np.uint64(0x9E3779B97F4A7C15) \
            + (hashes << np.uint64(6)) + (hashes >> np.uint64(2))
    _, first, inverse, counts = np.unique(hashes, return_index=True, return_inverse=True,
                                          return_counts=True)
    rows = X[first]
    if not np.array_equal(rows[inverse], X):  # a collision: group exactly instead
        rows, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    return rows, inverse.reshape(-1), counts


def is_euclidean(metric: Any, p: Any, metric_params: Any) -> bool:
    """Whether scikit-learn's ``metric``/``p``/``metric_params`` mean the plain Euclidean distance."""
    if metric_params:
        return False
    return metric in ("euclidean", "l2") or (metric == "minkowski" and p == 2)


class KNN(PyODKNN):
    """PyOD's KNN, with :class:`ExactNeighbors` for the Euclidean metric (PyOD's default).

    Same parameters, scores (``largest``, ``mean`` or ``median`` of the k distances) and
    threshold as PyOD's; ``algorithm``, ``leaf_size``, ``radius`` and ``n_jobs`` only matter on
    PyOD's path (other metrics).
    """

    def _exact(self) -> bool:
        return is_euclidean(self.metric, self.p, self.metric_params)

    def fit(self, X: np.ndarray, y: Any = None) -> KNN:
        if not self._exact():
            return super().fit(X, y)  # type: ignore[no-any-return]
        X = check_array(X)
        self._set_n_classes(y)
        self.neighbors_ = ExactNeighbors(X)
        dist = self.neighbors_.kneighbors(None, self.n_neighbors)
        self.decision_scores_ = self._get_dist_by_method(dist).ravel()
        self._process_decision_scores()
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        if not self._exact():
            return super().decision_function(X)  # type: ignore[no-any-return]
        X = check_array(X)
        dist = self.neighbors_.kneighbors(X, self.n_neighbors)
        return self._get_dist_by_method(dist).ravel()  # type: ignore[no-any-return]


class LOF(PyODLOF):
    """PyOD's LOF, with :class:`ExactNeighbors` for the Euclidean metric (PyOD's default).

    The local outlier factor of Breunig et al. (SIGMOD 2000) exactly as scikit-learn's
    ``LocalOutlierFactor(novelty=True)`` computes it (reachability distances, the ``1e-10`` in the
    local reachability density, ``n_neighbors`` at most n - 1), computed once per distinct row.
    Copies of one row have the same neighbours, so duplicates cost nothing; where two
    *different* training rows tie at a row's k-th distance, scikit-learn's tree search keeps an
    arbitrary one of them and so does this search (a fixed one), and the two scores may then
    differ.  Above 15 features PyOD's default search is scikit-learn's brute force, whose
    ``|x|² + |y|² - 2 x.y`` leaves ~1e-7 where a copy's distance is 0; this search gives the 0,
    as scikit-learn's trees do.  ``algorithm``, ``leaf_size`` and ``n_jobs`` only matter on
    PyOD's path (other metrics).
    """

    def _exact(self) -> bool:
        return is_euclidean(self.metric, self.p, self.metric_params)

    def fit(self, X: np.ndarray, y: Any = None) -> LOF:
        if not self._exact():
            return super().fit(X, y)  # type: ignore[no-any-return]
        X = check_array(X)
        self._set_n_classes(y)
        self.neighbors_ = ExactNeighbors(X)
        self.k_ = max(1, min(int(self.n_neighbors), X.shape[0] - 1))  # as scikit-learn
        dist, ind, inverse = self.neighbors_.kneighbors_distinct(None, self.k_)
        self.k_distance_ = dist[:, -1]  # per distinct training row
        self.lrd_ = self._lrd(dist, ind)
        lof = self.lrd_[ind].mean(axis=1) / self.lrd_
        self.decision_scores_ = lof[inverse]
        self._process_decision_scores()
        return self

    def _lrd(self, dist: np.ndarray, ind: np.ndarray) -> np.ndarray:
        """Local reachability density: 1 / mean reachability distance to the k neighbours."""
        reach = np.maximum(dist, self.k_distance_[ind])
        return 1.0 / (reach.mean(axis=1) + 1e-10)  # type: ignore[no-any-return]

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        if not self._exact():
            return super().decision_function(X)  # type: ignore[no-any-return]
        X = check_array(X)
        dist, ind, inverse = self.neighbors_.kneighbors_distinct(X, self.k_)
        lof = self.lrd_[ind].mean(axis=1) / self._lrd(dist, ind)
        return lof[inverse]  # type: ignore[no-any-return]
