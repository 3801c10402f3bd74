"""Published results on the DAGMM paper's benchmark, registered as reference result sets.

- Zong et al., ICLR 2018, Table 2: precision, recall and F1 of every method of the table on the
  four datasets, each the mean of 20 runs (no standard deviation published).
- Bergman & Hoshen (GOAD), ICLR 2020, Table 3: F1 (published in %, mean ± std) on the same four
  datasets under the same protocol; 5 runs for KDD and KDD-Rev, 500 for Thyroid and
  Arrhythmia, except the OC-SVM, E2E-AE and DAGMM rows, which GOAD copied from Zong et al.
  (20 runs, no std).

Both tables are registered here because they share this plugin's protocol (``zong2018``) and
datasets; their methods match our detectors by name where we have one (DAGMM, OC-SVM, LOF), and
the rest are listed with the table.  Values were transcribed from the papers (see
``tests/test_references.py``, which checks them against the shared CSV copies).
"""

from __future__ import annotations

from adbench_dagmm.references import PublishedValue, ReferenceSet

#: The papers' dataset names -> ours.
DATASETS = {"KDDCUP": "kddcup99", "Thyroid": "thyroid", "Arrhythmia": "arrhythmia",
            "KDDCUP-Rev": "kddcup99_rev", "KDD": "kddcup99", "KDDRev": "kddcup99_rev"}
#: The papers' method names -> our detectors (PyOD baselines for OC-SVM and LOF).
DETECTORS = {"DAGMM": "dagmm", "OC-SVM": "ocsvm", "LOF": "lof"}

PROTOCOL_DIFFERENCES = (
    "Same split, training rows and top-rho threshold as zong2018. The papers average 20 runs "
    "(GOAD: 5 or 500), so compare with at least 5 seeds; in KDDCUP-Rev the paper draws the "
    "attack rows anew (to 20 %) in every run. Baselines (OC-SVM, LOF) ran with the papers' "
    "own settings, ours with PyOD's defaults."
)

#: Zong et al. 2018, Table 2: (method, dataset, precision, recall, F1).
TABLE2 = (
    ("OC-SVM", "KDDCUP", 0.7457, 0.8523, 0.7954),
    ("OC-SVM", "Thyroid", 0.3639, 0.4239, 0.3887),
    ("OC-SVM", "Arrhythmia", 0.5397, 0.4082, 0.4581),
    ("OC-SVM", "KDDCUP-Rev", 0.7148, 0.9940, 0.8316),
    ("DSEBM-r", "KDDCUP", 0.1972, 0.2001, 0.1987),
    ("DSEBM-r", "Thyroid", 0.0404, 0.0403, 0.0403),
    ("DSEBM-r", "Arrhythmia", 0.1515, 0.1513, 0.1510),
    ("DSEBM-r", "KDDCUP-Rev", 0.2036, 0.2036, 0.2036),
    ("DSEBM-e", "KDDCUP", 0.7369, 0.7477, 0.7423),
    ("DSEBM-e", "Thyroid", 0.1319, 0.1319, 0.1319),
    ("DSEBM-e", "Arrhythmia", 0.4667, 0.4565, 0.4601),
    ("DSEBM-e", "KDDCUP-Rev", 0.2212, 0.2213, 0.2213),
    ("DCN", "KDDCUP", 0.7696, 0.7829, 0.7762),
    ("DCN", "Thyroid", 0.3319, 0.3196, 0.3251),
    ("DCN", "Arrhythmia", 0.3758, 0.3907, 0.3815),
    ("DCN", "KDDCUP-Rev", 0.2875, 0.2895, 0.2885),
    ("GMM-EN", "KDDCUP", 0.1932, 0.1967, 0.1949),
    ("GMM-EN", "Thyroid", 0.0213, 0.0227, 0.0220),
    ("GMM-EN", "Arrhythmia", 0.3000, 0.2792, 0.2886),
    ("GMM-EN", "KDDCUP-Rev", 0.1846, 0.1746, 0.1795),
    ("PAE", "KDDCUP", 0.7276, 0.7397, 0.7336),
    ("PAE", "Thyroid", 0.1894, 0.2062, 0.1971),
    ("PAE", "Arrhythmia", 0.4393, 0.4437, 0.4403),
    ("PAE", "KDDCUP-Rev", 0.7835, 0.7817, 0.7826),
    ("E2E-AE", "KDDCUP", 0.0024, 0.0025, 0.0024),
    ("E2E-AE", "Thyroid", 0.1064, 0.1316, 0.1176),
    ("E2E-AE", "Arrhythmia", 0.4667, 0.4538, 0.4591),
    ("E2E-AE", "KDDCUP-Rev", 0.7434, 0.7463, 0.7448),
    ("PAE-GMM-EM", "KDDCUP", 0.7183, 0.7311, 0.7246),
    ("PAE-GMM-EM", "Thyroid", 0.4745, 0.4538, 0.4635),
    ("PAE-GMM-EM", "Arrhythmia", 0.3970, 0.4168, 0.4056),
    ("PAE-GMM-EM", "KDDCUP-Rev", 0.2822, 0.2847, 0.2835),
    ("PAE-GMM", "KDDCUP", 0.7251, 0.7384, 0.7317),
    ("PAE-GMM", "Thyroid", 0.4532, 0.4881, 0.4688),
    ("PAE-GMM", "Arrhythmia", 0.4575, 0.4823, 0.4684),
    ("PAE-GMM", "KDDCUP-Rev", 0.6307, 0.6278, 0.6292),
    ("DAGMM-p", "KDDCUP", 0.7579, 0.7710, 0.7644),
    ("DAGMM-p", "Thyroid", 0.4723, 0.4725, 0.4713),
    ("DAGMM-p", "Arrhythmia", 0.4909, 0.4679, 0.4787),
    ("DAGMM-p", "KDDCUP-Rev", 0.2750, 0.2810, 0.2780),
    ("DAGMM-NVI", "KDDCUP", 0.9290, 0.9447, 0.9368),
    ("DAGMM-NVI", "Thyroid", 0.4383, 0.4587, 0.4470),
    ("DAGMM-NVI", "Arrhythmia", 0.5091, 0.4892, 0.4981),
    ("DAGMM-NVI", "KDDCUP-Rev", 0.9211, 0.9211, 0.9211),
    ("DAGMM", "KDDCUP", 0.9297, 0.9442, 0.9369),
    ("DAGMM", "Thyroid", 0.4766, 0.4834, 0.4782),
    ("DAGMM", "Arrhythmia", 0.4909, 0.5078, 0.4983),
    ("DAGMM", "KDDCUP-Rev", 0.9370, 0.9390, 0.9380),
)

