"""KDDCUP-Rev (``datasets/kddcup99_rev.py``) and the per-seed class subsample that the protocols
apply before splitting (``ClassSubsample``, ``Protocol.split``)."""

from __future__ import annotations

import numpy as np
import pytest

from adb_datasets import kddcup99_rev
from adb_datasets.kddcup99_rev import KDDCup99RevDataset
from adbench_dagmm.dataset import ClassSubsample, Dataset
from adbench_dagmm.errors import DataError
from adbench_dagmm.protocols import ADBenchProtocol, Zong2018Protocol

from conftest import KDD_FILE, require_data


def toy(subsample: ClassSubsample | None) -> Dataset:
    """600 rows: 100 of class 0, 500 of class 1; column 0 is the row number."""
    y = np.r_[np.zeros(100, dtype=np.int8), np.ones(500, dtype=np.int8)]
    y = np.random.default_rng(1).permutation(y)
    X = np.c_[np.arange(600), np.random.default_rng(2).normal(size=(600, 2))].astype(np.float32)
    return Dataset(X=X, y=y, name="toy", class_subsample=subsample)


def test_class_subsample_keeps_the_other_class_and_is_seeded() -> None:
    y = toy(None).y
    sub = ClassSubsample(label=1, size=25)
    rows = sub.rows(y, seed=0)
    assert np.all(np.diff(rows) > 0)
    assert int((y[rows] == 0).sum()) == 100 and int((y[rows] == 1).sum()) == 25
    np.testing.assert_array_equal(rows, sub.rows(y, seed=0))
    assert not np.array_equal(rows, sub.rows(y, seed=1))
    with pytest.raises(DataError, match="501 rows of class 1 requested, the dataset has 500"):
        ClassSubsample(label=1, size=501).rows(y, seed=0)


# adbench without its up-sampling rule: the 125 drawn rows are split as they are
@pytest.mark.parametrize("protocol", [Zong2018Protocol(), ADBenchProtocol(upsample=False)],
                         ids=["zong2018", "adbench"])
def test_protocols_redraw_the_subsample_for_every_seed(protocol) -> None:  # type: ignore[no-untyped-def]
    dataset = toy(ClassSubsample(label=1, size=25))
    seen = []
    for seed in (0, 1):
        split = protocol.split(dataset, seed)
        rows = np.union1d(split.train_index, split.test_index)
        kept = ClassSubsample(label=1, size=25).rows(dataset.y, seed)
        assert np.isin(rows, kept).all()  # indices are into the full dataset
        np.testing.assert_array_equal(split.y_test, dataset.y[split.test_index])
        assert split.contamination == pytest.approx(25 / 125)
        seen.append(set(kept[dataset.y[kept] == 1].tolist()))
    assert seen[0] != seen[1]
    plain = protocol.split(toy(None), 0)  # without a subsample nothing changes
    assert plain.contamination == pytest.approx(500 / 600)


def test_kddcup99_rev_card_says_the_attacks_are_redrawn_per_seed() -> None:
    card = KDDCup99RevDataset.card
    assert "redrawn in every run" in card.anomaly_definition
    assert kddcup99_rev.N_ATTACKS == 24_319 and kddcup99_rev.N_NORMAL + kddcup99_rev.N_ATTACKS == 121_597
    assert kddcup99_rev.SUBSAMPLE == ClassSubsample(label=1, size=24_319)
    assert KDDCup99RevDataset().describe() == {"rows": 121_597, "features": 118,
                                               "anomaly_ratio": pytest.approx(0.2, abs=1e-4)}


def test_kddcup99_rev_on_the_real_file(data_dir) -> None:  # type: ignore[no-untyped-def]
    require_data(data_dir, KDD_FILE)
    from adb_datasets.kddcup99 import KDDCup99Dataset

    rev = KDDCup99RevDataset().load().validate()
    base = KDDCup99Dataset().load()
    assert rev.X.shape == (494_021, 118) and rev.class_subsample == kddcup99_rev.SUBSAMPLE
    np.testing.assert_array_equal(rev.y, (np.asarray(base.y) == 0).astype(np.int8))
    protocol = Zong2018Protocol()
    first, second = protocol.split(rev, 0), protocol.split(rev, 1)
    for split in (first, second):
        n = split.train_index.size + split.test_index.size
        assert split.test_index.size == 121_597 - 121_597 // 2 and split.contamination == pytest.approx(0.2, abs=1e-4)
        assert (split.y_train == 0).all() and n < 121_597  # only normal training rows are fitted on
    attacks = [set(s.test_index[s.y_test == 1].tolist()) for s in (first, second)]
    assert len(attacks[0] & attacks[1]) < 0.5 * len(attacks[0])  # different draws
