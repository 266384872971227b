"""Planning a run's stages and tiles without TensorFlow, so sizes and memory are checked up front.

Each stage optimises at a fraction of the working size and seeds the next with its upsampled
result; most iterations can then run on a quarter of the pixels or fewer. With `full_resolution`,
further stages double the size up to the content's own, and a stage too large for the memory budget
is optimised in overlapping tiles whose boundaries move between passes (no fixed seam lines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import memory
from .errors import BadInputError
from .images import MIN_SIDE, scaled_size
from .settings import Settings

Box = tuple[int, int, int, int]
"""A tile as (left, top, right, bottom) in pixels; right and bottom exclusive."""

PASSES = 2
"""Passes over a tiled stage; the second pass's boundaries lie in the middle of the first's tiles."""


@dataclass(frozen=True)
class Stage:
    """One scale of the run: the content's size, each style's size, evaluations, and its tiles.

    An untiled stage optimises the whole image once for `iterations` evaluations. A tiled stage
    optimises every tile of every pass for `iterations` evaluations each.
    """

    size: tuple[int, int]
    style_sizes: tuple[tuple[int, int], ...]
    iterations: int
    passes: tuple[tuple[Box, ...], ...] = ()  # empty: the whole image, one pass
    overlap: int = 0  # pixels shared by neighbouring tiles, blended with a linear ramp
    tile_pixels: int = 0  # the memory plan's largest tile (also used for the style's Gram matrices)

    @property
    def tiled(self) -> bool:
        return bool(self.passes)

    def boxes(self) -> tuple[tuple[Box, ...], ...]:
        """The tiles of each pass; an untiled stage is one pass of one tile, the whole image."""
        return self.passes or (((0, 0, *self.size),),)

    @property
    def evaluations(self) -> int:
        return self.iterations * sum(len(boxes) for boxes in self.boxes())

    @property
    def work(self) -> int:
        """Pixel-evaluations: what the stage's time is proportional to."""
        return self.iterations * sum(_area(box) for boxes in self.boxes() for box in boxes)


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _checked(size: tuple[int, int], longest: int, role: str, index: int | None = None) -> tuple[int, int]:
    scaled = scaled_size(size, longest)
    if min(scaled) < MIN_SIDE:
        raise BadInputError(
            f"{role} image {size[0]}x{size[1]} becomes {scaled[0]}x{scaled[1]} at {longest} px: that is "
            f"under {MIN_SIDE} pixels on a side; raise --max-size, change --scales or crop the image",
            "image_too_small",
            input_role=role,
            index=index,
        )
    return scaled


def cut_edges(length: int, count: int, shift: float = 0.0, grid: int = 1) -> list[int]:
    """0, the boundaries of `count` equal pieces moved by `shift` pieces (0 ≤ shift < 1), length.

    Boundaries are rounded to multiples of `grid` (the style Gram pieces align to VGG19's strides);
    none is closer than `grid` to the end, where it would leave a piece too thin for the strides.
    """
    step = length / count
    cuts = {grid * math.floor((i + shift) * step / grid + 0.5) for i in range(count + 1)}
    return [0, *sorted(c for c in cuts if 0 < c <= length - grid), length]


def _spans(length: int, count: int, shift: float, overlap: int) -> list[tuple[int, int]]:
    """Intervals between the cuts, each widened by half the overlap on both sides."""
    edges = cut_edges(length, count, shift)
    half = overlap // 2
    return [(max(0, a - half), min(length, b + half)) for a, b in zip(edges, edges[1:])]


def tile_counts(size: tuple[int, int], tile_pixels: int, overlap: int) -> tuple[int, int]:
    """The fewest tiles across and down whose largest tile (overlap included) fits `tile_pixels`."""
    width, height = size
    best = None
    for across in range(1, width + 1):
        tile_width = math.ceil(width / across) + (overlap if across > 1 else 0)
        if tile_width > tile_pixels:
            continue
        if height * tile_width <= tile_pixels:
            down = 1
        else:
            tallest = tile_pixels // tile_width - overlap  # the most rows a tile may cover besides overlap
            if tallest < 1:
                continue
            down = math.ceil(height / tallest)
        aspect = abs(math.log((width / across) / (height / down)))
        key = (across * down, aspect)
        if best is None or key < best[0]:
            best = (key, across, down)
    if best is None:
        raise ValueError(f"no tiling of {size} fits {tile_pixels} pixels")
    return best[1], best[2]


