"""One style-transfer run from files to a file: check everything, then optimise, then write.

Inputs, options, the output folder and the weights are all checked before TensorFlow is imported,
so a mistake costs the user a second, not a model load.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import memory, schedule, tensorflow_env, weights
from .cancel import UNINTERRUPTED, RunControl
from .colors import keep_colors
from .compose import compose
from .errors import BadInputError, CancelledError, EngineError
from .images import RasterImage, check_output_path, load_image, load_mask, resize, save_atomic
from .progress import Reporter
from .schedule import Stage
from .settings import Settings

if TYPE_CHECKING:
    from .transfer import Step


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
    preview_seconds: float = 0.0  # at most one preview this often (on a fast GPU, writing them costs more)
    preview_path: Path | None = None


@dataclass
class PreparedRun:
    """A request whose files are loaded and checked."""

    request: RunRequest
    content: RasterImage
    styles: list[np.ndarray]
    mask: np.ndarray | None
    output: Path
    preview_path: Path | None
    stages: list[Stage]
    weights_path: Path
    budget: int  # bytes the run plans to stay under (tile sizes follow from it)


def _flatten_on_white(image: RasterImage) -> np.ndarray:
    """Style images are looked at, not composited: transparent parts read as white paper."""
    if image.alpha is None:
        return image.rgb
    alpha = image.alpha[:, :, None]
    return image.rgb * alpha + 255.0 * (1.0 - alpha)


def _check_preview_is_its_own_file(preview: Path, request: RunRequest) -> None:
    """Previews are overwritten during the run and, unless `--preview-path` names them, removed
    at its end: they must never be the output or one of the inputs."""
    others = [("--output", request.output), ("--content", request.content), ("--mask", request.mask)]
    others += [("--style", style) for style in request.styles]
    for option, path in others:
        if path is not None and Path(path).resolve() == preview.resolve():
            raise BadInputError(
                f"the preview would be written to {preview}, which is the {option} file: give another --preview-path",
                "bad_option",
            )


def _load_style(path: str, index: int) -> RasterImage:
    """The style image ``index`` (its place among the --style images, said in an error's event)."""
    try:
        return load_image(path, "style")
    except EngineError as error:
        error.index = index
        raise


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
    if not (math.isfinite(request.preview_seconds) and request.preview_seconds >= 0):
        raise BadInputError(f"--preview-seconds must be a number of seconds, 0 or more, not {request.preview_seconds}")
    content = load_image(request.content, "content")
    styles = [_flatten_on_white(_load_style(path, index)) for index, path in enumerate(request.styles)]
    mask = load_mask(request.mask, content.size) if request.mask else None
    # An opaque alpha channel was dropped when the content was read: any left is transparency.
    needs_alpha = content.alpha is not None or (mask is not None and request.mask_output == "cutout")
    output = check_output_path(request.output, needs_alpha)
    preview_path = None
    if request.preview_every:
        preview_path = request.preview_path or output.with_name(output.stem + ".preview.png")
        preview_path = check_output_path(preview_path, needs_alpha=False)
        _check_preview_is_its_own_file(preview_path, request)
        if request.preview_path is None and preview_path.exists():  # it would be overwritten, then removed
            raise BadInputError(
                f"{preview_path} exists already, and the previews would overwrite it and remove it at the end: "
                "move it or give --preview-path",
                "bad_option",
            )
    stages, budget = schedule.plan_for_memory(content.size, _sizes(styles), settings)
    weights_path = weights.locate(request.weights)
    return PreparedRun(request, content, styles, mask, output, preview_path, stages, weights_path, budget)


def _sizes(images: list[np.ndarray]) -> list[tuple[int, int]]:
    return [(image.shape[1], image.shape[0]) for image in images]


def fit_to_device(prepared: PreparedRun, gpu_memory: int | None) -> PreparedRun:
    """Plan the tiles again where the run is on a GPU with `gpu_memory` bytes to plan for
    (`device.Device.memory`; None on the CPU) and that is less than the plan assumed: they were
    planned before TensorFlow loaded, for the RAM."""
    if gpu_memory is None:
        return prepared
    settings = prepared.request.settings
    side = memory.gpu_tile_side(gpu_memory, settings.optimizer)
    if (settings.tile_size or side) < side:
        return prepared
    capped = dataclasses.replace(settings, tile_size=side)
    return dataclasses.replace(
        prepared, stages=schedule.plan(prepared.content.size, _sizes(prepared.styles), capped, prepared.budget)
    )


ALSO_FAILS_THE_OUTPUT = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS, errno.ENOENT}
"""Why a preview could not be written that stops the run all the same: a full disk, a quota, a
file system gone read-only, a folder deleted. The output would most likely fail the same way, and
the painter had better hear it now than lose the run at its end. Anything else (on Windows: the
file is open in another program) only costs that preview."""


def _unwritable(exc: OSError, what: str, path: Path, advice: str) -> BadInputError:
    """A write that failed after the start (the folder was checked writable then), most likely on a
    disk that filled up since, as a message that says what to do."""
    return BadInputError(
        f"could not write {what} {path} ({exc.strerror or exc}): free some disk space or {advice}",
        "output_unwritable",
    )


