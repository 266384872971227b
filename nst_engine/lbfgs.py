"""L-BFGS on the image pixels, in TensorFlow: a 16-bit history on the same device as the image.

Pixels must stay in range, so it is a projected L-BFGS: pixels held at a bound by their gradient
are frozen for the step, the step is projected back into the box, and a backtracking line search
asks for sufficient decrease along the projected step. Nothing leaves the device but scalars.

Its first guess at the inverse Hessian, H0, is γ times a fixed shape (`multiscale`) rather than γ
times the identity, so that large smooth changes of colour are not left for last. Optionally
(`PixelScaling`) that shape is also weighted per pixel by the inverse of the recent gradients' size,
as Adam weights its steps, so that regions with weak gradients are not left for last either.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

# (value, gradient) of the function being minimised at a point.
Evaluate = Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]

# A symmetric positive definite operator on images: the shape of H0 (L-BFGS scales it by γ).
Shape = Callable[[tf.Tensor], tf.Tensor]

ARMIJO = 1e-4
"""Sufficient decrease: a step must lower the loss by this fraction of what the slope promises."""

FIRST_STEP_RMS = 1.0
"""Size (root mean square, in 0..255 pixel units) of the very first step, before any curvature is
known; the history scales every later step."""


HISTORY_DTYPE = tf.float16
"""How the curvature pairs (s, y) are stored: half the memory of float32 (20 pairs at 512×384 px:
45 MiB instead of 90), which brings the presets forced to float32 down to what Adam's `tutorial`
needs at 512 px (with float32 pairs they needed 3–5 % more). Each vector is scaled so that its
largest element is 2¹⁵, as gradients can lie far outside float16's range; that keeps 11
significant bits (bfloat16 keeps 8 and, measured, cost 2–4 % more evaluations; this costs none).
1/(s·y) and γ are taken from the rounded pairs, so the two-loop recursion is still exactly the
BFGS update of the pairs it holds (positive definite). The gradients, the image and every sum stay
in the image's own precision."""


