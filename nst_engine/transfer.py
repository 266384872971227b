"""A whole optimisation, coarse to fine: build each stage's objective, run the optimiser, upsample.

This module imports TensorFlow; everything that can fail because of the user's input is checked
before it is imported (see `run.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from .images import resize
from .objective import LossTerms, Objective
from .optimizers import run_adam, run_lbfgs
from .schedule import Stage, relative_cost
from .settings import Settings
from .vgg19 import VGG19Features


@dataclass
class Step:
    """One evaluation of the objective, as a front end sees it."""

    iteration: int  # counted over all stages, from 1
    total: int
    stage: int  # from 1
    stages: int
    terms: LossTerms
    work_done: float  # in evaluations at the final size, so that ETA is right across stages
    work_total: float
    current: Callable[[], np.ndarray]  # the current image (float RGB) at this stage's size


def initial_image(content: np.ndarray, init: str, seed: int | None) -> np.ndarray:
    """Float RGB 0..255 start point: the content itself, or uniform noise."""
    if init == "content":
        return content
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 255.0, size=content.shape).astype(np.float32)


def stylize(
    extractor: VGG19Features,
    content: np.ndarray,
    styles: Sequence[np.ndarray],
    blend: Sequence[float],
    settings: Settings,
    stages: list[Stage],
    on_step: Callable[[Step], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """Run every stage; return the final stage's best image (float RGB at the last stage's size)."""
    costs = relative_cost(stages)
    work_total = sum(cost * stage.iterations for cost, stage in zip(costs, stages))
    total = sum(stage.iterations for stage in stages)
    done, work_done, result = 0, 0.0, None
    for index, (stage, cost) in enumerate(zip(stages, costs), start=1):
        content_stage = resize(content, stage.size)
        styles_stage = [resize(style, size) for style, size in zip(styles, stage.style_sizes)]
        objective = Objective(
            extractor,
            content_stage,
            styles_stage,
            blend,
            settings.content_weight,
            settings.style_weight * settings.strength,
            settings.tv_weight,
        )
        if result is None:
            start = initial_image(content_stage, settings.init, settings.seed)
        else:
            start = np.clip(resize(result, stage.size), 0.0, 255.0)

        def report(count, terms, current, index=index, cost=cost, before=done, work_before=work_done):
            if on_step:
                step = Step(
                    before + count, total, index, len(stages), terms, work_before + count * cost, work_total, current
                )
                on_step(step)

        if settings.optimizer == "adam":
            result = run_adam(
                objective,
                start,
                stage.iterations,
                settings.learning_rate,
                settings.beta1,
                settings.beta2,
                settings.epsilon,
                report,
                should_stop,
            )
        else:
            result = run_lbfgs(objective, start, stage.iterations, settings.lbfgs_memory, report, should_stop)
        done += stage.iterations
        work_done += stage.iterations * cost
    return result


def prepare_device() -> str:
    """Let TensorFlow take GPU memory as it needs it (Krita shares the GPU), and name the device.

    Must run before the first TensorFlow operation. Returns 'CPU' or e.g. 'GPU:0'.
    """
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised (a second run in the same process)
            pass
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name.replace("/device:", "") if gpus else "CPU"
