"""A whole optimisation, coarse to fine and tile by tile: build each objective, optimise, upsample.

This module imports TensorFlow; everything that can fail because of the user's input is checked
before it is imported (see `run.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import lbfgs
from .cancel import UNINTERRUPTED, RunControl
from .images import resize
from .objective import LossTerms, Objective, content_targets, gram_targets
from .optimizers import StepCallback, run_adam, run_lbfgs
from .schedule import Box, Stage, blend_ramp
from .settings import Settings
from .vgg19 import VGG19Features


@dataclass
class Step:
    """One evaluation of the objective, as a front end sees it."""

    iteration: int  # counted over all stages and tiles, from 1
    total: int
    stage: int  # from 1
    stages: int
    terms: LossTerms  # of the whole image, or of the tile being optimised
    work_done: float  # in pixel-evaluations, so that ETA is right across stages and tiles
    work_total: float
    current: Callable[[], np.ndarray]  # the current image (float RGB) at this stage's size
    tile: int = 1  # within the stage, counted over its passes, from 1
    tiles: int = 1


NOISE_CELLS = 24
"""A noise start has this many random colour cells along the image's longest side, smoothly
blended. Pixel-by-pixel noise takes hundreds of evaluations to wash out: `preview` from it
(tubingen + starry_night, 2026-12-07) ended as grain; from these cells, as a clean picture."""

NOISE_SIGMA = 40.0
"""How far, in 0..255 levels, the cells' colours spread around the content's mean colour."""


def initial_image(content: np.ndarray, init: str, seed: int | None) -> np.ndarray:
    """Float RGB 0..255 start point: the content itself, or smooth colour noise (the same for the
    same seed and size) around the content's mean colour."""
    if init == "content":
        return content
    rng = np.random.default_rng(seed)
    height, width = content.shape[:2]
    cell = max(1.0, max(height, width) / NOISE_CELLS)
    cells = (max(2, round(width / cell)), max(2, round(height / cell)))
    colours = rng.normal(0.0, NOISE_SIGMA, size=(cells[1], cells[0], 3)).astype(np.float32)
    mean = content.reshape(-1, 3).mean(axis=0)
    return np.clip(mean + resize(colours, (width, height)), 0.0, 255.0).astype(np.float32)


def _blended(image: np.ndarray, box: Box, weight: np.ndarray, tile: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1]
    return weight[:, :, None] * tile + (1.0 - weight[:, :, None]) * region


class _Progress:
    """Counts evaluations and pixel-evaluations over the whole run and forwards each as a Step."""

    def __init__(self, stages: list[Stage], on_step: Callable[[Step], None] | None) -> None:
        self.on_step = on_step
        self.total = sum(stage.evaluations for stage in stages)
        self.work_total = float(sum(stage.work for stage in stages))
        self.stages = len(stages)
        self.done, self.work = 0, 0.0

    def tile_callback(self, stage: int, tile: int, tiles: int, area: int, whole: Callable) -> StepCallback:
        """The optimiser's callback for one tile; `whole(current_tile)` gives the stage's image."""

        def report(_count: int, terms: LossTerms, current: Callable[[], np.ndarray]) -> None:
            self.done += 1
            self.work += area
            if self.on_step:
                image = lambda: whole(current())  # noqa: E731 - only computed when a preview asks
                self.on_step(
                    Step(
                        self.done, self.total, stage, self.stages, terms, self.work, self.work_total, image, tile, tiles
                    )
                )

        return report


def stylize(
    extractor: VGG19Features,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    blend: Sequence[float],
    settings: Settings,
    stages: list[Stage],
    on_step: Callable[[Step], None] | None = None,
    control: RunControl = UNINTERRUPTED,
) -> np.ndarray:
    """Run every stage; return the final stage's image (float RGB at the last stage's size).

    When `control` asks to finish, the image as it is then is the result: the stage being
    optimised, with the best image of the tile in hand blended in, at that stage's size (the
    caller resizes it like any result). No further evaluation, tile or stage is started."""
    progress = _Progress(stages, on_step)
    result = None
    for index, stage in enumerate(stages, start=1):
        if result is not None and control.finishing():
            break
        content_stage = resize(content, stage.size)
        styles_stage = [resize(style, size) for style, size in zip(styles, stage.style_sizes)]
        grams = gram_targets(extractor, styles_stage, blend, stage.tile_pixels or None)
        if result is None:
            start = initial_image(content_stage, settings.init, settings.seed)
        else:
            start = np.clip(resize(result, stage.size), 0.0, 255.0)
        result = _run_stage(extractor, stage, index, content_stage, grams, start, settings, progress, control)
    return result


def _run_stage(extractor, stage, index, content, grams, image, settings, progress, control) -> np.ndarray:
    """One stage: every tile in turn, its optimiser's best image blended into the stage's image
    (an untiled stage is one tile of weight 1, so its result is the optimiser's best image).

    Each tile starts from the image as the tiles before it left it, so neighbours agree at their
    shared edges; the second pass's tiles straddle the first pass's boundaries.
    """
    tiles = sum(len(boxes) for boxes in stage.boxes())
    image = np.array(image, dtype=np.float32)  # a copy: tiles are written into it in place
    number = 0
    for boxes in stage.boxes():
        for box in boxes:
            if number and control.finishing():
                return image
            number += 1
            x0, y0, x1, y1 = box
            objective = Objective.from_targets(
                extractor,
                content_targets(extractor, content[y0:y1, x0:x1]),
                grams,
                settings.content_weight,
                settings.style_weight * settings.strength,
                settings.tv_weight,
                settings.gram_gradient,
            )
            weight = blend_ramp(box, stage.size, stage.overlap)  # all ones for an untiled stage

            def pasted(current: np.ndarray, box=box, weight=weight, image=image) -> np.ndarray:
                whole = image.copy()
                whole[box[1] : box[3], box[0] : box[2]] = _blended(image, box, weight, current)
                return whole

            report = progress.tile_callback(index, number, tiles, (x1 - x0) * (y1 - y0), pasted)
            tile = _optimise(objective, image[y0:y1, x0:x1], stage.iterations, settings, report, control)
            image[y0:y1, x0:x1] = _blended(image, box, weight, tile)
    return image


def _optimise(objective, start, iterations, settings, report, control) -> np.ndarray:
    if settings.optimizer == "adam":
        return run_adam(
            objective,
            start,
            iterations,
            settings.learning_rate,
            settings.beta1,
            settings.beta2,
            settings.epsilon,
            report,
            control,
        )
    h0 = lbfgs.multiscale(settings.lbfgs_levels)
    return run_lbfgs(
        objective, start, iterations, settings.lbfgs_memory, report, h0, control, settings.lbfgs_pixel_scaling
    )
