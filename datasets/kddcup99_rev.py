"""KDDCUP-Rev (Zong et al., ICLR 2018, §4.1): KDD Cup 99 with attacks as the rare class.

Every ``normal.`` row of the 10 % file is the normal class (97,278 rows); attack rows are drawn
at random so that they are 20 % of the result (24,319 of 121,597) and they are the anomalies.
``load()`` never sees the run seed, so the draw uses the fixed seed :data:`SUBSAMPLE_SEED`: every
run of every seed sees the same 121,597 rows, and only the protocol's split changes with the seed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from adbench_dagmm.dataset import BaseDataset, Dataset
from adbench_dagmm.hookspecs import hookimpl

from .kddcup99 import CARD as KDD_CARD
from .kddcup99 import KDDCup99Dataset

#: Seed of the attack subsample: ``np.random.default_rng(SUBSAMPLE_SEED).permutation`` of the
#: attack rows (in file order), first ``N_ATTACKS`` taken.
SUBSAMPLE_SEED = 2018
N_NORMAL = 97278
#: Attacks are 20 % of the result: n / (N_NORMAL + n) = 0.2, i.e. n = N_NORMAL / 4 (rounded down).
N_ATTACKS = N_NORMAL // 4

CARD = dataclasses.replace(
    KDD_CARD,
    name="kddcup99_rev",
    description=(
        "KDDCUP-Rev: KDD Cup 1999 10 % file, all 97,278 'normal.' connections plus 24,319 attack "
        "connections drawn at random: 121,597 rows x 118 features."
    ),
    anomaly_definition=(
        f"The {N_ATTACKS:,} attack rows (20 %) are the anomalies; every 'normal.' row is the "
        f"normal class. The attack rows are a fixed draw (numpy default_rng({SUBSAMPLE_SEED}) "
        "permutation of the attack rows, first 24,319), the same for every run seed."
    ),
    notes=(
        "Same columns and encoding as kddcup99 (118 features, one-hot categories of the full 10 % "
        "file kept even where the subsample never uses them). " + KDD_CARD.notes
    ),
)


def subsample(y_kdd: np.ndarray, seed: int = SUBSAMPLE_SEED) -> np.ndarray:
    """Row indices (sorted) of KDDCUP-Rev in the kddcup99 dataset, whose y is 1 for ``normal.``."""
    y_kdd = np.asarray(y_kdd)
    normal = np.flatnonzero(y_kdd == 1)
    attacks = np.flatnonzero(y_kdd == 0)
    n_attacks = normal.size // 4
    take = attacks[np.random.default_rng(seed).permutation(attacks.size)[:n_attacks]]
    return np.sort(np.concatenate([normal, take]))


class KDDCup99RevDataset(BaseDataset):
    """KDDCUP-Rev: KDD Cup 99 normal traffic plus a 20 % attack sample; attacks are anomalies."""

    name = "kddcup99_rev"
    card = CARD

    def sha256(self) -> str:
        return KDDCup99Dataset().sha256()

    def is_present(self) -> bool:
        return KDDCup99Dataset().is_present()

    def describe(self) -> dict[str, Any]:
        rows = N_NORMAL + N_ATTACKS
        return {"rows": rows, "features": 118, "anomaly_ratio": N_ATTACKS / rows}

    def load(self) -> Dataset:
        base = KDDCup99Dataset().load()
        rows = subsample(base.y)
        return Dataset(
            X=np.asarray(base.X[rows]),  # fancy indexing copies out of the memory map
            y=(np.asarray(base.y)[rows] == 0).astype(np.int8),
            name=self.name,
            feature_names=list(base.feature_names),
            categorical=np.asarray(base.categorical, dtype=bool).copy(),
            card=CARD,
            sha256=base.sha256,
        )


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    register(KDDCup99RevDataset)
