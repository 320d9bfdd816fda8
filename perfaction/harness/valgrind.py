"""Valgrind for instruction mode: the parent's side (harness/counting.py is the worker's).

Finds Valgrind, builds the command a counting worker runs under, and reads
the instruction counts back from callgrind's dump files. Only the
``summary:`` line of each dump is read (the total of the ``Ir`` event since
the counters were last zeroed); the per-function records are skipped.

Why callgrind and not cachegrind: cachegrind before Valgrind 3.22 has no
client requests, so it can only count a whole process (imports included);
callgrind zeroes and dumps its counters on request, so one process counts
every benchmark of a batch, each on its own. Cache simulation stays off
(the default): counting instructions needs none, and it triples the cost.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from perfaction.errors import ConfigError
from perfaction.harness.counting import LABEL_PREFIX

INSTALL_HINT = ("install Valgrind (Debian/Ubuntu: apt-get install valgrind; Fedora: dnf install "
                "valgrind) or use wall-time mode (--measure time)")
HASH_SEED = "0"         # fixed string hashing: dict and set layouts, so counts, repeat exactly
_LABEL = re.compile(rf"^desc: Trigger: Client Request: {LABEL_PREFIX}:(\d+):(\d+):(\d+)\s*$",
                    re.MULTILINE)
_SUMMARY = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)
_VERSION = re.compile(r"valgrind-(\d+\.\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Valgrind:
    path: str
    version: str


def find(which: str | None = None) -> Valgrind:
    """The Valgrind on PATH (or at ``which``), or a ConfigError saying how to get one."""
    path = which or shutil.which("valgrind")
    if path is None:
        raise ConfigError(f"instruction mode (--measure instructions) counts under Valgrind, "
                          f"and no 'valgrind' is on PATH: {INSTALL_HINT}")
    try:
        # with the tool named: an image may ship callgrind alone, and the default
        # tool (memcheck) is what a bare --version would look for
        done = subprocess.run([path, "--tool=callgrind", "--version"], capture_output=True,
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ConfigError(f"cannot run {path} --version ({exc}): {INSTALL_HINT}") from None
    match = _VERSION.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise ConfigError(f"{path} --version did not print a Valgrind version "
                          f"({(done.stdout + done.stderr).strip()[:200]!r}): {INSTALL_HINT}")
    return Valgrind(path, match.group(1))


def command(valgrind: Valgrind, out_dir: Path) -> list[str]:
    """The prefix a counting worker runs under; each process dumps into ``out_dir``."""
    return [valgrind.path, "--tool=callgrind", "--instr-atstart=no",
            f"--callgrind-out-file={out_dir}/callgrind.%p",
            "--dump-line=no", "--dump-instr=no", "--quiet",
            "--vgdb=no"]      # no debugger server: nothing attaches, and the image drops its files


def counting_env(base: Mapping[str, str]) -> dict[str, str]:
    """The worker's environment under Valgrind: no PYTHON* variable but a fixed hash seed.

    The worker runs without ``-E`` here (it would drop PYTHONHASHSEED too), so
    every other PYTHON* variable goes, as ``-E`` would have ignored it.
    """
    env = {k: v for k, v in base.items() if not k.startswith("PYTHON")}
    env.update(PYTHONHASHSEED=HASH_SEED, PYTHONNOUSERSITE="1",
               PYTHONIOENCODING=base.get("PYTHONIOENCODING", "utf-8"))
    return env


Counts = dict[tuple[int, int, int], int]     # (benchmark index, repeat, calls) -> instructions


def read_counts(out_dir: Path) -> Counts:
    """Every labelled dump in ``out_dir``. The process's own dump at exit has no label."""
    counts: Counts = {}
    for path in sorted(out_dir.iterdir()):
        try:
            head = _head(path)
        except OSError:
            continue
        label, summary = _LABEL.search(head), _SUMMARY.search(head)
        if label and summary:
            key = (int(label.group(1)), int(label.group(2)), int(label.group(3)))
            counts[key] = int(summary.group(1))
    return counts


def _head(path: Path, limit: int = 64 * 1024) -> str:
    # the header (with the trigger and the summary) comes before the per-function
    # records, which can run to megabytes
    with path.open("rb") as f:
        text = f.read(limit).decode("utf-8", "replace")
    cut = text.find("\nfn=")
    return text if cut < 0 else text[:cut]


def per_call(counts: Counts, index: int) -> list[float]:
    """Instructions per call from each complete pair of dumps of benchmark ``index``,
    in the order of the pairs: (count of the larger call number - count of the
    smaller) / their difference."""
    values = []
    for repeat in sorted({r for i, r, _ in counts if i == index}):
        pair = sorted((k, total) for (i, r, k), total in counts.items()
                      if i == index and r == repeat)
        if len(pair) == 2 and pair[1][0] > pair[0][0]:
            (low, low_total), (high, high_total) = pair
            values.append((high_total - low_total) / (high - low))
    return values


def process_value(values: Iterable[float]) -> float | None:
    """A process's instructions per call: the value its pairs repeated most often.

    Once a callable is warm, most pairs count exactly the same; a few, at
    moments that repeat in every process with the same history, count more or
    less (a free list refilled, a specialisation retried, a cache rebuilt).
    The most frequent value is the steady state; without any repeat, the
    median. None without any pair.
    """
    values = list(values)
    if not values:
        return None
    tally = Counter(values)
    most = max(tally.values())
    if most == 1:
        return statistics.median(values)
    return statistics.median(v for v, n in tally.items() if n == most)
