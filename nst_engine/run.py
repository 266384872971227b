"""One style-transfer run from files to a file: check everything, then optimise, then write.

Inputs, options, the output folder and the weights are all checked before TensorFlow is imported,
so a mistake costs the user a second, not a model load.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import weights
from .colors import keep_colors
from .compose import compose
from .errors import BadInputError, CancelledError
from .images import MIN_SIDE, RasterImage, check_output_path, load_image, load_mask, resize, save_atomic, scaled_size
from .progress import Reporter
from .settings import Settings


@dataclass
class RunRequest:
    """What to stylise, with what, and where the result goes."""

    content: Path
    styles: list[Path]
    output: Path
    settings: Settings
    preset: str = "balanced"
    mask: Path | None = None
    mask_output: str = "blend"
    weights: str | None = None
    preview_every: int = 0
    preview_path: Path | None = None
    extra: dict = field(default_factory=dict)


@dataclass
class PreparedRun:
    """A request whose files are loaded and checked."""

    request: RunRequest
    content: RasterImage
    styles: list[np.ndarray]
    mask: np.ndarray | None
    output: Path
    preview_path: Path | None
    work_size: tuple[int, int]
    style_sizes: list[tuple[int, int]]
    weights_path: Path


def _flatten_on_white(image: RasterImage) -> np.ndarray:
    """Style images are looked at, not composited: transparent parts read as white paper."""
    if image.alpha is None:
        return image.rgb
    alpha = image.alpha[:, :, None]
    return image.rgb * alpha + 255.0 * (1.0 - alpha)


def _working_size(size: tuple[int, int], longest: int, role: str) -> tuple[int, int]:
    scaled = scaled_size(size, longest)
    if min(scaled) < MIN_SIDE:
        raise BadInputError(
            f"{role} image {size[0]}x{size[1]} becomes {scaled[0]}x{scaled[1]} at working size {longest}: "
            f"that is under {MIN_SIDE} pixels on a side; raise --max-size or crop the image",
            "image_too_small",
        )
    return scaled


def prepare(request: RunRequest) -> PreparedRun:
    """Load and check every input without TensorFlow; raise an EngineError on the first problem."""
    settings = request.settings
    if not request.styles:
        raise BadInputError("no style image given: add --style PATH")
    if settings.style_weights and len(settings.style_weights) != len(request.styles):
        raise BadInputError(
            f"--style-weights has {len(settings.style_weights)} values for {len(request.styles)} "
            "style images: give one weight per --style"
        )
    if request.mask_output not in ("blend", "cutout"):
        raise BadInputError(f"--mask-output must be 'blend' or 'cutout', not {request.mask_output!r}")
    if request.preview_every < 0:
        raise BadInputError(f"--preview-every must not be negative, not {request.preview_every}")
    content = load_image(request.content, "content")
    styles = [_flatten_on_white(load_image(path, "style")) for path in request.styles]
    mask = load_mask(request.mask, content.size) if request.mask else None
    has_alpha = content.alpha is not None and bool(np.any(content.alpha < 1.0))
    needs_alpha = has_alpha or (mask is not None and request.mask_output == "cutout")
    output = check_output_path(request.output, needs_alpha)
    preview_path = None
    if request.preview_every:
        preview_path = request.preview_path or output.with_name(output.stem + ".preview.png")
        preview_path = check_output_path(preview_path, needs_alpha=False)
    work_size = _working_size(content.size, settings.max_size, "content")
    style_longest = max(1, round(settings.max_size * settings.style_scale))
    style_sizes = [_working_size((s.shape[1], s.shape[0]), style_longest, "style") for s in styles]
    weights_path = weights.locate(request.weights)
    return PreparedRun(request, content, styles, mask, output, preview_path, work_size, style_sizes, weights_path)


def execute(prepared: PreparedRun, reporter: Reporter, should_stop: Callable[[], bool]) -> Path:
    """Optimise and write the output; raise CancelledError (writing nothing) when asked to stop."""
    request, settings = prepared.request, prepared.request.settings
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    reporter.log("loading TensorFlow and VGG19")
    from . import transfer

    if should_stop():
        raise CancelledError()
    extractor = transfer.build_extractor(str(prepared.weights_path))
    content_work = resize(prepared.content.rgb, prepared.work_size)
    styles_work = [resize(style, size) for style, size in zip(prepared.styles, prepared.style_sizes)]
    blend = settings.style_weights or (1.0,) * len(styles_work)
    objective = transfer.Objective(
        extractor,
        content_work,
        styles_work,
        blend,
        settings.content_weight,
        settings.style_weight * settings.strength,
        settings.tv_weight,
    )
    reporter.start(
        content_size=list(prepared.content.size),
        work_size=list(prepared.work_size),
        style_sizes=[list(size) for size in prepared.style_sizes],
        iterations=settings.iterations,
        preset=request.preset,
        device=transfer.device_name(),
    )

    def on_step(iteration: int, terms, current: Callable[[], np.ndarray]) -> None:
        reporter.progress(iteration, settings.iterations, terms.total, terms.content, terms.style, terms.tv)
        if prepared.preview_path and iteration % request.preview_every == 0 and iteration < settings.iterations:
            rgb = current()
            if settings.preserve_colors:
                rgb = keep_colors(content_work, rgb)
            save_atomic(RasterImage(rgb), prepared.preview_path)
            reporter.preview(iteration, str(prepared.preview_path))

    start = transfer.initial_image(content_work, settings.init, settings.seed)
    try:
        result = transfer.optimize(objective, start, settings, on_step, should_stop)
    finally:
        if prepared.preview_path and request.preview_path is None:
            prepared.preview_path.unlink(missing_ok=True)
    image = compose(prepared.content, result, prepared.mask, settings.preserve_colors, request.mask_output)
    if should_stop():
        raise CancelledError()
    save_atomic(image, prepared.output)
    return prepared.output


def run(request: RunRequest, reporter: Reporter, should_stop: Callable[[], bool] = lambda: False) -> Path:
    """Prepare and execute; the output path on success, an EngineError otherwise."""
    prepared = prepare(request)
    if should_stop():
        raise CancelledError()
    return execute(prepared, reporter, should_stop)
