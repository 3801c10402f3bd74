"""KDDCUP-Rev (Zong et al., ICLR 2018, §4.1): KDD Cup 99 with attacks as the rare class.

Every ``normal.`` row of the 10 % file is the normal class (97,278 rows); attack rows are drawn
at random so that they are 20 % of the result (24,319 of 121,597) and they are the anomalies.
As in the paper, the attack rows are redrawn for every run: ``load()`` returns all 494,021 rows
and declares the draw as a :class:`~adbench_dagmm.dataset.ClassSubsample`, which the protocol
applies with the run seed before it splits (``load()`` itself never sees a seed).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import numpy as np

from adbench_dagmm.dataset import BaseDataset, ClassSubsample, Dataset
from adbench_dagmm.hookspecs import hookimpl

from .kddcup99 import CARD as KDD_CARD
from .kddcup99 import KDDCup99Dataset

N_NORMAL = 97278
#: Attacks are 20 % of the result: n / (N_NORMAL + n) = 0.2, i.e. n = N_NORMAL / 4 (rounded down).
N_ATTACKS = N_NORMAL // 4
#: Label of the attack rows here (they are the anomalies).
ATTACK = 1
SUBSAMPLE = ClassSubsample(label=ATTACK, size=N_ATTACKS)

CARD = dataclasses.replace(
    KDD_CARD,
    name="kddcup99_rev",
    description=(
        "KDDCUP-Rev: KDD Cup 1999 10 % file, all 97,278 'normal.' connections plus 24,319 attack "
        "connections drawn at random for each run: 121,597 rows x 118 features per run."
    ),
    anomaly_definition=(
        f"The {N_ATTACKS:,} attack rows (20 %) are the anomalies; every 'normal.' row is the "
        "normal class. As in the paper, the attack rows are redrawn in every run: the protocol "
        "keeps the first 24,319 of numpy default_rng([seed, 1])'s permutation of the attack rows "
        "before it splits, so each run seed sees its own sample."
    ),
    detector_params={"dagmm": {"preset": "kddcup_rev"}},
    notes=(
        "Same columns and encoding as kddcup99 (118 features, one-hot categories of the full 10 % "
        "file kept even where a sample never uses them). " + KDD_CARD.notes
    ),
)


class KDDCup99RevDataset(BaseDataset):
    """KDDCUP-Rev: KDD Cup 99 normal traffic plus a 20 % attack sample per run; attacks are
    anomalies."""

    name = "kddcup99_rev"
    card = CARD

    def sha256(self) -> str:
        # The identity of the data a run sees: the source file and this dataset's definition
        # (the per-seed draw), so runs of the former fixed draw are never taken for these.
        return hashlib.sha256(
            f"{KDDCup99Dataset().sha256()}:kddcup99_rev:attacks redrawn per seed".encode()
        ).hexdigest()

    def is_present(self) -> bool:
        return KDDCup99Dataset().is_present()

    def describe(self) -> dict[str, Any]:
        rows = N_NORMAL + N_ATTACKS
        return {"rows": rows, "features": 118, "anomaly_ratio": N_ATTACKS / rows}

    def load(self) -> Dataset:
        base = KDDCup99Dataset().load()
        return dataclasses.replace(
            base,
            y=(np.asarray(base.y) == 0).astype(np.int8),  # attacks (not 'normal.') are anomalies
            name=self.name,
            card=CARD,
            class_subsample=SUBSAMPLE,
        )


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    register(KDDCup99RevDataset)
