"""Benchmark of the ``dagmm`` detector on KDD Cup 99 under the ``zong2018`` protocol.

Prints, in this order:

1. the 5-seed sweep with the defaults (plus the dataset card's ``preset="kddcup"``): load time,
   per-seed F1 / precision / recall / ROC AUC, fit and score seconds, the sweep's wall time and
   the peak RSS of the process at that point;
2. speed against a plain PyTorch DAGMM loop of the same architecture, measured in the same run:
   ``DataLoader(TensorDataset(X), batch_size=1024, shuffle=True)``, a float32 network and the
   usual GMM code (per-component ``inverse``/``cholesky`` loop).  Epoch seconds and rows/second
   for training (one epoch over the whole training set, batch 1024) and scoring (the test set),
   each the median of ``--repeats`` alternating runs, and the ratio; ours runs with one torch
   thread (the detector's default) and with two (``n_threads=2``, for an idle machine only:
   two such processes on two cores took 7.7 s per epoch each, against 0.65 s with one thread);
3. F1 / ROC AUC along training on one seed: the defaults with ``epochs = 1, 5, 20, 50, 200``
   (early stopping on, as a user gets them), and one run without early stopping
   (``patience=0``) evaluated after epochs 1, 5, 20, 50 and 200.

``--quick`` skips the 200-epoch parts (and evaluates the trajectory up to 50 epochs).  Usage::

    python benchmarks/bench_dagmm.py [--quick] [--seeds 0 1 2 3 4] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
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

from adb_datasets.kddcup99 import KDDCup99Dataset
from adb_plugins.dagmm import DAGMMDetector
from adb_plugins.dagmm.model import DAGMM
from adb_plugins.dagmm.train import DAGMMObjective, FlatAdam, train
from adbench_dagmm.dataset import set_data_dir
from adbench_dagmm.metrics import compute_metrics
from adbench_dagmm.protocols import Zong2018Protocol

MARKS = (1, 5, 20, 50, 200)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def rss_mb() -> float:
    """Current resident set size (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["VmRSS"].split()[0]) / 1024.0
    except (OSError, KeyError, ValueError):
        return 0.0


# -- the plain reference loop (what a typical reimplementation does) ---------------------------
class PlainDAGMM(nn.Module):
    """The paper's KDDCUP network written the usual way (float32, softmax output)."""

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
        rec_euclidean = (x - dec).norm(2, dim=1) / x.norm(2, dim=1)
        z = torch.cat([enc, rec_euclidean.unsqueeze(-1), rec_cosine.unsqueeze(-1)], dim=1)
        return dec, z, self.estimation(z)


def plain_gmm_params(z, gamma):  # type: ignore[no-untyped-def]
    sum_gamma = gamma.sum(dim=0)
    phi = sum_gamma / gamma.size(0)
    mu = (gamma.unsqueeze(-1) * z.unsqueeze(1)).sum(dim=0) / sum_gamma.unsqueeze(-1)
    z_mu = z.unsqueeze(1) - mu.unsqueeze(0)
    z_mu_outer = z_mu.unsqueeze(-1) * z_mu.unsqueeze(-2)
    cov = (gamma.unsqueeze(-1).unsqueeze(-1) * z_mu_outer).sum(dim=0) / sum_gamma[:, None, None]
    return phi, mu, cov


def plain_energy(z, phi, mu, cov, eps=1e-6):  # type: ignore[no-untyped-def]
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


def plain_epoch(model, optimizer, loader) -> None:  # type: ignore[no-untyped-def]
    model.train()
    for (x,) in loader:
        dec, z, gamma = model(x)
        phi, mu, cov = plain_gmm_params(z, gamma)
        energy, cov_diag = plain_energy(z, phi, mu, cov)
        loss = torch.mean((x - dec) ** 2) + 0.1 * energy.mean() + 0.005 * cov_diag
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def plain_score(model, x_train: torch.Tensor, x_test: torch.Tensor) -> np.ndarray:
    """Training-set GMM accumulated over batches, then test energies batch by batch."""
    model.eval()
    with torch.no_grad():
        n, sums = 0, None
        for (x,) in DataLoader(TensorDataset(x_train), batch_size=1024):
            _, z, gamma = model(x)
            phi, mu, cov = plain_gmm_params(z, gamma)
            b = x.shape[0]
            part = (phi * b, mu * phi[:, None] * b, cov * phi[:, None, None] * b)
            sums = part if sums is None else tuple(s + p for s, p in zip(sums, part))
            n += b
        phi = sums[0] / n
        mu, cov = sums[1] / sums[0][:, None], sums[2] / sums[0][:, None, None]
        out = []
        for (x,) in DataLoader(TensorDataset(x_test), batch_size=1024):
            _, z, _ = model(x)
            out.append(plain_energy(z, phi, mu, cov)[0])
    return torch.cat(out).numpy()


