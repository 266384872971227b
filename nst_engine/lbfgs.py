"""L-BFGS on the image pixels, in TensorFlow: a float32 history on the same device as the image.

Pixels must stay in range, so it is a projected L-BFGS: pixels held at a bound by their gradient
are frozen for the step, the step is projected back into the box, and a backtracking line search
asks for sufficient decrease along the projected step. Nothing leaves the device but scalars.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import tensorflow as tf

# (value, gradient) of the function being minimised at a point.
Evaluate = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]

ARMIJO = 1e-4
"""Sufficient decrease: a step must lower the loss by this fraction of what the slope promises."""

FIRST_STEP_RMS = 1.0
"""Size (root mean square, in 0..255 pixel units) of the very first step, before any curvature is
known; the history scales every later step."""


class BudgetSpent(Exception):
    """Every allowed evaluation has been made."""


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(a * b)


def minimize(
    evaluate: Evaluate,
    start: tf.Tensor,
    low: tf.Tensor,
    high: tf.Tensor,
    memory: int = 10,
) -> None:
    """Minimise from `start` inside [low, high] until `evaluate` raises (budget, cancel).

    `evaluate` is called once per loss+gradient; the caller counts, keeps the best point and stops
    the run by raising (e.g. BudgetSpent), which propagates from here.
    """
    x = tf.clip_by_value(start, low, high)
    loss, grad = evaluate(x)
    history: deque[tuple[tf.Tensor, tf.Tensor, tf.Tensor]] = deque(maxlen=memory)  # (s, y, 1/(s·y))
    gamma = None
    while True:
        # Pixels at a bound whose gradient pushes them further out do not move this step.
        pinned = ((x <= low) & (grad > 0)) | ((x >= high) & (grad < 0))
        free = 1.0 - tf.cast(pinned, x.dtype)
        direction = -free * _two_loop(grad * free, history, gamma)
        slope = _dot(grad, direction)
        if not slope < 0:  # the curvature pairs stopped describing the function: start afresh
            history.clear()
            gamma = None
            direction = -free * grad
            slope = _dot(grad, direction)
        step = 1.0 if gamma is not None else FIRST_STEP_RMS / float(tf.sqrt(tf.reduce_mean(direction**2)) + 1e-12)
        while True:
            candidate = tf.clip_by_value(x + step * direction, low, high)
            new_loss, new_grad = evaluate(candidate)
            decrease = _dot(grad, candidate - x)
            if float(new_loss) <= float(loss) + ARMIJO * float(decrease):
                break
            # Backtrack to the minimum of the quadratic through the two losses, within [0.1, 0.5]·step.
            excess = float(new_loss) - float(loss) - float(slope) * step
            trial = -float(slope) * step * step / (2.0 * excess) if excess > 0 else 0.5 * step
            step = min(max(trial, 0.1 * step), 0.5 * step)
        s, y = candidate - x, new_grad - grad
        sy = float(_dot(s, y))
        if sy > 1e-10 * float(_dot(y, y)):
            history.append((s, y, tf.constant(1.0 / sy, x.dtype)))
            gamma = sy / float(_dot(y, y))
        x, loss, grad = candidate, new_loss, new_grad


def _two_loop(q: tf.Tensor, history, gamma: float | None) -> tf.Tensor:
    """H·q for the L-BFGS inverse-Hessian estimate built on H0 = γ·I (Nocedal & Wright, alg. 7.4)."""
    if gamma is None:
        return q
    alphas = []
    for s, y, rho in reversed(history):
        alpha = rho * _dot(s, q)
        q = q - alpha * y
        alphas.append(alpha)
    r = gamma * q
    for (s, y, rho), alpha in zip(history, reversed(alphas)):
        beta = rho * _dot(y, r)
        r = r + (alpha - beta) * s
    return r