def _save_output(image: RasterImage, path: Path) -> None:
    """Write the output atomically; any failure fails the run."""
    try:
        save_atomic(image, path)
    except OSError as exc:
        raise _unwritable(exc, "the output", path, "choose another folder") from None


class _PreviewWriter:
    """The run's `on_step`: forwards each evaluation to the reporter and writes a preview every
    `--preview-every` evaluations, at most one every `--preview-seconds`.

    A preview that cannot be written is skipped, with one line on stderr until one is written
    again, and the run goes on: on Windows the file cannot be replaced while another program has
    it open (Krita reading the last one, a virus scanner), and a lost preview costs nothing. What
    would fail the output too stops the run (`ALSO_FAILS_THE_OUTPUT`)."""

    def __init__(self, prepared: PreparedRun, reporter: Reporter) -> None:
        self.prepared = prepared
        self.reporter = reporter
        self.evaluations = 0  # so far
        self.last_written = -math.inf  # time.monotonic() of the last preview
        self.failing = False  # the last preview could not be written (and that was said)

    def __call__(self, step: Step) -> None:
        prepared, request = self.prepared, self.prepared.request
        self.evaluations = step.iteration
        self.reporter.progress(step)
        if not prepared.preview_path or step.iteration % request.preview_every or step.iteration == step.total:
            return
        if time.monotonic() - self.last_written < request.preview_seconds:
            return
        rgb = step.current()
        if request.settings.preserve_colors:
            rgb = keep_colors(resize(prepared.content.rgb, (rgb.shape[1], rgb.shape[0])), rgb)
        written = self._write(RasterImage(rgb), prepared.preview_path)
        self.last_written = time.monotonic()  # a failed try counts too: a held file is not retried every evaluation
        if written:
            self.reporter.preview(step.iteration, str(prepared.preview_path))

    def _write(self, image: RasterImage, path: Path) -> bool:
        """Write one preview; False (said once for a run of failures) when it could not be. Tried
        once (`quick`): the next preview is the retry."""
        try:
            save_atomic(image, path, quick=True)
        except OSError as exc:
            if exc.errno in ALSO_FAILS_THE_OUTPUT:
                raise _unwritable(exc, "the preview", path, "give another --preview-path") from None
            if not self.failing:
                self.reporter.log(
                    f"could not write the preview {path} ({exc.strerror or exc}): going on without it, "
                    "the next preview tries again"
                )
            self.failing = True
            return False
        self.failing = False
        return True


def _remove_preview(path: Path, reporter: Reporter) -> None:
    """Remove the default preview at the run's end; one that another program holds (Windows) stays."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        reporter.log(f"could not remove the preview {path} ({exc.strerror or exc}): delete it when it is free")


def execute(
    prepared: PreparedRun,
    reporter: Reporter,
    control: RunControl = UNINTERRUPTED,
) -> Path:
    """Optimise and write the output; raise CancelledError (writing nothing) when asked to stop.

    When asked to finish, optimising ends at the next evaluation and the image as it is then is
    written like a finished run's (`transfer.stylize`)."""
    request, settings = prepared.request, prepared.request.settings
    tensorflow_env.prepare()
    reporter.log("loading TensorFlow and VGG19")
    from . import conv_gradient, device, transfer
    from .objective import build_extractor

    if control.cancelled():
        raise CancelledError()
    chosen = device.select(settings.precision, reporter.log, settings.optimizer)
    prepared = fit_to_device(prepared, chosen.memory)
    gradient = conv_gradient.resolve(settings.conv_gradient, chosen.name)
    planned = sum(stage.evaluations for stage in prepared.stages)
    writer = _PreviewWriter(prepared, reporter)
    with chosen.scope():
        extractor = build_extractor(str(prepared.weights_path), chosen.dtype, gradient)
        final = prepared.stages[-1]
        reporter.start(
            content_size=list(prepared.content.size),
            work_size=list(final.size),
            style_sizes=[list(size) for size in final.style_sizes],
            stage_sizes=[list(stage.size) for stage in prepared.stages],
            iterations=planned,
            stage_tiles=[sum(len(boxes) for boxes in stage.boxes()) for stage in prepared.stages],
            max_memory=prepared.budget,
            preset=request.preset,
            optimizer=settings.optimizer,
            precision=chosen.dtype,
            conv_gradient=gradient,
            device=chosen.name,
        )
        blend = settings.style_weights or (1.0,) * len(prepared.styles)
        try:
            result = transfer.stylize(
                extractor, prepared.content.rgb, prepared.styles, blend, settings, prepared.stages, writer, control
            )
        finally:
            if prepared.preview_path and request.preview_path is None:
                _remove_preview(prepared.preview_path, reporter)
    if control.finishing() and writer.evaluations < planned:
        reporter.finished_early(writer.evaluations, planned)
    image = compose(prepared.content, result, prepared.mask, settings.preserve_colors, request.mask_output)
    if control.cancelled():
        raise CancelledError()
    _save_output(image, prepared.output)
    return prepared.output


def run(
    request: RunRequest,
    reporter: Reporter,
    control: RunControl = UNINTERRUPTED,
) -> Path:
    """Prepare and execute; the output path on success, an EngineError otherwise."""
    prepared = prepare(request)
    if control.cancelled():
        raise CancelledError()
    return execute(prepared, reporter, control)
