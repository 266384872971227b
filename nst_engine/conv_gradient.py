"""How the gradient flows back through VGG19's convolutions to the image.

Every convolution here has stride 1, a square odd kernel and 'SAME' padding. For such a
convolution y = x ⋆ W, the gradient with respect to its input is itself such a convolution:
dL/dx = dL/dy ⋆ W', with W' the kernel turned by 180° and its input and output channels swapped.
The arithmetic is the same; only the kernel that computes it differs:

- `tensorflow`: TensorFlow's own gradient (`Conv2DBackpropInput`). Where TensorFlow's CPU kernels
  are its Eigen ones (no oneDNN: AVX2-only CPUs, for one), it first writes out a matrix of every
  pixel's 3×3 neighbourhood of output gradients — 1.8 GB for `block1_conv2` at 1024×768 — which
  sets the evaluation's peak memory.
- `flipped`: the forward convolution with W', which works through the image block by block. With
  Eigen it needed a fifth to a third less memory and was a fifth to a third faster at 512 and
  1024 px (docs/performance.md). With oneDNN it was no faster on an AVX-512 CPU that takes oneDNN
  by itself, in float32 or bfloat16, and used up to 7 % more memory (slower still where oneDNN was
  forced on an AVX2 CPU), so it is not the choice there.
- `auto`: `flipped` where TensorFlow convolves on the CPU with Eigen, else `tensorflow`.

The `tutorial` preset keeps `tensorflow`: it computes the tutorial's loop as the tutorial does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import cpu
from .errors import BadInputError
from .settings import CONV_GRADIENTS as CHOICES

if TYPE_CHECKING:
    import tensorflow as tf


def resolve(choice: str, device: str) -> str:
    """'tensorflow' or 'flipped' for a user's choice, on `device` ('CPU' or e.g. 'GPU:0')."""
    if choice not in CHOICES:
        raise BadInputError(f"--conv-gradient must be one of {', '.join(CHOICES)}, not {choice!r}")
    if choice != "auto":
        return choice
    return "flipped" if device == "CPU" and not cpu.onednn_enabled() else "tensorflow"


def flipped_kernel(kernel: tf.Tensor) -> tf.Tensor:
    """W' for a kernel of shape (k, k, in, out): turned by 180°, channels swapped -> (k, k, out, in)."""
    import tensorflow as tf

    return tf.transpose(tf.reverse(kernel, axis=[0, 1]), perm=[0, 1, 3, 2])


def conv2d_with_flipped_gradient(kernel: tf.Tensor) -> Callable[[tf.Tensor], tf.Tensor]:
    """A function x -> conv2d(x, kernel, stride 1, 'SAME') whose input gradient is the forward
    convolution with `flipped_kernel(kernel)`. The kernel is a constant: no gradient flows to it."""
    import tensorflow as tf

    size = int(kernel.shape[0])
    if kernel.shape[1] != size or size % 2 != 1:
        raise ValueError(f"a square kernel of odd size is needed, not {tuple(kernel.shape[:2])}")
    backward = flipped_kernel(kernel)  # computed once, when the network is built

    @tf.custom_gradient
    def conv(x):
        def gradient(upstream):
            return tf.nn.conv2d(upstream, backward, strides=1, padding="SAME")

        return tf.nn.conv2d(x, kernel, strides=1, padding="SAME"), gradient

    return conv
