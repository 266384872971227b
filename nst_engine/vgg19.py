"""VGG19's convolutional part (Simonyan & Zisserman, 2014), built from Keras' weight file.

The network is a fixed feature extractor: its weights are constants, so gradients only ever flow to
the input image. It stops at the deepest layer asked for, so `block5_conv3` and beyond, which style
transfer never reads, cost nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import WeightsError

if TYPE_CHECKING:
    import tensorflow as tf

# Keras' layer names, in order; "pool" entries are 2x2 max-pooling with stride 2.
ARCHITECTURE: list[tuple[str, int, int]] = []
for _block, (_convs, _width) in enumerate([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)], start=1):
    _channels_in = 3 if _block == 1 else ARCHITECTURE[-1][2]
    for _conv in range(1, _convs + 1):
        ARCHITECTURE.append((f"block{_block}_conv{_conv}", _channels_in, _width))
        _channels_in = _width
    ARCHITECTURE.append((f"block{_block}_pool", _width, _width))

# ImageNet means in BGR order: images are fed the "caffe" way, BGR with the means subtracted.
BGR_MEANS = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """Float RGB 0..255 (H, W, 3) -> VGG input (1, H, W, 3): BGR, ImageNet means subtracted."""
    return (rgb[None, :, :, ::-1] - BGR_MEANS).astype(np.float32)


def deprocess(bgr: np.ndarray) -> np.ndarray:
    """Inverse of `preprocess`, clipped to 0..255: (1, H, W, 3) -> (H, W, 3) float RGB."""
    return np.clip(bgr[0, :, :, ::-1] + BGR_MEANS[::-1], 0.0, 255.0)


def load_weights(path: str | Path, up_to: str = "block5_conv4") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read (kernel, bias) for each conv layer up to `up_to`, checking every shape."""
    import h5py

    names = [name for name, _, _ in ARCHITECTURE if "conv" in name]
    if up_to not in names:
        raise ValueError(f"unknown layer {up_to}")
    wanted = [(n, i, o) for n, i, o in ARCHITECTURE if "conv" in n][: names.index(up_to) + 1]
    weights = {}
    try:
        with h5py.File(path, "r") as h5:
            for name, channels_in, channels_out in wanted:
                if name not in h5:
                    raise WeightsError(f"VGG19 weights {path} have no layer {name}", "weights_invalid")
                group = h5[name]
                arrays = [np.asarray(group[key]) for key in group.attrs.get("weight_names", sorted(group))]
                if len(arrays) != 2:
                    raise WeightsError(f"VGG19 weights {path}: layer {name} is malformed", "weights_invalid")
                kernel, bias = arrays
                if kernel.shape != (3, 3, channels_in, channels_out) or bias.shape != (channels_out,):
                    raise WeightsError(
                        f"VGG19 weights {path}: layer {name} has shape {kernel.shape}, expected "
                        f"{(3, 3, channels_in, channels_out)}: this is not VGG19's notop file",
                        "weights_invalid",
                    )
                weights[name] = (kernel.astype(np.float32), bias.astype(np.float32))
    except (OSError, KeyError) as exc:
        raise WeightsError(f"VGG19 weights {path} cannot be read as HDF5 ({exc})", "weights_invalid") from None
    return weights


class VGG19Features:
    """Callable: preprocessed image (1, H, W, 3) -> activations of the requested layers, in order.

    With `dtype="bfloat16"` the convolutions run in bfloat16 and the activations are handed back in
    bfloat16; the losses make their Gram matrices and sums in float32 (`losses.py`). `gradient`
    says which kernel computes the gradient through the convolutions (`conv_gradient.py`:
    "tensorflow" or "flipped").
    """

    def __init__(
        self,
        weights: dict[str, tuple[np.ndarray, np.ndarray]],
        outputs: list[str],
        dtype: str = "float32",
        gradient: str = "tensorflow",
    ) -> None:
        import tensorflow as tf

        from .conv_gradient import conv2d_with_flipped_gradient

        if gradient not in ("tensorflow", "flipped"):
            raise ValueError(f"unknown gradient {gradient!r}")
        self.dtype = dtype
        self.gradient = gradient
        self.outputs = list(outputs)
        order = [name for name, _, _ in ARCHITECTURE]
        deepest = max(order.index(name) for name in self.outputs)
        self.plan = order[: deepest + 1]
        self.params = {
            name: (tf.constant(kernel, dtype=dtype), tf.constant(bias, dtype=dtype))
            for name, (kernel, bias) in weights.items()
            if name in self.plan
        }
        self.convolutions = {
            name: conv2d_with_flipped_gradient(kernel)
            if gradient == "flipped"
            else (lambda x, kernel=kernel: tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))
            for name, (kernel, _) in self.params.items()
        }

    def __call__(self, image: tf.Tensor) -> list[tf.Tensor]:
        import tensorflow as tf

        found = {}
        x = tf.cast(image, self.dtype)
        for name in self.plan:
            if name.endswith("pool"):
                x = tf.nn.max_pool2d(x, ksize=2, strides=2, padding="VALID")
            else:
                x = tf.nn.relu(tf.nn.bias_add(self.convolutions[name](x), self.params[name][1]))
            if name in self.outputs:
                found[name] = x
        return [found[name] for name in self.outputs]
