"""The loss terms of Gatys et al. as the reference TensorFlow tutorial defines them.

Activations may come in bfloat16 (`vgg19.VGG19Features` with that dtype); every loss and Gram
matrix is float32 all the same.
"""

from __future__ import annotations

import tensorflow as tf

from .settings import GRAM_GRADIENTS

GRAM_CHUNKS = 64
"""At most this many pieces of a bfloat16 Gram matrix are summed in float32 (`bfloat16_gram`)."""

GRAM_CHUNK_POSITIONS = 4
"""A piece has at least this many positions per channel, so that the pieces' matrices are
smaller than the activations they come from."""


def gram_matrix(features: tf.Tensor, gradient: str = "tensorflow") -> tf.Tensor:
    """AᵀA / (H·W) for the (H·W)×C matrix A of one image's activations (1, H, W, C), in float32.

    float32 activations take TensorFlow's own matmul and gradient, as the tutorial does, or with
    `gradient="symmetric"` `symmetric_gram`; bfloat16 ones always take `bfloat16_gram`."""
    if gradient not in GRAM_GRADIENTS:
        raise ValueError(f"unknown Gram gradient {gradient!r}")
    if features.dtype == tf.bfloat16:
        return bfloat16_gram(features)
    if gradient == "symmetric":
        return symmetric_gram(features)
    channels = tf.shape(features)[-1]
    matrix = tf.reshape(features, [-1, channels])
    count = tf.cast(tf.shape(matrix)[0], features.dtype)
    return tf.matmul(matrix, matrix, transpose_a=True) / count


def _symmetric_gradient(matrix: tf.Tensor, upstream: tf.Tensor, positions: int, shape: tf.TensorShape) -> tf.Tensor:
    """dL/dA for G = AᵀA/n and the upstream U = dL/dG: A·(U + Uᵀ)/n, in A's dtype.

    Why: G is symmetric, so one product does what TensorFlow's two (A·U and A·Uᵀ, then their sum)
    do; the products are most of a Gram matrix's cost."""
    symmetric = tf.cast((upstream + tf.transpose(upstream)) / positions, matrix.dtype)
    return tf.reshape(tf.matmul(matrix, symmetric), shape)


def symmetric_gram(features: tf.Tensor) -> tf.Tensor:
    """The Gram matrix of float32 activations (1, H, W, C) with a one-product gradient.

    The presets' choice (`Settings.gram_gradient`): the Gram matrices' products were a sixth of a
    float32 evaluation on the AMX machine, and this makes two of them where TensorFlow makes three
    (2–3 % of an evaluation, docs/performance.md). `tutorial` keeps TensorFlow's."""
    shape = features.shape
    positions, channels = int(shape[1]) * int(shape[2]), int(shape[3])

    @tf.custom_gradient
    def gram(activations):
        matrix = tf.reshape(activations, [positions, channels])
        value = tf.matmul(matrix, matrix, transpose_a=True) / positions
        return value, lambda upstream: _symmetric_gradient(matrix, upstream, positions, shape)

    return gram(features)


def bfloat16_gram(features: tf.Tensor) -> tf.Tensor:
    """The float32 Gram matrix of bfloat16 activations (1, H, W, C), from bfloat16 matrix products.

    Why: in float32 these products took half of a bfloat16 evaluation's time on a CPU with AMX
    (docs/performance.md), where bfloat16 products run on the matrix units. A product of two
    bfloat16 numbers is exact in float32, and the matrix units sum in float32; only each result is
    rounded to bfloat16 (8 bits). So the positions are cut into up to GRAM_CHUNKS pieces whose
    matrices are summed in float32: each piece's rounding is a small part of the whole.

    The gradient is written out as in `symmetric_gram`: one product where TensorFlow's would make two.
    """
    shape = features.shape
    positions, channels = int(shape[1]) * int(shape[2]), int(shape[3])
    chunks = max(1, min(GRAM_CHUNKS, positions // (GRAM_CHUNK_POSITIONS * channels)))
    per_chunk = positions // chunks

    @tf.custom_gradient
    def gram(activations):
        matrix = tf.reshape(activations, [positions, channels])
        pieces = tf.reshape(matrix[: chunks * per_chunk], [chunks, per_chunk, channels])
        total = tf.reduce_sum(tf.cast(tf.matmul(pieces, pieces, transpose_a=True), tf.float32), axis=0)
        if chunks * per_chunk < positions:  # the last few positions, when they do not divide evenly
            rest = matrix[chunks * per_chunk :]
            total += tf.cast(tf.matmul(rest, rest, transpose_a=True), tf.float32)
        return total / positions, lambda upstream: _symmetric_gradient(matrix, upstream, positions, shape)

    return gram(features)


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of activations, in float32 (bfloat16 activations are widened)."""
    features, target = tf.cast(features, tf.float32), tf.cast(target, tf.float32)  # no-ops in float32
    return tf.reduce_mean(tf.square(features - target))


def style_loss(features: tf.Tensor, target_gram: tf.Tensor, gram_gradient: str = "tensorflow") -> tf.Tensor:
    """Mean squared difference between this image's Gram matrix and the target's."""
    return tf.reduce_mean(tf.square(gram_matrix(features, gram_gradient) - target_gram))


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels; smooths high-frequency noise."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_mean(tf.abs(dy)) + tf.reduce_mean(tf.abs(dx))
