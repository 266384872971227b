"""One style transfer on one layer or on the whole image: export, run the engine, import — shared
by the dialog and the scripting API. The document is only touched at the very end, by adding one
layer."""

from __future__ import annotations

import functools
import math
import os
import re
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass

from . import layer_io
from .config import (
    CANCELLED,
    ENGINE_BOX,
    REINSTALL,
    SMALLER_RUN,
    EngineConfig,
    EngineNotConfigured,
    load_engine_config,
    preview_interval,
)
from .engine import EngineProcess, EngineRequest, EngineResult
from .errors import StyleError
from .open_images import STYLE_LONGEST, check_open, export_open_image, is_open_image, style_name
from .qt_compat import QObject, QTimer, pyqtSignal

ADD_RETRY_MS = 250  # how often a ready result looks whether the painter's stroke has ended
WAITING_FOR_STROKE = (
    "Done painting: the layer is added as soon as you finish your stroke or transform (Apply or cancel it)."
)
WEIGHTS_CODES = ("weights_missing", "weights_invalid", "weights_fetch_failed")
_WEIGHTS_PROBLEMS = {
    "weights_missing": "was not found",
    "weights_invalid": "is not the right file or is damaged",
    "weights_fetch_failed": "could not be downloaded",
}
_OPTIONS = (
    "The engine did not accept the plugin's options (it may come from another version of the plugin): "
    f"{REINSTALL}, or clear the Python field in {ENGINE_BOX}."
)
ENGINE_CODE_MESSAGES = {
    "image_too_small": (
        "What you repaint (the layer, the image or the selected area) or the style image is too small or too "
        "narrow: every side needs at least 16 pixels at the Working size. Select a larger area, choose a "
        "bigger Working size, or choose a bigger style image."
    ),
    "image_too_large": (
        "What you repaint (the layer, the image or the selected area) or the style image has more than 100 "
        "megapixels, more than the engine takes: select a smaller part, or scale the style image down."
    ),
    "input_missing": (
        "An image the engine needed is gone (the style image, or the copy of what you repaint in {tmpdir}): "
        "choose the style image again and press Stylise."
    ),
    "input_unreadable": (
        "The style image cannot be read (it is damaged, not an image, or you may not read it): save it "
        "as PNG or JPEG, or choose another one."
    ),
    "mask_size_mismatch": (
        "The selection and what you repaint did not line up for the engine: press Stylise again, and please "
        "report it if it happens again."
    ),
    "output_unwritable": "The engine could not write its result in {tmpdir}: free disk space and try again.",
    "memory_too_small": f"There is not enough memory for this picture at this Working size: {SMALLER_RUN}.",
    "out_of_memory": f"The engine ran out of memory: {SMALLER_RUN}.",
    "bad_option": _OPTIONS,
    "usage": _OPTIONS,
}
"""The engine's error codes (docs/protocol.md) in the dialog's terms. The engine words its
messages for its command line (``--max-size``, ``--preview-path``), which the painter never sees;
its own message stays in :attr:`JobResult.details`."""
STYLE_IMAGE_MESSAGES = {
    "input_missing": "The style image{name} is gone (moved, renamed or deleted): choose it again and press Stylise.",
    "input_unreadable": (
        "The style image{name} cannot be read (it is damaged, not an image, or you may not read it): save it "
        "as PNG or JPEG, or choose another one."
    ),
    "image_too_small": (
        "The style image{name} is too small: it needs 16 pixels or more on each side. Choose a bigger one."
    ),
    "image_too_large": (
        "The style image{name} has more than 100 megapixels, more than the engine takes: scale it down, or "
        "choose another one."
    ),
}
STYLE_SCALED_TOO_SMALL = (
    "The style image{name} becomes too small or too narrow at this Working size and Stroke size (every side "
    "needs at least 16 pixels): choose a larger Working size or Stroke size, or a bigger style image."
)
"""``image_too_small`` for a style without ``path``: the file is large enough, but not once it is
scaled to the working size (``schedule._checked``)."""
REPAINTED_MESSAGES = {
    "image_too_small": (
        "What you repaint (the layer, the image or the selected area) is too small or too narrow: every side "
        "needs at least 16 pixels at the Working size. Select a larger area, or choose a bigger Working size."
    ),
    "image_too_large": (
        "What you repaint (the layer, the image or the selected area) has more than 100 megapixels, more than "
        "the engine takes: select a smaller part."
    ),
}
_COPY_PROBLEMS = {
    "input_missing": "was gone when the engine looked for it",
    "input_unreadable": "could not be read by the engine",
}
_COPY_MESSAGE = (
    "The copy of {what} that the plugin wrote in {tmpdir} {problem}: press Stylise again; if it happens "
    "again, please report it."
)
_REPAINTED_COPY = "what you repaint (or of the selection)"
"""Where the engine says which image an error is about (its ``input``), the words for that image;
ENGINE_CODE_MESSAGES names both. A missing or unreadable content or mask, or style image open in
Krita, is a copy the plugin wrote itself: the painter can do nothing to a style file about it."""
_LIVE_TMPDIRS: set[str] = set()  # temporary folders of unfinished jobs, for remove_leftovers()
TMP_PREFIX = "krita-neural-style-"  # + Krita's process id + "-": see remove_stale_tmpdirs()
STALE_AFTER_S = 24 * 3600  # a running job's folder changes with every preview; a crashed one's never
_PROCESS_QUERY_LIMITED_INFORMATION = 0x1000  # kernel32, for _alive_on_windows()
_ERROR_INVALID_PARAMETER = 87
_STILL_ACTIVE = 259


