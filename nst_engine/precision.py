"""Choosing the arithmetic for VGG19's convolutions: float32 everywhere, bfloat16 where it is native.

bfloat16 has float32's range with fewer mantissa bits, so activations never overflow; Gram
matrices and losses are float32 (bfloat16 products summed in float32: `losses.bfloat16_gram`).
`auto` picks bfloat16 only on hardware that computes it natively: x86 CPUs with AVX512_BF16 or
AMX-BF16, and NVIDIA GPUs of compute capability 8.0 (Ampere) or newer. Elsewhere bfloat16 would be
emulated and slower.
"""

from __future__ import annotations

from . import cpu
from .errors import BadInputError
from .settings import PRECISIONS as CHOICES


def gpu_details(device: str) -> dict:
    """What TensorFlow says of the GPU `device` (e.g. 'GPU:0'): `compute_capability`,
    `device_name`; {} where it does not know that GPU."""
    import tensorflow as tf

    index = int(device.rsplit(":", 1)[1]) if ":" in device else 0
    gpus = tf.config.list_physical_devices("GPU")
    return tf.config.experimental.get_device_details(gpus[index]) if index < len(gpus) else {}


def gpu_has_native_bfloat16(device: str) -> bool:
    """Whether the GPU `device` (e.g. 'GPU:0') has native bfloat16: compute capability 8.0 or more."""
    capability = gpu_details(device).get("compute_capability")
    return bool(capability and tuple(capability) >= (8, 0))


def resolve(choice: str, device: str) -> str:
    """'float32' or 'bfloat16' for a user's choice of 'auto', 'float32' or 'bfloat16' on `device`
    ('CPU' or e.g. 'GPU:0', where the run computes: a machine's GPU says nothing about its CPU)."""
    if choice not in CHOICES:
        raise BadInputError(f"--precision must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice != "auto":
        return choice
    native = cpu.has_native_bfloat16() if device == "CPU" else gpu_has_native_bfloat16(device)
    return "bfloat16" if native else "float32"
