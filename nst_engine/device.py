"""Choosing the device a run computes on: a GPU only if it can really run the engine's work.

TensorFlow lists a GPU as soon as it finds a driver, even one that cannot run anything (a driver
and cuDNN that do not match, a compute capability this TensorFlow has no kernels for); the first
convolution then fails deep inside the run. A tiny convolution, its gradient and a matrix product
tried here first tell, and a GPU that fails them leaves the whole run to the CPU, with one line
that says why. `CUDA_VISIBLE_DEVICES=-1` in the environment hides every GPU: the CPU, on purpose.

This module imports TensorFlow; `prepare` must run before TensorFlow's first operation.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from . import memory, precision

CPU = "CPU"

NO_GPU_IN_TENSORFLOW = (
    "TensorFlow sees no GPU although nvidia-smi lists one: install the engine with the installer's --gpu "
    "option to use it (running on the CPU)"
)


@dataclass(frozen=True)
class Device:
    """Where a run computes, and in which arithmetic its convolutions run there."""

    name: str  # 'CPU' or e.g. 'GPU:0', as the protocol reports it
    dtype: str  # 'float32' or 'bfloat16' (`precision.resolve` for this device)
    memory: int | None = None  # on a GPU, the bytes the run's tiles may plan for (`gpu_plannable_bytes`)

    def scope(self) -> AbstractContextManager:
        """Place every operation opened inside on this device (the CPU after a failed GPU check)."""
        return tf.device("/CPU:0" if self.name == CPU else "/" + self.name)


def prepare() -> str:
    """Let TensorFlow take GPU memory as it needs it (Krita shares the GPU), keep float32 float32,
    and name the device TensorFlow offers: 'CPU' or e.g. 'GPU:0'.

    TensorFlow runs float32 convolutions and matrix products in TF32 (10-bit mantissa) on NVIDIA
    GPUs from Ampere on unless told not to: then `tutorial` would not compute the tutorial's
    arithmetic, and the Gram matrices that the bfloat16 path keeps in float32 would not be. `auto`
    picks bfloat16 on those GPUs, which measured as fast as TF32 (docs/performance.md, "On a GPU").
    A run computes on one GPU, the first (CUDA puts the fastest first), so only that one is made
    visible: TensorFlow would otherwise open a context, and take memory, on every GPU, the one
    that drives the painter's screen included.
    Must run before the first TensorFlow operation: neither can be set after it.
    """
    tf.config.experimental.enable_tensor_float_32_execution(False)
    physical = tf.config.list_physical_devices("GPU")
    try:
        if len(physical) > 1:
            tf.config.set_visible_devices(physical[:1], "GPU")
        for gpu in physical[:1]:
            tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError:  # already initialised (a second run in the same process): set by the first
        pass
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name.replace("/device:", "") if gpus else CPU


def _exercise(name: str, dtype: str) -> None:
    """A 3×3 convolution, its gradient to the input and a matrix product on `name` in `dtype`,
    read back to the host so that a failure shows here and not in the run."""
    with tf.device("/" + name):
        image = tf.constant(np.linspace(0.0, 1.0, 2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3))
        kernel = tf.cast(tf.fill((3, 3, 3, 4), 0.1), dtype)
        with tf.GradientTape() as tape:
            tape.watch(image)
            features = tf.cast(tf.nn.conv2d(tf.cast(image, dtype), kernel, strides=1, padding="SAME"), tf.float32)
            loss = tf.reduce_sum(tf.square(features))
        gradient = tape.gradient(loss, image)
        flat = tf.cast(tf.reshape(features, (-1, 4)), dtype)
        gram = tf.matmul(flat, flat, transpose_a=True)
        gradient.numpy(), gram.numpy()


def gpu_failure(name: str, dtype: str) -> str | None:
    """Why the GPU `name` cannot run the engine's work in `dtype`, or None when it can."""
    try:
        _exercise(name, dtype)
    except (tf.errors.OpError, RuntimeError) as error:
        text = (getattr(error, "message", "") or str(error)).strip()
        return f"{type(error).__name__}: {text.splitlines()[0] if text else 'no message'}"[:300]
    return None


def gpus_hidden() -> bool:
    """Whether `CUDA_VISIBLE_DEVICES` hides every GPU (empty, or starting with a negative id)."""
    value = os.environ.get("CUDA_VISIBLE_DEVICES")
    return value is not None and (not value.strip() or value.split(",")[0].strip().startswith("-"))


def gpu_model(name: str) -> str:
    """The GPU `name`'s model as the driver names it (e.g. 'NVIDIA GeForce RTX 3080'), which is
    also how nvidia-smi names it; '' where TensorFlow does not say."""
    return str(precision.gpu_details(name).get("device_name", ""))


def gpu_plannable_bytes(name: str, log: Callable[[str], None]) -> int:
    """The bytes a run may plan for on the GPU `name` (`memory.gpu_memory`); where nvidia-smi gives
    no reading, `memory.GPU_DEFAULT_BYTES`, said in the log."""
    reading = memory.gpu_memory(gpu_model(name))
    if reading is None:
        reading = memory.GPU_DEFAULT_BYTES
        log(f"nvidia-smi gives no reading of the GPU's memory: planning tiles for {reading / memory.GIB:g} GiB")
    return reading


def _unused_gpu_hint() -> str:
    """What to do about an NVIDIA GPU that TensorFlow does not see, for this platform."""
    if sys.platform.startswith("linux"):
        return NO_GPU_IN_TENSORFLOW
    return "TensorFlow uses NVIDIA GPUs only on Linux (on Windows: inside WSL2): running on the CPU"


def select(precision_choice: str, log: Callable[[str], None], optimizer: str | None = None) -> Device:
    """The device a run computes on, set up, with its convolutions' arithmetic and, on a GPU, the
    memory its tiles may plan for (read when `optimizer` is given: a run's, not a standby's).

    A GPU that fails `gpu_failure`, or has too little memory free for the smallest tile, is passed
    over for the CPU (one line in the log says why); a GPU that nvidia-smi lists but TensorFlow
    does not see gets a line saying how to use it."""
    name = prepare()
    dtype = precision.resolve(precision_choice, name)
    if name == CPU:
        if not gpus_hidden() and memory.nvidia_gpu_listed():
            log(_unused_gpu_hint())
        return Device(CPU, dtype)
    failure = gpu_failure(name, dtype)
    plannable = None
    if failure is None and optimizer is not None:
        plannable = gpu_plannable_bytes(name, log)
        needed = memory.gpu_minimum_bytes(optimizer)
        if plannable < needed:
            failure = (
                f"{plannable // memory.MIB} MiB of its memory is free for the run, under the "
                f"{needed // memory.MIB} MiB its smallest tile needs"
            )
    if failure is None:
        return Device(name, dtype, plannable)
    log(f"the GPU {name} cannot run the engine ({failure}): running on the CPU")
    return Device(CPU, precision.resolve(precision_choice, CPU))
