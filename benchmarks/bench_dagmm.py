"""Benchmark of the ``dagmm`` detector on KDD Cup 99 under the ``zong2018`` protocol.

Prints, and writes to its section of ``benchmarks/RESULTS.md`` (via ``results_md.write_section``):

1. speed: one training epoch over the whole training set at batch 1024, for three loops of the
   same architecture (the paper's KDDCUP network), each the median of ``--repeats`` runs taken
   in turn so that machine load hits all alike:

   - ``ours``: the detector's own training path (``DAGMMDetector._training_setup`` and
     ``train.train``, as ``fit`` runs them, one torch thread);
   - ``competent``: a plain loop written the way a careful user would (training rows in one
     tensor, ``randperm`` slicing, plain autograd, a vectorised float64 GMM with a batched
     Cholesky, ``Adam(foreach=True)``);
   - ``dataloader``: the usual reimplementation (``DataLoader(TensorDataset(X), shuffle=True)``,
     float32, a per-component ``inverse``/``cholesky`` loop).

   Targets (issue 12): ours never slower than ``competent`` and at least 1.5x ``dataloader``.
2. the 5-seed sweep with the dataset card's recipe (``preset="kddcup"``): per-seed F1 /
   precision / recall / ROC AUC, fit and score seconds, the sweep's wall time and peak RSS;
3. F1 / ROC AUC along training on one seed (``epochs = 1, 5, 20, 50, 200``, early stopping on,
   and one run without early stopping evaluated after those epochs);
4. with ``--stores``, the tables of finished ``adb run`` sweeps read from their result stores:
   per dataset and recipe, mean ± std, min and max of F1 and ROC AUC over the seeds, against the
   paper's Table 2 where it has the dataset; ADBench files get one row each and a mean, trained
   next to the same recipe with ``steps=0`` (the GMM fitted on the untrained network).

``--quick`` skips the 200-epoch parts.  Usage::

    python benchmarks/bench_dagmm.py [--quick] [--seeds 0 1 2 3 4] [--data-dir ../shared/data]
        [--stores results/kdd20 results/adb ...]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section  # noqa: E402

import adb_plugins.dagmm.train as training  # noqa: E402
from adb_datasets.kddcup99 import KDDCup99Dataset  # noqa: E402
from adb_plugins.dagmm import DAGMMDetector  # noqa: E402
from adbench_dagmm.dataset import set_data_dir  # noqa: E402
from adbench_dagmm.metrics import compute_metrics  # noqa: E402
from adbench_dagmm.protocols import Zong2018Protocol  # noqa: E402

MARKS = (1, 5, 20, 50, 200)
BATCH = 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# -- the same architecture written the usual ways --------------------------------------------
class PlainDAGMM(nn.Module):
    """The paper's KDDCUP network written the usual way (softmax output)."""

    def __init__(self, n_features: int, n_gmm: int = 4) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_features, 60), nn.Tanh(), nn.Linear(60, 30), nn.Tanh(),
            nn.Linear(30, 10), nn.Tanh(), nn.Linear(10, 1),
        )
        self.decoder = nn.Sequential(
            nn.Linear(1, 10), nn.Tanh(), nn.Linear(10, 30), nn.Tanh(),
            nn.Linear(30, 60), nn.Tanh(), nn.Linear(60, n_features),
        )
        self.estimation = nn.Sequential(
            nn.Linear(3, 10), nn.Tanh(), nn.Dropout(p=0.5), nn.Linear(10, n_gmm), nn.Softmax(dim=1)
        )

    def forward(self, x):  # type: ignore[no-untyped-def]
        enc = self.encoder(x)
        dec = self.decoder(enc)
        rec_cosine = nn.functional.cosine_similarity(x, dec, dim=1)
        rec_euclidean = (x - dec).norm(2, dim=1) / x.norm(2, dim=1).clamp_min(1e-6)
        z = torch.cat([enc, rec_euclidean.unsqueeze(-1), rec_cosine.unsqueeze(-1)], dim=1)
        return dec, z, self.estimation(z)


