"""The context a run executes in: where data and plugins are, the registry, and its caches.

:func:`adbench_dagmm.execute.execute` is a pure function of a planned run *and* a
:class:`RunContext`: the context says where the data folder (``--data-dir``) and the plugin
folder (``--plugins-dir``) are, holds the registry built from those plugins, and owns the caches
that let the runs of one worker share work (the last two loaded datasets, the last split, the
detectors already warmed up).
Nothing of it is process-wide: two contexts with different data folders run side by side in one
process, and a test needs no reset between runs.  A context pickles as its locations only; the
process that unpickles it builds its own registry and caches.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterator

from .dataset import use_data_dir

if TYPE_CHECKING:
    from .dataset import BaseDataset, Dataset
    from .protocols import Split
    from .registry import Registry


class RunContext:
    """Locations, registry and caches of the runs of one driver or worker.

    Parameters
    ----------
    data_dir
        The ``--data-dir`` folder, looked in before ``$ADB_DATA_DIR`` and the user cache.
    plugins_dir
        The ``--plugins-dir`` folder of one-file plugins.
    registry
        A registry already built from these plugins (the driver's); built on first use if None.
    max_datasets
        How many loaded datasets the context keeps (a sweep runs every detector of one dataset
        before the next, so two suffice and a large dataset is never held three times).
    """

    def __init__(self, data_dir: str | os.PathLike[str] | None = None,
                 plugins_dir: str | os.PathLike[str] | None = None, *,
                 registry: Registry | None = None, max_datasets: int = 2) -> None:
        self.data_dir = str(data_dir) if data_dir else None
        self.plugins_dir = str(plugins_dir) if plugins_dir else None
        self._registry = registry
        self.max_datasets = max_datasets
        self._datasets: OrderedDict[tuple[str, str], Dataset] = OrderedDict()
        self._split_key: tuple[Any, ...] | None = None
        self._split: Split | None = None
        self._warm: set[tuple[str, str]] = set()

    #: Training rows a detector is warmed up on (see :meth:`warm_up`).
    WARM_UP_ROWS = 128

    def __repr__(self) -> str:
        return f"RunContext(data_dir={self.data_dir!r}, plugins_dir={self.plugins_dir!r})"

    # -- pickling: locations travel, caches and the registry do not -----------------------------
    def locations(self) -> dict[str, str | None]:
        """What another process needs to build an equivalent context."""
        return {"data_dir": self.data_dir, "plugins_dir": self.plugins_dir}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.locations(), "max_datasets": self.max_datasets}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["data_dir"], state["plugins_dir"],  # type: ignore[misc]
                      max_datasets=state["max_datasets"])

    # -- the registry and data lookup ------------------------------------------------------------
    @property
    def registry(self) -> Registry:
        if self._registry is None:
            from .registry import build_registry

            self._registry = build_registry(plugins_dir=self.plugins_dir)
        return self._registry

    @contextlib.contextmanager
    def activate(self) -> Iterator[RunContext]:
        """Inside the block, data files are looked for in this context's data folder first."""
        with use_data_dir(self.data_dir):
            yield self

    def dataset_plugin(self, spec: str, options: dict[str, Any] | None = None) -> BaseDataset:
        """The dataset instance for a registered name or a spec a resolver accepts (a file)."""
        return self.registry.make_dataset(spec, options)

    # -- caches ----------------------------------------------------------------------------------
    def load(self, spec: str, options: dict[str, Any] | None = None) -> Dataset:
        """The validated dataset ``spec`` (cached: the last ``max_datasets`` loads)."""
        key = (spec, json.dumps(options or {}, sort_keys=True))
        if key in self._datasets:
            self._datasets.move_to_end(key)
            return self._datasets[key]
        with self.activate():
            dataset = self.dataset_plugin(spec, options).load().validate()
        dataset.release_pages()  # validation touched every page; splits fault back what they need
        self._datasets[key] = dataset
        while len(self._datasets) > self.max_datasets:
            self._datasets.popitem(last=False)
        return dataset

    def split(self, spec: str, options: dict[str, Any] | None, protocol: str, seed: int,
              protocol_options: dict[str, Any] | None = None) -> Split:
        """The split of (dataset, protocol with its options, seed), reused by every detector of
        that seed.

        Only the last split is kept, and it is dropped *before* the next one is made, so two
        splits of a large dataset never coexist.
        """
        key = (spec, json.dumps(options or {}, sort_keys=True), protocol, seed,
               json.dumps(protocol_options or {}, sort_keys=True, default=str))
        if key != self._split_key:
            self._split_key = self._split = None
            dataset = self.load(spec, options)
            self._split = self.registry.protocol(protocol)(**(protocol_options or {})).split(
                dataset, seed)
            self._split_key = key
        assert self._split is not None
        return self._split

    def warm_up(self, name: str, cls: type, params: dict[str, Any], X_train: Any, *,
                on_warm_up: Callable[[str], None] | None = None, y: Any = None) -> float:
        """Fit and score detector ``name`` once on a few training rows, the first time this
        context runs it (per device); return the seconds spent (0 when already warm).

        What a first call pays once per process (importing PyOD or torch inside ``fit``,
        compiling numba kernels, starting CUDA) is paid here, so a run's ``fit_seconds`` and
        ``score_seconds`` are the detector's own and a ``--timeout`` counts only the run.
        A warm-up that fails is ignored: the run itself then fails and says why.
        A label-using detector gets ``y`` (the run's fit labels): its warm-up rows then hold
        some labelled anomalies, so that its fit can run.
        ``on_warm_up("start")``/``("end")`` bracket the warm-up (a worker pauses the run's
        timeout meanwhile).
        """
        from .isolation import stdout_to_stderr

        key = (name, str(params.get("device")))
        if key in self._warm:
            return 0.0
        self._warm.add(key)
        if on_warm_up is not None:
            on_warm_up("start")
        start = time.perf_counter()
        try:
            if y is None:
                rows = X_train[: self.WARM_UP_ROWS]
                fit_args: tuple[Any, ...] = (rows,)
            else:  # some labelled anomalies among the rows
                import numpy as np

                y = np.asarray(y)
                labelled = np.flatnonzero(y)[: self.WARM_UP_ROWS // 8]
                pick = np.r_[labelled, np.flatnonzero(y == 0)[: self.WARM_UP_ROWS - labelled.size]]
                rows = X_train[np.sort(pick)]
                fit_args = (rows, y[np.sort(pick)])
            with stdout_to_stderr():
                detector = cls(**params).fit(*fit_args)
                detector.decision_function(rows)
        except Exception:  # noqa: BLE001  (tiny data may not suit every parameter set)
            pass
        finally:
            if on_warm_up is not None:
                on_warm_up("end")
        return time.perf_counter() - start

    def clear(self) -> None:
        """Drop the cached datasets and split (the registry stays)."""
        self._datasets.clear()
        self._split_key = self._split = None
