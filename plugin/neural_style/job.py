"""One style transfer on one layer: export, run the engine, import — shared by the dialog and the
scripting API. The document is only touched at the very end, by adding one layer."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass

from . import layer_io
from .config import EngineConfig, EngineNotConfigured, load_engine_config, preview_interval, style_label
from .engine import EngineProcess, EngineRequest, EngineResult
from .layer_io import StyleError
from .qt_compat import QObject, pyqtSignal

WEIGHTS_HINT = (
    "To fix it, run python3 installer/install.py again, or choose the weights file in the dialog's Engine fields."
)
WEIGHTS_CODES = ("weights_missing", "weights_invalid")
_LIVE_TMPDIRS: set[str] = set()  # temporary folders of unfinished jobs, for remove_leftovers()
TMP_PREFIX = "krita-neural-style-"  # + Krita's process id + "-": see remove_stale_tmpdirs()
STALE_AFTER_S = 24 * 3600  # a running job's folder changes with every preview; a crashed one's never


@dataclass
class JobResult:
    ok: bool
    layer: object = None
    code: str = ""
    message: str = ""
    details: str = ""  # the engine's stderr tail, for a "details" view
    finished_early: bool = False  # the layer holds the image as it was when the painter said "finish"


class StyleJob(QObject):
    """Signals: ``progress(dict)``, ``preview(str)``, ``finished(JobResult)`` (exactly once).

    ``max_size`` is the working size (longest side in pixels; None = the preset's) and
    ``full_resolution`` refines up to the region's own pixel size in tiles; any other keyword is
    passed to the engine as an option (``iterations=50`` -> ``--iterations 50``). Whatever they
    are, the new layer has exactly the source region's pixel size. ``preview_every`` is how often
    the engine writes a preview image (None: the preset's, :func:`config.preview_interval`).

    ``standby`` is a warm engine (:meth:`EngineProcess.standby`, started earlier): the job runs
    in it when it can (:meth:`EngineProcess.can_take`; ``warm`` then becomes True and the job owns
    it) and starts a fresh engine otherwise, leaving the standby to its owner.
    """

    progress = pyqtSignal(dict)
    preview = pyqtSignal(str)
    finished = pyqtSignal(object)

    def __init__(
        self,
        document,
        node,
        style_path: str,
        preset: str = "balanced",
        *,
        strength: float = 1.0,
        seed: int | None = None,
        preserve_colors: bool = False,
        max_size: int | None = None,
        full_resolution: bool = False,
        engine: EngineConfig | None = None,
        layer_name: str | None = None,
        preview_every: int | None = None,
        standby: EngineProcess | None = None,
        parent: QObject | None = None,
        **options,
    ) -> None:
        super().__init__(parent)
        self.document, self.node, self.style_path = document, node, str(style_path)
        self.preset, self.strength, self.seed = preset, strength, seed
        self.preserve_colors = preserve_colors
        self.max_size, self.full_resolution = max_size, full_resolution
        self.engine_config = engine
        self.layer_name = layer_name or style_label(style_path)
        self.preview_every = preview_interval(preset) if preview_every is None else preview_every
        self.options = options
        self.standby = standby
        self.warm = False  # whether the run went to the warm engine
        self.engine_request: EngineRequest | None = None
        self.tmpdir: str | None = None
        self.region: layer_io.Region | None = None
        self.placement: layer_io.Placement | None = None  # where the pixels were when they were sent
        self.mask: bytes | None = None
        self.process: EngineProcess | None = None
        self.result: JobResult | None = None

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
            self._finish(JobResult(False, code="internal", message=f"Unexpected problem: {exc}"))
            return
        if self.warm:
            self.process.submit(self.engine_request)
        else:
            self.process.start()

    def cancel(self) -> None:
        if self.process is not None and self.result is None:
            self.process.cancel()

    def finish(self) -> None:
        """Stop painting and make the layer from the image as it is now (what the preview shows)."""
        if self.process is not None and self.result is None:
            self.process.finish()

    def stop(self, wait_ms: int = 3000) -> None:
        """Cancel and block until the engine has ended (kill it after ``wait_ms``); for shutdown
        paths that cannot wait for the event loop. ``finished`` is emitted before this returns."""
        process = self.process
        if process is not None and self.result is None:
            process.cancel()
            if not process.wait(wait_ms):
                process._kill()
                process.wait(1000)
        if self.result is None:  # never started, or Qt did not deliver the end: finish here
            self._finish(JobResult(False, code="cancelled", message="Cancelled: nothing was changed."))

    def is_running(self) -> bool:
        return self.result is None

    # -- steps ---------------------------------------------------------------------------------
    def _prepare(self) -> None:
        layer_io.validate(self.document, self.node)
        self.placement = layer_io.Placement.of(self.document, self.node)
        if not os.path.isfile(self.style_path):
            raise StyleError(f"The style image {self.style_path} does not exist.", "style_missing")
        cfg = self.engine_config or load_engine_config()
        cfg.check()
        selection = layer_io.current_selection(self.document)
        self.region = layer_io.plan_region(self.document, self.node, selection)
        if selection is not None:
            self.mask = layer_io.selection_mask(selection, self.region)
        remove_stale_tmpdirs()
        self.tmpdir = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.getpid()}-")
        _LIVE_TMPDIRS.add(self.tmpdir)
        content = os.path.join(self.tmpdir, "content.png")
        layer_io.export_layer(self.node, self.region, content)
        mask_path = ""
        if self.mask is not None:
            mask_path = os.path.join(self.tmpdir, "mask.png")
            layer_io.export_mask(self.mask, self.region, mask_path)
        request = EngineRequest(
            python=cfg.python,
            content=content,
            style=self.style_path,
            output=os.path.join(self.tmpdir, "result.png"),
            preset=self.preset,
            strength=self.strength,
            seed=self.seed,
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
        self.process.progress.connect(self.progress)
        self.process.preview.connect(self.preview)
        self.process.finished.connect(self._on_engine_finished)

    def _on_engine_finished(self, result: EngineResult) -> None:
        if not result.ok:
            message = result.message
            if result.code in WEIGHTS_CODES:  # the engine's words, plus what a painter can do
                message = f"{message.rstrip().rstrip('.')}. {WEIGHTS_HINT}"
            self._finish(JobResult(False, code=result.code, message=message, details=result.stderr_tail))
            return
        try:
            layer_io.check_unchanged(self.document, self.node, self.placement)
            bgra = layer_io.read_result(result.output, self.region)
            if self.mask is not None:
                bgra = layer_io.clear_outside(bgra, self.mask)
            layer = layer_io.add_result_layer(self.document, self.node, self.layer_name, self.region, bgra)
        except StyleError as exc:
            self._finish(JobResult(False, code=exc.code, message=str(exc)))
            return
        except Exception as exc:  # noqa: BLE001
            self._finish(JobResult(False, code="internal", message=f"Unexpected problem: {exc}"))
            return
        self._finish(JobResult(True, layer=layer, details=result.stderr_tail, finished_early=result.finished_early))

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


def remove_leftovers() -> None:
    """Remove the temporary folders of jobs that never finished (Krita is quitting, and their Qt
    objects may already be gone). Call after :func:`neural_style.engine.stop_all`."""
    for path in list(_LIVE_TMPDIRS):
        shutil.rmtree(path, ignore_errors=True)
        _LIVE_TMPDIRS.discard(path)


def remove_stale_tmpdirs() -> None:
    """Remove the temporary folders that a Krita which crashed left behind: ours (this user's,
    named ``krita-neural-style-<pid>-...``) whose Krita process no longer runs and that have not
    changed for STALE_AFTER_S (a Krita in another process namespace sharing this temporary folder
    may have the same pid as one that ended here). Only on POSIX systems: on Windows
    ``os.kill(pid, 0)`` would end the process instead of asking about it."""
    if os.name != "posix":
        return
    folder = tempfile.gettempdir()
    for name in os.listdir(folder):
        match = re.fullmatch(re.escape(TMP_PREFIX) + r"(\d+)-[a-z0-9_]+", name)
        path = os.path.join(folder, name)
        try:
            if not match or _alive(int(match.group(1))):
                continue
            info = os.lstat(path)
            if info.st_uid != os.getuid() or time.time() - info.st_mtime < STALE_AFTER_S:
                continue
        except (OSError, OverflowError):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    return True