#: Bergman & Hoshen 2020, Table 3: (method, dataset, F1 %, std % or None, source).
TABLE3 = (
    ("OC-SVM", "Arrhythmia", 45.8, None, "copied by GOAD from Zong et al. 2018"),
    ("OC-SVM", "Thyroid", 38.9, None, "copied by GOAD from Zong et al. 2018"),
    ("OC-SVM", "KDD", 79.5, None, "copied by GOAD from Zong et al. 2018"),
    ("OC-SVM", "KDDRev", 83.2, None, "copied by GOAD from Zong et al. 2018"),
    ("E2E-AE", "Arrhythmia", 45.9, None, "copied from Zong et al. 2018"),
    ("E2E-AE", "Thyroid", 11.8, None, "copied from Zong et al. 2018"),
    ("E2E-AE", "KDD", 0.3, None, "copied from Zong et al. 2018"),
    ("E2E-AE", "KDDRev", 74.5, None, "copied from Zong et al. 2018"),
    ("LOF", "Arrhythmia", 50.0, 0.0, "computed by GOAD authors"),
    ("LOF", "Thyroid", 52.7, 0.0, "computed by GOAD authors"),
    ("LOF", "KDD", 83.8, 5.2, "computed by GOAD authors"),
    ("LOF", "KDDRev", 81.6, 3.6, "computed by GOAD authors"),
    ("DAGMM", "Arrhythmia", 49.8, None, "copied from Zong et al. 2018"),
    ("DAGMM", "Thyroid", 47.8, None, "copied from Zong et al. 2018"),
    ("DAGMM", "KDD", 93.7, None, "copied from Zong et al. 2018"),
    ("DAGMM", "KDDRev", 93.8, None, "copied from Zong et al. 2018"),
    ("FB-AE", "Arrhythmia", 51.5, 1.6, "computed by GOAD authors"),
    ("FB-AE", "Thyroid", 75.0, 0.8, "computed by GOAD authors"),
    ("FB-AE", "KDD", 92.7, 0.3, "computed by GOAD authors"),
    ("FB-AE", "KDDRev", 95.9, 0.4, "computed by GOAD authors"),
    ("GOAD", "Arrhythmia", 52.0, 2.3, "GOAD (500 runs small datasets)"),
    ("GOAD", "Thyroid", 74.5, 1.1, "GOAD (500 runs small datasets)"),
    ("GOAD", "KDD", 98.4, 0.2, "GOAD (5 runs)"),
    ("GOAD", "KDDRev", 98.9, 0.3, "GOAD (5 runs)"),
)


def zong2018_table2() -> ReferenceSet:
    return ReferenceSet(
        name="zong2018_table2",
        citation=("Zong et al., Deep Autoencoding Gaussian Mixture Model for Unsupervised "
                  "Anomaly Detection, ICLR 2018, Table 2"),
        protocol="zong2018",
        protocol_differences=PROTOCOL_DIFFERENCES,
        values=tuple(
            PublishedValue(method, dataset, {"precision": p, "recall": r, "f1": f1}, n_runs=20)
            for method, dataset, p, r, f1 in TABLE2
        ),
        detectors=DETECTORS,
        datasets=DATASETS,
        description="Precision, recall and F1 of DAGMM and eleven baselines and variants on four datasets.",
    )


def goad2020_table3() -> ReferenceSet:
    def value(method: str, dataset: str, f1: float, std: float | None, source: str) -> PublishedValue:
        copied = "Zong" in source
        return PublishedValue(
            method, dataset, {"f1": round(f1 / 100, 4)},
            std={} if std is None else {"f1": round(std / 100, 4)},
            n_runs=20 if copied else (5 if dataset.startswith("KDD") else 500), note=source,
        )

    return ReferenceSet(
        name="goad2020_table3",
        citation=("Bergman & Hoshen, Classification-Based Anomaly Detection for General Data, "
                  "ICLR 2020, Table 3"),
        protocol="zong2018",
        protocol_differences=PROTOCOL_DIFFERENCES,
        values=tuple(value(*row) for row in TABLE3),
        detectors=DETECTORS,
        datasets=DATASETS,
        description="F1 (mean ± std) of GOAD, FB-AE, LOF and rows copied from Zong et al.",
    )
