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


def build_extractor(weights_path: str, dtype: str = "float32") -> VGG19Features:
    """VGG19 up to `block5_conv2`, returning the style layers, then the content layer."""
    return VGG19Features(load_weights(weights_path, up_to="block5_conv2"), STYLE_LAYERS + CONTENT_LAYERS, dtype)


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
