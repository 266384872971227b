"""The settings TensorFlow reads from the process's environment, set before it loads.

TensorFlow reads these once, when it starts (the allocator at its first operation), so every
entry point that loads it calls `prepare()` first: a run, a standby engine, the benchmarks and the
tests. Each is only a default: a value the user has set is left alone, so any of them can be
turned off again (`TF_CPU_ALLOCATOR_USE_BFC=0`) to compare.
"""

from __future__ import annotations

import os

from . import cpu, memory

QUIET = {"TF_CPP_MIN_LOG_LEVEL": "2"}
"""TensorFlow's info and warning lines would bury the engine's own messages on stderr."""

BFC_NAME = "TF_CPU_ALLOCATOR_USE_BFC"
BFC_ALLOCATOR = {BFC_NAME: "1"}
"""TensorFlow's best-fit-with-coalescing allocator for tensors in main memory, instead of the C
library's malloc, where TensorFlow uses its Eigen kernels (`cpu.eigen_convolutions`). One evaluation
frees and allocates the same large tensors as the one before; the C library hands blocks over its
mmap threshold back to the system and faults them in afresh, zeroed, every time, while this
allocator keeps them for the next evaluation. Measured on an AVX2-only CPU (docs/performance.md,
table of changes): 10–15 % less time per evaluation for `balanced`, 20–25 % for `tutorial`; peaks
3–11 % lower at 512–1536 px with the presets' flipped-kernel gradient (5 % higher at 2048), but a
fifth to a third higher with TensorFlow's own gradient kernel (`tutorial`) at 1024–1536 px, which
`memory.py` plans for. Either way the peak levels off within the first 30 steps. Where TensorFlow
uses oneDNN its default is not malloc but oneDNN's own allocator (`MklCPUAllocator`), which keeps
large blocks in a BFC allocator of its own: asking for BFC there gained nothing, on an AVX-512 CPU
that takes oneDNN by itself or with oneDNN forced on an AVX2 one, so TensorFlow's default stays.
Where the CPU cannot be read it was not measured, so the default stays there too."""

BFC_LIMIT_NAME = "TF_CPU_BFC_MEM_LIMIT_IN_MB"
BFC_DEFAULT_LIMIT_MIB = 64 * 1024
"""The allocator refuses to grow past this (TensorFlow's default: 64 GiB), so on a machine with more
RAM the limit is raised to the RAM's size: `--max-memory` is the ceiling a painter sets, not this."""


def settings() -> dict[str, str]:
    """The environment TensorFlow should start with on this machine."""
    wanted = dict(QUIET)
    if not cpu.eigen_convolutions():
        return wanted
    wanted.update(BFC_ALLOCATOR)
    total = memory.physical_memory()
    if total and total // memory.MIB > BFC_DEFAULT_LIMIT_MIB:
        wanted[BFC_LIMIT_NAME] = str(total // memory.MIB)
    return wanted


def default_allocator() -> str:
    """'oneDNN' or 'malloc': what TensorFlow takes for tensors in main memory when nobody asks for
    BFC: oneDNN's own allocator where it uses oneDNN, else the C library's malloc."""
    return "oneDNN" if cpu.onednn_enabled() else "malloc"


def allocator() -> str:
    """'BFC', 'oneDNN' or 'malloc': the allocator TensorFlow will use for tensors in main memory in an
    engine started from this process's environment, the user's setting over the engine's default
    (TensorFlow reads "1" or "true")."""
    value = {**settings(), **os.environ}.get(BFC_NAME, "")
    return "BFC" if value.lower() in ("1", "true") else default_allocator()


def prepare() -> None:
    """Set each of `settings()` that the environment does not already set. Call before TensorFlow's
    first operation; later it changes nothing."""
    for name, value in settings().items():
        os.environ.setdefault(name, value)
