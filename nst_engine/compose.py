"""From the optimised working-size image to the output: original size, colours, mask and alpha."""

from __future__ import annotations

import numpy as np

from .colors import keep_colors
from .images import RasterImage, resize


def blend_mask(content: np.ndarray, styled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Content where the mask is 0, stylised where it is 1, mixed in between (soft edges)."""
    weight = mask[:, :, None]
    return content * (1.0 - weight) + styled * weight


def compose(
    content: RasterImage,
    styled_work: np.ndarray,
    mask: np.ndarray | None = None,
    preserve_colors: bool = False,
    mask_output: str = "blend",
) -> RasterImage:
    """The result at the content's size, with the content's alpha (times the mask for `cutout`)."""
    styled = resize(styled_work, content.size)
    if preserve_colors:
        styled = keep_colors(content.rgb, styled)
    alpha = content.alpha
    if mask is not None:
        if mask_output == "cutout":
            alpha = mask if alpha is None else alpha * mask
        else:
            styled = blend_mask(content.rgb, styled, mask)
    return RasterImage(np.clip(styled, 0.0, 255.0), alpha)
