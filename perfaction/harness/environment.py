"""The environment fingerprint, gathered inside a worker.

Gathered where the benchmarks run (the worker's interpreter, which may differ
from the parent's in an A/B run), with the standard library only.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CPU's model name: /proc/cpuinfo on Linux, else what platform knows."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    model = parse_cpuinfo(text)
    if model:
        return model
    return platform.processor() or None


def parse_cpuinfo(text: str) -> str | None:
    # x86 says "model name"; some ARM kernels "Hardware", "Processor" or "cpu model".
    for key in ("model name", "cpu model", "Hardware", "Processor"):
        for line in text.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return " ".join(value.split())
    return None


# Instruction-set extensions that libraries dispatch on (numpy, hashing, compression,
# the C library's string functions): a different set runs other code, so other
# instruction counts. Flags as /proc/cpuinfo names them.
CODE_PATH_FLAGS = ("sse4_1", "sse4_2", "popcnt", "avx", "avx2", "fma", "bmi1", "bmi2",
                   "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "sha_ni", "aes", "vaes",
                   "erms", "fsrm")


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The CODE_PATH_FLAGS this CPU has, sorted and space-separated; None off Linux."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return parse_flags(text)


def parse_flags(text: str) -> str | None:
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in ("flags", "Features"):
            present = set(value.split())
            return " ".join(sorted(f for f in CODE_PATH_FLAGS if f in present))
    return None


def gather() -> dict[str, Any]:
    """Fields of model.Environment that describe this machine and interpreter."""
    from perfaction import __version__

    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}".strip() or None,
        "machine": platform.machine() or None,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "perfaction_version": __version__,
        "python_build": " ".join(sys.version.split()),
        "cpu_features": cpu_features(),
    }


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 in UTC with a Z, to the second: ``2025-01-31T12:00:00Z``."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
