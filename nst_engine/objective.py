"""The tutorial's objective: weighted content, style and total-variation loss against fixed targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .losses import content_loss, gram_matrix, style_loss, total_variation_loss
from .settings import CONTENT_LAYERS, STYLE_LAYERS
from .vgg19 import VGG19Features, load_weights, preprocess


@dataclass
class LossTerms:
    """The weighted terms of one evaluation; `total` is what the optimiser minimises."""

    total: float
    content: float
    style: float
    tv: float


def build_extractor(weights_path: str, dtype: str = "float32", gradient: str = "tensorflow") -> VGG19Features:
    """VGG19 up to `block5_conv2`, returning the style layers, then the content layer."""
    weights = load_weights(weights_path, up_to="block5_conv2")
    return VGG19Features(weights, STYLE_LAYERS + CONTENT_LAYERS, dtype, gradient)


STYLE_LAYER_STRIDES = (1, 2, 4, 8, 16)
"""How many image pixels one position of each style layer spans (each block halves the size)."""

GRAM_HALO = 64
"""Context around each piece of a style image whose Gram matrix is summed piece by piece."""

GRAM_PIECE_TILES = 3
"""A style piece may have this many times a tile's pixels: a forward pass keeps no gradient or
optimiser state."""


def content_targets(extractor: VGG19Features, content: np.ndarray) -> list[tf.Tensor]:
    """The content layers' activations for a float RGB image, in float32 whatever the network's
    precision: cast once here, not at every evaluation (`losses.content_loss`)."""
    return [tf.cast(f, tf.float32) for f in extractor(tf.constant(preprocess(content)))[len(STYLE_LAYERS) :]]


def style_gram(extractor: VGG19Features, style: np.ndarray, tile_pixels: int | None = None) -> list[tf.Tensor]:
    """The style layers' Gram matrices of a whole image; in pieces when it has over `tile_pixels`.

    A Gram matrix is a mean over positions, so it can be summed piece by piece; each piece is run
    with GRAM_HALO pixels of context so that its activations are (nearly) the whole image's.
    """
    height, width = style.shape[:2]
    if tile_pixels is None or width * height <= GRAM_PIECE_TILES * tile_pixels:
        features = extractor(tf.constant(preprocess(style)))[: len(STYLE_LAYERS)]
        return [gram_matrix(f) for f in features]
    from .schedule import cut_edges, tile_counts

    budget = GRAM_PIECE_TILES * tile_pixels
    halo = next(h for h in (GRAM_HALO, 32, 16, 0) if (2 * h + 16) ** 2 <= budget)
    across, down = tile_counts((width, height), budget, 2 * halo)
    grid = STYLE_LAYER_STRIDES[-1]  # every layer's positions then split exactly
    xs, ys = cut_edges(width, across, grid=grid), cut_edges(height, down, grid=grid)
    sums = [0.0] * len(STYLE_LAYERS)
    counts = [0] * len(STYLE_LAYERS)
    for y0, y1 in zip(ys, ys[1:]):
        for x0, x1 in zip(xs, xs[1:]):
            top, left = max(0, y0 - halo), max(0, x0 - halo)
            crop = style[top : min(height, y1 + halo), left : min(width, x1 + halo)]
            features = extractor(tf.constant(preprocess(crop)))[: len(STYLE_LAYERS)]
            for index, (f, stride) in enumerate(zip(features, STYLE_LAYER_STRIDES)):
                core = f[:, (y0 - top) // stride : (y1 - top) // stride, (x0 - left) // stride : (x1 - left) // stride]
                positions = int(core.shape[1]) * int(core.shape[2])
                sums[index] = sums[index] + gram_matrix(core) * positions
                counts[index] += positions
    return [total / count for total, count in zip(sums, counts)]


def gram_targets(
    extractor: VGG19Features,
    styles: Sequence[np.ndarray],
    style_blend: Sequence[float],
    tile_pixels: int | None = None,
) -> list[tf.Tensor]:
    """The style targets: each style's Gram matrices, mixed in the proportions of `style_blend`."""
    blend = np.asarray(style_blend, dtype=np.float64) / np.sum(style_blend)
    grams = [0.0] * len(STYLE_LAYERS)
    for style, share in zip(styles, blend):
        grams = [g + float(share) * s for g, s in zip(grams, style_gram(extractor, style, tile_pixels))]
    return grams


class Objective:
    """Content, style and total-variation loss of an image against fixed targets.

    Targets (content activations, blended Gram matrices) are computed once, here, or passed in
    (`from_targets`) when one set of style targets serves many tiles. `gram_gradient` says how the
    gradient through the image's Gram matrices is computed (`settings.GRAM_GRADIENTS`).
    """

    def __init__(
        self,
        extractor: VGG19Features,
        content: np.ndarray | None,
        styles: Sequence[np.ndarray],
        style_blend: Sequence[float],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        gram_gradient: str = "tensorflow",
    ) -> None:
        self.extractor = extractor
        self.gram_gradient = gram_gradient
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        # No control flow on tensors: tracing without AutoGraph is quicker.
        self.loss_and_gradient = tf.function(self._loss_and_gradient, autograph=False)
        if content is not None:
            self.content_targets = content_targets(extractor, content)
            self.gram_targets = gram_targets(extractor, styles, style_blend)

    @classmethod
    def from_targets(
        cls,
        extractor: VGG19Features,
        content_features: list[tf.Tensor],
        grams: list[tf.Tensor],
        content_weight: float,
        style_weight: float,
        tv_weight: float,
        gram_gradient: str = "tensorflow",
    ) -> Objective:
        objective = cls(extractor, None, [], [], content_weight, style_weight, tv_weight, gram_gradient)
        objective.content_targets, objective.gram_targets = content_features, grams
        return objective

    def __call__(self, image: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """(total, content, style, tv) for a preprocessed image (1, H, W, 3), weights applied."""
        outputs = self.extractor(image)
        style_outputs, content_outputs = outputs[: len(STYLE_LAYERS)], outputs[len(STYLE_LAYERS) :]
        style = tf.add_n([style_loss(f, g, self.gram_gradient) for f, g in zip(style_outputs, self.gram_targets)])
        style = style / len(STYLE_LAYERS)
        content = tf.add_n([content_loss(f, t) for f, t in zip(content_outputs, self.content_targets)])
        content = content / len(CONTENT_LAYERS)
        tv = total_variation_loss(image) if self.tv_weight else tf.constant(0.0)
        content, style, tv = self.content_weight * content, self.style_weight * style, self.tv_weight * tv
        return content + style + tv, content, style, tv

    def _loss_and_gradient(self, image: tf.Tensor) -> tuple[tuple[tf.Tensor, ...], tf.Tensor]:
        """((total, content, style, tv), d total / d image) as one graph, traced once per image size:
        what L-BFGS evaluates, and the benchmarks time. Called as `loss_and_gradient`."""
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self(image)
        return terms, tape.gradient(terms[0], image)

    def evaluate(self, rgb: np.ndarray) -> LossTerms:
        """The loss terms of a float RGB 0..255 image (for tests and benchmarks)."""
        return LossTerms(*(float(t) for t in self(tf.constant(preprocess(rgb)))))
