"""The loss terms of Gatys et al. as the reference TensorFlow tutorial defines them."""

from __future__ import annotations

import tensorflow as tf


def gram_matrix(features: tf.Tensor) -> tf.Tensor:
    """AᵀA / (H·W) for the (H·W)×C matrix A of one image's activations (1, H, W, C)."""
    channels = tf.shape(features)[-1]
    matrix = tf.reshape(features, [-1, channels])
    count = tf.cast(tf.shape(matrix)[0], features.dtype)
    return tf.matmul(matrix, matrix, transpose_a=True) / count


def content_loss(features: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Mean squared difference of activations."""
    return tf.reduce_mean(tf.square(features - target))


def style_loss(features: tf.Tensor, target_gram: tf.Tensor) -> tf.Tensor:
    """Mean squared difference between this image's Gram matrix and the target's."""
    return tf.reduce_mean(tf.square(gram_matrix(features) - target_gram))


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Mean absolute difference between neighbouring pixels; smooths high-frequency noise."""
    dy = image[:, 1:, :, :] - image[:, :-1, :, :]
    dx = image[:, :, 1:, :] - image[:, :, :-1, :]
    return tf.reduce_mean(tf.abs(dy)) + tf.reduce_mean(tf.abs(dx))
