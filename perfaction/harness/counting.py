"""Counting a benchmark's instructions under Valgrind: the worker's side.

In instruction mode the worker runs under ``valgrind --tool=callgrind
--instr-atstart=no`` (harness/valgrind.py builds the command and reads the
counts back). Interpreter start-up and the imports run uninstrumented (about
3x faster under Valgrind); the first benchmark switches instrumentation on
and it stays on, since every switch discards Valgrind's translated code
(about 0.15 s to rebuild per benchmark). Later set-ups then run
instrumented, slower but never counted.

For each benchmark the worker warms the callable up, then takes ``repeats``
pairs of dumps: callgrind's counters are zeroed, the callable runs k times,
and the count is dumped under a label naming the benchmark, the pair and k.
The parent reads instructions per call as (count(k2) - count(k1)) / (k2 -
k1): what the two dumps of a pair share (the requests, the loop around the
calls) cancels. The request blocks are built beforehand, so between a zero
and a dump nothing allocates but the benchmark.

The requests are Valgrind's "client requests": a fixed instruction sequence
that does nothing on a real CPU and that Valgrind's translator recognises.
C code gets them from valgrind.h macros; to need no compiler here, the
worker writes the x86-64 sequence into one executable page and calls it
through ctypes. Other architectures get a clear error (instruction mode
supports x86-64 Linux, which GitHub's standard runners are).

The cyclic garbage collector is off while counting (as timeit does):
collections would start at allocation counts that fall at different points
in each repeat, and make identical calls count differently. Standard
library only: the worker imports this next to user code.
"""

from __future__ import annotations

import ctypes
import gc
import mmap
import platform
from collections.abc import Callable
from typing import Any

# Request codes (valgrind.h and callgrind.h): a tool's base is two letters in the top bytes.
_CALLGRIND = (ord("C") << 24) | (ord("T") << 16)
ZERO_STATS = _CALLGRIND + 1
DUMP_STATS_AT = _CALLGRIND + 3
START_INSTRUMENTATION = _CALLGRIND + 4
RUNNING_ON_VALGRIND = 0x1001

# x86-64: rax holds the address of the request block (code and five arguments),
# rdx the value returned when not under Valgrind; the four rotations of rdi by
# 128 bits in all are the marker, ``xchg rbx, rbx`` the request.
_X86_64_REQUEST = bytes.fromhex(
    "4889f8"        # mov rax, rdi      (first argument: the block)
    "4889f2"        # mov rdx, rsi      (second argument: the default result)
    "48c1c703"      # rol rdi, 3
    "48c1c70d"      # rol rdi, 13
    "48c1c73d"      # rol rdi, 61
    "48c1c733"      # rol rdi, 51
    "4887db"        # xchg rbx, rbx
    "4889d0"        # mov rax, rdx      (the result)
    "c3")           # ret
_SUPPORTED_MACHINES = ("x86_64", "amd64", "AMD64")
# cpuid(leaf, subleaf, out): the four result registers into out[0..3]. Under
# Valgrind the instruction is emulated: it answers with the features the
# counted code can use (Valgrind's own subset, no AVX-512), not the host's.
_X86_64_CPUID = bytes.fromhex(
    "53"            # push rbx          (callee-saved; cpuid writes it)
    "4989d0"        # mov r8, rdx       (third argument: the output block)
    "89f8"          # mov eax, edi      (leaf)
    "89f1"          # mov ecx, esi      (subleaf)
    "0fa2"          # cpuid
    "418900"        # mov [r8], eax
    "41895804"      # mov [r8+4], ebx
    "41894808"      # mov [r8+8], ecx
    "4189500c"      # mov [r8+12], edx
    "5b"            # pop rbx
    "c3")           # ret
# (leaf, register index in eax/ebx/ecx/edx order, bit, name): extensions that
# libraries dispatch on, named as /proc/cpuinfo names them.
_FEATURES = ((1, 2, 19, "sse4_1"), (1, 2, 20, "sse4_2"), (1, 2, 23, "popcnt"),
             (1, 2, 25, "aes"), (1, 2, 28, "avx"), (1, 2, 12, "fma"),
             (7, 1, 3, "bmi1"), (7, 1, 5, "avx2"), (7, 1, 8, "bmi2"), (7, 1, 9, "erms"),
             (7, 1, 16, "avx512f"), (7, 1, 29, "sha_ni"), (7, 2, 9, "vaes"),
             (7, 3, 4, "fsrm"))

WARMUP_CALLS = 8        # Python 3.11+ specialises a function's bytecode over its first calls
CALLS = (1, 3)          # calls between the dumps of a pair: per call = difference / 2
REPEATS = 5             # pairs per benchmark and process; the parent takes the most frequent value
LABEL_PREFIX = "perfaction"
WARMUP_INDEX = 999_999  # the label of the dumps that warm the request path up; never a benchmark


class UnsupportedMachine(RuntimeError):
    """Instruction counting cannot issue Valgrind requests on this architecture."""


