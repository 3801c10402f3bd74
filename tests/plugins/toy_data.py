"""Test-only dataset found through the data-file lookup chain: ``toy`` reads ``toy/toy.csv``."""

import numpy as np

from adbench_dagmm import BaseDataset, Dataset, hookimpl
from adbench_dagmm.dataset import file_sha256, find_file


class ToyDataset(BaseDataset):
    """A CSV (features and a 0/1 ``label`` column) looked up as toy/toy.csv in the data folders."""

    name = "toy"
    filename = "toy/toy.csv"

    def sha256(self) -> str:
        return file_sha256(find_file(self.filename))

    def load(self) -> Dataset:
        import pandas as pd

        path = find_file(self.filename)
        frame = pd.read_csv(path)
        y = frame.pop("label").to_numpy(np.int8)
        return Dataset(X=frame.to_numpy(np.float64), y=y, name=self.name,
                       feature_names=list(frame.columns), sha256=file_sha256(path))


@hookimpl
def adb_register_datasets(register):
    register(ToyDataset)
