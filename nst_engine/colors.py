"""Colour preservation: luminance from the stylised image, chroma from the content.

This is the "luminance-only transfer" post-process of Gatys et al. (2016) that jcjohnson's
neural-style offers as `-original_colors 1`, done in full-range YCbCr (ITU-R BT.601).
"""

from __future__ import annotations

import numpy as np

_RGB_TO_YCBCR = np.array(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], dtype=np.float32
)
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR).astype(np.float32)
_OFFSET = np.array([0.0, 128.0, 128.0], dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma of a float RGB array (the Y of YCbCr)."""
    return rgb @ _RGB_TO_YCBCR[0]


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    return rgb @ _RGB_TO_YCBCR.T + _OFFSET


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    return (ycbcr - _OFFSET) @ _YCBCR_TO_RGB.T


def keep_colors(content: np.ndarray, styled: np.ndarray) -> np.ndarray:
    """Float RGB 0..255 with the luminance of `styled` and the chroma (Cb, Cr) of `content`."""
    ycbcr = rgb_to_ycbcr(content)
    ycbcr[..., 0] = rgb_to_ycbcr(styled)[..., 0]
    return np.clip(ycbcr_to_rgb(ycbcr), 0.0, 255.0)
