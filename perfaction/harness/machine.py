"""How busy the machine was while measuring: load average and CPU steal.

On a shared runner other jobs take the cores the workers need; the paired
tests of a same-runner run then lose power (a +20 % slowdown went undetected
while the load average was 2-3 on 2 cores), and a baseline measured on a
quiet machine is compared with one that was not. The runner samples the
machine before the first worker and after every round; the results record
the figures (``Environment.load_average_*``, ``cpu_steal_max``) and the
comparison states them when the machine was busy (analysis/compare.py).

The 1-minute load average counts processes running or waiting for a core,
ours included: a run keeps about one core busy itself, so "busy" means a load
above the number of logical cores. Steal is the share of CPU time the
hypervisor gave to other guests, between two samples (Linux; None where the
platform does not report it).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative CPU seconds: all of them, and those stolen (None when not reported)."""

    total: float
    steal: float | None


def read_cpu_times() -> CpuTimes:
    times = psutil.cpu_times()
    steal = getattr(times, "steal", None)
    return CpuTimes(total=float(sum(times)), steal=None if steal is None else float(steal))


def read_load_average() -> float | None:
    try:
        return float(psutil.getloadavg()[0])
    except (OSError, AttributeError):
        return None


@dataclass
class MachineWatch:
    """Samples taken during a run; ``summary()`` gives what the results record."""

    load: Callable[[], float | None] = read_load_average
    cpu: Callable[[], CpuTimes] = read_cpu_times
    cores: int | None = field(default_factory=os.cpu_count)
    _loads: list[float] = field(default_factory=list)
    _steal: list[float] = field(default_factory=list)
    _last: CpuTimes | None = None

    def sample(self) -> None:
        load = self.load()
        if load is not None:
            self._loads.append(load)
        now = self.cpu()
        last, self._last = self._last, now
        if last is None or now.steal is None or last.steal is None:
            return
        elapsed = now.total - last.total
        if elapsed > 0:
            self._steal.append(max(0.0, (now.steal - last.steal) / elapsed))

    def summary(self) -> dict[str, Any]:
        """``load_average_before`` (the first sample), ``load_average_max``, ``cpu_steal_max``."""
        return {"load_average_before": self._loads[0] if self._loads else None,
                "load_average_max": max(self._loads) if self._loads else None,
                "cpu_steal_max": max(self._steal) if self._steal else None}
