"""PyOD baselines: the catalog, the generated wrappers, their fixes and their fast paths.

The detector contract (fit returns self, scores, NaN input, pickling, ...) is checked for every
registered detector, these included, in ``tests/test_contract.py``.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from adb_plugins import pyod_baselines as pb
from adb_plugins import pyod_catalog as catalog
from adbench_dagmm.errors import ParameterError, PluginError
from adbench_dagmm.registry import build_registry
from adbench_dagmm.runner import seed_everything

#: Small parameters for the few deep models fitted here (speed).
SMALL = {"dif": {"n_ensemble": 5}, "so_gaal": {"stop_epochs": 2}}


def _registry():  # type: ignore[no-untyped-def]
    return build_registry(load_entrypoints=False)


@pytest.fixture
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """180 Gaussian inliers and 20 uniform outliers in 5-D, seeded; y == 1 marks the outliers."""
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(180, 5)), rng.uniform(-6, 6, size=(20, 5))])
    return X, np.r_[np.zeros(180), np.ones(20)].astype(np.int64)


def make(name: str, **extra):  # type: ignore[no-untyped-def]
    cls = pb.DETECTORS[name]
    kwargs = {**SMALL.get(name, {}), **extra}
    if "random_state" in cls.param_defaults():
        kwargs.setdefault("random_state", 0)
    return cls(**kwargs)


# -- the catalog -------------------------------------------------------------------------------
def test_every_tabular_pyod_detector_is_registered():
    registry = _registry()
    names = set(registry.names("detector"))
    assert len(catalog.catalog()) >= 30
    for spec in catalog.catalog():
        assert spec.name in names and registry.get("detector", spec.name).plugin == "adb_plugins.pyod_baselines"
    issue = {"iforest", "ocsvm", "lof", "knn", "ecod", "copod", "hbos", "pca", "mcd", "gmm", "kde",
             "loda", "inne", "cblof", "feature_bagging", "autoencoder", "vae", "deepsvdd"}
    assert issue <= names


def test_catalog_reads_pyod_knowledge_base(tmp_path):  # type: ignore[no-untyped-def]
    import json

    kb = tmp_path / "algorithms.json"
    kb.write_text(json.dumps({
        "KNN": {"class_path": "pyod.models.knn.KNN", "status": "shipped", "data_types": ["tabular"],
                "complexity": {"time": "O(n^2 * d)"}},
        "FeatureBagging": {"class_path": "pyod.models.feature_bagging.FeatureBagging",
                           "status": "shipped", "data_types": ["tabular"], "requires": ["combo"]},
        "LLMAD": {"class_path": "pyod.models.llmad.LLMAD", "status": "planned", "data_types": ["tabular"]},
        "KShape": {"class_path": "pyod.models.ts_kshape.KShape", "status": "shipped",
                   "data_types": ["time_series"]},
    }))
    specs = catalog.read_catalog(kb)
    assert [(s.name, s.quadratic, s.requires) for s in specs] == [
        ("knn", True, ()), ("feature_bagging", False, ("combo",))]
    fallback = catalog.read_catalog(tmp_path / "missing.json")  # PyOD 2.x ships no knowledge base
    assert {"iforest", "knn", "pca", "autoencoder"} <= {s.name for s in fallback}
    assert next(s for s in fallback if s.name == "knn").quadratic


@pytest.mark.parametrize("name", ["knn", "iforest", "ocsvm", "deepsvdd", "autoencoder", "lof"])
def test_signature_mirrors_pyod(name):  # type: ignore[no-untyped-def]
    cls = pb.DETECTORS[name]
    ours = cls.param_defaults()
    theirs = {p.name: p.default for p in catalog.pyod_parameters(cls.spec)}
    changed = catalog.DETECTOR_DEFAULTS.get(cls.spec.pyod_name, {})
    for key, default in theirs.items():
        if key in catalog.FROM_DATA:
            assert key not in ours  # filled from X in fit
        elif key == "verbose":
            assert ours[key] == 0
        elif key in changed:
            assert ours[key] == changed[key] != default, key
        else:
            assert ours[key] == default, key
    assert "contamination" in ours
    assert sorted(ours) == cls._get_param_names()


def test_runner_hands_seed_and_rho_to_wrappers():
    from adbench_dagmm.runner import RunConfig, resolved_params

    registry = _registry()
    params = resolved_params(registry, RunConfig("knn", {}, "x", "zong2018", seed=7), None)
    assert params == {"random_state": 7}  # KNN itself has none: the wrapper's seeds the subsample


def test_cli_param_typing_uses_the_signature():
    from adbench_dagmm.params import build_params

    cls = pb.DETECTORS["knn"]
    typed = build_params("knn", cls, {"n_neighbors": "7", "max_train_rows": "0", "method": "mean"})
    assert typed == {"n_neighbors": 7, "max_train_rows": 0, "method": "mean"}
    with pytest.raises(ParameterError, match=r"unknown parameter knn\.n_neighbours\. Did you mean n_neighbors"):
        build_params("knn", cls, {"n_neighbours": "7"})


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="n_neighbours"):
        pb.DETECTORS["knn"](n_neighbours=3)


def test_unavailable_detector_says_why():
    spec = catalog.Spec("Nope", "pyod.models.does_not_exist.Nope", "nope")
    reason = catalog.unavailable_reason(spec)
    assert reason is not None and re.search(r"cannot be imported: ModuleNotFoundError: .*does_not_exist", reason)
    assert "detector_list" in pb.DETECTORS["lscp"].check_available()
    with pytest.raises(PluginError, match="'lscp' is unavailable: PyOD's LSCP requires detector_list"):
        pb.DETECTORS["lscp"]([]).fit(np.zeros((20, 2)))


def test_adb_list_detectors_shows_unavailable():
    from adbench_dagmm.cli import app

    result = CliRunner().invoke(app, ["list", "detectors"])
    assert result.exit_code == 0, result.output
    lines = {line.split("\t")[0]: line for line in result.output.splitlines() if "\t" in line}
    assert "unavailable: PyOD's LSCP requires detector_list" in lines["lscp"]
    assert "Semi-supervised: needs a protocol label budget" in lines["devnet"]
    assert "Supervised: needs a protocol label budget" in lines["xgbod"]
    assert "Isolation Forest" in lines["iforest"]
    assert len([n for n in lines if n in pb.DETECTORS]) == len(pb.DETECTORS)


# -- the suite -----------------------------------------------------------------------------------
def test_baselines_suite_expands():
    registry = _registry()
    assert registry.expand("detector", ["baselines", "knn"]) == list(pb.BASELINES)
    assert registry.expand("detector", ["dagmm", "baselines"])[1:] == list(pb.BASELINES)


def test_adb_run_prints_cap_footnote(tmp_path, blobs):  # type: ignore[no-untyped-def]
    from adbench_dagmm.cli import app

    X, y = blobs
    path = tmp_path / "blobs.csv"
    rows = ["a,b,c,d,e,label"] + [",".join(map(str, [*x, int(t)])) for x, t in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    result = CliRunner().invoke(app, [
        "run", "--detector", "knn", "--detector", "pca", "--dataset", str(path), "--seeds", "2",
        "--protocol", "adbench", "--param", "knn.max_train_rows=50", "--results", str(tmp_path / "res"),
        "--param", "protocol.upsample=false",  # 200 rows stay 200 (140 training rows), not 1,000
    ])
    assert result.exit_code == 0, result.output
    assert re.search(r"knn \[1\]", result.output)
    assert "max_train_rows=50: fitted on 50 of 140 training rows" in result.output


# -- the training cap ----------------------------------------------------------------------------
def test_cap_is_seeded_noted_and_liftable(blobs):  # type: ignore[no-untyped-def]
    X, _ = blobs
    a = pb.DETECTORS["knn"](max_train_rows=50, random_state=1).fit(X)
    b = pb.DETECTORS["knn"](max_train_rows=50, random_state=1).fit(X)
    c = pb.DETECTORS["knn"](max_train_rows=50, random_state=2).fit(X)
    assert a.n_train_rows_ == 50
    assert a.notes_ == ["max_train_rows=50: fitted on 50 of 200 training rows "
                        "(set knn.max_train_rows=0 to fit on all)"]
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))
    for lifted in (0, None, 500):
        full = pb.DETECTORS["knn"](max_train_rows=lifted).fit(X)
        assert full.n_train_rows_ == 200 and full.notes_ == []


@pytest.mark.parametrize("bad", [-1, 2.5, "10", True], ids=["negative", "float", "str", "bool"])
def test_cap_rejects_bad_values(bad, blobs):  # type: ignore[no-untyped-def]
    with pytest.raises(ParameterError, match=r"The 'max_train_rows' parameter of KNNDetector must be an int >= 0"):
        pb.DETECTORS["knn"](max_train_rows=bad).fit(blobs[0])


def test_only_quadratic_detectors_are_capped():
    capped = {name for name, cls in pb.DETECTORS.items() if "max_train_rows" in cls.param_defaults()}
    assert {"ocsvm", "lof", "knn", "abod", "cof", "sod", "loci", "sos", "lmdd"} <= capped
    assert not capped & {"iforest", "ecod", "copod", "hbos", "pca", "gmm", "autoencoder", "deepsvdd"}


# -- PyOD-specific fixes -------------------------------------------------------------------------
def _rank_deficient(seed: int = 0) -> np.ndarray:
    """Continuous columns plus a constant column and a one-hot group (columns sum to 1)."""
    rng = np.random.default_rng(seed)
    onehot = np.eye(3)[rng.integers(0, 3, size=300)]
    return np.hstack([rng.normal(size=(300, 4)), np.ones((300, 1)), onehot, onehot[:, :1]])


def test_pca_drops_zero_variance_components():
    import warnings

    from pyod.models.pca import PCA

    X = _rank_deficient()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = PCA(svd_solver="covariance_eigh").fit(X).decision_function(X)
    assert not np.isfinite(raw).all()  # the trap: PyOD divides by zero variances
    ours = pb.DETECTORS["pca"](svd_solver="covariance_eigh").fit(X)
    assert np.isfinite(ours.decision_function(X)).all()
    assert ours.model_.n_components_ == 6  # 9 columns: 1 constant, 1 duplicate, 1 one-hot sum
    assert ours.notes_ == ["pca: zero-variance components dropped (n_components = rank of the "
                           "training rows) because PyOD divides by each component's variance"]
    explicit = pb.DETECTORS["pca"](n_components=3).fit(X)
    assert explicit.model_.n_components_ == 3 and explicit.notes_ == []


def test_ocsvm_blocks_shrink_with_many_support_vectors(monkeypatch):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(200, 4)), rng.normal(size=(1000, 4))
    detector = pb.DETECTORS["ocsvm"]().fit(X)
    monkeypatch.setattr(pb, "OCSVM_BLOCK_VALUES", 1000)  # ~100 support vectors: ~10-row blocks
    np.testing.assert_allclose(detector.decision_function(T), detector.model_.decision_function(T),
                               rtol=1e-8, atol=1e-10)


def test_ocsvm_block_scoring_equals_pyod():
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(300, 6)), 1.5 * rng.normal(size=(pb.OCSVM_BLOCK_ROWS + 123, 6))
    for kernel in ("rbf", "poly", "sigmoid", "linear"):
        detector = pb.DETECTORS["ocsvm"](kernel=kernel).fit(X)
        np.testing.assert_allclose(detector.decision_function(T), detector.model_.decision_function(T),
                                   rtol=1e-8, atol=1e-8 * np.abs(detector.model_.decision_function(T)).max())


@pytest.mark.parametrize("name", ["ecod", "copod"])
def test_ecod_copod_are_transductive_so_not_batched(name, blobs):  # type: ignore[no-untyped-def]
    """PyOD scores new rows on ECDFs of train + the scored batch, so batching would change scores."""
    X, _ = blobs
    detector = make(name).fit(X[:150])
    whole = detector.decision_function(X[150:])
    halves = np.r_[detector.decision_function(X[150:175]), detector.decision_function(X[175:])]
    assert not np.allclose(whole, halves)


def test_device_auto_is_resolved_in_fit(blobs):  # type: ignore[no-untyped-def]
    """The runner passes device="auto"; PyOD's torch models need a real device string."""
    import torch

    detector = make("dif", device="auto").fit(blobs[0])
    assert detector.device == "auto"  # __init__ stores, fit resolves
    assert detector.device_ == ("cuda" if torch.cuda.is_available() else "cpu")


