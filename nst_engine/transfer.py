"""The optimisation itself: the tutorial's objective, minimised over the image pixels with Adam.

This module imports TensorFlow; everything that can fail because of the user's input is checked
before it is imported (see `run.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .errors import CancelledError
from .losses import content_loss, gram_matrix, style_loss, total_variation_loss
from .settings import CONTENT_LAYERS, STYLE_LAYERS, Settings
from .vgg19 import BGR_MEANS, VGG19Features, load_weights, preprocess


@dataclass
class LossTerms:
    """The weighted terms of one evaluation; `total` is what the optimiser minimises."""

    total: float
    content: float
    style: float
    tv: float


class Objective:
    """Content, style and total-variation loss of an image against fixed targets.

    Targets (content activations, blended Gram matrices) are computed once, here.
    """

    def __init__(
        self,
        extractor: VGG19Features,
        content: np.ndarray,
        styles: Sequence[np.ndarray],
        style_blend: Sequence[float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
    ) -> None:
        self.extractor = extractor
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.content_targets = extractor(tf.constant(preprocess(content)))[len(STYLE_LAYERS) :]
        blend = np.asarray(style_blend, dtype=np.float64) / np.sum(style_blend)
        grams = [0.0] * len(STYLE_LAYERS)
        for style, share in zip(styles, blend):
            features = extractor(tf.constant(preprocess(style)))[: len(STYLE_LAYERS)]
            grams = [g + float(share) * gram_matrix(f) for g, f in zip(grams, features)]
        self.gram_targets = grams

    def __call__(self, image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """(total, content, style, tv) for a preprocessed image (1, H, W, 3), weights applied."""
        outputs = self.extractor(image)
        style_outputs, content_outputs = outputs[: len(STYLE_LAYERS)], outputs[len(STYLE_LAYERS) :]
        style = tf.add_n([style_loss(f, g) for f, g in zip(style_outputs, self.gram_targets)])
        style = style / len(STYLE_LAYERS)
        content = tf.add_n([content_loss(f, t) for f, t in zip(content_outputs, self.content_targets)])
        content = content / len(CONTENT_LAYERS)
        tv = total_variation_loss(image) if self.tv_weight else tf.constant(0.0)
        content, style, tv = self.content_weight * content, self.style_weight * style, self.tv_weight * tv
        return content + style + tv, content, style, tv

    def evaluate(self, rgb: np.ndarray) -> LossTerms:
        """The loss terms of a float RGB 0..255 image (for tests and benchmarks)."""
        return LossTerms(*(float(t) for t in self(tf.constant(preprocess(rgb)))))


def build_extractor(weights_path: str) -> VGG19Features:
    layers = STYLE_LAYERS + CONTENT_LAYERS
    return VGG19Features(load_weights(weights_path, up_to="block5_conv2"), layers)


def adam_update(var, grad, m, v, step, learning_rate, beta1, beta2, epsilon) -> None:
    """One Adam step as TF1's AdamOptimizer (and Keras') computes it, with ε outside the root."""
    m.assign(beta1 * m + (1.0 - beta1) * grad)
    v.assign(beta2 * v + (1.0 - beta2) * tf.square(grad))
    alpha = learning_rate * tf.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
    var.assign_sub(alpha * m / (tf.sqrt(v) + epsilon))


def initial_image(content: np.ndarray, init: str, seed: int | None) -> np.ndarray:
    """Float RGB 0..255 start point: the content itself, or uniform noise."""
    if init == "content":
        return content
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 255.0, size=content.shape).astype(np.float32)


StepCallback = Callable[[int, LossTerms, Callable[[], np.ndarray]], None]


def optimize(
    objective: Objective,
    start: np.ndarray,
    settings: Settings,
    on_step: StepCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """Minimise `objective` from `start` (float RGB); return the best image seen, float RGB.

    `on_step(iteration, terms, current_rgb)` is called after each step; `current_rgb()` fetches
    the current image only when the caller wants it (for previews).
    """
    image = tf.Variable(preprocess(start))
    m = tf.Variable(tf.zeros_like(image))
    v = tf.Variable(tf.zeros_like(image))
    best = tf.Variable(image)
    best_loss = tf.Variable(np.inf, dtype=tf.float32)
    low = tf.constant(-BGR_MEANS)
    high = tf.constant(255.0 - BGR_MEANS)

    @tf.function
    def step(t):
        with tf.GradientTape() as tape:
            total, content, style, tv = objective(image)
        grad = tape.gradient(total, image)
        # The best image is the one whose loss was just measured, before this step moves it.
        best.assign(tf.where(total < best_loss, image, best))
        best_loss.assign(tf.minimum(total, best_loss))
        adam_update(image, grad, m, v, t, settings.learning_rate, settings.beta1, settings.beta2, settings.epsilon)
        image.assign(tf.clip_by_value(image, low, high))
        return total, content, style, tv

    from .vgg19 import deprocess

    for iteration in range(1, settings.iterations + 1):
        if should_stop():
            raise CancelledError()
        terms = LossTerms(*(float(t) for t in step(tf.constant(float(iteration)))))
        if on_step:
            on_step(iteration, terms, lambda: deprocess(image.numpy()))
    if should_stop():
        raise CancelledError()
    return deprocess(best.numpy())


def device_name() -> str:
    """'CPU', or the first accelerator TensorFlow will place work on (e.g. 'GPU:0')."""
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name.replace("/device:", "") if gpus else "CPU"