def _narrow(v: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """v as (HISTORY_DTYPE image, scale) with v ≈ scale·image and the image's largest element 2¹⁵."""
    scale = tf.maximum(tf.reduce_max(tf.abs(v)), 1e-30) / 2.0**15
    return tf.cast(v / scale, HISTORY_DTYPE), scale


def _widen(stored: tf.Tensor, scale: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """The vector `_narrow` stored, back in `dtype` (the two-loop recursion folds the scale instead)."""
    return tf.cast(stored, dtype) * scale


class BudgetSpent(Exception):
    """Every allowed evaluation has been made."""


def _dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(a * b)


def identity(v: tf.Tensor) -> tf.Tensor:
    """H0 = γ·I: textbook L-BFGS, every pixel moved in proportion to its own gradient."""
    return v


def multiscale(levels: int = 4, weight: float = 2.0) -> Shape:
    """H0 shape v + Σₖ weightᵏ · Uᵏ Dᵏ v / 4ᵏ, k = 1 … levels, for images (1, H, W, C).

    D halves the size with the bilinear kernel [1, 3, 3, 1] and U = Dᵀ doubles it back, so each
    term is a smooth, symmetric positive semi-definite blur that passes changes smooth over 2ᵏ
    pixels (gain ≈ 1) and drops pixel-scale detail; the sum is symmetric positive definite, so
    L-BFGS stays a descent method. Why: with H0 = γ·I a large, nearly flat region whose colour
    must move a long way (a sky taking on the style's colours) moves in proportion to its
    gradient, which is weak there, and is left for last; here such changes move up to
    1 + weight + … + weightᵏ times faster. (Block averages would do the same with visible blocks.)
    `levels` = 0 is the identity.
    """

    def apply(v: tf.Tensor) -> tf.Tensor:
        # Horner form, coarse to fine: acc_k = c·(Dᵏv + U·acc_k+1), c = weight/4, gives every term
        # Σ cᵏ·UᵏDᵏv with one halving and one doubling per level.
        down = [tf.transpose(v, [3, 1, 2, 0])]  # (C, H, W, 1): one blur for every channel
        for _ in range(levels):
            down.append(tf.nn.conv2d(down[-1], _HALVE, 2, "SAME"))
        scale = weight / 4.0
        acc = tf.zeros_like(down[-1])
        for k in range(levels, 0, -1):
            acc = scale * (down[k] + acc)
            acc = tf.nn.conv2d_transpose(acc, _HALVE, tf.shape(down[k - 1]), 2, "SAME")
        return v + tf.transpose(acc, [3, 1, 2, 0])

    return apply


_TAPS = np.array([1.0, 3.0, 3.0, 1.0], np.float32) / 4.0
_HALVE = np.outer(_TAPS, _TAPS).reshape(4, 4, 1, 1)
"""Bilinear halving kernel: its transpose is bilinear doubling (each new pixel ¾ of its nearest
old one and ¼ of the next), and on smooth images halving then doubling multiplies by 4. A NumPy
array, not a tensor: a tensor made at import would start TensorFlow's runtime before
`device.prepare` can set the GPU up."""


PIXEL_DECAY = 0.9
"""`PixelScaling`'s moving average of squared gradients keeps this much of its past at each
evaluation: about the last ten evaluations count (in a first form of the weights, 0.99 and 0.5
were measured worse and 0.8 alike: docs/performance.md)."""

PIXEL_SPREAD = 10.0
"""`PixelScaling` weighs no pixel more than this many times a typical pixel (the geometric mean of
the pixels' gradient sizes), nor less than its inverse: a pixel whose gradient is near zero must not
take an unbounded step. The geometric mean, because a few very steep or flat pixels hardly move it."""


class PixelScaling:
    """Per-pixel weights w for H0: γ·√w·shape·√w, w ∝ 1/RMS of each pixel's recent gradients.

    Why: L-BFGS's H0 = γ·shape moves every pixel in proportion to its own gradient until the
    history has learnt better, and the history (20 pairs) learns little about the image's many
    regions one by one. Where the gradients are weak (a sky, a flat wall) the image changes last.
    Adam divides each pixel's step by the RMS of its recent gradients; here that division shapes
    H0 instead, so L-BFGS keeps its curvature pairs and its line search. w changes with every
    evaluation, but each H0 is symmetric positive definite, so every direction is still downhill.
    The channels of a pixel share one weight, so the step keeps its colour balance (separate
    weights per channel helped one bundled pair and hurt the other). Measured: docs/performance.md.
    """

    def __init__(self, like: tf.Tensor):
        pixels = (*like.shape[:-1], 1)
        self._mean_square = tf.Variable(tf.zeros(pixels, like.dtype), trainable=False)
        self._count = tf.Variable(tf.zeros((), like.dtype), trainable=False)
        self.root = tf.Variable(tf.ones(pixels, like.dtype), trainable=False)
        """√w, shape (1, H, W, 1)."""
        self._update = tf.function(self._observe, autograph=False)

    def observe(self, grad: tf.Tensor) -> None:
        """Take in one evaluation's gradient and update the weights."""
        self._update(grad)

    def shaped(self, shape: Shape) -> Shape:
        """`shape` weighted by these pixel weights: v ↦ √w·shape(√w·v), symmetric positive definite
        whenever `shape` is."""
        return lambda v: self.root * shape(self.root * v)

    def _observe(self, grad: tf.Tensor) -> None:
        self._count.assign_add(1.0)
        self._mean_square.assign(
            PIXEL_DECAY * self._mean_square + (1.0 - PIXEL_DECAY) * tf.reduce_mean(grad**2, -1, keepdims=True)
        )
        rms = tf.sqrt(self._mean_square / (1.0 - PIXEL_DECAY**self._count))  # Adam's correction for the start
        typical = tf.exp(tf.reduce_mean(tf.math.log(rms + 1e-30)))
        weight = 1.0 / tf.clip_by_value(rms / typical, 1.0 / PIXEL_SPREAD, PIXEL_SPREAD)
        self.root.assign(tf.sqrt(weight / tf.reduce_mean(weight)))


class _Pair(NamedTuple):
    """One curvature pair as stored: s ≈ s_scale·s_stored, y ≈ y_scale·y_stored, rho = 1/(s·y)."""

    s_stored: tf.Tensor
    y_stored: tf.Tensor
    scalars: tf.Tensor  # s_scale, y_scale, rho


class History:
    """The last `memory` curvature pairs (s, y), 16 bits each, and H·q from them.

    The two-loop recursion is one graph, traced once per image size (with the projection and the
    slope around it, in `descent`): it always receives `memory` slots, newest first, the empty ones
    pointing at one shared zero image with ρ = 0, which adds exactly nothing. Run eagerly, each of
    its 4·memory vector operations was dispatched on its own; as one graph it takes half the time
    (110 → 58 ms at 512×384 px with 20 pairs, docs/performance.md). The graphs are traced without
    AutoGraph and without a branch per slot: nothing in them depends on a tensor's value, and
    tracing them cost 1.3 s more that way, the largest fixed cost of a 256 px preview after
    importing TensorFlow (the empty slots' arithmetic costs less than that over the first `memory`
    steps, and nothing after). Each pair is its own
    small tensor, as it comes, rather than a slot of one preallocated buffer: with the buffer the
    process's peak memory at 512 px was 3–4 % higher (medians of 6–10 runs), above `tutorial`'s.
    """

    def __init__(self, memory: int, like: tf.Tensor, h0: Shape = identity):
        self.memory = memory
        self.h0 = h0
        self._pairs: deque[_Pair] = deque(maxlen=memory)
        zeros = tf.zeros(like.shape, HISTORY_DTYPE)
        self._empty = _Pair(zeros, zeros, tf.zeros(3, like.dtype))
        self._recursion = tf.function(self._two_loop, autograph=False)
        self._descent = tf.function(self._projected_descent, autograph=False)
        self._rounded = tf.function(self._round_pair, autograph=False)
        self.gamma: float | None = None

    @property
    def count(self) -> int:
        return len(self._pairs)

    def clear(self) -> None:
        """Forget every pair: H is h0 itself again (no γ) until the next pair is added."""
        self._pairs.clear()
        self.gamma = None

    def add(self, s: tf.Tensor, y: tf.Tensor) -> bool:
        """Keep the pair (step, change of gradient) unless its curvature s·y is not positive.

        rho = 1/(s·y) and γ are taken from the rounded pair, so the recursion is exactly the BFGS
        update of the pairs it holds and stays positive definite."""
        s_stored, y_stored, scalars, sy, yy, y_h0_y = self._rounded(s, y)
        if not float(sy) > 1e-10 * float(yy):
            return False
        self._pairs.append(_Pair(s_stored, y_stored, scalars))
        self.gamma = float(sy) / float(y_h0_y)
        return True

    def apply(self, q: tf.Tensor) -> tf.Tensor:
        """H·q for the L-BFGS inverse-Hessian estimate built on H0 = γ·h0 (h0 alone while empty)."""
        return self._recursion(q, *self._arguments(q.dtype))

    def descent(self, x: tf.Tensor, grad: tf.Tensor, low: tf.Tensor, high: tf.Tensor) -> tuple[tf.Tensor, float, float]:
        """(direction, slope, rms) of the projected quasi-Newton step at x, computed as one graph.

        Pixels at a bound whose gradient pushes them further out are held: they neither move nor
        enter H·q. `slope` is grad·direction (negative for a descent direction), `rms` the step's
        root mean square. One graph and one read back to the host, rather than a score of eager
        operations, matters most where each operation is a kernel launch (a GPU)."""
        direction, stats = self._descent(x, grad, low, high, *self._arguments(x.dtype))
        slope, rms = (float(v) for v in stats.numpy())
        return direction, slope, rms

    def _arguments(self, dtype: tf.DType) -> tuple[list[_Pair], tf.Tensor]:
        """The recursion's slots (newest first, padded with the empty pair) and γ (1 while empty,
        when the recursion is h0 itself: every pair is the empty one and γ·h0(q) = h0(q))."""
        slots = list(reversed(self._pairs)) + [self._empty] * (self.memory - self.count)
        gamma = 1.0 if self.gamma is None else self.gamma
        return slots, tf.constant(gamma, dtype)

    def _projected_descent(self, x, grad, low, high, slots, gamma):
        pinned = ((x <= low) & (grad > 0)) | ((x >= high) & (grad < 0))
        free = 1.0 - tf.cast(pinned, x.dtype)
        direction = -free * self._two_loop(grad * free, slots, gamma)
        return direction, tf.stack([_dot(grad, direction), tf.sqrt(tf.reduce_mean(direction**2))])

    def _round_pair(self, s: tf.Tensor, y: tf.Tensor):
        (s_stored, s_scale), (y_stored, y_scale) = _narrow(s), _narrow(y)
        s, y = _widen(s_stored, s_scale, s.dtype), _widen(y_stored, y_scale, y.dtype)
        sy = _dot(s, y)
        return s_stored, y_stored, tf.stack([s_scale, y_scale, 1.0 / sy]), sy, _dot(y, y), _dot(y, self.h0(y))

    def _two_loop(self, q: tf.Tensor, slots: list[_Pair], gamma: tf.Tensor) -> tf.Tensor:
        """Nocedal & Wright, alg. 7.4, over `slots` (newest first; an empty slot's zeros and ρ = 0
        leave q and r as they are). Each stored pair is widened as it is used, its scales folded
        into the scalars."""
        alphas = []
        for pair in slots:
            s_scale, y_scale, rho = tf.unstack(pair.scalars)
            alphas.append(rho * s_scale * _dot(tf.cast(pair.s_stored, q.dtype), q))
            q = q - (alphas[-1] * y_scale) * tf.cast(pair.y_stored, q.dtype)
        r = gamma * self.h0(q)
        for pair, alpha in zip(reversed(slots), reversed(alphas)):
            s_scale, y_scale, rho = tf.unstack(pair.scalars)
            beta = rho * y_scale * _dot(tf.cast(pair.y_stored, r.dtype), r)
            r = r + ((alpha - beta) * s_scale) * tf.cast(pair.s_stored, r.dtype)
        return r


def minimize(
    evaluate: Evaluate,
    start: tf.Tensor,
    low: tf.Tensor,
    high: tf.Tensor,
    memory: int = 10,
    h0: Shape = identity,
    pixel_scaling: bool = False,
) -> None:
    """Minimise from `start` inside [low, high] until `evaluate` raises (budget, cancel).

    `evaluate` is called once per loss+gradient; the caller counts, keeps the best point and stops
    the run by raising (e.g. BudgetSpent), which propagates from here. `h0` is the shape of the
    first inverse-Hessian guess (`identity` or `multiscale(...)`); with `pixel_scaling` it is also
    weighted per pixel by every gradient evaluated so far (`PixelScaling`).
    """
    x = tf.clip_by_value(start, low, high)
    scaling = PixelScaling(x) if pixel_scaling else None

    def evaluated(point: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        value, gradient = evaluate(point)
        if scaling is not None:
            scaling.observe(gradient)
        return value, gradient

    loss, grad = evaluated(x)
    history = History(memory, x, h0 if scaling is None else scaling.shaped(h0))
    while True:
        direction, slope, rms = history.descent(x, grad, low, high)
        if not slope < 0:  # the curvature pairs stopped describing the function: start afresh
            history.clear()
            direction, slope, rms = history.descent(x, grad, low, high)
        step = 1.0 if history.gamma is not None else FIRST_STEP_RMS / (rms + 1e-12)
        while True:
            candidate, decrease = _trial(x, direction, tf.constant(step, x.dtype), low, high, grad)
            new_loss, new_grad = evaluated(candidate)
            if float(new_loss) <= float(loss) + ARMIJO * float(decrease):
                break
            # Backtrack to the minimum of the quadratic through the two losses, within [0.1, 0.5]·step.
            excess = float(new_loss) - float(loss) - slope * step
            trial = -slope * step * step / (2.0 * excess) if excess > 0 else 0.5 * step
            step = min(max(trial, 0.1 * step), 0.5 * step)
        history.add(candidate - x, new_grad - grad)
        x, loss, grad = candidate, new_loss, new_grad


@tf.function(autograph=False)
def _trial(x: tf.Tensor, direction: tf.Tensor, step: tf.Tensor, low: tf.Tensor, high: tf.Tensor, grad: tf.Tensor):
    """The trial point x + step·direction, projected into the box, and grad·(trial − x): the decrease
    that the slope promises for it (the sufficient-decrease test compares the loss against it)."""
    candidate = tf.clip_by_value(x + step * direction, low, high)
    return candidate, _dot(grad, candidate - x)
