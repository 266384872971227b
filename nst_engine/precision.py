"""Choosing the arithmetic for VGG19's convolutions: float32 everywhere, bfloat16 where it is native.

bfloat16 has float32's range with fewer mantissa bits, so activations never overflow; Gram
matrices and losses stay in float32 (see `vgg19.VGG19Features`). `auto` picks bfloat16 only on
hardware that computes it natively: x86 CPUs with AVX512_BF16 or AMX-BF16, and NVIDIA GPUs of
compute capability 8.0 (Ampere) or newer. Elsewhere bfloat16 would be emulated and slower.
"""

from __future__ import annotations

from . import cpu
from .errors import BadInputError

CHOICES = ("auto", "float32", "bfloat16")


def gpu_has_native_bfloat16() -> bool | None:
    """True/False for the first GPU TensorFlow sees; None when there is no GPU."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    return bool(capability and tuple(capability) >= (8, 0))


def resolve(choice: str) -> str:
    """'float32' or 'bfloat16' for a user's choice of 'auto', 'float32' or 'bfloat16'."""
    if choice not in CHOICES:
        raise BadInputError(f"--precision must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice != "auto":
        return choice
    gpu = gpu_has_native_bfloat16()
    native = gpu if gpu is not None else cpu.has_native_bfloat16()
    return "bfloat16" if native else "float32"
