"""The DAGMM paper's Thyroid and Arrhythmia datasets, and ``suite:dagmm-paper`` (all four).

Zong et al., ICLR 2018, Table 1: KDDCUP (``kddcup99``), Thyroid (3,772 x 6, 2.5 %), Arrhythmia
(452 x 274, 15 %) and KDDCUP-Rev (``kddcup99_rev``).  Thyroid is ODDS' thyroid data, read from
ADBench's copy ``adbench/38_thyroid.npz``; Arrhythmia is ODDS' ``arrhythmia.mat``.  Both default
to the paper's protocol (``zong2018``) and recommend the paper's DAGMM preset for the dataset.
"""

from __future__ import annotations

from adbench_dagmm.dataset import DatasetCard
from adbench_dagmm.hookspecs import hookimpl
from adbench_dagmm.registry import Suite

from . import adbench, odds
from .catalog import make_dataset_class

DAGMM_CITATION = (
    "Bo Zong, Qi Song, Martin Renqiang Min, Wei Cheng, Cristian Lumezanu, Daeki Cho, Haifeng "
    "Chen. Deep Autoencoding Gaussian Mixture Model for Unsupervised Anomaly Detection. ICLR 2018."
)

THYROID_CARD = DatasetCard(
    name="thyroid",
    description=(
        "Thyroid disease (UCI / ODDS thyroid), 3,772 rows x 6 continuous features; the DAGMM "
        "paper's Thyroid. Read from ADBench's copy 38_thyroid.npz (same rows as ODDS thyroid.mat)."
    ),
    source_url=adbench.URL.format(stem="38_thyroid"),
    sha256=adbench.CATALOG["38_thyroid"][3],
    citation=f"{DAGMM_CITATION} Data: {odds.CITATION} Copy: {adbench.CITATION}",
    anomaly_definition="The hyperfunction class (93 rows, 2.47 %) is the anomaly class, as in the paper.",
    default_protocol="zong2018",
    detector_params={"dagmm": {"preset": "thyroid"}},
    notes="A byte-identical copy of ADBench's 38_thyroid.npz (the sha256 above) ships inside this "
          "package as adb_datasets/data/adbench/38_thyroid.npz and is used when no data folder "
          "holds the file.",
)

ARRHYTHMIA_CARD = DatasetCard(
    name="arrhythmia",
    description="UCI / ODDS Arrhythmia, 452 rows x 274 features; the DAGMM paper's Arrhythmia.",
    source_url=odds.URL.format(stem="arrhythmia"),
    sha256=odds.CATALOG["arrhythmia"][3],
    citation=f"{DAGMM_CITATION} Data: {odds.CITATION}",
    anomaly_definition=(
        "The smallest classes 3, 4, 5, 7, 8, 9, 14 and 15 (66 rows, 14.60 %) are the anomaly "
        "class, as in the paper."
    ),
    default_protocol="zong2018",
    detector_params={"dagmm": {"preset": "arrhythmia"}},
    notes="17 of the 274 columns are constant; they are kept, as in the paper (the protocol's "
          "min-max scaling leaves them at 0). A byte-identical copy of the ODDS arrhythmia.mat "
          "that PyOD distributes (the sha256 above) ships inside this package as "
          "adb_datasets/data/odds/arrhythmia.mat and is used when no data folder holds the file.",
)

ThyroidDataset = make_dataset_class(
    "thyroid", adbench.entry("38_thyroid"), THYROID_CARD,
    "Thyroid (DAGMM paper): 3,772 x 6, hyperfunction = anomaly (2.5 %).", module=__name__,
)
ArrhythmiaDataset = make_dataset_class(
    "arrhythmia", odds.entry("arrhythmia"), ARRHYTHMIA_CARD,
    "Arrhythmia (DAGMM paper): 452 x 274, smallest classes = anomaly (14.6 %).", module=__name__,
)

#: The paper's four datasets, in the order of its Table 2.
PAPER_DATASETS = ("kddcup99", "thyroid", "arrhythmia", "kddcup99_rev")


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    register(ThyroidDataset)
    register(ArrhythmiaDataset)


@hookimpl
def adb_register_suites(register):  # type: ignore[no-untyped-def]
    register(Suite(kind="dataset", name="dagmm-paper", members=PAPER_DATASETS,
                   description="The DAGMM paper's four datasets (Zong et al., ICLR 2018, Table 2)."))
