"""Minimising an objective over the image pixels: Adam (the tutorial's) and projected L-BFGS.

Both keep every pixel inside the valid range, keep the best image seen, poll for cancellation
and for finishing early before each evaluation, and report each evaluation through `on_step`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from . import lbfgs
from .cancel import UNINTERRUPTED, RunControl
from .errors import CancelledError
from .objective import LossTerms, Objective
from .vgg19 import BGR_MEANS, deprocess, preprocess

# on_step(evaluation number within this run, loss terms, fetch-the-current-image-as-RGB)
StepCallback = Callable[[int, LossTerms, Callable[[], np.ndarray]], None]


def adam_update(
    var: tf.Variable,
    grad: tf.Tensor,
    m: tf.Variable,
    v: tf.Variable,
    step: tf.Tensor,
    learning_rate: float,
    beta1: float,
    beta2: float,
    epsilon: float,
) -> None:
    """One Adam step as TF1's AdamOptimizer (and Keras') computes it, with ε outside the root."""
    m.assign(beta1 * m + (1.0 - beta1) * grad)
    v.assign(beta2 * v + (1.0 - beta2) * tf.square(grad))
    alpha = learning_rate * tf.sqrt(1.0 - beta2**step) / (1.0 - beta1**step)
    var.assign_sub(alpha * m / (tf.sqrt(v) + epsilon))


def run_adam(
    objective: Objective,
    start: np.ndarray,
    iterations: int,
    learning_rate: float = 5.0,
    beta1: float = 0.99,
    beta2: float = 0.999,
    epsilon: float = 0.1,
    on_step: StepCallback | None = None,
    control: RunControl = UNINTERRUPTED,
) -> np.ndarray:
    """The tutorial's loop: Adam on the pixels, clipped after every step; the best image seen
    (the start, if finishing was asked for before the first step)."""
    image = tf.Variable(preprocess(start))
    m = tf.Variable(tf.zeros_like(image))
    v = tf.Variable(tf.zeros_like(image))
    best = tf.Variable(image)
    best_loss = tf.Variable(np.inf, dtype=tf.float32)
    low, high = tf.constant(-BGR_MEANS), tf.constant(255.0 - BGR_MEANS)

    @tf.function(autograph=False)  # no control flow on tensors: tracing without AutoGraph is quicker
    def step(t):
        with tf.GradientTape() as tape:
            total, content, style, tv = objective(image)
        grad = tape.gradient(total, image)
        # The best image is the one whose loss was just measured, before this step moves it.
        best.assign(tf.where(total < best_loss, image, best))
        best_loss.assign(tf.minimum(total, best_loss))
        adam_update(image, grad, m, v, t, learning_rate, beta1, beta2, epsilon)
        image.assign(tf.clip_by_value(image, low, high))
        return total, content, style, tv

    for iteration in range(1, iterations + 1):
        if control.cancelled():
            raise CancelledError()
        if control.finishing():
            break
        terms = LossTerms(*(float(t) for t in step(tf.constant(float(iteration)))))
        if on_step:
            on_step(iteration, terms, lambda: deprocess(image.numpy()))
    return deprocess(best.numpy())


def run_lbfgs(
    objective: Objective,
    start: np.ndarray,
    iterations: int,
    memory: int = 10,
    on_step: StepCallback | None = None,
    h0: lbfgs.Shape = lbfgs.identity,
    control: RunControl = UNINTERRUPTED,
    pixel_scaling: bool = False,
) -> np.ndarray:
    """Projected L-BFGS in TensorFlow (`lbfgs.py`); `iterations` counts loss+gradient evaluations.
    Returns the best image evaluated (the start, if finishing was asked for before the first).

    The history (2·`memory` 16-bit images) stays on TensorFlow's device with the image: no host
    round trip per evaluation, and a quarter of the memory a float64 history on the host needs.
    """
    low = tf.constant(-BGR_MEANS)
    high = tf.constant(255.0 - BGR_MEANS)

    best = {"loss": np.inf, "x": None, "count": 0}

    def evaluate(x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        if control.cancelled():
            raise CancelledError()
        if best["count"] >= iterations or control.finishing():
            raise lbfgs.BudgetSpent
        values, grad = objective.loss_and_gradient(x)
        best["count"] += 1
        terms = LossTerms(*(float(v) for v in values))
        if terms.total < best["loss"]:
            best["loss"], best["x"] = terms.total, x
        if on_step:
            on_step(best["count"], terms, lambda: deprocess(x.numpy()))
        return values[0], grad

    try:
        lbfgs.minimize(
            evaluate,
            tf.constant(preprocess(start)),
            low,
            high,
            memory,
            h0,
            pixel_scaling,
        )
    except lbfgs.BudgetSpent:
        pass
    return start if best["x"] is None else deprocess(best["x"].numpy())