def check_machine() -> None:
    """Raise UnsupportedMachine off x86-64 (the request page is x86-64 code)."""
    machine = platform.machine()
    if machine not in _SUPPORTED_MACHINES:
        raise UnsupportedMachine(
            f"instruction mode issues Valgrind requests on x86-64 only; this machine is "
            f"{machine or 'of an unknown architecture'}: use wall-time mode here "
            "(measure: time)")


class ClientRequests:
    """Valgrind client requests from Python, through one executable page of machine code."""

    def __init__(self) -> None:
        check_machine()
        try:
            self._page = mmap.mmap(-1, mmap.PAGESIZE,
                                   prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        except OSError as exc:
            raise UnsupportedMachine(
                f"instruction mode needs one executable memory page for Valgrind's requests, "
                f"and this system refused it ({exc}; a hardened kernel or SELinux's execmem "
                "rule does): use wall-time mode here (measure: time)") from None
        self._page.write(_X86_64_REQUEST)
        address = ctypes.addressof(ctypes.c_char.from_buffer(self._page))
        prototype = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t),
                                     ctypes.c_size_t)
        self._call = prototype(address)
        self._labels: list[Any] = []    # label buffers stay alive until Valgrind read them
        self.instrumenting = False
        self.zero_block = self.block(ZERO_STATS)
        self._page.seek(len(_X86_64_REQUEST) + 16 - len(_X86_64_REQUEST) % 16)
        cpuid_at = self._page.tell()
        self._page.write(_X86_64_CPUID)
        self._cpuid = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                                       ctypes.POINTER(ctypes.c_uint32))(address + cpuid_at)

    def cpu_features(self) -> str:
        """The extensions of _FEATURES this CPU reports (Valgrind's, under Valgrind),
        sorted and space-separated, as environment.cpu_features gives them."""
        present = []
        for leaf, register, bit, name in _FEATURES:
            out = (ctypes.c_uint32 * 4)()
            self._cpuid(leaf, 0, out)
            if out[register] >> bit & 1:
                present.append(name)
        return " ".join(sorted(present))

    @staticmethod
    def block(code: int, *args: int) -> Any:
        """A request's block: the code and five arguments."""
        return (ctypes.c_size_t * 6)(code, *args, *([0] * (5 - len(args))))

    def request(self, code: int, *args: int) -> int:
        return int(self._call(self.block(code, *args), 0))

    def send(self, block: Any) -> None:
        """A request built beforehand: between a zero and a dump nothing is allocated
        but what the benchmark allocates, so the requests cost the same every time."""
        self._call(block, 0)

    def on_valgrind(self) -> bool:
        return self.request(RUNNING_ON_VALGRIND) > 0

    def dump_block(self, label: str) -> Any:
        buffer = ctypes.create_string_buffer(label.encode("ascii"))
        self._labels.append(buffer)
        return self.block(DUMP_STATS_AT, ctypes.addressof(buffer))

    def start(self) -> None:
        """Switch instrumentation on; it stays on (see the module's doc)."""
        if not self.instrumenting:
            self.request(START_INSTRUMENTATION)
            self.instrumenting = True


def dump_label(index: int, repeat: int, calls: int) -> str:
    """The label of one dump; harness/valgrind.py parses it back. Fixed width, so
    every label costs the same to build and the difference of a pair cancels it."""
    return f"{LABEL_PREFIX}:{index:06d}:{repeat:03d}:{calls:06d}"


def _calls(func: Callable[[], Any], k: int) -> None:
    # One call site for the warm-up and the counted calls: CPython specialises
    # each call site for what it calls, so the site the counted calls go
    # through is warm for this benchmark's callable, whichever one came before.
    for _ in range(k):
        func()


def _noop() -> None:
    pass


def _pairs(func: Callable[[], Any], requests: ClientRequests, dumps: list[list[Any]],
           warmup: int, calls: tuple[int, int]) -> None:
    zero, send = requests.zero_block, requests.send
    _calls(func, warmup)
    for pair in dumps:
        for k, dump in zip(calls, pair, strict=True):
            send(zero)
            _calls(func, k)
            send(dump)


def count(func: Callable[[], Any], requests: ClientRequests, *, index: int,
          warmup: int = WARMUP_CALLS, repeats: int = REPEATS,
          calls: tuple[int, int] = CALLS) -> None:
    """Warm ``func`` up, then dump ``repeats`` pairs of counts under ``index``'s labels."""
    def labelled(i: int) -> list[list[Any]]:
        return [[requests.dump_block(dump_label(i, r, k)) for k in calls] for r in range(repeats)]

    dumps = labelled(index)
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        if not requests.instrumenting:
            requests.start()
            # the first counted benchmark would otherwise pay the first runs of
            # everything above (the request path, the loops): a no-op pays them,
            # under a label the parent ignores
            _pairs(_noop, requests, labelled(WARMUP_INDEX), warmup, calls)
        _pairs(func, requests, dumps, warmup, calls)
    finally:
        if enabled:
            gc.enable()
