"""PyOD's ECOD and COPOD with the same scores, column by column, without dense copies.

PyOD scores rows by the empirical CDFs of each column *over the training rows together with the
scored rows* (``np.concatenate((X_train, X))``), computed with an argsort of the whole
concatenation, a dense probability matrix for each tail, and several more dense matrices
(``U_l``, ``U_r``, ``U_skew``, ``O``): on KDD99 (445k rows x 118 columns together) that peaks at
several GB.  The scores only need, for each scored value x of a column,

* ``#{z <= x}`` and ``#{z >= x}`` over the concatenated column, which are the sums of two
  ``searchsorted`` counts: one in the training column sorted once at fit, one in the scored
  column sorted per call;
* PyOD's ECDF value for a count c of N, which is ``np.linspace(1/N, 1, N)[c - 1]`` (ties take
  the value of the last of the equal entries, as PyOD's ``ecdf_terminate_equals_inplace`` does);
* the sign of each column's skewness over the concatenation, computed with PyOD's ``skew`` on a
  block of a few concatenated columns at a time (the same per-column reduction as on the whole
  matrix, so the same sign even when the skewness is zero up to rounding).

Scores are summed column by column instead of by ``O.sum(axis=1)``: equal to PyOD's up to float
rounding (a few units in the last place).  Memory: the training rows (kept, as PyOD keeps them),
one sorted copy of them, and per call a few vectors of the scored rows' length.

As in PyOD, a row's score depends on the other rows scored in the same call (they enter the
ECDFs), so the caller must not split a batch.  ``n_jobs`` is accepted and ignored (PyOD's
parallel path computes the same values).  PyOD's ``explain_outlier`` needs the dense matrices
this module avoids; it is not supported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyod.models.copod import COPOD as PyODCOPOD
from pyod.models.ecod import ECOD as PyODECOD
from pyod.models.ecod import skew
from sklearn.utils import check_array

#: Columns per block when computing skewness over the concatenation (a few MB per column).
BLOCK_COLUMNS = 16


def ecdf_grid(n: int) -> np.ndarray:
    """PyOD's ECDF values for counts 1..n: ``column_ecdf``'s ``np.linspace(1/n, 1, n)``."""
    return np.linspace(np.ones(1) / n, np.ones(1), n)[:, 0]


def column_blocks(d: int) -> list[tuple[int, int]]:
    """Column ranges of BLOCK_COLUMNS; never a lone last column when d > 1 (see _skew_signs)."""
    blocks = [(s, min(s + BLOCK_COLUMNS, d)) for s in range(0, d, BLOCK_COLUMNS)]
    if len(blocks) > 1 and blocks[-1][1] - blocks[-1][0] == 1:
        blocks[-2:] = [(blocks[-2][0], d)]
    return blocks


def tail_scores(x: np.ndarray, x_sorted: np.ndarray, ref_sorted: np.ndarray | None,
                grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``-log`` of the left and right ECDFs at each value of x, over x together with ref.

    PyOD's ``-log(column_ecdf(Z))`` and ``-log(column_ecdf(-Z))`` at x's rows, where Z is the
    concatenation of the reference column (``ref_sorted``, sorted; None: no reference) and x.
    """
    at_most = np.searchsorted(x_sorted, x, side="right")
    below = np.searchsorted(x_sorted, x, side="left")
    if ref_sorted is not None:
        at_most += np.searchsorted(ref_sorted, x, side="right")
        below += np.searchsorted(ref_sorted, x, side="left")
    n = grid.shape[0]
    return -1 * np.log(grid[at_most - 1]), -1 * np.log(grid[n - below - 1])


class _ColumnECDF:
    """Shared fit/score of ECOD and COPOD; subclasses say how the tails combine (``_combine``)."""

    X_train: np.ndarray
    sorted_: np.ndarray

    def _combine(self, U_l: np.ndarray, U_r: np.ndarray, U_skew: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: Any = None) -> Any:
        X = check_array(X)
        self._set_n_classes(y)  # type: ignore[attr-defined]
        self.sorted_ = np.sort(X, axis=0)  # (n, d): each column sorted once
        self.decision_scores_ = self._scores(X, reference=False)
        self.X_train = X
        self._process_decision_scores()  # type: ignore[attr-defined]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        X = check_array(X)
        return self._scores(X, reference=True)

    def _scores(self, X: np.ndarray, *, reference: bool) -> np.ndarray:
        n, d = X.shape
        total = n + (self.X_train.shape[0] if reference else 0)
        grid = ecdf_grid(total)
        scores = np.zeros(n, dtype=np.float64)
        for start, stop in column_blocks(d):
            block = X[:, start:stop]  # (n, w)
            z = np.concatenate((self.X_train[:, start:stop], block)) if reference else block
            signs = np.sign(skew(z, axis=0))  # (w,) PyOD's skew over the concatenation
            del z
            for j in range(start, stop):
                x = np.ascontiguousarray(X[:, j])
                if reference:
                    x_sorted, ref = np.sort(x), self.sorted_[:, j]
                else:
                    x_sorted, ref = self.sorted_[:, j], None
                U_l, U_r = tail_scores(x, x_sorted, ref, grid)
                s = signs[j - start]
                U_skew = U_l * -1 * np.sign(s - 1) + U_r * np.sign(s + 1)
                scores += self._combine(U_l, U_r, U_skew)
        return scores


class ECOD(_ColumnECDF, PyODECOD):
    """PyOD's ECOD, column by column (see the module docstring); same parameters and scores."""

    def _combine(self, U_l: np.ndarray, U_r: np.ndarray, U_skew: np.ndarray) -> np.ndarray:
        return np.maximum(U_skew, np.maximum(U_l, U_r))


class COPOD(_ColumnECDF, PyODCOPOD):
    """PyOD's COPOD, column by column (see the module docstring); same parameters and scores."""

    def _combine(self, U_l: np.ndarray, U_r: np.ndarray, U_skew: np.ndarray) -> np.ndarray:
        return np.maximum(U_skew, np.add(U_l, U_r) / 2)