# The DataLoader reimplementation's GMM (float32, a Python loop over components).
def loop_gmm_params(z, gamma):  # type: ignore[no-untyped-def]
    sum_gamma = gamma.sum(dim=0)
    phi = sum_gamma / gamma.size(0)
    mu = (gamma.unsqueeze(-1) * z.unsqueeze(1)).sum(dim=0) / sum_gamma.unsqueeze(-1)
    z_mu = z.unsqueeze(1) - mu.unsqueeze(0)
    z_mu_outer = z_mu.unsqueeze(-1) * z_mu.unsqueeze(-2)
    cov = (gamma.unsqueeze(-1).unsqueeze(-1) * z_mu_outer).sum(dim=0) / sum_gamma[:, None, None]
    return phi, mu, cov


def loop_energy(z, phi, mu, cov, eps=1e-6):  # type: ignore[no-untyped-def]
    # The usual code, except eps: its customary 1e-12 does nothing in float32 and crashes.
    k, d, _ = cov.size()
    z_mu = z.unsqueeze(1) - mu.unsqueeze(0)
    cov_inverse, det_cov, cov_diag = [], [], 0
    for i in range(k):
        cov_k = cov[i] + torch.eye(d) * eps
        cov_inverse.append(torch.inverse(cov_k).unsqueeze(0))
        det_cov.append(torch.linalg.cholesky(cov_k * (2 * np.pi)).diag().prod().unsqueeze(0))
        cov_diag = cov_diag + torch.sum(1 / cov_k.diag())
    cov_inverse = torch.cat(cov_inverse, dim=0)
    det_cov = torch.cat(det_cov)
    exp_term_tmp = -0.5 * torch.sum(
        torch.sum(z_mu.unsqueeze(-1) * cov_inverse.unsqueeze(0), dim=-2) * z_mu, dim=-1
    )
    max_val = torch.max(exp_term_tmp.clamp(min=0), dim=1, keepdim=True)[0]
    exp_term = torch.exp(exp_term_tmp - max_val)
    energy = -max_val.squeeze() - torch.log(
        torch.sum(phi.unsqueeze(0) * exp_term / torch.sqrt(det_cov).unsqueeze(0), dim=1) + eps
    )
    return energy, cov_diag


def dataloader_epoch(model, optimizer, loader) -> None:  # type: ignore[no-untyped-def]
    model.train()
    for (x,) in loader:
        dec, z, gamma = model(x)
        phi, mu, cov = loop_gmm_params(z, gamma)
        energy, cov_diag = loop_energy(z, phi, mu, cov)
        loss = ((x - dec) ** 2).sum(1).mean() + 0.1 * energy.mean() + 0.005 * cov_diag
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


# A competent plain loop: one tensor, randperm, a vectorised float64 GMM, batched Cholesky.
def competent_energy(z, gamma, jitter=1e-6):  # type: ignore[no-untyped-def]
    z, gamma = z.double(), gamma.double()
    n_k = gamma.sum(0)  # (K,)
    mu = (gamma.T @ z) / n_k[:, None]  # (K, D)
    diff = z.unsqueeze(0) - mu.unsqueeze(1)  # (K, N, D)
    cov = torch.einsum("nk,kni,knj->kij", gamma, diff, diff) / n_k[:, None, None]  # (K, D, D)
    cov = cov + jitter * torch.eye(z.shape[1], dtype=z.dtype)
    chol = torch.linalg.cholesky(cov)  # (K, D, D)
    sol = torch.linalg.solve_triangular(chol, diff.transpose(1, 2), upper=False)  # (K, D, N)
    log_det = 2 * torch.diagonal(chol, dim1=-2, dim2=-1).log().sum(-1)  # (K,)
    log_p = (-0.5 * sol.square().sum(1) - 0.5 * log_det[:, None]
             - 0.5 * z.shape[1] * math.log(2 * math.pi) + (n_k / z.shape[0]).log()[:, None])
    energy = -torch.logsumexp(log_p, dim=0)  # (N,)
    return energy.mean(), torch.diagonal(cov, dim1=-2, dim2=-1).reciprocal().sum()