def test_pyod_prints_go_to_stderr(capsys, blobs):  # type: ignore[no-untyped-def]
    seed_everything(0)
    make("so_gaal").fit(blobs[0])
    out, err = capsys.readouterr()
    assert out == "" and "Epoch" in err


def test_no_torch_import_at_registration():
    import subprocess
    import sys

    code = "import sys, adb_plugins.pyod_baselines as m; assert len(m.DETECTORS) > 30; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_numba_kernels_are_compiled_once_per_machine(tmp_path):  # type: ignore[no-untyped-def]
    """PyOD's HBOS kernel has no ``cache=True``: without ours, every process compiles it (~2 s)."""
    import os
    import subprocess
    import sys

    code = ("import numpy as np; from adb_plugins.pyod_baselines import HBOSDetector; "
            "s = HBOSDetector().fit(np.arange(40.0).reshape(20, 2)).decision_function("
            "np.ones((3, 2))); print(repr(s.tolist()))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    first, second = (subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    env=env, check=True).stdout for _ in range(2))
    assert first == second  # the cached machine code scores as the compiled one did
    assert [p.name for p in tmp_path.rglob("hbos*.nbi")], "no numba cache index was written"
    assert catalog.cache_numba_kernels("pyod.models.hbos") == 1
    assert catalog.cache_numba_kernels("adb_plugins.pyod_catalog") == 0


def test_wrapper_class_is_importable_by_qualname():
    for cls in pb.DETECTORS.values():
        assert getattr(pb, cls.__qualname__) is cls and cls.__module__ == pb.__name__
    assert inspect.signature(pb.IForestDetector.__init__).parameters["random_state"].default is None


def test_building_the_registry_imports_no_pyod():
    """Listing ~40 PyOD detectors reads their sources: importing PyOD would pull in scikit-learn,
    pandas, scipy and numba (~200 MB in every run and worker), for nothing."""
    import subprocess
    import sys

    code = ("import sys; from adbench_dagmm.registry import build_registry; r = build_registry(); "
            "assert 'knn' in r.entries['detector']; "
            "print(sorted(m for m in ('pyod', 'sklearn', 'pandas', 'scipy', 'numba', 'torch') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_module_source_finds_files_without_importing(tmp_path):
    assert catalog.module_source("pyod.models.knn").name == "knn.py"
    assert catalog.module_source("pyod.models").name == "__init__.py"
    assert catalog.module_source("pyod.models.does_not_exist") is None
    assert catalog.module_source("no_such_package_anywhere.x") is None


# -- exact fast paths: KNN (adb_plugins.neighbors), ECOD/COPOD (adb_plugins.ecdf) -----------------
def _ties_and_duplicates(d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rounded (so tied) values, a block of identical rows, and test rows copied from training."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(600, d)), 1)
    X[:150] = X[0]  # 150 copies of one row: k-distances of 0
    X[150:160, 0] = 0.5  # a constant-ish stretch in one column
    T = np.vstack([np.round(1.5 * rng.normal(size=(300, d)), 1), X[:40], X[200:220]])
    return X, T


@pytest.mark.parametrize("method", ["largest", "mean", "median"])
@pytest.mark.parametrize("d", [5, 40], ids=["kd_tree", "brute"])  # scikit-learn's choice in PyOD
def test_knn_fast_path_equals_pyod(method, d):  # type: ignore[no-untyped-def]
    from pyod.models.knn import KNN

    X, T = _ties_and_duplicates(d)
    ours = pb.DETECTORS["knn"](n_neighbors=7, method=method, contamination=0.1).fit(X)
    assert ours.model_.neighbors_.rows_.shape[0] < X.shape[0]  # duplicates were collapsed
    scores = ours.decision_function(T)
    # a ball tree computes each distance directly: exact, ties and duplicates included
    tree = KNN(n_neighbors=7, method=method, algorithm="ball_tree").fit(X)
    np.testing.assert_allclose(scores, tree.decision_function(T), rtol=1e-6, atol=0)
    np.testing.assert_allclose(ours.decision_scores_, tree.decision_scores_, rtol=1e-6, atol=0)
    assert ours.threshold_ == pytest.approx(tree.threshold_, rel=1e-12)
    # PyOD's default: above 15 features scikit-learn's brute force, |x|² + |y|² - 2 x.y, whose
    # rounding leaves ~1e-7 where the true distance is 0 (a duplicate); exact elsewhere
    theirs = KNN(n_neighbors=7, method=method).fit(X)
    assert theirs.neigh_._fit_method == ("kd_tree" if d <= 15 else "brute")
    np.testing.assert_allclose(scores, theirs.decision_function(T), rtol=1e-6, atol=0 if d <= 15 else 1e-6)


@pytest.mark.parametrize("n_neighbors", [1, 5, 20])
@pytest.mark.parametrize("d", [5, 40])
def test_lof_fast_path_equals_pyod(n_neighbors, d):  # type: ignore[no-untyped-def]
    """Continuous rows (no tied distances between different rows) plus exact copies: the fast
    path gives PyOD's LOF scores, training and test, to rounding.

    The reference is PyOD's LOF on a ball tree, which computes each distance directly; PyOD's
    default above 15 features, scikit-learn's brute force, computes |x|² + |y|² - 2 x.y and
    leaves ~1e-7 where a copy's distance is 0, which moves those rows' LOF by orders of
    magnitude (the 1e-10 in the density), so it is compared below 16 features only.
    """
    from pyod.models.lof import LOF

    rng = np.random.default_rng(d + n_neighbors)
    X = rng.normal(size=(700, d))
    X = np.vstack([X, X[:60], X[:10], X[:10]])  # rows with 2 and 4 copies
    T = np.vstack([1.3 * rng.normal(size=(300, d)), X[:30]])
    ours = pb.DETECTORS["lof"](n_neighbors=n_neighbors, contamination=0.1).fit(X)
    assert ours.model_.neighbors_.rows_.shape[0] == 700  # duplicates were collapsed
    theirs = LOF(n_neighbors=n_neighbors, contamination=0.1, algorithm="ball_tree").fit(X)
    if d <= 15:  # PyOD's default is then scikit-learn's KD-tree: exact too
        default = LOF(n_neighbors=n_neighbors, contamination=0.1).fit(X)
        assert default.detector_._fit_method == "kd_tree"
        np.testing.assert_allclose(ours.decision_function(T), default.decision_function(T),
                                   rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours.decision_scores_, theirs.decision_scores_, rtol=1e-9, atol=0)
    np.testing.assert_allclose(ours.decision_function(T), theirs.decision_function(T),
                               rtol=1e-9, atol=0)
    assert ours.threshold_ == pytest.approx(theirs.threshold_, rel=1e-12)
    np.testing.assert_array_equal(ours.predict(T), theirs.predict(T))


def test_lof_fast_path_other_metric_is_pyods():  # type: ignore[no-untyped-def]
    X = np.random.default_rng(0).normal(size=(200, 4))
    ours = pb.DETECTORS["lof"](metric="manhattan").fit(X)
    assert not hasattr(ours.model_, "neighbors_") and hasattr(ours.model_, "detector_")
    assert pb.DETECTORS["lof"](fast=False).fit(X).model_.__class__.__module__ == "pyod.models.lof"


def test_exact_neighbors_survive_large_norms():
    """|q|² + |u|² - 2 q.u cancels badly for near rows far from the origin; the re-check does not."""
    from adb_plugins.neighbors import ExactNeighbors

    rng = np.random.default_rng(3)
    X = 1e3 * rng.normal(size=(400, 30))
    X[200:] = X[:200] + 1e-6 * rng.normal(size=(200, 30))  # pairs 1e-6 apart, norms ~5e3
    T = X[::3] + 1e-7
    direct = np.sqrt(((T[:, None, :] - X[None, :, :]) ** 2).sum(-1))  # (n_test, n_train)
    expected = np.sort(direct, axis=1)[:, :4]
    np.testing.assert_allclose(ExactNeighbors(X).kneighbors(T, 4), expected, rtol=1e-9)
    own = np.sort(np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)), axis=1)[:, 1:4]
    np.testing.assert_allclose(ExactNeighbors(X).kneighbors(None, 3), own, rtol=1e-9)


def test_exact_neighbors_small_blocks(monkeypatch):  # type: ignore[no-untyped-def]
    from adb_plugins import neighbors

    X, T = _ties_and_duplicates(8, seed=2)
    whole = neighbors.ExactNeighbors(X).kneighbors(T, 5)
    monkeypatch.setattr(neighbors, "BLOCK_VALUES", 1000)  # 2-row query blocks
    monkeypatch.setattr(neighbors, "CANDIDATE_VALUES", 50)  # 6 candidate pairs at a time
    np.testing.assert_array_equal(neighbors.ExactNeighbors(X).kneighbors(T, 5), whole)


def test_exact_neighbors_too_many_neighbours():
    from adb_plugins.neighbors import ExactNeighbors

    index = ExactNeighbors(np.zeros((5, 2)))
    assert index.kneighbors(None, 4).shape == (5, 4)
    with pytest.raises(ValueError, match="Expected n_neighbors < n_samples_fit, but n_neighbors = 5"):
        index.kneighbors(None, 5)
    with pytest.raises(ValueError, match="Expected n_neighbors <= n_samples_fit, but n_neighbors = 6"):
        index.kneighbors(np.zeros((2, 2)), 6)


def test_knn_other_metrics_use_pyod(blobs):  # type: ignore[no-untyped-def]
    from pyod.models.knn import KNN

    X, _ = blobs
    ours = pb.DETECTORS["knn"](metric="manhattan").fit(X)
    assert not hasattr(ours.model_, "neighbors_")
    np.testing.assert_array_equal(ours.decision_function(X), KNN(metric="manhattan").fit(X).decision_function(X))


@pytest.mark.parametrize("name", ["knn", "ecod", "copod"])
def test_fast_false_runs_pyod_and_fast_is_checked(name, blobs):  # type: ignore[no-untyped-def]
    X, _ = blobs
    slow = pb.DETECTORS[name](fast=False).fit(X)
    assert type(slow.model_).__module__.startswith("pyod.models.")
    fast = pb.DETECTORS[name]().fit(X)
    assert type(fast.model_).__module__.startswith("adb_plugins.")
    np.testing.assert_allclose(fast.decision_function(X), slow.decision_function(X), rtol=1e-9)
    with pytest.raises(ParameterError, match=r"The 'fast' parameter of .* must be True or False"):
        pb.DETECTORS[name](fast="yes").fit(X)


def test_knn_cap_default_is_raised_by_the_fast_path():
    assert pb.DETECTORS["knn"].param_defaults()["max_train_rows"] == pb.MAX_TRAIN_ROWS_BY_CLASS["KNN"]
    assert pb.DETECTORS["lof"].param_defaults()["max_train_rows"] == pb.MAX_TRAIN_ROWS


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 6, 17], ids=["one_column", "one_block", "merged_last_block"])
@pytest.mark.parametrize("name", ["ECOD", "COPOD"])
def test_ecdf_fast_path_equals_pyod(name, d, dtype):  # type: ignore[no-untyped-def]
    import importlib
    import warnings

    from adb_plugins import ecdf

    rng = np.random.default_rng(d)
    X = np.round(rng.normal(size=(400, d)), 1).astype(dtype)  # ties in every column
    T = np.round(1.4 * rng.normal(size=(250, d)), 1).astype(dtype)
    X[:, 0], T[:3, 0] = 0.0, 1.0  # a constant training column (scipy's skew: nan, PyOD: 0)
    if d > 2:  # a symmetric column: skewness 0 up to rounding, its sign decides U_skew
        X[:, 2], T[:, 2] = np.tile([0.0, 1.0], 200), np.tile([0.0, 1.0], 125)
    pyod_cls = getattr(importlib.import_module(f"pyod.models.{name.lower()}"), name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on the constant column
        theirs = pyod_cls().fit(X)
        ours = getattr(ecdf, name)().fit(X)
        expected, got = theirs.decision_function(T), ours.decision_function(T)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours.decision_scores_, theirs.decision_scores_, rtol=1e-12, atol=1e-300)
    assert ours.threshold_ == pytest.approx(theirs.threshold_, rel=1e-12)


