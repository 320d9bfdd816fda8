"""Native memory: how far a benchmark's calls raise the process's peak resident memory.

tracemalloc (the memory pass) sees Python's allocator only; a C, C++ or Rust
extension that mallocs its buffers (numpy arrays, compression, parsers) is
invisible to it. The resident set size is not: the worker reads it (psutil
where the worker's interpreter has it, /proc otherwise) just before a
benchmark's timed values, resets the kernel's high-water mark (writing 5 to
/proc/self/clear_refs, Linux 4.0 and later), and reads the mark (VmHWM)
after them. Their difference is the benchmark's peak growth in bytes: the
most its calls held at once beyond what the process held already.

Linux only; elsewhere (or where /proc refuses the reset, as some sandboxes
do) the metric is simply not measured. Page-granular and shared with the
allocator's caches, so it is report-only with a 1 MiB floor (metrics.py).
Standard library only, psutil optional: this runs in the worker.
"""

from __future__ import annotations

import re
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
RESET_PEAK = "5"        # clear_refs: reset the peak RSS (VmHWM) to the current RSS
_FIELD = re.compile(r"^(VmHWM|VmRSS):\s+(\d+)\s+kB", re.MULTILINE)


def _status(status: Path = STATUS) -> dict[str, int]:
    """VmHWM and VmRSS of this process in bytes; {} where /proc has none."""
    try:
        text = status.read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    return {name: int(kib) * 1024 for name, kib in _FIELD.findall(text)}


def resident_bytes() -> int | None:
    try:
        import psutil
    except ImportError:     # the worker's interpreter need not have perfaction's dependencies
        return _status().get("VmRSS")
    try:
        return int(psutil.Process().memory_info().rss)
    except (psutil.Error, OSError):
        return None


class PeakWatch:
    """Started before the calls, read after them: ``growth()`` bytes, or None."""

    def __init__(self, *, status: Path = STATUS, clear_refs: Path = CLEAR_REFS) -> None:
        self._status = status
        self._start = resident_bytes() if status == STATUS else _status(status).get("VmRSS")
        try:
            clear_refs.write_text(RESET_PEAK, encoding="ascii")
            self._reset = True
        except OSError:
            self._reset = False

    def growth(self) -> float | None:
        if not self._reset or self._start is None:
            return None
        peak = _status(self._status).get("VmHWM")
        return None if peak is None else float(max(0, peak - self._start))
