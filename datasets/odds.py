"""The ODDS collection (Outlier Detection DataSets, Stony Brook) as ``odds:<name>`` datasets.

The ``.mat`` files are the ones PyOD's benchmark reads (``notebooks/data/<name>.mat`` in the
PyOD repository, copied from odds.cs.stonybrook.edu): ``X`` (rows x features) and ``y``
(1 = outlier).  Only files whose sha256 is known are catalogued, so every download is checked.
``suite:odds`` is every ODDS dataset whose file is present locally.  Their default protocol is
PyOD's (``pyod``), the benchmark these files were distributed with.
"""

from __future__ import annotations

from adbench_dagmm.dataset import DatasetCard
from adbench_dagmm.hookspecs import hookimpl
from adbench_dagmm.registry import Suite

from .catalog import CatalogEntry, make_dataset_class, present_members

HOMEPAGE = "http://odds.cs.stonybrook.edu"
URL = "https://github.com/yzhao062/pyod/raw/master/notebooks/data/{stem}.mat"
#: jsDelivr's copy of the same repository file (the sha256 check makes any other bytes an error).
MIRROR = "https://cdn.jsdelivr.net/gh/yzhao062/pyod@master/notebooks/data/{stem}.mat"
CITATION = (
    "Shebuti Rayana (2016). ODDS Library [http://odds.cs.stonybrook.edu]. Stony Brook, NY: "
    "Stony Brook University, Department of Computer Science."
)

#: stem -> (rows, features, anomalies, sha256, how the outliers were defined by ODDS)
CATALOG: dict[str, tuple[int, int, int, str, str]] = {
    "arrhythmia": (452, 274, 66, "e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d",
                   "UCI Arrhythmia: the smallest classes 3, 4, 5, 7, 8, 9, 14 and 15 are the "
                   "outliers, all other classes the inliers"),
    "glass": (214, 9, 9, "2c506e6e1e2ca1e82a905d10a90773151ff812c4bd969c71a12db5b2bb6e7921",
              "UCI Glass Identification: the minority class 6 (tableware) is the outlier class"),
    "ionosphere": (351, 33, 126, "8ac5dfa6f47db4acdfe10615489b7f7dd015d79d5b381ce641e72baca3cfefb0",
                   "UCI Ionosphere: 'bad' radar returns are the outliers, 'good' ones the inliers"),
    "letter": (1600, 32, 100, "f4a229b0e2a6b0c9157ce27fa760bcbac0f948cd690b2f5d51c120e5450f2195",
               "UCI Letter Recognition: three letters form the normal class (pairs of rows "
               "concatenated, 2 x 16 features); a few rows of other letters are the outliers"),
    "lympho": (148, 18, 6, "031b907ecb50347720b08b38f8139d05635adeca9335a064d89d5569c27a5834",
               "UCI Lymphography: the two small classes are merged into the outlier class, the "
               "two large ones (metastases, malign lymph) are the inliers"),
    "mnist": (7603, 100, 700, "9479e221f236684c09f3e11c7ad124725d34ecd301b9450425e8b113368413a6",
              "MNIST: digit 0 is the inlier class, 700 images of digit 6 the outliers; 100 of "
              "the 784 pixels chosen at random"),
    "musk": (3062, 166, 97, "50bbf414caceb66cfe6f6b1eb7c1ff7c6eb1e6d87173f7bb597ba55cd3dc5493",
             "UCI Musk v2: non-musk classes j146, j147 and 252 are the inliers, musk classes 213 "
             "and 211 the outliers"),
    "pendigits": (6870, 16, 156, "7bc32ac83b3d583443acea8b1342a54aaa59eaedb9996af405322f473f3c22bc",
                  "UCI Pen-Based Handwritten Digits: a down-sampled class forms the 156 outliers "
                  "(see the ODDS page)"),
    "satellite": (6435, 36, 2036, "6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0",
                  "UCI Statlog (Landsat Satellite): the three smallest classes 2, 4 and 5 are the "
                  "outliers, the rest the inliers"),
    "vertebral": (240, 6, 30, "84b50b055f118f54b5c976650ccd284ab7c1adee822f8b3eb517c7e2c890d15e",
                  "UCI Vertebral Column: the Normal class is the inlier class, the Abnormal class "
                  "down-sampled to 30 rows the outliers"),
    "vowels": (1456, 12, 50, "51d5397bad1ceeda22b7cd44fd58125c5d603c9c2edb53aa59933330e259ac7b",
               "UCI Japanese Vowels: one speaker class down-sampled to 50 rows is the outlier "
               "class (see the ODDS page)"),
    "wbc": (378, 30, 21, "afe6b26953cc196b9a480318c903e0edef22529c2f61bd02082438c6e70630a7",
            "UCI Breast Cancer Wisconsin (Diagnostic): benign is the inlier class, malignant "
            "down-sampled to 21 rows the outliers"),
}


def entry(stem: str) -> CatalogEntry:
    rows, features, anomalies, sha256, _ = CATALOG[stem]
    return CatalogEntry(f"odds/{stem}.mat", rows, features, anomalies, sha256,
                        mirrors=(MIRROR.format(stem=stem),))


def _card(stem: str) -> DatasetCard:
    rows, features, anomalies, sha256, definition = CATALOG[stem]
    return DatasetCard(
        name=f"odds:{stem}",
        description=f"ODDS {stem}: {rows:,} rows x {features} features ({HOMEPAGE}).",
        source_url=URL.format(stem=stem),
        sha256=sha256,
        citation=CITATION,
        anomaly_definition=f"y = 1 ({anomalies} rows, {anomalies / rows:.2%}): {definition}.",
        default_protocol="pyod",
    )


DATASETS = [
    make_dataset_class(f"odds:{stem}", entry(stem), _card(stem),
                       f"ODDS {stem} ({CATALOG[stem][0]} x {CATALOG[stem][1]}).", module=__name__)
    for stem in CATALOG
]


@hookimpl
def adb_register_datasets(register):  # type: ignore[no-untyped-def]
    for cls in DATASETS:
        register(cls)


@hookimpl
def adb_register_suites(register):  # type: ignore[no-untyped-def]
    register(Suite(kind="dataset", name="odds", members=present_members(DATASETS, "odds", "ODDS"),
                   description="The ODDS datasets whose files are present locally."))
