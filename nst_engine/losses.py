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


def symmetric_gram(features: tf.Tensor, pieces: int = 1) -> tf.Tensor:
    """The float32 Gram matrix of activations (1, H, W, C), with its gradient written out.

    G is symmetric, so dL/dA = A·(U + Uᵀ)/n for the upstream U: one product where TensorFlow's
    gradient makes two (A·U and A·Uᵀ, then their sum). The presets' choice in float32
    (`Settings.gram_gradient`): the Gram products were a sixth of a float32 evaluation on the AMX
    machine, and this is 2–4 % of an evaluation (docs/performance.md); `tutorial` keeps
    TensorFlow's. With `pieces` > 1 the positions are cut into that many pieces whose products are
    summed in float32 (`bfloat16_gram`)."""
    shape = features.shape
    positions, channels = int(shape[1]) * int(shape[2]), int(shape[3])
    per_piece = positions // pieces

    @tf.custom_gradient
    def gram(activations):
        matrix = tf.reshape(activations, [positions, channels])
        if pieces == 1:
            total = tf.cast(tf.matmul(matrix, matrix, transpose_a=True), tf.float32)
        else:
            cut = tf.reshape(matrix[: pieces * per_piece], [pieces, per_piece, channels])
            total = tf.reduce_sum(tf.cast(tf.matmul(cut, cut, transpose_a=True), tf.float32), axis=0)
            if pieces * per_piece < positions:  # the last few positions, when they do not divide evenly
                rest = matrix[pieces * per_piece :]
                total += tf.cast(tf.matmul(rest, rest, transpose_a=True), tf.float32)

        def gradient(upstream):
            symmetric = tf.cast((upstream + tf.transpose(upstream)) / positions, matrix.dtype)
            return tf.reshape(tf.matmul(matrix, symmetric), shape)

        return total / positions, gradient

    return gram(features)


def bfloat16_gram(features: tf.Tensor) -> tf.Tensor:
    """The float32 Gram matrix of bfloat16 activations (1, H, W, C), from bfloat16 matrix products.

    Why: in float32 these products took half of a bfloat16 evaluation's time on a CPU with AMX
    (docs/performance.md), where bfloat16 products run on the matrix units. A product of two
    bfloat16 numbers is exact in float32, and the matrix units sum in float32; only each result is
    rounded to bfloat16 (8 bits). So the positions are cut into up to GRAM_CHUNKS pieces whose
    matrices are summed in float32: each piece's rounding is a small part of the whole. The
    gradient is `symmetric_gram`'s.
    """
    positions, channels = int(features.shape[1]) * int(features.shape[2]), int(features.shape[3])
    return symmetric_gram(features, max(1, min(GRAM_CHUNKS, positions // (GRAM_CHUNK_POSITIONS * channels))))


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
