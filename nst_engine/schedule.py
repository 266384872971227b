"""Planning a run's stages (coarse to fine) without TensorFlow, so sizes are checked up front.

Each stage optimises at a fraction of the working size and seeds the next with its upsampled
result; most iterations can then run on a quarter of the pixels or fewer.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BadInputError
from .images import MIN_SIDE, scaled_size
from .settings import Settings


@dataclass(frozen=True)
class Stage:
    """One scale of the run: the content's size, each style's size, and how many evaluations."""

    size: tuple[int, int]
    style_sizes: tuple[tuple[int, int], ...]
    iterations: int

    @property
    def pixels(self) -> int:
        return self.size[0] * self.size[1]


def _checked(size: tuple[int, int], longest: int, role: str) -> tuple[int, int]:
    scaled = scaled_size(size, longest)
    if min(scaled) < MIN_SIDE:
        raise BadInputError(
            f"{role} image {size[0]}x{size[1]} becomes {scaled[0]}x{scaled[1]} at {longest} px: that is "
            f"under {MIN_SIDE} pixels on a side; raise --max-size, change --scales or crop the image",
            "image_too_small",
        )
    return scaled


def plan(content_size: tuple[int, int], style_sizes: list[tuple[int, int]], settings: Settings) -> list[Stage]:
    """The stages of a run, coarsest first; the last one works at `settings.max_size`."""
    stages = []
    for scale, iterations in zip(settings.scales, settings.iterations):
        longest = max(1, round(settings.max_size * scale))
        style_longest = max(1, round(longest * settings.style_scale))
        size = _checked(content_size, longest, "content")
        styles = tuple(_checked(s, style_longest, "style") for s in style_sizes)
        stages.append(Stage(size, styles, iterations))
    return stages


def relative_cost(stages: list[Stage]) -> list[float]:
    """Cost of one evaluation at each stage, in evaluations at the final size (cost ∝ pixels)."""
    final = stages[-1].pixels
    return [stage.pixels / final for stage in stages]