def competent_epoch(model, optimizer, x, generator) -> None:  # type: ignore[no-untyped-def]
    model.train()
    for idx in torch.randperm(x.shape[0], generator=generator).split(BATCH):
        xb = x[idx]
        dec, z, gamma = model(xb)
        energy, cov_diag = competent_energy(z, gamma)
        loss = (xb - dec).square().sum(1).mean() + 0.1 * energy + 0.005 * cov_diag
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


# -- our loop: the detector's own training path, one epoch ----------------------------------------
def our_epoch_runner(x: torch.Tensor, seed: int):  # type: ignore[no-untyped-def]
    """One epoch of ``fit``'s training, built by the detector's own ``_training_setup``."""
    cfg = DAGMMDetector(preset="kddcup")._resolve_config()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model, objective, optimizer = DAGMMDetector._training_setup(
        cfg, x.shape[1], x.device, generator)

    def run() -> None:
        training.train(model, objective, x, optimizer=optimizer, epochs=1,
                       batch_size=cfg["batch_size"], generator=generator)

    return run


def evaluate(protocol, split, scores: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    y_pred = protocol.threshold(scores, split.contamination)
    return compute_metrics(split.y_test, scores, y_pred)


def fmt(m: dict[str, float]) -> str:
    return (f"F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}  "
            f"ROC AUC {m['roc_auc']:.4f}")


def speed(x_train: torch.Tensor, repeats: int, md: list[str]) -> None:
    torch.set_num_threads(1)  # the same for every loop (a worker of --jobs 2 on 2 cores)
    torch.manual_seed(0)
    plain = PlainDAGMM(x_train.shape[1])
    loader = DataLoader(TensorDataset(x_train), batch_size=BATCH, shuffle=True)
    plain_opt = torch.optim.Adam(plain.parameters(), lr=1e-4)
    competent = PlainDAGMM(x_train.shape[1])
    competent_opt = torch.optim.Adam(competent.parameters(), lr=1e-4, foreach=True)
    gen = torch.Generator().manual_seed(0)
    loops = {
        "ours": our_epoch_runner(x_train, 0),
        "competent": lambda: competent_epoch(competent, competent_opt, x_train, gen),
        "dataloader": lambda: dataloader_epoch(plain, plain_opt, loader),
    }
    for fn in loops.values():  # warm-up: first-call allocations and imports
        fn()
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(repeats):
        for name, fn in loops.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(x_train)
    md += ["## DAGMM training speed", "",
           f"One epoch over the {n:,} KDD Cup 99 training rows of seed 0 (zong2018), batch "
           f"{BATCH}, one torch thread, median of {repeats} runs taken in turn.", "",
           "| loop | s/epoch | rows/s | ours is faster by |", "| --- | ---: | ---: | ---: |"]
    for name in loops:
        md.append(f"| {name} | {med[name]:.3f} | {n / med[name]:,.0f} | "
                  f"{med[name] / med['ours']:.2f}x |")
    md.append("")
    for line in md[-len(loops) - 2:]:
        print(line)


def paper_f1() -> dict[str, float]:
    """DAGMM's F1 in the paper's Table 2, by our dataset name (from the DAGMM plugin's references)."""
    from adb_plugins.dagmm.references import DATASETS, TABLE2

    return {DATASETS[dataset]: f1 for method, dataset, _, _, f1 in TABLE2 if method == "DAGMM"}


def store_tables(stores: list[str], md: list[str]) -> None:
    """Summarise the dagmm runs of ``adb run`` result stores (``<dir>/adb.sqlite``)."""
    import json
    import sqlite3

    runs = []
    for folder in stores:
        with sqlite3.connect(Path(folder) / "adb.sqlite") as conn:
            conn.row_factory = sqlite3.Row
            runs += [dict(r) for r in conn.execute(
                "SELECT dataset, protocol, protocol_version, seed, params, status, f1, roc_auc, "
                "notes FROM runs "
                "WHERE detector = 'dagmm'")]
    groups: dict[tuple[str, str, bool], list[dict]] = {}
    for r in runs:
        untrained = json.loads(r["params"]).get("steps") == 0
        groups.setdefault((r["dataset"], r["protocol"], untrained), []).append(r)
    paper = paper_f1()

    def summary(values: list[float]) -> str:
        a = np.asarray(values, dtype=float)
        sd = a.std(ddof=1) if a.size > 1 else 0.0
        return f"{a.mean():.4f} ± {sd:.4f} | {a.min():.4f} | {a.max():.4f}"

    zong = sorted(k for k in groups if k[1] == "zong2018" and not k[2])
    if zong:
        md += ["## DAGMM on the paper's datasets (zong2018, each dataset's preset)", "",
               "| dataset | seeds | F1 mean ± std | min | max | paper F1 | ROC AUC mean ± std | min | max | failed |",
               "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for key in zong:
            ok = [r for r in groups[key] if r["status"] == "ok"]
            seeds = sorted(r["seed"] for r in ok)
            span = f"{seeds[0]}-{seeds[-1]}" if seeds else "-"
            ref = paper.get(key[0])
            md.append(f"| {key[0]} | {span} ({len(ok)}) | {summary([r['f1'] for r in ok])} | "
                      f"{'' if ref is None else f'{ref:.4f}'} | "
                      f"{summary([r['roc_auc'] for r in ok])} | {len(groups[key]) - len(ok)} |")
        md.append("")
    files = sorted({k[0] for k in groups if k[1] == "adbench"})
    if files:
        versions = ", ".join(sorted({f"v{r['protocol_version']}" for r in runs
                                     if r["protocol"] == "adbench"}))
        md += [f"## DAGMM on the ADBench Classical files (adbench protocol {versions}, default recipe)",
               "", "ROC AUC, mean over ok seeds; *untrained* is the same recipe with `steps=0`.", "",
               "| file | seeds | trained | untrained | trained - untrained | notes |",
               "| --- | ---: | ---: | ---: | ---: | --- |"]
        means = {False: [], True: []}
        for name in files:
            cells = {}
            for untrained in (False, True):
                ok = [r for r in groups.get((name, "adbench", untrained), []) if r["status"] == "ok"]
                cells[untrained] = float(np.mean([r["roc_auc"] for r in ok])) if ok else None
            both = all(v is not None for v in cells.values())
            if both:
                for k, v in cells.items():
                    means[k].append(v)
            n_seeds = len([r for r in groups.get((name, "adbench", False), []) if r["status"] == "ok"])
            notes = sorted({n for r in groups.get((name, "adbench", False), [])
                            for n in json.loads(r["notes"] or "[]")})
            diff = f"{cells[False] - cells[True]:+.3f}" if both else ""
            fmt_cell = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
            md.append(f"| {name} | {n_seeds} | {fmt_cell(cells[False])} | {fmt_cell(cells[True])} | "
                      f"{diff} | {'; '.join(notes)[:120]} |")
        if means[False]:
            md.append(f"| **mean over {len(means[False])} files** | | **{np.mean(means[False]):.4f}** | "
                      f"**{np.mean(means[True]):.4f}** | "
                      f"**{np.mean(means[False]) - np.mean(means[True]):+.4f}** | |")
        md.append("")
    print("\n".join(md))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 200-epoch runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (median)")
    parser.add_argument("--data-dir", default=os.environ.get("ADB_DATA_DIR")
                        or str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--skip", nargs="*", default=[], choices=["sweep", "speed", "epochs"])
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--stores", nargs="*", default=[],
                        help="adb run result folders whose dagmm runs to tabulate")
    args = parser.parse_args(argv)
    set_data_dir(args.data_dir)
    protocol = Zong2018Protocol()
    md: list[str] = []
    t_start = time.perf_counter()
    if set(args.skip) >= {"speed", "sweep", "epochs"}:  # tables of finished sweeps only
        store_tables(args.stores, md)
        if not args.no_write:
            print(f"wrote {write_section('bench_dagmm', chr(10).join(md))}")
        return 0
    dataset = KDDCup99Dataset().load()
    split = protocol.split(dataset, args.seeds[0])
    if "speed" not in args.skip:
        speed(torch.from_numpy(split.X_train), args.repeats, md)

    if "sweep" not in args.skip:
        md += [f"## DAGMM on KDD Cup 99, {len(args.seeds)} seeds (zong2018, preset kddcup)", "",
               "| seed | F1 | precision | recall | ROC AUC | epochs run | best | fit s | score s |",
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        t_sweep = time.perf_counter()
        f1s = []
        for seed in args.seeds:
            s = protocol.split(dataset, seed)
            t = time.perf_counter()
            det = DAGMMDetector(preset="kddcup", random_state=seed).fit(s.X_train)
            t_fit = time.perf_counter() - t
            scores = det.decision_function(s.X_test)
            t_score = time.perf_counter() - t - t_fit
            m = evaluate(protocol, s, scores)
            h = det.history_
            f1s.append(m["f1"])
            line = (f"| {seed} | {m['f1']:.4f} | {m['precision']:.4f} | {m['recall']:.4f} | "
                    f"{m['roc_auc']:.4f} | {h['epochs_run']} | {h['best_epoch']} | "
                    f"{t_fit:.1f} | {t_score:.1f} |")
            md.append(line)
            print(line, flush=True)
        f1 = np.array(f1s)
        md += ["", f"Mean F1 {f1.mean():.4f} ± {f1.std(ddof=1) if len(f1) > 1 else 0:.4f} "
                   f"(min {f1.min():.4f}); the paper reports 0.9369. Sweep "
                   f"{time.perf_counter() - t_sweep:.0f} s, peak RSS {peak_rss_mb():.0f} MB.", ""]
        print(md[-2])

    if "epochs" not in args.skip:
        marks = [e for e in MARKS if not (args.quick and e > 50)]
        seed = args.seeds[0]
        md += [f"## DAGMM F1 along training (KDD Cup 99, seed {seed})", "",
               "| run | epochs | F1 | ROC AUC | epochs run | best epoch |",
               "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for epochs in marks:
            det = DAGMMDetector(preset="kddcup", epochs=epochs, random_state=seed)
            det.fit(split.X_train)
            m = evaluate(protocol, split, det.decision_function(split.X_test))
            h = det.history_
            md.append(f"| preset kddcup, epochs={epochs} | {epochs} | {m['f1']:.4f} | "
                      f"{m['roc_auc']:.4f} | {h['epochs_run']} | {h['best_epoch']} |")
            print(md[-1], flush=True)

        def report(epoch: int, det: DAGMMDetector) -> None:
            if epoch in marks:
                m = evaluate(protocol, split, det.decision_function(split.X_test))
                md.append(f"| patience=0, after {epoch} epochs | {epoch} | {m['f1']:.4f} | "
                          f"{m['roc_auc']:.4f} | {epoch} | {epoch} |")
                print(md[-1], flush=True)

        DAGMMDetector(preset="kddcup", epochs=max(marks), patience=0, random_state=seed).fit(
            split.X_train, callbacks=[report]
        )
        md.append("")
    if args.stores:
        store_tables(args.stores, md)
    print(f"\npeak RSS {peak_rss_mb():.0f} MB, total {time.perf_counter() - t_start:.0f} s")
    if not args.no_write:  # the stamp records the command, i.e. which parts ran
        print(f"wrote {write_section('bench_dagmm', chr(10).join(md))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
