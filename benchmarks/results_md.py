"""Write a benchmark's measured figures into ``benchmarks/RESULTS.md``, stamped.

Each benchmark script owns one section of RESULTS.md, delimited by HTML comments named after
the script, and replaces it whole on every full run: the numbers in that file are the last ones
measured, with the date, the versions and the machine they were measured on.  Docstrings and the
README state contracts and point here; they do not carry measured numbers.

    from results_md import write_section
    write_section("bench_dagmm", "## DAGMM training speed\n\n| loop | s/epoch |\n...")
"""

from __future__ import annotations

import os
import platform
import re
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")

HEADER = (
    "# Measured results\n\n"
    "Written by the benchmark scripts in this folder, one section per script, each replaced "
    "whole when its script runs in full. Every section says when, with which versions and on "
    "which machine its figures were measured. Do not edit by hand: rerun the script.\n"
)

PACKAGES = ("adbench-dagmm", "torch", "numpy", "scikit-learn", "pyod")


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def stamp() -> str:
    """One line: UTC date and time, Python and package versions, CPU model and core count."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(f"{name} {_version(name)}" for name in PACKAGES)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"_Measured {when}; Python {platform.python_version()}, {versions}; "
            f"{_cpu_model()}, {cores} cores available._")


def write_section(script: str, body: str, *, path: Path = RESULTS) -> Path:
    """Replace (or append) the section owned by ``script`` with ``body`` and a stamp line.

    ``body`` is Markdown, normally starting with a ``##`` heading.  The command that produced
    it (``sys.argv``) is recorded under the stamp.
    """
    start, end = f"<!-- {script}:start -->", f"<!-- {script}:end -->"
    command = " ".join(["python", *sys.argv]) if sys.argv and sys.argv[0] else script
    block = (f"{start}\n{body.rstrip()}\n\n{stamp()}\n"
             f"_Command: `{command}`_\n{end}")
    text = path.read_text(encoding="utf-8") if path.is_file() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path
