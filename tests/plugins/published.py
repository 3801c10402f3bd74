"""Test-only published results: a toy table whose rows match the ``mean_distance`` fixture."""

from adbench_dagmm import PublishedValue, ReferenceSet, hookimpl

TOY = ReferenceSet(
    name="toy2026_table1",
    citation="Doe & Roe, A Toy Benchmark, 2026, Table 1",
    protocol="zong2018",
    protocol_differences="None known.",
    values=(
        PublishedValue("MeanDist", "Toy", {"precision": 0.80, "recall": 0.81, "f1": 0.80},
                       std={"f1": 0.01}, n_runs=10),
        PublishedValue("MeanDist", "Toy-hard", {"f1": 0.50}, n_runs=10),
        PublishedValue("MeanDist", "Toy-easy", {"f1": 0.90}, n_runs=10),
        PublishedValue("MeanDist", "Toy-other", {"f1": 0.70}, n_runs=10),
        PublishedValue("MeanDist", "Toy-missing", {"f1": 0.70}, n_runs=10),
        PublishedValue("Oracle", "Toy", {"f1": 1.0}, n_runs=10),
    ),
    detectors={"MeanDist": "mean_distance"},
    datasets={"Toy": "toy", "Toy-hard": "toy_hard", "Toy-easy": "toy_easy", "Toy-other": "toy_other",
              "Toy-missing": "toy_missing"},
)


@hookimpl
def adb_register_references(register):
    register(TOY)
