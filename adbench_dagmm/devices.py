"""Devices for runs: validating ``--device`` and pinning one GPU per worker.

``auto`` and ``cuda`` spread the workers over the visible GPUs; ``cpu`` and ``cuda:N`` are kept
as given.  Only detectors with a ``device`` parameter get one.
"""

from __future__ import annotations

import re

from .errors import UsageError

DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:[0-9]+)?)$")


def check_device(spec: str) -> str:
    """Validate a ``--device`` value: auto, cpu, cuda or cuda:N."""
    if not DEVICE_RE.match(spec):
        raise UsageError(f"--device {spec!r} is not one of auto, cpu, cuda, cuda:N (e.g. cuda:0).")
    return spec


def cuda_device_count() -> int:
    """How many CUDA devices torch sees here (0 without torch or without a GPU)."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count())


def validate_device(spec: str, device_count: int) -> None:
    """Refuse ``cuda`` / ``cuda:N`` when this machine has no such GPU (usage error)."""
    if not spec.startswith("cuda"):
        return
    if device_count == 0:
        raise UsageError(f"--device {spec}: no CUDA device is visible here; use --device cpu or auto.")
    index = int(spec.split(":", 1)[1]) if ":" in spec else 0
    if index >= device_count:
        raise UsageError(
            f"--device {spec}: only {device_count} CUDA device(s) are visible "
            f"(cuda:0 .. cuda:{device_count - 1})."
        )


def assign_device(requested: str | None, worker_index: int, device_count: int) -> str | None:
    """The device worker ``worker_index`` uses for a run that asked for ``requested``.

    ``auto`` and ``cuda`` spread the workers over the GPUs, one GPU per worker (``cuda:i`` with
    i = worker index modulo the GPU count); ``auto`` means ``cpu`` without a GPU.  ``cpu`` and an
    explicit ``cuda:N`` are kept as given.
    """
    if requested not in ("auto", "cuda"):
        return requested
    if device_count <= 0:
        if requested == "cuda":
            raise UsageError("--device cuda: no CUDA device is visible here; use --device cpu or auto.")
        return "cpu"
    return f"cuda:{worker_index % device_count}"