def test_ecdf_grid_is_pyods_linspace():
    from pyod.utils.stat_models import column_ecdf

    from adb_plugins.ecdf import ecdf_grid

    column = np.arange(7.0)[::-1].reshape(-1, 1)  # distinct values: ECDF = the grid, reversed
    np.testing.assert_array_equal(column_ecdf(column)[::-1, 0], ecdf_grid(7))


def test_column_blocks_never_leave_one_column_alone():
    from adb_plugins.ecdf import BLOCK_COLUMNS, column_blocks

    assert column_blocks(1) == [(0, 1)]
    assert column_blocks(BLOCK_COLUMNS + 1) == [(0, BLOCK_COLUMNS + 1)]
    assert column_blocks(2 * BLOCK_COLUMNS) == [(0, BLOCK_COLUMNS), (BLOCK_COLUMNS, 2 * BLOCK_COLUMNS)]


def test_changed_defaults_are_noted(blobs):  # type: ignore[no-untyped-def]
    X, _ = blobs
    ours = pb.DETECTORS["deepsvdd"](epochs=1, random_state=0).fit(X)
    assert ours.notes_ == ["deepsvdd: adb's defaults, not PyOD's: batch_size=256 (PyOD: 32)"]
    pyods = pb.DETECTORS["deepsvdd"](epochs=1, batch_size=32, random_state=0).fit(X)
    assert pyods.notes_ == []
    assert set(catalog.DETECTOR_DEFAULTS) <= {s.pyod_name for s in catalog.catalog()}


def test_batch_size_above_the_rows_is_one_batch(blobs):  # type: ignore[no-untyped-def]
    """PyOD's AutoEncoder drops the last incomplete batch: 256 > 200 rows trained on nothing."""
    X, _ = blobs
    seed_everything(0)
    big = pb.DETECTORS["autoencoder"](epoch_num=2, batch_size=256, random_state=0).fit(X)
    seed_everything(0)
    exact = pb.DETECTORS["autoencoder"](epoch_num=2, batch_size=200, random_state=0).fit(X)
    assert big.model_.batch_size == 200 and big.batch_size == 256  # the stored parameter is kept
    np.testing.assert_array_equal(big.decision_function(X), exact.decision_function(X))