def tile_overlap(tile_pixels: int) -> int:
    """Overlap grows with the tile (a sixth of its side), between 32 and 128 pixels, even."""
    return 2 * (max(32, min(128, round(math.sqrt(tile_pixels) / 6))) // 2)


def tile_grid(size: tuple[int, int], tile_pixels: int, passes: int = PASSES) -> tuple[tuple[tuple[Box, ...], ...], int]:
    """(tiles of each pass, overlap) for an image of `size`; no tiles when it fits in one piece."""
    if size[0] * size[1] <= tile_pixels:
        return (), 0
    overlap = tile_overlap(tile_pixels)
    across, down = tile_counts(size, tile_pixels, overlap)
    result = []
    for index in range(passes):
        shift = index / passes
        xs = _spans(size[0], across, shift, overlap)
        ys = _spans(size[1], down, shift, overlap)
        result.append(tuple((x0, y0, x1, y1) for y0, y1 in ys for x0, x1 in xs))
    return tuple(result), overlap


def blend_ramp(box: Box, size: tuple[int, int], overlap: int) -> np.ndarray:
    """A tile's weight (h, w): 1 inside, falling linearly to 0 across the overlap at inner edges.

    Neighbours' ramps add up to 1 in their shared strip, so a tile fades into the next one and no
    edge of any tile survives as a line in the result.
    """

    def ramp(length: int, inner_start: bool, inner_end: bool) -> np.ndarray:
        weight = np.ones(length, dtype=np.float32)
        width = min(overlap, length)
        fade = (np.arange(width, dtype=np.float32) + 0.5) / overlap
        if inner_start:
            weight[:width] = np.minimum(weight[:width], fade)
        if inner_end:
            weight[length - width :] = np.minimum(weight[length - width :], fade[::-1])
        return weight

    x0, y0, x1, y1 = box
    across = ramp(x1 - x0, x0 > 0, x1 < size[0])
    down = ramp(y1 - y0, y0 > 0, y1 < size[1])
    return down[:, None] * across[None, :]


def _refine_sizes(content_size: tuple[int, int], working: int) -> list[int]:
    """Longest sides from twice the working size, doubling, up to the content's own."""
    full = max(content_size)
    sizes, longest = [], working
    while longest < full:
        longest = min(full, longest * 2)
        sizes.append(longest)
    return sizes


def plan_for_memory(
    content_size: tuple[int, int], style_sizes: list[tuple[int, int]], settings: Settings
) -> tuple[list[Stage], int]:
    """The stages and the budget they are planned for: `--max-memory`, else the default
    (`memory.default_budget`, which counts what is available now). That only ever makes tiles
    smaller: where it leaves too little for the smallest tile, the plan is for half the RAM, as
    on an idle machine, instead of a refusal."""
    budget = memory.budget(settings.max_memory)
    try:
        return plan(content_size, style_sizes, settings, budget), budget
    except BadInputError as exc:
        if settings.max_memory or exc.code != "memory_too_small" or budget >= memory.ram_budget():
            raise
    budget = memory.ram_budget()
    return plan(content_size, style_sizes, settings, budget), budget


def plan(
    content_size: tuple[int, int],
    style_sizes: list[tuple[int, int]],
    settings: Settings,
    budget: int | None = None,
) -> list[Stage]:
    """The stages of a run, coarsest first, tiled where a stage would exceed `budget` bytes
    (None: as :func:`plan_for_memory` chooses)."""
    if budget is None:
        return plan_for_memory(content_size, style_sizes, settings)[0]
    wanted: list[tuple[int, int]] = []  # (longest side, evaluations)
    for scale, iterations in zip(settings.scales, settings.iterations):
        wanted.append((max(1, round(settings.max_size * scale)), iterations))
    style_longest = [max(1, round(wanted[-1][0] * settings.style_scale))] * len(style_sizes)
    if settings.full_resolution:
        evaluations = settings.refine_iterations
        for longest in _refine_sizes(content_size, wanted[-1][0]):
            wanted.append((longest, evaluations))
            evaluations = max(settings.refine_iterations // 4, evaluations // 2, 1)
    sizes = [_checked(content_size, longest, "content") for longest, _ in wanted]
    # The whole-image arrays are the largest of the content and a stage (a working size above the
    # content's own scales it up).
    canvas = max(content_size[0] * content_size[1], *(w * h for w, h in sizes))
    tile_pixels = memory.tile_pixels(budget, canvas, settings.optimizer, settings.conv_gradient)
    if settings.tile_size:
        tile_pixels = min(tile_pixels, settings.tile_size**2)
    stages = []
    for index, ((longest, iterations), size) in enumerate(zip(wanted, sizes)):
        matching = max(1, round(longest * settings.style_scale))
        if index >= len(settings.scales):
            # Refining: the style at the matching scale, but never blown up past its own pixels
            # (that only adds blur) nor below its size at the working stage.
            matching = [max(low, min(matching, max(s))) for low, s in zip(style_longest, style_sizes)]
        else:
            matching = [matching] * len(style_sizes)
        styles = tuple(_checked(s, m, "style", i) for i, (s, m) in enumerate(zip(style_sizes, matching)))
        passes, overlap = tile_grid(size, tile_pixels)
        per_tile = math.ceil(iterations / len(passes)) if passes else iterations
        stages.append(Stage(size, styles, per_tile, passes, overlap, tile_pixels))
    return stages