# -- our loop, one epoch over the whole training set --------------------------------------------
def our_epoch_runner(x: torch.Tensor, seed: int):  # type: ignore[no-untyped-def]
    cfg = DAGMMDetector(preset="kddcup")._resolve_config()
    torch.manual_seed(seed)
    model = DAGMM(n_features=x.shape[1], hidden=cfg["hidden"], latent_dim=cfg["latent_dim"],
                  n_gmm=cfg["n_gmm"], dropout=cfg["dropout"], layer_norm=cfg["layer_norm"])
    objective = DAGMMObjective(lambda_energy=cfg["lambda_energy"],
                               lambda_cov_diag=cfg["lambda_cov_diag"],
                               cov_jitter=cfg["cov_jitter"])
    optimizer = FlatAdam(model.parameters(), lr=cfg["lr"])
    generator = torch.Generator().manual_seed(seed)

    def run() -> None:
        train(model, objective, x, optimizer=optimizer, epochs=1, batch_size=1024,
              generator=generator)

    return run


def median_seconds(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def evaluate(protocol, split, scores: np.ndarray) -> dict[str, float]:  # type: ignore[no-untyped-def]
    y_pred = protocol.threshold(scores, split.contamination)
    return compute_metrics(split.y_test, scores, y_pred)


def fmt(m: dict[str, float]) -> str:
    return (f"F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}  "
            f"ROC AUC {m['roc_auc']:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 200-epoch runs")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (median)")
    parser.add_argument("--data-dir", default=os.environ.get("ADB_DATA_DIR")
                        or str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--skip", nargs="*", default=[], choices=["sweep", "speed", "epochs"])
    args = parser.parse_args(argv)
    set_data_dir(args.data_dir)
    protocol = Zong2018Protocol()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}")

    t_start = time.perf_counter()
    dataset = KDDCup99Dataset().load()
    t_load = time.perf_counter() - t_start
    print(f"\n== 1. {len(args.seeds)}-seed sweep, defaults + preset='kddcup' (zong2018)")
    print(f"load {t_load:.1f} s ({dataset.X.shape[0]} x {dataset.X.shape[1]}, "
          f"{dataset.X.dtype}); RSS {rss_mb():.0f} MB")
    rows = []
    if "sweep" not in args.skip:
        for seed in args.seeds:
            split = protocol.split(dataset, seed)
            rss_split = rss_mb()
            t = time.perf_counter()
            det = DAGMMDetector(preset="kddcup", random_state=seed).fit(split.X_train)
            t_fit = time.perf_counter() - t
            scores = det.decision_function(split.X_test)
            t_all = time.perf_counter() - t
            m = evaluate(protocol, split, scores)
            h = det.history_
            rows.append(m)
            print(f"seed {seed}: {fmt(m)}  fit {t_fit:.1f} s + score {t_all - t_fit:.1f} s  "
                  f"(epochs {h['epochs_run']}, best {h['best_epoch']}, {h['stop_reason']}; "
                  f"RSS {rss_split:.0f} MB after the split, {rss_mb():.0f} MB after scoring)",
                  flush=True)
            del split, det
        f1 = np.array([r["f1"] for r in rows])
        auc = np.array([r["roc_auc"] for r in rows])
        print(f"mean F1 {f1.mean():.4f} ± {f1.std(ddof=1) if len(f1) > 1 else 0:.4f} "
              f"(min {f1.min():.4f}), mean ROC AUC {auc.mean():.4f}")
        print(f"sweep wall (load + {len(args.seeds)} x (fit + score)): "
              f"{time.perf_counter() - t_start:.1f} s, peak RSS {peak_rss_mb():.0f} MB")

    split = protocol.split(dataset, args.seeds[0])
    x_train, x_test = torch.from_numpy(split.X_train), torch.from_numpy(split.X_test)
    if "speed" not in args.skip:
        print(f"\n== 2. speed, one epoch over {len(x_train)} rows at batch 1024 "
              f"(median of {args.repeats})")
        torch.manual_seed(0)
        plain = PlainDAGMM(x_train.shape[1])
        plain_opt = torch.optim.Adam(plain.parameters(), lr=1e-4)
        loader = DataLoader(TensorDataset(x_train), batch_size=1024, shuffle=True)
        ours = our_epoch_runner(x_train, 0)
        threads = torch.get_num_threads()
        variants = {
            "plain": (lambda: plain_epoch(plain, plain_opt, loader), threads),
            "plain_1thread": (lambda: plain_epoch(plain, plain_opt, loader), 1),
            "ours": (ours, 1),
            "ours_2threads": (ours, 2),
        }
        results: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):  # alternate, so that machine load hits all alike
            for name, (fn, n_threads) in variants.items():
                torch.set_num_threads(n_threads)
                results[name].append(median_seconds(fn, 1))
        torch.set_num_threads(threads)
        med = {k: statistics.median(v) for k, v in results.items()}
        best_plain = min(med["plain"], med["plain_1thread"])
        n = len(x_train)
        print(f"plain loop ({threads} threads): {med['plain']:.3f} s/epoch "
              f"({n / med['plain']:,.0f} rows/s)")
        print(f"plain loop (1 thread):    {med['plain_1thread']:.3f} s/epoch "
              f"({n / med['plain_1thread']:,.0f} rows/s)")
        print(f"ours (1 thread, default): {med['ours']:.3f} s/epoch ({n / med['ours']:,.0f} rows/s)")
        print(f"ours (n_threads=2):       {med['ours_2threads']:.3f} s/epoch "
              f"({n / med['ours_2threads']:,.0f} rows/s)")
        print(f"training speed-up vs the faster plain variant: {best_plain / med['ours']:.2f}x "
              f"(default), {best_plain / med['ours_2threads']:.2f}x (n_threads=2)")
        det = DAGMMDetector(preset="kddcup", epochs=1, patience=0, random_state=0)
        det.fit(split.X_train)
        t_plain = median_seconds(lambda: plain_score(plain, x_train, x_test), args.repeats)
        t_ours = median_seconds(lambda: det.decision_function(split.X_test), args.repeats)
        m = len(x_test)
        print(f"scoring {m} test rows: plain {t_plain:.2f} s ({m / t_plain:,.0f} rows/s, incl. "
              f"its training-set GMM pass), ours {t_ours:.2f} s ({m / t_ours:,.0f} rows/s); "
              f"ratio {t_plain / t_ours:.2f}x")
        print(f"peak RSS so far {peak_rss_mb():.0f} MB")

    if "epochs" not in args.skip:
        marks = [e for e in MARKS if not (args.quick and e > 50)]
        seed = args.seeds[0]
        print(f"\n== 3. F1 / ROC AUC along training, seed {seed}")
        for epochs in marks:
            t = time.perf_counter()
            det = DAGMMDetector(preset="kddcup", epochs=epochs, random_state=seed)
            det.fit(split.X_train)
            m = evaluate(protocol, split, det.decision_function(split.X_test))
            h = det.history_
            print(f"defaults, epochs={epochs:3d}: {fmt(m)}  (ran {h['epochs_run']}, best "
                  f"{h['best_epoch']}, {h['stop_reason']}, {time.perf_counter() - t:.1f} s)",
                  flush=True)

        def report(epoch: int, det: DAGMMDetector) -> None:
            if epoch in marks:
                m = evaluate(protocol, split, det.decision_function(split.X_test))
                print(f"patience=0, after {epoch:3d} epochs: {fmt(m)}", flush=True)

        DAGMMDetector(preset="kddcup", epochs=max(marks), patience=0, random_state=seed).fit(
            split.X_train, callbacks=[report]
        )
    print(f"\npeak RSS {peak_rss_mb():.0f} MB, total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