@dataclass
class JobResult:
    ok: bool
    layer: object = None
    code: str = ""
    message: str = ""
    details: str = ""  # the engine's stderr tail, for a "details" view
    finished_early: bool = False  # the layer holds the image as it was when the painter said "finish"


class StyleJob(QObject):
    """Signals: ``started(dict)``, ``progress(dict)``, ``preview(str)``, ``waiting(str)`` (the
    result is ready but the painter is in the middle of a stroke), ``finished(JobResult)``
    (exactly once).

    ``style_path`` is a style image's path, or an image open in Krita (a ``Document``, written to
    the job's folder when it starts: :mod:`.open_images`); so is ``blend_style``. ``max_size`` is
    the working size (longest side in pixels; None = the preset's) and
    ``full_resolution`` refines up to the region's own pixel size in tiles; ``init="noise"`` starts
    from noise made from ``seed`` (the dialog's *Start from*); ``style_scale`` sizes the style's brush
    strokes (the dialog's *Stroke size*); ``blend_style`` is a second style image blended in, with
    ``blend_mix`` its share (0..1, None = half; the dialog's *Blend with* and *Mix*), and the layer
    is then named after both. Any other keyword is a script's own
    engine option (``iterations=50`` -> ``--iterations 50``), kept apart in ``options`` so that a
    refused one can be told from the plugin's own. Whatever the options, the new layer has exactly
    the source region's pixel size. ``source`` is the kind of what is repainted, kept as
    ``target`` (:meth:`layer_io.Source.of`): ``"layer"``, ``node`` into a new layer right above
    it, or ``"image"``, the whole image as it is shown (every visible layer merged; ``node`` plays
    no part) into a new layer at the top of the stack, named "… (whole image)" (and
    "(frame N)" / "(whole image, frame N)" in an animation); any other value
    ends the job with the code ``bad_option``.
    ``preview_every`` is how often
    the engine writes a preview image (None: the preset's, :func:`config.preview_interval`).

    ``standby`` is a warm engine (:meth:`EngineProcess.standby`, started earlier): the job runs
    in it when it can (:meth:`EngineProcess.can_take`; ``warm`` then becomes True and the job owns
    it) and starts a fresh engine otherwise, leaving the standby to its owner.
    """

    started = pyqtSignal(dict)  # the engine's ``start`` event: sizes, device, precision
    progress = pyqtSignal(dict)
    preview = pyqtSignal(str)
    waiting = pyqtSignal(str)  # the result is ready, but the painter is in the middle of a stroke
    finished = pyqtSignal(object)

    def __init__(
        self,
        document,
        node,
        style_path,
        preset: str = "balanced",
        *,
        strength: float = 1.0,
        seed: int | None = None,
        init: str | None = None,
        style_scale: float | None = None,
        blend_style=None,
        blend_mix: float | None = None,
        preserve_colors: bool = False,
        max_size: int | None = None,
        full_resolution: bool = False,
        engine: EngineConfig | None = None,
        layer_name: str | None = None,
        source: str = "layer",
        preview_every: int | None = None,
        standby: EngineProcess | None = None,
        parent: QObject | None = None,
        **options,
    ) -> None:
        super().__init__(parent)
        self.document, self.node = document, node
        self.style_path = style_path if is_open_image(style_path) else str(style_path or "")
        self.preset, self.strength, self.seed, self.init = preset, strength, seed, init
        self.style_scale = style_scale
        self.blend_style = None
        if blend_style:
            self.blend_style = blend_style if is_open_image(blend_style) else str(blend_style)
        self.blend_mix = 0.5 if blend_mix is None else float(blend_mix)
        self.preserve_colors = preserve_colors
        self.max_size, self.full_resolution = max_size, full_resolution
        self.engine_config = engine
        self.source = source
        # named now: a style image open in Krita has no name any more once it is closed
        self.style_names = [style_name(s) if s else "" for s in (self.style_path, self.blend_style)]
        label = " + ".join(name for name in self.style_names if name)
        self.layer_name = layer_name or label  # "(whole image)" and the frame are added in _prepare
        self._name_given = bool(layer_name)
        self.preview_every = preview_interval(preset) if preview_every is None else preview_every
        self.options = options
        self.standby = standby
        self.warm = False  # whether the run went to the warm engine
        self.engine_request: EngineRequest | None = None
        self._waited = False  # the result has waited for the painter's stroke to end (said once)
        self.style_copies: dict[str, str] = {}  # the files written of styles open in Krita -> their names
        self.tmpdir: str | None = None
        self.target: layer_io.Source | None = None  # what is repainted, of the kind ``source``: made in _prepare
        self.region: layer_io.Region | None = None
        self.placement: layer_io.Placement | None = None  # where the pixels were when they were sent
        self.mask: bytes | None = None
        self.process: EngineProcess | None = None
        self.result: JobResult | None = None
        self._ready: EngineResult | None = None  # the engine's result, waiting for the image to be idle

    # -- public --------------------------------------------------------------------------------
    def start(self) -> None:
        """Validate and export synchronously, then run the engine in the background.

        Problems found before the engine starts are reported through ``finished`` too, so the
        caller has one place to handle every outcome.
        """
        try:
            self._prepare()
        except (StyleError, EngineNotConfigured) as exc:
            self._finish(JobResult(False, code=getattr(exc, "code", "engine_missing"), message=str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - never show a traceback to the painter
            self._finish(self._unexpected(exc))
            return
        if self.warm:
            self.process.submit(self.engine_request)
        else:
            self.process.start()

    def cancel(self) -> None:
        if self._ready is not None and self.result is None:  # nothing runs any more: only the layer waits
            self._finish(JobResult(False, code="cancelled", message=CANCELLED))
        elif self.process is not None and self.result is None:
            self.process.cancel()

    def finish(self) -> None:
        """Stop painting and make the layer from the image as it is now (what the preview shows)."""
        if self.process is not None and self.result is None:
            self.process.finish()

    def stop(self, wait_ms: int = 3000) -> None:
        """Cancel and block until the engine has ended (kill it after ``wait_ms``); for shutdown
        paths that cannot wait for the event loop. ``finished`` is emitted before this returns."""
        if self.process is not None and self.result is None:
            self.process.stop(wait_ms)
        if self.result is None:  # never started, or Qt did not deliver the end: finish here
            self._finish(JobResult(False, code="cancelled", message=CANCELLED))

    def is_running(self) -> bool:
        return self.result is None

    def script_options(self) -> dict:
        """The engine options a script added that are really sent (None and False send nothing):
        only then may a refused option be the script's own, worded for its command line. The
        dialog's options are all named parameters, so a dialog run has none."""
        return {key: value for key, value in self.options.items() if value is not None and value is not False}

    # -- steps ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        self.target = layer_io.Source.of(self.document, self.node, self.source)
        self.target.validate()
        self.placement = self.target.placement()
        if not self._name_given:
            notes = ["whole image"] if self.source == "image" else []
            frame = self.target.frame()
            notes += [f"frame {frame}"] if frame is not None else []
            self.layer_name += f" ({', '.join(notes)})" if notes else ""
        if not self.style_path:
            raise StyleError(
                "Choose a style image first: pick one in the Style list or use Choose image….", "style_missing"
            )
        if is_open_image(self.style_path):
            check_open(self.style_path, self._style_what(0))
        elif not os.path.isfile(self.style_path):
            raise StyleError(
                f"The style image {self.style_path} does not exist (moved or deleted?): choose it again "
                "with Choose image…, or pick another style.",
                "style_missing",
            )
        if is_open_image(self.blend_style):
            check_open(self.blend_style, self._style_what(1))
        elif self.blend_style and not os.path.isfile(self.blend_style):
            raise StyleError(
                f"The style image to blend with, {self.blend_style}, does not exist (moved or deleted?): choose "
                "it again with the Choose image… button beside Blend with, or pick another style or Nothing.",
                "style_missing",
            )
        if self.blend_style and not 0.0 <= self.blend_mix <= 1.0:
            raise StyleError(
                f"The second style's share of the blend (blend_mix) must be between 0 and 1, not {self.blend_mix:g}.",
                "bad_option",
            )
        cfg = self.engine_config = self.engine_config or load_engine_config()
        cfg.check()
        selection = layer_io.current_selection(self.document)
        self.region = self.target.plan_region(selection)
        if selection is not None:
            self.mask = layer_io.selection_mask(selection, self.region)
        remove_stale_tmpdirs()
        self.tmpdir = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")
        _LIVE_TMPDIRS.add(self.tmpdir)
        content = os.path.join(self.tmpdir, "content.png")
        self.target.export(self.region, content)
        mask_path = ""
        if self.mask is not None:
            mask_path = os.path.join(self.tmpdir, "mask.png")
            layer_io.export_mask(self.mask, self.region, mask_path)
        style_file, blend_file = (self._style_file(i, name) for i, name in enumerate(("style", "blend_style")))
        request = EngineRequest(
            python=cfg.python,
            content=content,
            style=style_file,
            blend_style=blend_file,
            blend_mix=self.blend_mix,
            output=os.path.join(self.tmpdir, "result.png"),
            preset=self.preset,
            strength=self.strength,
            seed=self.seed,
            init=self.init,
            style_scale=self.style_scale,
            preserve_colors=self.preserve_colors,
            max_size=self.max_size,
            full_resolution=self.full_resolution,
            weights=cfg.weights,
            mask=mask_path,
            preview_path=os.path.join(self.tmpdir, "preview.png"),
            preview_every=self.preview_every,
            extra=self.options,
        )
        self.engine_request = request
        self.warm = self.standby is not None and self.standby.can_take(request.python, request.weights)
        if self.warm:
            self.process = self.standby
            self.process.setParent(self)
        else:
            self.process = EngineProcess(request, self)
        self.process.started.connect(self.started)
        self.process.progress.connect(self.progress)
        self.process.preview.connect(self.preview)
        self.process.finished.connect(self._on_engine_finished)

    def _style_what(self, index: int) -> str:
        """The style ``index`` (0: the style, 1: the one blended in) named for a message."""
        which = "the style to blend with" if index else "the style"
        name = self.style_names[index]
        return f"{which} “{name}”" if name else which

    def _style_longest(self) -> int:
        """The longest side an open image is written at: STYLE_LONGEST, or with Full resolution
        the size the engine matches the style to at the end (what is repainted, times the stroke
        size), as it would read a style file of that size."""
        if not self.full_resolution or self.region is None:
            return STYLE_LONGEST
        return max(STYLE_LONGEST, math.ceil(max(self.region.w, self.region.h) * (self.style_scale or 1.0)))

    def _style_file(self, index: int, name: str) -> str | None:
        """The file the engine reads style ``index`` from: the file chosen, or an image open in
        Krita written into the job's folder as ``name``.png now. None: no style to blend with."""
        style = (self.style_path, self.blend_style)[index]
        if not is_open_image(style):
            return style or None
        path = os.path.join(self.tmpdir, f"{name}.png")
        export_open_image(style, path, self._style_what(index), self._style_longest())
        self.style_copies[path] = self.style_names[index]
        return path

    def _on_engine_finished(self, result: EngineResult) -> None:
        if not result.ok:
            self._finish(self._engine_failure(result))
            return
        self._ready = result
        self._add_when_idle()

    def _add_when_idle(self) -> None:
        """Add the result once the image is idle. Krita's ``addChildNode`` asks every open stroke
        to end: arriving in the middle of the painter's brush stroke or transform, the layer would
        cut the one short and apply the other. So it waits (and says so) until the painter lets go."""
        if self.result is not None:  # cancelled while waiting
            return
        if layer_io.image_busy(self.document):
            if not self._waited:
                self._waited = True
                self.waiting.emit(WAITING_FOR_STROKE)
            QTimer.singleShot(ADD_RETRY_MS, self._add_when_idle)
            return
        result = self._ready
        try:
            self.target.check_unchanged(self.placement)
            bgra = layer_io.read_result(result.output, self.region)
            if self.mask is not None:
                bgra = layer_io.clear_outside(bgra, self.mask)
            layer = self.target.add_result(self.layer_name, self.region, bgra)
        except StyleError as exc:
            self._finish(JobResult(False, code=exc.code, message=str(exc)))
            return
        except Exception as exc:  # noqa: BLE001
            self._finish(self._unexpected(exc))
            return
        self._finish(JobResult(True, layer=layer, details=result.stderr_tail, finished_early=result.finished_early))

    def _engine_failure(self, result: EngineResult) -> JobResult:
        """The engine's failure in the painter's terms; its own words and stderr go to ``details``."""
        cfg, tmpdir = self.engine_config or EngineConfig(), self.tmpdir or tempfile.gettempdir()
        message = painter_message(result, cfg, tmpdir, self.style_copies, self.style_names)
        if result.code in ("bad_option", "usage") and self.script_options():  # its words fit the script's
            message = result.message
        said = f"The engine said ({result.code}): {result.message}" if message != result.message else ""
        details = "\n\n".join(part for part in (said, result.stderr_tail) if part)
        return JobResult(False, code=result.code, message=message, details=details)

    def _unexpected(self, exc: Exception) -> JobResult:
        """A failure nobody foresaw: a one-line message, the traceback in ``details``."""
        code = "io" if isinstance(exc, OSError) else "internal"
        return JobResult(False, code=code, message=unexpected_message(exc, self.tmpdir), details=traceback.format_exc())

    def _finish(self, result: JobResult) -> None:
        if self.result is not None:
            return
        self.result = result
        self.cleanup()
        self.finished.emit(result)

    def cleanup(self) -> None:
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            _LIVE_TMPDIRS.discard(self.tmpdir)
            self.tmpdir = None


def painter_message(
    result: EngineResult, cfg: EngineConfig, tmpdir: str, copies: dict | None = None, names: list | None = None
) -> str:
    """What the painter reads for an engine failure: the table's text for the engine's code, a
    fix that fits where the engine's Python or weights came from, else the engine's message.
    ``copies`` maps the files the plugin wrote of style images open in Krita to their names;
    ``names`` are the styles' names in the order they were sent (the event's ``index``)."""
    copies = copies or {}
    if result.code in WEIGHTS_CODES:
        where = f" {cfg.weights}" if cfg.weights else ""
        return f"The VGG19 weights file{where} {_WEIGHTS_PROBLEMS[result.code]}: {cfg.weights_advice()}."
    if result.code == "failed_to_start":
        reason = f" ({result.stderr_tail})" if result.stderr_tail else ""
        return f"The engine could not be started with {cfg.python}{reason}: {cfg.python_advice()}."
    if result.code == "not_the_engine":
        return (
            f"The engine's Python {cfg.python} is not the engine's environment (it has no nst_engine): "
            f"{cfg.python_advice()}."
        )
    role = result.input_role or _role_named_in(result.message)
    copy = copies.get(result.path) if role == "style" and result.path else None
    if result.code in _COPY_PROBLEMS and (role in ("content", "mask") or copy is not None):
        what = _REPAINTED_COPY if copy is None else f"the open image “{copy}”"
        return _COPY_MESSAGE.format(what=what, tmpdir=tmpdir, problem=_COPY_PROBLEMS[result.code])
    if role == "style" and result.code in STYLE_IMAGE_MESSAGES:
        name = copy if copy is not None else os.path.basename(result.path)
        if not name and result.input_index is not None and result.input_index < len(names or []):
            name = names[result.input_index]  # no file named: the engine says which by its place
        named = f" “{name}”" if name else ""
        if result.code == "image_too_small" and not result.path:
            return STYLE_SCALED_TOO_SMALL.format(name=named)
        return STYLE_IMAGE_MESSAGES[result.code].format(name=named)
    if role == "content" and result.code in REPAINTED_MESSAGES:
        return REPAINTED_MESSAGES[result.code]
    if result.code in ENGINE_CODE_MESSAGES:
        return ENGINE_CODE_MESSAGES[result.code].format(tmpdir=tmpdir)
    return result.message


def _role_named_in(engine_message: str) -> str:
    """The image an engine from before the error's ``input`` field meant: it starts its message
    about an image with the image's role (``content image …``). "" when it names none."""
    first = engine_message.lstrip().lower().split(" ", 1)[0]
    return first if first in ("content", "style", "mask") else ""


def unexpected_message(exc: BaseException, folder: str | None = None) -> str:
    """One line for an exception nobody foresaw: a disk problem says so and where; anything else
    names its type, so that even an exception without a message says something."""
    if isinstance(exc, OSError):
        where = folder or tempfile.gettempdir()
        return f"Could not write temporary files in {where} ({exc.strerror or exc}): free disk space and try again."
    return f"Unexpected problem: {exception_text(exc)}. Please report it."


def exception_text(exc: BaseException) -> str:
    """``ValueError: the text``, or just the type's name when the exception has no text."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def remove_leftovers() -> None:
    """Remove the temporary folders of jobs that never finished (Krita is quitting, and their Qt
    objects may already be gone). Call after :func:`neural_style.engine.stop_all`."""
    for path in list(_LIVE_TMPDIRS):
        shutil.rmtree(path, ignore_errors=True)
        _LIVE_TMPDIRS.discard(path)


def remove_stale_tmpdirs() -> None:
    """Remove the temporary folders that a Krita which crashed left behind: ours (named
    ``krita-neural-style-<pid>-...``) whose Krita process no longer runs and that have not
    changed for STALE_AFTER_S (a Krita in another process namespace sharing this temporary folder
    may have the same pid as one that ended here, and Windows reuses a process id soon).

    On POSIX systems the temporary folder is shared by every user, so only this user's folders
    are ours. On Windows it is the user's own (and ``st_uid`` is always 0 there)."""
    folder = tempfile.gettempdir()
    for name in os.listdir(folder):
        match = re.fullmatch(re.escape(TMP_PREFIX) + r"(\d+)-[a-z0-9_]+", name)
        path = os.path.join(folder, name)
        try:
            if not match or _alive(int(match.group(1))):
                continue
            info = os.lstat(path)
            if os.name == "posix" and info.st_uid != os.getuid():
                continue
            if time.time() - info.st_mtime < STALE_AFTER_S:
                continue
        except (OSError, OverflowError):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs, as any user. In doubt True: a folder is only removed when
    its Krita has surely ended."""
    if os.name == "nt":
        return _alive_on_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0 only asks
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True


@functools.lru_cache(maxsize=None)  # noqa: UP033 - functools.cache is 3.9+; Krita 5.1 ships 3.8 on Windows
def _kernel32():
    """kernel32 with the signatures :func:`_alive_on_windows` calls, set up once. An instance of
    our own, so that these argtypes do not change ``ctypes.windll`` for other plugins."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.OpenProcess.restype = ctypes.c_void_p  # a HANDLE: pointer-sized
    kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(wintypes.DWORD))
    kernel32.GetExitCodeProcess.restype = wintypes.BOOL
    kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
    kernel32.CloseHandle.restype = wintypes.BOOL
    return kernel32


def _alive_on_windows(pid: int) -> bool:
    """Ask kernel32: on Windows ``os.kill`` never only asks (signal 0 is CTRL_C_EVENT there, a
    Ctrl+C to the console process group ``pid``, and any other signal ends the process)."""
    import ctypes
    from ctypes import wintypes

    if not 0 < pid <= 0xFFFFFFFF:  # not a Windows process id: not a folder of ours to judge
        return True
    kernel32 = _kernel32()
    handle = kernel32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        # ERROR_ACCESS_DENIED: it runs (elevated, or another user's); ERROR_INVALID_PARAMETER: no
        # such process; anything else: not known, so alive
        return ctypes.get_last_error() != _ERROR_INVALID_PARAMETER
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == _STILL_ACTIVE  # a process that ended with 259 reads as running: kept
    finally:
        kernel32.CloseHandle(handle)
