"""What the CPU offers, read before TensorFlow loads: its instruction-set flags, and from them
whether TensorFlow will run convolutions through oneDNN or through its own Eigen kernels.

The memory plan needs this: with TensorFlow's gradient kernel an evaluation on an AVX2-only CPU
keeps about a third more bytes per pixel than on the AVX-512 CPUs where TensorFlow takes oneDNN,
and with the flipped kernel (`conv_gradient.py`, which pays only where TensorFlow uses its Eigen
kernels) far fewer (docs/performance.md); `memory.py` plans tiles before TensorFlow is imported.
"""

from __future__ import annotations

import os
import platform
from functools import lru_cache

ONEDNN_DEFAULT_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16"})
"""TensorFlow's own rule on Linux (tensorflow/core/util/port.cc, `DefaultOneDnnPolicy`): oneDNN is
on by default only for CPUs with one of these neural-network features."""


@lru_cache(maxsize=1)
def flags() -> frozenset[str]:
    """The CPU's feature flags as Linux reports them; empty where /proc/cpuinfo does not exist."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_native_bfloat16() -> bool:
    """x86 with AVX512_BF16 or AMX-BF16: bfloat16 convolutions run natively, not emulated. False
    where the flags cannot be read (`flags` is empty there), so `auto` stays float32."""
    return bool(flags() & {"avx512_bf16", "amx_bf16"})


def onednn_enabled() -> bool:
    """Whether TensorFlow's CPU convolutions will go through oneDNN in this process, by TensorFlow's
    own rule: `TF_ENABLE_ONEDNN_OPTS` when it is set to a value TensorFlow reads, else on for
    x86 Windows and for Linux CPUs with `ONEDNN_DEFAULT_FLAGS`, off elsewhere. Where we cannot tell
    (an ARM server TensorFlow may treat specially), False, which the memory plan reads as the safe
    side."""
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").lower()
    if setting in ("1", "true"):
        return True
    if setting in ("0", "false"):
        return False
    system, machine = platform.system(), platform.machine().lower()
    if system == "Windows":
        return machine in ("amd64", "x86_64")
    if system == "Linux":
        return bool(flags() & ONEDNN_DEFAULT_FLAGS)
    return False


def eigen_convolutions() -> bool:
    """Whether TensorFlow will convolve with its own Eigen kernels on a CPU we could read: oneDNN
    off by its rule, and the flags known (Linux on x86). That is where the flipped-kernel gradient
    and TensorFlow's BFC allocator were measured to pay (docs/performance.md): the allocator
    (`tensorflow_env`) and the memory plan's Eigen figures (`memory.py`) are used only here.
    `--conv-gradient auto` asks only whether oneDNN is off (`conv_gradient.resolve`), so it takes
    the flipped kernel on a CPU whose flags cannot be read as well."""
    return not onednn_enabled() and bool(flags())
